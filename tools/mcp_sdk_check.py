#!/usr/bin/env python3
"""Drive an MCP server over stdio with the official Python SDK (mcp==2.3.0) and check it.

Usage (from the repository root, with the project virtualenv):

    .venv/bin/python tools/mcp_sdk_check.py ATELIER_BINARY [--era legacy|2026-07-28]
    .venv/bin/python tools/mcp_sdk_check.py --command ".venv/bin/python tools/bench_rpc_peer.py --debug-tools"

ATELIER_BINARY is started as `ATELIER_BINARY serve --stdio --debug-tools` (debug_sleep is only
registered with --debug-tools); --command replaces that whole command line (used to sanity-check
this script against the Python peer).

Eras:
  legacy      the SDK client does the initialize handshake (it offers 2025-11-25) and
              notifications/initialized; `ping` is checked too.
  2026-07-28  the SDK client probes server/discover (mode="auto") and must end up on the
              stateless era; every request then carries _meta protocolVersion/clientCapabilities.

Besides the SDK session, a few wire-level checks use a tiny hand-written newline-delimited
JSON-RPC client on a fresh server process (things the SDK will not send: an old or unknown
protocol version, a request with a broken _meta envelope).

Prints one line per check, then `N passed, M failed`; exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError

# send_ping and friends are deprecated in the SDK because 2026-07-28 removed them; we still test them.
warnings.simplefilter("ignore")

REPO_ROOT = Path(__file__).resolve().parent.parent
MODERN = "2026-07-28"
PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
CHECK_TIMEOUT_S = 20.0


# --------------------------------------------------------------------------- reporting


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def ok(self, name: str, detail: str = "") -> None:
        self.passed += 1
        print(f"PASS  {name}" + (f"  ({detail})" if detail else ""), flush=True)

    def fail(self, name: str, reason: str) -> None:
        self.failed += 1
        reason = " ".join(reason.split())  # one line per check, even for pydantic's multi-line errors
        if len(reason) > 400:
            reason = reason[:400] + " …"
        print(f"FAIL  {name}: {reason}", flush=True)

    async def run(self, name: str, check: Callable[[], Awaitable[str | None]]) -> bool:
        try:
            with anyio.fail_after(CHECK_TIMEOUT_S):
                detail = await check()
        except AssertionError as exc:
            self.fail(name, str(exc) or "assertion failed")
            return False
        except TimeoutError:
            self.fail(name, f"timed out after {CHECK_TIMEOUT_S:.0f} s")
            return False
        except MCPError as exc:
            self.fail(name, f"JSON-RPC error {exc.code}: {exc.error.message}")
            return False
        except Exception as exc:  # a check must never stop the run
            self.fail(name, f"{type(exc).__name__}: {exc}")
            return False
        self.ok(name, detail or "")
        return True


# --------------------------------------------------------------------------- wire tap
# The SDK hides the wire; for the cancellation check we need to see it (was
# notifications/cancelled sent? did a response or progress still arrive?). These
# wrappers sit between the SDK session and the stdio transport and log every message.


class WireLog:
    def __init__(self) -> None:
        self.events: list[tuple[float, str, dict[str, Any]]] = []

    def record(self, direction: str, item: Any) -> None:
        message = getattr(item, "message", None)
        if message is not None:
            body = message.model_dump(by_alias=True, mode="json", exclude_unset=True)
            self.events.append((time.monotonic(), direction, body))

    def sent(self, since: float = 0.0) -> list[dict[str, Any]]:
        return [m for t, d, m in self.events if d == "out" and t >= since]

    def received(self, since: float = 0.0) -> list[tuple[float, dict[str, Any]]]:
        return [(t, m) for t, d, m in self.events if d == "in" and t >= since]


class TapRead:
    def __init__(self, inner: Any, log: WireLog) -> None:
        self._inner = inner
        self._log = log

    async def receive(self) -> Any:
        item = await self._inner.receive()
        self._log.record("in", item)
        return item

    def __aiter__(self) -> TapRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> TapRead:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class TapWrite:
    def __init__(self, inner: Any, log: WireLog) -> None:
        self._inner = inner
        self._log = log

    async def send(self, item: Any) -> None:
        self._log.record("out", item)
        await self._inner.send(item)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> TapWrite:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


@asynccontextmanager
async def tapped_stdio(params: StdioServerParameters, log: WireLog):
    async with stdio_client(params) as (read_stream, write_stream):
        yield TapRead(read_stream, log), TapWrite(write_stream, log)


# --------------------------------------------------------------------------- raw client


class RawClient:
    """Minimal newline-delimited JSON-RPC client on a fresh server process (no SDK)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO_ROOT
        )
        self.messages: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                message = {"unparseable": line.decode(errors="replace")}
            with self.cond:
                self.messages.append(message)
                self.cond.notify_all()

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, id_: int, method: str, params: dict[str, Any] | None = None, timeout: float = 10) -> dict:
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if m.get("id") == id_ and ("result" in m or "error" in m):
                        return m
                left = deadline - time.monotonic()
                assert left > 0, f"no response to {method} (id {id_}) within {timeout} s"
                self.cond.wait(left)

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=3)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def modern_meta(version: str = MODERN, capabilities: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {PROTOCOL_VERSION_KEY: version, CLIENT_INFO_KEY: {"name": "raw-check", "version": "0"}}
    if capabilities:
        meta[CLIENT_CAPABILITIES_KEY] = {}
    return meta


# --------------------------------------------------------------------------- the checks


def text_of(result: types.CallToolResult) -> str:
    return " ".join(block.text for block in result.content if isinstance(block, types.TextContent))


SESSION_CHECKS = ("tools/list", "tools/call schema_validate", "missing argument -> isError", "tools/call ask (offline planner)",
                  "unknown tool -> error", "progress notifications", "cancellation")


async def sdk_checks(report: Report, params: StdioServerParameters, era: str) -> None:
    log = WireLog()
    connect_name = "initialize handshake" if era == "legacy" else "server/discover"
    mode = "legacy" if era == "legacy" else "auto"
    connected = False
    try:
        async with Client(tapped_stdio(params, log), mode=mode, read_timeout_seconds=CHECK_TIMEOUT_S) as client:
            connected = True
            await session_checks(report, client, log, era, connect_name)
    except Exception as exc:  # noqa: BLE001 - report, never crash
        if connected:
            print(f"note: closing the session raised {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            report.fail(connect_name, f"could not connect: {type(exc).__name__}: {exc}")
            for name in SESSION_CHECKS:
                report.fail(name, "skipped (no session)")


async def session_checks(report: Report, client: Client, log: WireLog, era: str, connect_name: str) -> None:
    async def check_connect() -> str:
        session = client.session
        if era == "legacy":
            assert session.initialize_result is not None, "no InitializeResult"
            version = client.protocol_version
            assert version in ("2025-11-25", "2025-06-18"), f"negotiated {version!r}"
            assert client.server_info is not None and client.server_info.name, "serverInfo missing"
            await client.send_ping()
            sent_initialized = any(m.get("method") == "notifications/initialized" for m in log.sent())
            assert sent_initialized, "client did not send notifications/initialized"
            return f"protocolVersion {version}, server {client.server_info.name} {client.server_info.version}; ping ok"
        assert session.discover_result is not None, (
            "server/discover did not succeed: the SDK fell back to the initialize handshake "
            f"(negotiated {client.protocol_version!r})"
        )
        assert client.protocol_version == MODERN, f"negotiated {client.protocol_version!r}"
        supported = session.discover_result.supported_versions
        assert MODERN in supported, f"supportedVersions {supported}"
        caps = client.server_capabilities
        assert caps.tools is not None, "capabilities.tools missing"
        info = client.server_info
        who = f"{info.name} {info.version}" if info else "no serverInfo in _meta"
        return f"supportedVersions {supported}, {who}"

    await report.run(connect_name, check_connect)

    async def check_list() -> str:
        listing = await client.list_tools()
        names = [tool.name for tool in listing.tools]
        tool = next((t for t in listing.tools if t.name == "schema_validate"), None)
        assert tool is not None, f"schema_validate not listed (tools: {names})"
        assert tool.input_schema.get("type") == "object", "inputSchema.type must be 'object'"
        assert tool.output_schema, "outputSchema missing"
        return f"{len(names)} tools"

    await report.run("tools/list", check_list)

    async def check_validate() -> str:
        args = {"schema": {"type": "integer", "minimum": 1}, "instance": 0}
        result = await client.call_tool("schema_validate", args)
        assert result.is_error is False, f"isError true: {text_of(result)}"
        sc = result.structured_content
        assert isinstance(sc, dict), f"structuredContent is {sc!r}"
        assert sc.get("valid") is False, f"valid is {sc.get('valid')!r}"
        errors = sc.get("errors")
        assert isinstance(errors, list) and errors, f"errors is {errors!r}"
        first = errors[0]
        assert first.get("instanceLocation") == "", f"errors[0].instanceLocation {first.get('instanceLocation')!r}"
        assert first.get("keywordLocation") == "/minimum", (
            f"errors[0].keywordLocation {first.get('keywordLocation')!r}"
        )
        return f"errors[0] = {json.dumps(first)}"

    await report.run("tools/call schema_validate", check_validate)

    async def check_missing() -> str:
        result = await client.call_tool("schema_validate", {"instance": 0})
        assert result.is_error is True, "isError is not true for missing 'schema'"
        message = text_of(result)
        assert "schema" in message, f"message does not mention 'schema': {message!r}"
        return repr(message[:80])

    await report.run("missing argument -> isError", check_missing)

    async def check_ask() -> str:
        # An editor delegating a whole task: the offline planner routes it, runs fs_read, answers.
        result = await client.call_tool("ask", {"prompt": "show me the contents of README.md", "tools": ["fs_read"]})
        assert result.is_error is False, f"isError true: {text_of(result)}"
        sc = result.structured_content
        assert isinstance(sc, dict) and sc.get("stopReason") == "answered", f"structuredContent {sc!r}"[:300]
        calls = [c for turn in sc["trace"]["turns"] for c in turn["calls"]]
        assert [c["name"] for c in calls] == ["fs_read"], f"calls {calls!r}"[:300]
        assert calls[0]["arguments"] == {"path": "README.md"}, f"arguments {calls[0]['arguments']!r}"
        assert "make test" in sc["answer"], f"answer {sc['answer'][:200]!r}"
        return f"{len(calls)} call, {sc['trace']['durationMs']} ms"

    await report.run("tools/call ask (offline planner)", check_ask)

    async def check_unknown() -> str:
        try:
            result = await client.call_tool("no_such_tool_xyz", {})
        except MCPError as exc:
            note = "" if exc.code == types.INVALID_PARAMS else " (spec example uses -32602)"
            return f"JSON-RPC error {exc.code}: {exc.error.message}{note}"
        assert result.is_error is True, "unknown tool returned a successful result"
        return "isError result (spec prefers a -32602 protocol error)"

    await report.run("unknown tool -> error", check_unknown)

    async def check_progress() -> str:
        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        result = await client.call_tool("debug_sleep", {"ms": 300, "steps": 3}, progress_callback=on_progress)
        await anyio.sleep(0.1)  # progress callbacks run as separate tasks
        assert result.is_error is False, f"debug_sleep failed: {text_of(result)}"
        assert len(seen) >= 2, f"got {len(seen)} progress notification(s)"
        assert all(a < b for a, b in zip(seen, seen[1:])), f"progress not increasing: {seen}"
        return f"progress {seen}"

    await report.run("progress notifications", check_progress)

    async def check_cancel() -> str:
        seen: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            seen.append(progress)

        started = time.monotonic()
        with anyio.move_on_after(0.5) as scope:
            await client.call_tool("debug_sleep", {"ms": 5000, "steps": 50}, progress_callback=on_progress)
        assert scope.cancelled_caught, "debug_sleep {ms: 5000} returned within 0.5 s"
        cancelled_at = time.monotonic()
        call = next(
            (m for m in log.sent(started) if m.get("method") == "tools/call"
             and (m.get("params") or {}).get("name") == "debug_sleep"),
            None,
        )
        assert call is not None, "the tools/call was not seen on the wire"
        request_id = call["id"]
        await anyio.sleep(0.05)
        cancels = [m for m in log.sent(started) if m.get("method") == "notifications/cancelled"]
        assert any((m.get("params") or {}).get("requestId") == request_id for m in cancels), (
            "the SDK did not send notifications/cancelled"
        )
        # The server must still answer promptly.
        t0 = time.monotonic()
        if era == "legacy":
            await client.send_ping()
            follow = "ping"
        else:
            result = await client.call_tool("schema_validate", {"schema": True, "instance": 1})
            assert result.is_error is False, "follow-up call failed"
            follow = "tools/call"
        follow_ms = (time.monotonic() - t0) * 1000
        assert follow_ms < 2000, f"follow-up {follow} took {follow_ms:.0f} ms"
        # Then watch the wire until the sleep would have finished.
        await anyio.sleep(max(0.0, started + 5.6 - time.monotonic()))
        late_progress = [
            t - cancelled_at for t, m in log.received(cancelled_at + 0.25)
            if m.get("method") == "notifications/progress"
            and (m.get("params") or {}).get("progressToken") == request_id
        ]
        assert not late_progress, (
            f"server kept working: {len(late_progress)} progress notification(s) after the cancel"
        )
        late_reply = [m for _, m in log.received(cancelled_at) if m.get("id") == request_id]
        assert not late_reply, f"server still answered the cancelled request: {json.dumps(late_reply[0])[:120]}"
        return (f"cancelled after {(cancelled_at - started) * 1000:.0f} ms with {len(seen)} progress; "
                f"{follow} answered in {follow_ms:.0f} ms; no late progress or response")

    await report.run("cancellation", check_cancel)


def raw_checks(report: Report, argv: list[str], env: dict[str, str], era: str) -> None:
    """Wire-level checks with a hand-written client, each on a fresh server process."""

    def run(name: str, check: Callable[[RawClient], str]) -> None:
        client = RawClient(argv, env)
        try:
            detail = check(client)
        except AssertionError as exc:
            report.fail(name, str(exc) or "assertion failed")
        except Exception as exc:  # noqa: BLE001
            report.fail(name, f"{type(exc).__name__}: {exc}")
        else:
            report.ok(name, detail)
        finally:
            client.close()

    def init_params(version: str) -> dict[str, Any]:
        return {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "raw-check", "version": "0"}}

    if era == "legacy":

        def negotiate_0618(c: RawClient) -> str:
            reply = c.request(1, "initialize", init_params("2025-06-18"))
            assert "result" in reply, f"initialize failed: {reply.get('error')}"
            got = reply["result"].get("protocolVersion")
            assert got == "2025-06-18", f"server answered protocolVersion {got!r} (must echo a supported version)"
            c.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
            listing = c.request(2, "tools/list", {})
            assert "result" in listing, f"tools/list failed: {listing.get('error')}"
            return "echoes 2025-06-18"

        def negotiate_unknown(c: RawClient) -> str:
            reply = c.request(1, "initialize", init_params("1999-01-01"))
            assert "result" in reply, f"initialize failed: {reply.get('error')} (spec: answer with a supported version)"
            got = reply["result"].get("protocolVersion")
            assert got in ("2025-11-25", "2025-06-18"), f"server answered protocolVersion {got!r}"
            return f"counter-offers {got}"

        run("initialize negotiates 2025-06-18", negotiate_0618)
        run("initialize with unknown version", negotiate_unknown)
    else:

        def unsupported(c: RawClient) -> str:
            reply = c.request(1, "tools/list", {"_meta": modern_meta("1999-01-01")})
            error = reply.get("error") or {}
            assert error.get("code") == -32022, f"expected -32022 UnsupportedProtocolVersion, got {reply}"
            data = error.get("data") or {}
            assert MODERN in (data.get("supported") or []), f"data.supported is {data.get('supported')!r}"
            assert data.get("requested") == "1999-01-01", f"data.requested is {data.get('requested')!r}"
            return f"data {json.dumps(data)}"

        def missing_caps(c: RawClient) -> str:
            reply = c.request(1, "tools/list", {"_meta": modern_meta(capabilities=False)})
            error = reply.get("error") or {}
            assert error.get("code") == -32602, f"expected -32602 for missing clientCapabilities, got {reply}"
            return error.get("message", "")[:80]

        def stateless_call(c: RawClient) -> str:
            # No discover first: a modern request must work on its own.
            params = {"_meta": modern_meta(), "name": "schema_validate",
                      "arguments": {"schema": {"type": "string"}, "instance": "x"}}
            reply = c.request(1, "tools/call", params)
            assert "result" in reply, f"tools/call failed: {reply.get('error')}"
            result = reply["result"]
            assert result.get("resultType") == "complete", f"resultType is {result.get('resultType')!r}"
            assert result.get("structuredContent", {}).get("valid") is True, "expected valid: true"
            return "works without server/discover; resultType complete"

        run("unsupported version -> -32022", unsupported)
        run("missing clientCapabilities -> -32602", missing_caps)
        run("stateless tools/call", stateless_call)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", nargs="?", help="the atelier binary (run as BINARY serve --stdio --debug-tools)")
    parser.add_argument("--command", help="full server command line instead of BINARY serve --stdio")
    parser.add_argument("--era", choices=["legacy", MODERN], default="legacy")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the server (the SDK passes only HOME, PATH, ...)")
    parser.add_argument("--no-raw", action="store_true", help="skip the hand-written wire-level checks")
    args = parser.parse_args()
    if bool(args.binary) == bool(args.command):
        parser.error("give exactly one of ATELIER_BINARY or --command")
    if args.command:
        argv = shlex.split(args.command)
    else:
        argv = [str(Path(args.binary).resolve()), "serve", "--stdio", "--debug-tools"]
    extra_env = dict(item.split("=", 1) for item in args.env)

    print(f"# server: {' '.join(argv)}   era: {args.era}", flush=True)
    report = Report()
    params = StdioServerParameters(command=argv[0], args=argv[1:], env=extra_env or None, cwd=str(REPO_ROOT))
    anyio.run(sdk_checks, report, params, args.era)
    if not args.no_raw:
        raw_checks(report, argv, {**os.environ, **extra_env}, args.era)
    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
