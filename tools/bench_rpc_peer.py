#!/usr/bin/env python3
"""A Python MCP server (mcp==2.3.0, low-level `Server`) used as the benchmark and test peer.

It exposes the same `schema_validate` tool as Atelier:

    arguments: {"schema": <JSON Schema>, "instance": <any JSON value>}
    result:    structuredContent {"valid": bool,
                                  "errors": [{"instanceLocation", "keywordLocation", "error"}]}

validated with `jsonschema.Draft202012Validator` (locations are JSON Pointers, "" for the root).

With --debug-tools it also exposes `debug_sleep` ({"ms": int, "steps": int}), which sleeps
`ms` milliseconds in `steps` slices and reports progress after each slice, so
`tools/mcp_sdk_check.py` can be run against this peer as a sanity check of the checker itself.

Transports:
    bench_rpc_peer.py                    stdio (newline-delimited JSON-RPC); both eras, the
                                         client's first request decides (SDK behaviour)
    bench_rpc_peer.py --http HOST:PORT   Streamable HTTP at http://HOST:PORT/mcp (uvicorn),
                                         JSON responses (no SSE) so a plain HTTP client can drive it
    bench_rpc_peer.py --tcp HOST:PORT    newline-delimited JSON-RPC over raw TCP, one SDK session per
                                         connection (the SDK has no TCP transport; this small adapter
                                         reuses its stdio framing, as the 2026-07-28 stdio page allows)

Run it with the project virtualenv: .venv/bin/python tools/bench_rpc_peer.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import jsonschema
import mcp_types as types
from mcp.server import Server
from mcp.server.caching import CacheHint
from mcp.server.stdio import stdio_server
from mcp.shared._context_streams import create_context_streams
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

# The same descriptor Atelier serves (schemas/tools/*.json), so both servers expose an identical tool.
_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "tools"


def _descriptor(name: str) -> types.Tool:
    d = json.loads((_SCHEMAS / f"{name}.json").read_text())
    return types.Tool(name=d["name"], description=d["description"], input_schema=d["inputSchema"],
                      output_schema=d.get("outputSchema"))


SCHEMA_VALIDATE_TOOL = _descriptor("schema_validate")

DEBUG_SLEEP_TOOL = types.Tool(
    name="debug_sleep",
    description="Sleep for `ms` milliseconds in `steps` slices, reporting progress after each (test helper).",
    input_schema={
        "type": "object",
        "properties": {
            "ms": {"type": "integer", "minimum": 0},
            "steps": {"type": "integer", "minimum": 1},
        },
        "required": ["ms"],
    },
)


def json_pointer(path: Any) -> str:
    """Turn a jsonschema path (deque of keys/indices) into an RFC 6901 JSON Pointer."""
    parts = []
    for part in path:
        parts.append(str(part).replace("~", "~0").replace("/", "~1"))
    return "".join("/" + p for p in parts)


def validate(schema: Any, instance: Any) -> dict[str, Any]:
    """Validate and report errors in the style of JSON Schema "basic" output."""
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema)
    errors = []
    for err in sorted(validator.iter_errors(instance), key=lambda e: (list(e.absolute_path), list(e.schema_path))):
        errors.append(
            {
                "instanceLocation": json_pointer(err.absolute_path),
                "keywordLocation": json_pointer(err.absolute_schema_path),
                "error": err.message,
            }
        )
    return {"valid": not errors, "errors": errors}


def tool_error(message: str) -> types.CallToolResult:
    """A tool execution error: a normal result with isError true, so a model can read it."""
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


async def call_schema_validate(arguments: dict[str, Any]) -> types.CallToolResult:
    missing = [key for key in ("schema", "instance") if key not in arguments]
    if missing:
        return tool_error(f"Invalid arguments: missing required argument(s): {', '.join(missing)}")
    schema = arguments["schema"]
    if not isinstance(schema, dict | bool):
        return tool_error("Invalid arguments: 'schema' must be an object or a boolean")
    try:
        report = validate(schema, arguments["instance"])
    except jsonschema.SchemaError as exc:
        return tool_error(f"Invalid schema: {exc.message}")
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(report, separators=(",", ":")))],
        structured_content=report,
        is_error=False,
    )


async def call_debug_sleep(ctx: Any, arguments: dict[str, Any]) -> types.CallToolResult:
    ms = arguments.get("ms")
    steps = arguments.get("steps", 1)
    if not isinstance(ms, int) or ms < 0 or not isinstance(steps, int) or steps < 1:
        return tool_error("Invalid arguments: 'ms' must be an integer >= 0 and 'steps' an integer >= 1")
    for step in range(1, steps + 1):
        # A notifications/cancelled for this request cancels this scope (SDK "interrupt" mode).
        await anyio.sleep(ms / 1000 / steps)
        await ctx.session.report_progress(step, steps, f"step {step} of {steps}")
    return types.CallToolResult(content=[types.TextContent(text=f"slept {ms} ms")], is_error=False)


def build_server(debug_tools: bool) -> Server[Any]:
    tools = [SCHEMA_VALIDATE_TOOL] + ([DEBUG_SLEEP_TOOL] if debug_tools else [])

    async def on_list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def on_call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = params.arguments or {}
        if params.name == "schema_validate":
            return await call_schema_validate(arguments)
        if params.name == "debug_sleep" and debug_tools:
            return await call_debug_sleep(ctx, arguments)
        # Unknown tool: a protocol error, as the spec asks.
        raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")

    return Server(
        "atelier-bench-peer",
        version="1.0.0",
        cache_hints={"tools/list": CacheHint(ttl_ms=60_000, scope="public")},
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
    )


async def serve_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_tcp(server: Server[Any], host: str, port: int) -> None:
    """Serve each TCP connection as its own MCP session, framed like stdio (one JSON message per line)."""

    async def handle(sock: anyio.abc.SocketStream) -> None:
        read_writer, read_stream = create_context_streams[SessionMessage | Exception](0)
        write_stream, write_reader = create_context_streams[SessionMessage](0)

        async def socket_reader() -> None:
            buffer = b""
            async with read_writer:
                try:
                    async for chunk in sock:
                        buffer += chunk
                        *lines, buffer = buffer.split(b"\n")
                        for line in lines:
                            if not line.strip():
                                continue
                            try:
                                message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                            except Exception as exc:  # surfaced to the session like stdio does
                                await read_writer.send(exc)
                                continue
                            await read_writer.send(SessionMessage(message))
                except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    pass

        async def socket_writer() -> None:
            async with write_reader:
                try:
                    async for session_message in write_reader:
                        data = session_message.message.model_dump_json(by_alias=True, exclude_unset=True)
                        await sock.send(data.encode() + b"\n")
                except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                    pass

        async with sock, anyio.create_task_group() as tg:
            tg.start_soon(socket_reader)
            tg.start_soon(socket_writer)
            await server.run(read_stream, write_stream, server.create_initialization_options())
            tg.cancel_scope.cancel()

    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    await listener.serve(handle)


def serve_http(server: Server[Any], host: str, port: int) -> None:
    import uvicorn

    # json_response=True: each POST is answered with application/json instead of an SSE stream.
    app = server.streamable_http_app(json_response=True, host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--http", metavar="HOST:PORT", help="serve Streamable HTTP at http://HOST:PORT/mcp")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="serve newline-delimited JSON-RPC over raw TCP")
    parser.add_argument("--debug-tools", action="store_true", help="also expose the debug_sleep tool")
    args = parser.parse_args()
    server = build_server(args.debug_tools)
    if args.http:
        host, _, port = args.http.rpartition(":")
        serve_http(server, host or "127.0.0.1", int(port))
    elif args.tcp:
        host, _, port = args.tcp.rpartition(":")
        anyio.run(serve_tcp, server, host or "127.0.0.1", int(port))
    else:
        anyio.run(serve_stdio, server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
