"""The Demo tab: Gradio components for the task, wired to any Predictor (models/predictor.py). No model logic here."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Sequence
from functools import partial

import gradio as gr

from models.batching import Batcher
from models.inference_api import BatchItem, BatchResult, run_batch
from models.inputs import InputError, Prepared
from models.predictor import Failed, Outcome, Predictor
from models.registry import OutputKind
from models.zerogpu import GpuWrap, gpu_seconds
from settings import Settings


def _output_component(predictor: Predictor) -> gr.components.Component:
    spec = predictor.model.spec
    if spec.output is OutputKind.RANKING:
        return gr.Label(label=spec.output_label, elem_id="demo-output")
    if spec.output is OutputKind.ENTITIES:
        return gr.HighlightedText(label=spec.output_label, combine_adjacent=True, elem_id="demo-output")
    return gr.Textbox(label=spec.output_label, lines=8, buttons=["copy"], elem_id="demo-output")


def _prepare_or_tell(predictor: Predictor, values: Sequence[object]) -> Prepared:
    try:
        return predictor.prepare(values)
    except InputError as error:
        # gr.Error reaches only this caller: a toast in the browser, an AppError in gradio_client.
        raise gr.Error(str(error), title="Please check your input", print_exception=False) from None


def _answer(outcome: Outcome | Failed) -> tuple[object, str]:
    if isinstance(outcome, Failed):
        raise gr.Error(outcome.message, title=outcome.title, print_exception=False)
    return outcome.value, outcome.notes


def _batched(predictor: Predictor, batcher: Batcher[BatchItem, BatchResult]) -> Callable:
    async def predict(*values: str) -> tuple[object, str]:
        return _answer(await batcher.submit(_prepare_or_tell(predictor, values)))  # type: ignore[arg-type]

    return predict


async def _show_wait(predictor: Predictor, progress: gr.Progress) -> None:
    """Progress for this visitor while the batch waits for the model to start (a backend scaled to zero)."""
    while True:
        await asyncio.sleep(0.5)
        if (waiting := predictor.waiting) is not None:
            now = time.monotonic()
            progress(waiting.fraction(now), desc=waiting.describe(now))


def _batched_with_wait(predictor: Predictor, batcher: Batcher[BatchItem, BatchResult]) -> Callable:
    async def predict(*values: str, progress=gr.Progress()) -> tuple[object, str]:
        watch = asyncio.create_task(_show_wait(predictor, progress))
        try:
            outcome = await batcher.submit(_prepare_or_tell(predictor, values))
        finally:
            watch.cancel()
        return _answer(outcome)  # type: ignore[arg-type]

    return predict


def _one_call_each(predictor: Predictor, gpu: GpuWrap) -> Callable:
    """ZeroGPU: each request in a GPU call of its own, made from its own handler thread, where
    `spaces.GPU` finds this visitor's request and bills their quota, not a batch-mate's."""
    task, max_new_tokens = predictor.model.spec.name, predictor.max_new_tokens
    predict_batch = gpu(predictor.predict_batch, lambda batch: gpu_seconds(task, batch, max_new_tokens))

    def predict(*values: str) -> tuple[object, str]:
        (outcome,) = predict_batch([_prepare_or_tell(predictor, values)])
        return _answer(outcome)

    return predict


def _streamed(predictor: Predictor, gpu: GpuWrap | None) -> Callable:
    stream = predictor.stream
    if gpu is not None:
        task, max_new_tokens = predictor.model.spec.name, predictor.max_new_tokens
        stream = gpu(stream, lambda prepared: gpu_seconds(task, [prepared], max_new_tokens))

    def predict(*values: str):
        for outcome in stream(_prepare_or_tell(predictor, values)):
            yield outcome.value, outcome.notes

    return predict


def _named_like(fn: Callable, predictor: Predictor) -> Callable:
    """Give `fn(*values)` the task's parameter names, so the API reads `predict(source, candidates)`,
    and a docstring in the form Gradio's MCP server reads into the `predict` tool's description."""
    spec = predictor.model.spec
    # Gradio fills a gr.Progress parameter itself; the API shows only the task's inputs.
    progress = [p for p in inspect.signature(fn).parameters.values() if isinstance(p.default, gr.Progress)]
    fn.__signature__ = inspect.Signature(
        [inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for f in spec.inputs] + progress
    )
    args = "\n".join(f"    {f.name}: {f.label}." for f in spec.inputs)
    fn.__doc__ = (
        f"{spec.title} with {predictor.model.source.name}. {spec.description}\n\n"
        f"Args:\n{args}\n\nReturns:\n    {spec.output_label}; notes on how the input was cleaned or cut.\n"
    )
    return fn


def build_demo_tab(
    predictor: Predictor, settings: Settings, gpu: GpuWrap | None
) -> Batcher[BatchItem, BatchResult] | None:
    """Components and the `/predict` endpoint, inside the caller's `gr.Tab`. Returns the Batcher
    `/predict` runs in, for the lean JSON routes to share (None when requests are not batched, or
    the model does not run here).

    `gpu` is None off ZeroGPU, where concurrent visitors' requests are batched; on ZeroGPU it
    wraps each visitor's own call in `spaces.GPU`. A model on a remote server (INFERENCE_URL) is
    batched the same way, there.
    """
    spec = predictor.model.spec
    gr.Markdown(f"{spec.description}\n\n{predictor.where_it_runs()}", elem_id="demo-where")
    with gr.Row():
        with gr.Column():
            inputs = [
                gr.Textbox(
                    label=f.label,
                    placeholder=f.placeholder,
                    lines=f.lines,
                    max_lines=max(f.lines, 12),
                    elem_id=f"demo-{f.name}",
                )
                for f in spec.inputs
            ]
            run = gr.Button("Run", variant="primary", elem_id="demo-run")
        with gr.Column():
            output = _output_component(predictor)
            notes = gr.Markdown(label="Notes", elem_id="demo-notes")
    examples = gr.Examples(
        examples=[list(e) for e in spec.examples], inputs=inputs, label="Examples", elem_id="demo-examples"
    )
    batcher = None
    if spec.streaming:
        fn, limit = _streamed(predictor, gpu), 1
    elif gpu is not None:
        # ZeroGPU queues and runs the calls; the limit only bounds the server threads waiting on it.
        fn, limit = _one_call_each(predictor, gpu), settings.max_batch_size
    else:
        batcher = Batcher(partial(run_batch, predictor), settings.max_batch_size, max_in_flight=predictor.copies)
        fn = (_batched_with_wait if predictor.starts_cold else _batched)(predictor, batcher)
        # A batch in flight per copy of the model, and enough handlers besides to fill the next batch meanwhile.
        limit = (predictor.copies + 1) * settings.max_batch_size
    event = dict(
        fn=_named_like(fn, predictor),
        inputs=inputs,
        outputs=[output, notes],
        # Raw payloads: Textbox.preprocess would turn a dict or list sent through the API into its repr,
        # where the caller deserves "must be text".
        preprocess=False,
        concurrency_id="predict",
        concurrency_limit=limit,
    )
    gr.on([run.click, inputs[-1].submit], api_name="predict", **event)
    # One click on an example fills the inputs and runs them, through the same worker as /predict.
    examples.load_input_event.then(api_visibility="undocumented", **event)
    # With INFERENCE_URL the lean routes stay off: callers are better served by that server itself.
    return batcher if predictor.runs_here else None


def build_unavailable_tab(problem: str) -> None:
    """What visitors see instead of the Demo when the model could not be loaded: the reason and the fix."""
    gr.Markdown(
        "## The demo is not available right now\n\n"
        f"The model could not be loaded:\n\n> {problem}\n\n"
        "**Owner:** fix the variable named above in *Settings → Variables and secrets*; the Space restarts "
        "by itself. The Diagnostics tab shows whether the GPU and the frameworks are in order.",
        elem_id="demo-unavailable",
    )
