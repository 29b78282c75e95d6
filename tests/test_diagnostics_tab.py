"""The Diagnostics tab: rendering of a report, and `/diagnostics` through gradio_client on a live Blocks."""

from __future__ import annotations

from collections.abc import Iterator

import gradio as gr
import pytest
from gradio_client import Client

from diagnostics.cache import Answer, LatestReport, RunLimits
from diagnostics.downloads import ReportFiles
from diagnostics.tab import HEADERS, ReportViews, build_diagnostics_tab
from diagnostics.verdicts import COMPONENTS
from tests.apptools import free_port
from tests.fixtures.diagnostics import recorded_report


class Recorded:
    """collect_report's stand-in: a recorded report per run, with the run's number in its time."""

    def __init__(self) -> None:
        self.runs = 0

    def __call__(self, timeout_s, smoke=False, on_probe=None):
        self.runs += 1
        report = recorded_report("jax_cuda_backend_failed")
        report.created_at = f"2026-11-28T12:00:0{self.runs}+00:00"
        return report


@pytest.fixture
def views(tmp_path) -> ReportViews:
    reports = LatestReport(timeout_s=5, limits=RunLimits(min_interval_s=0), collect=Recorded())
    return ReportViews(reports, ReportFiles(parent=tmp_path))


def test_render_fills_headline_table_sections_markdown_and_download(views):
    data = views.answer_json(views.reports.refresh())
    assert data["run"] == {"id": 1, "note": ""}
    headline, rows, *sections, markdown, download = views.render(data)
    assert "FAIL" in headline and "2026-11-28T12:00:01" in headline
    assert [row[0] for row in rows] == ["GPU & driver", "CUDA wheels", "PyTorch", "JAX", "TensorFlow"]
    assert len(rows[0]) == len(HEADERS) and len(sections) == len(COMPONENTS)
    assert "CUDA backend failed to initialize" in sections[COMPONENTS.index("jax")]
    assert markdown.startswith("# GPU diagnostics")
    assert download.value["path"].endswith("gpu-diagnostics-20261128120001-run1.json") and download.interactive


def test_render_trusts_nothing_the_caller_sends(views):
    views.render(views.answer_json(views.reports.refresh()))
    files = sorted(views.files.folder.rglob("*"))
    for forged in (
        {"created_at": "../../evil", "overall": "OK", "run": {"id": 77}},
        {"run": {"id": True}},
        {"run": "1"},
        "text",
        None,
    ):
        headline, *_, download = views.render(forged)
        assert "2026-11-28T12:00:01" in headline and "evil" not in headline
        assert download.value["path"].endswith("run1.json")
    assert sorted(views.files.folder.rglob("*")) == files


def test_one_file_per_report_and_files_of_replaced_reports_are_removed(views):
    def written() -> dict[str, str]:
        return {p.name: p.read_text() for p in views.files.folder.iterdir()}

    views.render(views.answer_json(views.reports.refresh()))
    (first,) = views.files.folder.iterdir()
    first.write_text("changed")  # writing it again for the same report would put the report back
    assert views.render({"run": {"id": 1}})[-1].value["path"].endswith(first.name)
    assert written() == {first.name: "changed"}
    views.render(views.answer_json(views.reports.refresh()))
    views.render(views.answer_json(views.reports.refresh()))
    assert list(written()) == ["gpu-diagnostics-20261128120003-run3.json"]


def test_render_leaves_the_page_alone_without_a_report(tmp_path):
    views = ReportViews(LatestReport(timeout_s=5, collect=Recorded()), ReportFiles(parent=tmp_path))
    assert all(value is gr.skip() or value == gr.skip() for value in views.render(None))
    assert not list(tmp_path.iterdir())


def test_a_caller_turned_away_gets_a_clear_error_not_an_empty_report(views):
    with pytest.raises(gr.Error, match="under way"):
        views.answer_json(Answer(None, 0, "A run without the smoke test is under way; try again when it ends."))


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
