"""The app as an MCP server: the tools README lists, described for agents, callable; no admin tool."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client

from tests.apptools import REPO, AppProcess

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


def test_an_agent_gets_the_demo_answer(app):
    async def call(session: ClientSession):
        arguments = {"source": "A man is playing a guitar.", "candidates": "Stocks fell.\nSomeone strums a guitar."}
        return await session.call_tool("predict", arguments)

    result = asyncio.run(with_session(app.url, call))
    assert not result.isError
    assert "Someone strums a guitar." in result.content[0].text


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
