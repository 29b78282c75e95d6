"""Tiny random-weight models, one per task, built offline so each task's real pipeline code runs in tests.

They borrow the embedded all-MiniLM-L6-v2 tokenizer (a BERT WordPiece vocabulary), so every model is a
small BERT with the head its task needs. Their answers are noise; their shapes and code paths are real.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from models.loader import embedded_model_dir

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
MAX_POSITIONS = 64


def _config(labels: list[str] | None = None, **extra):
    from transformers import BertConfig

    if labels:
        extra.update(id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)})
    return BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS,
        **extra,
    )


def build_tiny_model(task: str, folder: Path) -> Path:
    """Save a tiny model for `task` into `folder` and return it."""
    import torch
    from transformers import (
        BertForMaskedLM,
        BertForSequenceClassification,
        BertForTokenClassification,
        BertLMHeadModel,
        BertModel,
    )

    torch.manual_seed(0)
    if task == "text-classification":
        model = BertForSequenceClassification(_config(["negative", "positive"]))
    elif task == "zero-shot-classification":
        model = BertForSequenceClassification(_config(["contradiction", "neutral", "entailment"]))
    elif task == "token-classification":
        model = BertForTokenClassification(_config(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]))
    elif task == "fill-mask":
        model = BertForMaskedLM(_config())
    elif task == "text-generation":
        model = BertLMHeadModel(_config(is_decoder=True))
    elif task == "sentence-similarity":
        model = BertModel(_config())
    else:
        raise ValueError(task)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for name in TOKENIZER_FILES:
        source = embedded_model_dir() / name
        if source.exists():
            shutil.copy(source, folder / name)
    return folder
