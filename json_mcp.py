"""Gradio's MCP server, made to answer JSON and to take every input the other ways in take.

Gradio 6.31's server (gradio/mcp.py) writes each output with `str()`, so a dict reaches the agent as a
Python repr (`{'label': ...}`) that it cannot parse. And it runs a queued event by calling the app back over
HTTP with gradio_client, whose JSON encoder raises on a lone surrogate that the MCP request itself carried
as valid JSON ("\\ud800"): MCP `predict` refused what `/predict` cleans (models/inputs.py) and answers. Here:
- each tool answers one JSON text: its output, or its outputs as a list (as `/predict` answers), and the
  same value as structured content under "result" (the key Gradio's own `structured_output` uses; 6.31
  puts its text blocks there, not the value);
- a tool call runs in this process, as Gradio itself runs MCP calls of events without the queue, so every
  input reaches the handler and its cleaning;
- in place of the queue's bound, at most QUEUE_MAX_SIZE tool calls run at once; beyond that the caller is
  told to retry, as the queue tells a caller it is full.
The app's tools return no files, so Gradio's handling of file outputs is not needed here.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import gradio.mcp
from mcp import types
from pydantic import BaseModel

from models.inference_api import Gate


def _plain(value: Any) -> Any:
    """What json.dumps cannot write itself: the postprocessed data models of Gradio's components (gr.JSON's)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


class JsonMcpServer(gradio.mcp.GradioMCPServer):
    def create_mcp_server(self) -> Any:
        server = super().create_mcp_server()
        call_tool = server.request_handlers[types.CallToolRequest]
        # The lean routes' gate, with the queue's bound (app.py sets it with demo.queue() before launch()).
        capacity = self.blocks._queue.max_size
        gate = Gate(capacity) if capacity is not None else None

        async def bounded_call(request: types.CallToolRequest) -> types.ServerResult:
            refused = gate.refusal() if gate else None
            if refused:
                return types.ServerResult(types.CallToolResult(content=[_text(refused.message)], isError=True))
            with gate.enter() if gate else contextlib.nullcontext():
                answer = await call_tool(request)
            result = answer.root
            if isinstance(result, types.CallToolResult) and not result.isError and len(result.content) == 1:
                result.structuredContent = {"result": json.loads(result.content[0].text)}
            return answer

        server.request_handlers[types.CallToolRequest] = bounded_call
        return server

    def _prepare_tool_call_args(
        self, name: str, arguments: dict[str, Any]
    ) -> tuple[str, list[Any], dict[str, str], Any]:
        endpoint, args, headers, block_fn = super()._prepare_tool_call_args(name, arguments)
        in_process = copy.copy(block_fn)
        in_process.queue = False
        return endpoint, args, headers, in_process

    def postprocess_output_data(self, data: Any, root_url: str) -> list[types.TextContent]:
        outputs = list(data)
        return [_text(json.dumps(outputs[0] if len(outputs) == 1 else outputs, ensure_ascii=False, default=_plain))]


def use_json_mcp_server() -> None:
    """Make `launch(mcp_server=True)` build a JsonMcpServer: Gradio looks the class up in gradio.mcp when it
    creates the app, and offers no other way to give it one."""
    gradio.mcp.GradioMCPServer = JsonMcpServer  # type: ignore[misc]
