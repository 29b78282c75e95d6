"""The Diagnostics tab: rendering of a report, and `/diagnostics` through gradio_client on a live Blocks."""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
import pytest
from gradio_client import Client

from diagnostics.tab import HEADERS, build_diagnostics_tab, render
from diagnostics.verdicts import COMPONENTS
from diagnostics.cache import LatestReport
from tests.apptools import free_port
from tests.fixtures.diagnostics import recorded_report


def test_render_fills_headline_table_sections_markdown_and_download():
    data = recorded_report("jax_cuda_backend_failed").to_dict()
    headline, rows, *sections, markdown, download = render(data)
    assert "FAIL" in headline
    assert [row[0] for row in rows] == ["GPU & driver", "CUDA wheels", "PyTorch", "JAX", "TensorFlow"]
    assert len(rows[0]) == len(HEADERS) and len(sections) == len(COMPONENTS)
    assert "CUDA backend failed to initialize" in sections[COMPONENTS.index("jax")]
    assert markdown.startswith("# GPU diagnostics")
    assert download.value["path"].endswith(".json") and download.interactive


def test_render_leaves_the_page_alone_without_a_report():
    assert all(value is gr.skip() or value == gr.skip() for value in render(None))


@pytest.fixture(scope="module")
def tab_url() -> Iterator[str]:
    with gr.Blocks() as demo:
        with gr.Tab("Diagnostics"):
            build_diagnostics_tab(LatestReport(timeout_s=120))
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    yield url
    demo.close()


def test_only_the_report_endpoints_are_public(tab_url: str):
    api = Client(tab_url, verbose=False).view_api(print_info=False, return_format="dict")
    assert sorted(api["named_endpoints"]) == ["/diagnostics", "/diagnostics_smoke"]


@pytest.mark.slow
def test_diagnostics_endpoint_returns_a_verdict_per_framework(tab_url: str):
    report = Client(tab_url, verbose=False).predict(api_name="/diagnostics")
    verdicts = {v["component"]: v for v in report["verdicts"]}
    assert set(verdicts) == set(COMPONENTS)
    for framework in ("torch", "jax", "tensorflow"):
        assert verdicts[framework]["status"] in {"OK", "WARN", "FAIL"} and verdicts[framework]["reason"]
    assert report["overall"] == "WARN" and report["torch"]["version"]
