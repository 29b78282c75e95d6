"""The app as an MCP server: the tools README lists, described for agents, callable; no admin tool."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.apptools import REPO, AppProcess
from tests.test_demo_hardening import call_raw as call_predict_raw

pytestmark = pytest.mark.slow


def readme_tools() -> list[str]:
    """The tool names in README's MCP table."""
    section = REPO.joinpath("README.md").read_text().split("### MCP\n", 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)


async def with_session(url: str, work):
    async with streamablehttp_client(f"{url}/gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    with AppProcess({"DIAGNOSTICS_AT_STARTUP": "false"}, tmp_path_factory.mktemp("app") / "app.log") as app:
        yield app


@pytest.fixture(scope="module")
def tools(app) -> dict:
    async def listed(session: ClientSession):
        return (await session.list_tools()).tools

    return {tool.name: tool for tool in asyncio.run(with_session(app.url, listed))}


def test_the_tools_are_the_ones_readme_lists(tools):
    assert readme_tools() == ["predict", "diagnostics", "diagnostics_smoke"]
    assert sorted(tools) == sorted(readme_tools())


def test_each_tool_says_what_it_does(tools):
    assert "Sentence similarity" in tools["predict"].description
    assert "torch, JAX and TensorFlow" in tools["diagnostics"].description
    assert "matrix multiplication" in tools["diagnostics_smoke"].description
    properties = tools["predict"].inputSchema["properties"]
    assert list(properties) == ["source", "candidates"]
    assert properties["candidates"]["description"] == "Candidates, one per line."


def test_an_agent_gets_the_demo_answer_as_json(app):
    async def call(session: ClientSession):
        arguments = {"source": "A man is playing a guitar.", "candidates": "Stocks fell.\nSomeone strums a guitar."}
        return await session.call_tool("predict", arguments)

    result = asyncio.run(with_session(app.url, call))
    assert not result.isError
    ranking, notes = json.loads(result.content[0].text)  # what /predict answers: the ranking and the notes
    assert ranking["label"] == "Someone strums a guitar."
    assert [c["label"] for c in ranking["confidences"]] == ["Someone strums a guitar.", "Stocks fell."]
    assert notes == ""
    assert result.structuredContent == {"result": [ranking, notes]}


def test_an_agent_gets_the_diagnostics_report_as_json(app):
    async def call(session: ClientSession):
        return await session.call_tool("diagnostics", {})

    result = asyncio.run(with_session(app.url, call))
    assert not result.isError
    report = json.loads(result.content[0].text)
    assert report["schema"] == 1 and {v["component"] for v in report["verdicts"]} >= {"torch", "jax", "tensorflow"}
    assert result.structuredContent == {"result": report}


def call_tool_raw(app: AppProcess, arguments: dict) -> dict:
    """tools/call `predict` as plain JSON-RPC over HTTP, the body escaped to ASCII so lone surrogates survive
    (they are valid JSON; the mcp client refuses to send them); returns the call's result."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "predict", "arguments": arguments}}
    response = httpx.post(
        f"{app.url}/gradio_api/mcp/",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        timeout=60,
    )
    return json.loads(response.text.split("data: ", 1)[1])["result"]


def test_a_lone_surrogate_is_cleaned_as_predict_cleans_it(app):
    arguments = {"source": "A man\ud800 plays a guitar.", "candidates": "Stocks fell.\nSomeone strums\udfff a guitar."}
    result = call_tool_raw(app, arguments)
    assert not result["isError"], result
    through_mcp = json.loads(result["content"][0]["text"])
    event, through_predict = call_predict_raw(app, list(arguments.values()))
    assert event == "complete" and through_mcp == through_predict
    assert "Source sentence: removed 1 character(s) that are not valid Unicode" in through_mcp[1]


def test_no_admin_action_is_a_tool(app, tools):
    assert not [name for name in tools if "admin" in name or name.startswith("on_")]

    async def call(session: ClientSession):
        return await session.call_tool("on_refresh", {})

    result = asyncio.run(with_session(app.url, call))
    assert result.isError and "Unknown tool" in result.content[0].text


def test_mcp_server_false_turns_it_off(tmp_path):
    with AppProcess({"MCP_SERVER": "false", "DIAGNOSTICS_AT_STARTUP": "false"}, tmp_path / "app.log") as app:
        response = httpx.post(f"{app.url}/gradio_api/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 404


def test_tool_calls_beyond_queue_max_size_are_told_to_retry(tmp_path):
    env = {"QUEUE_MAX_SIZE": "2", "MAX_BATCH_SIZE": "1", "MAX_INPUT_CHARS": "100000", "DIAGNOSTICS_AT_STARTUP": "false"}
    with AppProcess(env, tmp_path / "app.log") as app:
        # Each call costs a forward pass of 32 long sentences: 12 at once cannot all run in 2 places.
        arguments = {"source": "a", "candidates": "\n".join(f"{i} " + "word " * 200 for i in range(32))}
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda _: call_tool_raw(app, arguments), range(12)))
    busy = [r for r in results if r["isError"]]
    assert busy and all("Too many requests are waiting (2, QUEUE_MAX_SIZE)" in r["content"][0]["text"] for r in busy)
    assert all(len(json.loads(r["content"][0]["text"])[0]["confidences"]) == 32 for r in results if not r["isError"])
