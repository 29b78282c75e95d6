"""The app as a process with INFERENCE_URL pointing at a backend that misbehaves (tests/tei_standin.py): one
that answers 200 and trickles its body, NaN in its vectors, a bad gzip body, a redirect loop. Every visitor
gets a worded message within INFERENCE_TIMEOUT, and /backend answers at once while a check hangs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.apptools import AppProcess
from tests.tei_standin import Behaviour, tei_standin

pytestmark = pytest.mark.slow

TIMEOUT_S = 3
"""INFERENCE_TIMEOUT of the app under test."""
TRICKLE_S = 40
"""How long the stand-in trickles: far longer than TIMEOUT_S, so waiting for it shows."""
CHECK_INTERVAL_S = 10
"""diagnostics/backend.py BackendCheck's default: a fresh check at most this often."""


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Behaviour]]:
    with tei_standin() as (url, behaviour):
        env = {
            "INFERENCE_URL": url,
            "INFERENCE_TIMEOUT": str(TIMEOUT_S),
            "INFERENCE_MAX_WAIT": "5",
            "HF_HUB_OFFLINE": "0",
            "DIAGNOSTICS_AT_STARTUP": "false",
            "MCP_SERVER": "false",
        }
        with AppProcess(env, tmp_path_factory.mktemp("hostile") / "app.log") as app:
            yield app.url, behaviour


@pytest.fixture
def behaviour(served) -> Iterator[Behaviour]:
    _, behaviour = served
    yield behaviour
    behaviour.trickle_s, behaviour.nan, behaviour.bad_gzip, behaviour.redirect_loop = 0.0, False, False, False


def refusal(app_url: str) -> tuple[str, float]:
    """The message a visitor of the Demo gets, and how long they waited for it."""
    started = time.monotonic()
    with pytest.raises(AppError) as caught:
        Client(app_url, verbose=False).predict("a guitar", "strumming\nsinging", api_name="/predict")
    return str(caught.value), time.monotonic() - started


def test_a_backend_that_trickles_its_answer_is_given_up_at_the_deadline(served, behaviour):
    behaviour.trickle_s = TRICKLE_S
    message, waited = refusal(served[0])
    assert "did not answer in time (INFERENCE_TIMEOUT)" in message
    # The deadline, plus a read timeout's worth of slack and the client's own start.
    assert waited < 3 * TIMEOUT_S + 5, waited


def test_nan_in_the_backends_vectors_is_an_error_not_a_ranking(served, behaviour):
    behaviour.nan = True
    message, _ = refusal(served[0])
    assert message.startswith("The model's server") and "NaN" in message


@pytest.mark.parametrize("switch", ["bad_gzip", "redirect_loop"])
def test_a_bad_gzip_or_a_redirect_loop_gets_a_worded_message(served, behaviour, switch):
    setattr(behaviour, switch, True)
    message, _ = refusal(served[0])
    assert message.startswith("The model's server"), message


def test_backend_answers_at_once_while_a_check_hangs(served, behaviour):
    app_url, _ = served
    client = Client(app_url, verbose=False)
    latest = client.predict(api_name="/backend")
    assert latest["answered"] is True
    # The next fresh check may start once the interval has passed since this one.
    time.sleep(max(0.0, latest["checked_at"] + CHECK_INTERVAL_S + 0.5 - time.time()))
    behaviour.trickle_s = TRICKLE_S
    hanging = threading.Thread(target=lambda: Client(app_url, verbose=False).predict(api_name="/backend"))
    hanging.start()
    time.sleep(1.0)  # the check is now under way, waiting on the trickle
    waits = []
    for _ in range(5):
        started = time.monotonic()
        status = client.predict(api_name="/backend")
        waits.append(time.monotonic() - started)
        assert status["checked_at"] == latest["checked_at"]  # the latest result, served while the check runs
    hanging.join(timeout=TRICKLE_S + 10)
    assert max(waits) < 1.5, waits
    fresh = client.predict(api_name="/backend")
    assert fresh["checked_at"] > latest["checked_at"]
    assert fresh["answered"] is False and "did not answer in time" in fresh["message"]
