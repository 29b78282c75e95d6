"""Batched inference for each task on a model loaded here: one forward pass serves every visitor in a batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from models.cpu_runtime import length_sorted_chunks, pad
from models.inputs import Limits, Prepared, prepare
from models.loader import LoadedModel
from models.predictor import Embeddings, Outcome, notes, rank_by_similarity, truncation_note
from models.registry import Serving

EMBED_TOKEN_BUDGET = 8192
"""Most padded tokens in one forward pass of `embed`; texts of like length share a pass."""


def where_it_runs(model: LoadedModel, devices: str) -> str:
    return (
        f"**{model.spec.title}** with `{model.source.name}` · runs on **{model.plan.device_name}** "
        f"({devices}, {model.plan.dtype}) · loaded in {model.load_seconds:.1f} s"
    )


class Predictor:
    """The Predictor contract (models/predictor.py) served by a pipeline loaded in this process."""

    copies = 1
    runs_here = True
    starts_cold = False
    waiting = None

    def __init__(self, model: LoadedModel, limits: Limits, max_new_tokens: int):
        self.model = model
        self.limits = limits
        self.max_new_tokens = max_new_tokens
        self._pipe = model.pipeline
        self._spec = model.spec

    def where_it_runs(self) -> str:
        return where_it_runs(self.model, f"`{self.model.plan.device}`")

    @property
    def mask_token(self) -> str | None:
        return getattr(self._pipe.tokenizer, "mask_token", None)

    def prepare(self, raw: Sequence[object]) -> Prepared:
        return prepare(self.model.spec, raw, self.limits, self.mask_token)

    def predict_batch(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        """One Outcome per prepared request, in order, from as few forward passes as the task allows."""
        with torch.inference_mode():
            if self._spec.serving is Serving.SIMILARITY:
                return rank_by_similarity(prepared, self.embed, self.model.max_tokens)
            if self._spec.serving is Serving.EACH:
                return [self._each(p) for p in prepared]
            if self._spec.mask:
                return self._fill_mask_batch(prepared)
            return self._pipeline_batch(prepared)

    # --- sentence similarity -------------------------------------------------------------------------------

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit-length mean-pooled embeddings of `texts`, which were cut, and their token counts.

        Texts are grouped by length, so one long text does not make every short one pad to its length."""
        tokenizer, limit = self._pipe.tokenizer, self.model.max_tokens
        # One token more than the model reads tells a text that fits exactly from one that was cut.
        encoded = tokenizer(list(texts), truncation=True, max_length=limit + 1)
        cut = [len(ids) > limit for ids in encoded["input_ids"]]
        if any(cut):
            rows = [i for i, was_cut in enumerate(cut) if was_cut]
            fitted = tokenizer([texts[i] for i in rows], truncation=True, max_length=limit)
            for name in encoded:
                for row, values in zip(rows, fitted[name]):
                    encoded[name][row] = values
        lengths = [len(ids) for ids in encoded["input_ids"]]
        chunks = length_sorted_chunks(lengths, EMBED_TOKEN_BUDGET)
        parts = [(rows, self._encode(pad(encoded, rows, tokenizer.pad_token_id or 0))) for rows in chunks]
        vectors = np.zeros((len(lengths), parts[0][1].shape[1] if parts else 0), dtype=np.float32)
        for rows, part in parts:
            vectors[rows] = part
        return Embeddings(vectors, cut, lengths)

    def _encode(self, features: dict[str, np.ndarray]) -> np.ndarray:
        """Unit-length mean-pooled embeddings of one padded batch, by the runtime the loader chose."""
        if self.model.embedder is not None:
            return self.model.embedder(features)
        model = self._pipe.model
        with torch.inference_mode():
            inputs = {name: torch.from_numpy(array).to(model.device) for name, array in features.items()}
            hidden = model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()

    # --- tasks the pipeline does whole -----------------------------------------------------------------------

    def _cut_to_tokens(self, text: str, reserve: int = 2) -> tuple[str, bool]:
        """`text` cut at the last character that fits in the model's tokens (keeping room for special tokens)."""
        limit = self.model.max_tokens - reserve
        encoded = self._pipe.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= limit:
            return text, False
        return text[: offsets[limit - 1][1]], True

    def _pipeline_batch(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        texts, cut_flags = zip(*(self._cut_to_tokens(p.values[0]) for p in prepared))
        kwargs: dict[str, Any] = {**self._spec.pipeline_options, "batch_size": len(texts)}
        # A one-element list comes back flattened by some pipelines (fill-mask): call with the text itself.
        results = [self._pipe(texts[0], **kwargs)] if len(texts) == 1 else self._pipe(list(texts), **kwargs)
        outcomes = []
        for p, text, cut, result in zip(prepared, texts, cut_flags, results):
            note = notes(p, truncation_note(int(cut), self.model.max_tokens))
            outcomes.append(Outcome(self._spec.shape(text, result), note, result))
        return outcomes

    def _fill_mask_batch(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        # A mask cut off with the end of a long text cannot be filled: tell that caller, serve the others.
        cut = [self._cut_to_tokens(p.values[0])[0] for p in prepared]
        fits = [i for i, text in enumerate(cut) if self.mask_token in text]
        served = iter(self._pipeline_batch([prepared[i] for i in fits]) if fits else [])
        lost = f"The [MASK] lies beyond the model's first {self.model.max_tokens} tokens: move it earlier."
        return [next(served) if i in fits else Outcome({}, notes(p, [lost])) for i, p in enumerate(prepared)]

    def _each(self, p: Prepared) -> Outcome:
        """One request alone: its text and the candidate labels it brings."""
        text, labels = p.values
        # Room for the hypothesis the pipeline adds to the text for each label.
        text, cut = self._cut_to_tokens(text, reserve=max(16, self.model.max_tokens // 4))
        result = self._pipe(text, candidate_labels=list(labels), **self._spec.pipeline_options)
        note = notes(p, truncation_note(int(cut), self.model.max_tokens))
        return Outcome(self._spec.shape(text, result), note, result)

    # --- streamed generation ---------------------------------------------------------------------------------

    def stream(self, prepared: Prepared) -> Iterator[Outcome]:
        """The continuation so far, after each new piece of text."""
        from transformers import TextIteratorStreamer

        tokenizer, model = self._pipe.tokenizer, self._pipe.model
        prompt, cut = self._cut_to_tokens(prepared.values[0], reserve=self.max_new_tokens + 2)
        told = notes(prepared, truncation_note(int(cut), self.model.max_tokens))
        inputs = tokenizer(prompt, return_tensors="pt").to(model.device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=120)
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    model.generate(
                        **inputs,
                        streamer=streamer,
                        max_new_tokens=self.max_new_tokens,
                        do_sample=False,
                        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                    )
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread below
                failure.append(error)
                streamer.end()

        worker = threading.Thread(target=generate, name="generate", daemon=True)
        worker.start()
        text = ""
        for piece in streamer:
            text += piece
            yield Outcome(text, told)
        worker.join()
        if failure:
            raise failure[0]
        yield Outcome(text, told)
