"""GuardedBlocks on a real Gradio server: an unexpected exception reaches its caller in words, never as
`error: null`, and reaches the log once in one line; a wrong number of values is refused by name."""

from __future__ import annotations

import logging

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from guarded_blocks import GuardedBlocks


def _fails(text: str) -> str:
    # The text of an unexpected exception may hold paths or a visitor's input: it stays in the log.
    raise TypeError(f"cannot take {text!r} from /srv/private/path")


def _joins(first: str, second: str) -> str:
    return first + second


@pytest.fixture(scope="module")
def server():
    import gradio as gr

    with GuardedBlocks() as demo:
        first, second, out = gr.Textbox(), gr.Textbox(), gr.Textbox()
        gr.Button().click(_fails, first, out, api_name="fails")
        gr.Button().click(_joins, [first, second], out, api_name="joins")
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url
    demo.close()


def test_an_unexpected_exception_reaches_its_caller_as_a_message(server, caplog, capfd):
    client = Client(server, verbose=False)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        for _ in range(3):
            with pytest.raises(AppError) as caught:
                client.predict("hello", api_name="/fails")
            assert str(caught.value).startswith("/fails could not be completed (TypeError).")
            assert "private" not in str(caught.value)
    lines = [r for r in caplog.records if r.name == "app.errors"]
    assert len(lines) == 3
    assert lines[0].getMessage().startswith("/fails failed: TypeError at test_guarded_blocks.py:")
    # A traceback the first time this failure is seen, one line each time after.
    assert lines[0].exc_info is not None and lines[1].exc_info is None and lines[2].exc_info is None
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.parametrize("data", [["a"], ["a", "b", "c"]])
def test_a_wrong_number_of_values_is_refused_by_name(server, data, capfd):
    posted = httpx.post(f"{server}gradio_api/call/joins", json={"data": data}, timeout=30)
    stream = httpx.get(f"{server}gradio_api/call/joins/{posted.json()['event_id']}", timeout=30).text
    assert "event: error" in stream
    assert f"/joins takes 2 value(s), in this order: first, second; {len(data)} sent." in stream
    assert "Traceback" not in capfd.readouterr().err


def test_a_right_call_is_served(server):
    assert Client(server, verbose=False).predict("a", "b", api_name="/joins") == "ab"
