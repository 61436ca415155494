#!/usr/bin/env python3
"""Benchmark Atelier's JSON-RPC/MCP serving against the Python MCP SDK peer, side by side.

Usage (from the repository root, with the project virtualenv):

    .venv/bin/python tools/bench_rpc.py ATELIER_BINARY

What it measures, for `tools/call schema_validate` (a small object schema, valid instance):

  stdio, 1 client, pipelined (window 16)   throughput, and latency under that load
  stdio, 1 client, one request at a time   latency (p50/p99) and the resulting rate
  tcp,   1 client and 16 clients           Atelier: `serve --tcp 127.0.0.1:PORT`, newline-delimited
                                           JSON-RPC on raw sockets, one thread per client, each
                                           sending one request at a time, then keeping 16 in flight.
  tcp floor                                the same client against a bare poll server that answers
                                           with a fixed result (`bench rpc-load --echo-floor`): the
                                           most a closed-loop client can get from this machine.
                                           Python: the SDK's own network transport, Streamable HTTP
                                           (uvicorn, JSON responses, one keep-alive HTTP connection
                                           and MCP session per client); --python-net tcp uses the
                                           peer's raw-TCP adapter instead.
  fan-out                                  Atelier only, with examples/bench-config.yaml: 16
                                           concurrent tools/call of `sleep_200` on one connection,
                                           and (if the binary answers it) one `plan/execute` of 16
                                           `sleep_200` calls. Ideal wall time is ~200 ms.

Every connection does the legacy handshake first (initialize 2025-11-25 + notifications/initialized).
The same hand-written client drives both servers. Request counts are bounded (--n-atelier,
--n-python) and each configuration stops early after --max-config-s seconds.
The Markdown table goes to stdout; progress goes to stderr.

The plan/execute request sent is, unless --plan-file gives other params:
    {"calls": [{"id": "c1", "name": "sleep_200", "arguments": {}}, ... 16 ...], "maxParallel": 16}
(Atelier's Plan defaults maxParallel to 8, which would double the ideal wall time.)

For a sanity run without Atelier, point the Atelier side at the Python peer:
    .venv/bin/python tools/bench_rpc.py \\
        --atelier-stdio-cmd ".venv/bin/python tools/bench_rpc_peer.py" \\
        --atelier-tcp-cmd ".venv/bin/python tools/bench_rpc_peer.py --tcp {addr}"
"""

from __future__ import annotations

import argparse
import os
import http.client
import json
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import update_section  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = REPO_ROOT / "tools" / "bench_rpc_peer.py"
BENCH_CONFIG = REPO_ROOT / "examples" / "bench-config.yaml"
HANDSHAKE_VERSION = "2025-11-25"
WINDOW = 16
# TCP configurations as (requests in flight per client, clients).
TCP_CONFIGS = ((1, 1), (1, 16), (WINDOW, 1), (WINDOW, 16))
FANOUT = 16
WARMUP = 20

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 0, "maximum": 150},
        "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}
INSTANCE = {"name": "Ada", "age": 36, "email": "ada@example.org", "tags": ["math", "engines"]}
CALL_PARAMS = json.dumps({"name": "schema_validate", "arguments": {"schema": SCHEMA, "instance": INSTANCE}},
                         separators=(",", ":"))
INIT_PARAMS = json.dumps({"protocolVersion": HANDSHAKE_VERSION, "capabilities": {},
                          "clientInfo": {"name": "bench_rpc", "version": "1.0"}}, separators=(",", ":"))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- clients


class Link:
    """Newline-delimited JSON-RPC over a byte stream (a stdio pipe pair or a TCP socket).

    Requests may be pipelined: `send` registers a callback run by the reader thread when
    the response with that id arrives.
    """

    def __init__(self, write: Callable[[bytes], None], reader: Any) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._waiting: dict[int, Callable[[dict[str, Any]], None]] = {}
        self._next_id = 0
        self.closed = threading.Event()
        threading.Thread(target=self._read_loop, args=(reader,), daemon=True).start()

    def _read_loop(self, reader: Any) -> None:
        try:
            for line in reader:
                if not line.strip():
                    continue
                message = json.loads(line)
                if "id" in message and ("result" in message or "error" in message):
                    callback = self._waiting.pop(message["id"], None)
                    if callback is not None:
                        callback(message)
        except (OSError, ValueError):
            pass
        finally:
            self.closed.set()

    def send(self, method: str, params_json: str, on_reply: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            self._waiting[request_id] = on_reply
            line = f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params_json}}}\n'
            self._write(line.encode())

    def notify(self, method: str, params_json: str | None = None) -> None:
        params = f',"params":{params_json}' if params_json else ""
        with self._lock:
            self._write(f'{{"jsonrpc":"2.0","method":"{method}"{params}}}\n'.encode())

    def call(self, method: str, params_json: str, timeout: float = 30.0) -> dict[str, Any]:
        done = threading.Event()
        box: list[dict[str, Any]] = []

        def on_reply(message: dict[str, Any]) -> None:
            box.append(message)
            done.set()

        self.send(method, params_json, on_reply)
        if not done.wait(timeout):
            raise TimeoutError(f"no reply to {method} within {timeout} s")
        return box[0]

    def handshake(self) -> dict[str, Any]:
        reply = self.call("initialize", INIT_PARAMS)
        if "result" not in reply:
            raise RuntimeError(f"initialize failed: {reply.get('error')}")
        self.notify("notifications/initialized")
        return reply["result"]


class HttpLink:
    """One MCP session over the SDK's Streamable HTTP transport (JSON responses), one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=30)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        self._next_id = 0

    def _post(self, body: str) -> tuple[int, bytes]:
        self._conn.request("POST", "/mcp", body.encode(), self._headers)
        response = self._conn.getresponse()
        data = response.read()
        if response.getheader("mcp-session-id"):
            self._headers["mcp-session-id"] = response.getheader("mcp-session-id")
        return response.status, data

    def call(self, method: str, params_json: str, timeout: float = 30.0) -> dict[str, Any]:
        self._next_id += 1
        status, data = self._post(f'{{"jsonrpc":"2.0","id":{self._next_id},"method":"{method}","params":{params_json}}}')
        if status != 200:
            return {"error": {"code": status, "message": data[:200].decode(errors="replace")}}
        return json.loads(data)

    def notify(self, method: str, params_json: str | None = None) -> None:
        params = f',"params":{params_json}' if params_json else ""
        self._post(f'{{"jsonrpc":"2.0","method":"{method}"{params}}}')

    def handshake(self) -> dict[str, Any]:
        reply = self.call("initialize", INIT_PARAMS)
        if "result" not in reply:
            raise RuntimeError(f"initialize failed: {reply.get('error')}")
        self._headers["mcp-protocol-version"] = reply["result"].get("protocolVersion", HANDSHAKE_VERSION)
        self.notify("notifications/initialized")
        return reply["result"]


def tcp_link(host: str, port: int) -> Link:
    sock = socket.create_connection((host, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(None)
    return Link(sock.sendall, sock.makefile("rb"))


def call_ok(reply: dict[str, Any] | None) -> bool:
    if not reply or "result" not in reply:
        return False
    return reply["result"].get("isError") is not True


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f} s")


class ServerLogs:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench_rpc_"))
        self.count = 0

    def open(self, label: str) -> Any:
        self.count += 1
        return open(self.dir / f"{self.count:02d}-{label}.stderr", "wb")


@contextmanager
def stdio_server(argv: list[str], logs: ServerLogs, label: str):
    with logs.open(label) as errlog:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog, cwd=REPO_ROOT)
        assert proc.stdin is not None and proc.stdout is not None

        def write(data: bytes) -> None:
            proc.stdin.write(data)
            proc.stdin.flush()

        try:
            yield Link(write, proc.stdout)
        finally:
            stop(proc)


@contextmanager
def tcp_server(argv: list[str], port: int, logs: ServerLogs, label: str):
    with logs.open(label) as errlog:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=errlog, stderr=errlog, cwd=REPO_ROOT)
        try:
            wait_for_port(port, proc)
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --------------------------------------------------------------------------- measurements


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    first_error: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.count / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000

    def note_error(self, reply: dict[str, Any] | None) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = json.dumps(reply)[:200]


def warm_up(link: Any) -> None:
    for _ in range(WARMUP):
        link.call("tools/call", CALL_PARAMS)


def run_serial(link: Any, n: int, max_s: float) -> Stats:
    stats = Stats()
    start = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        reply = link.call("tools/call", CALL_PARAMS)
        stats.latencies.append(time.perf_counter() - t0)
        if not call_ok(reply):
            stats.note_error(reply)
        if t0 - start > max_s:
            break
    stats.elapsed = time.perf_counter() - start
    return stats


def run_pipelined(link: Link, n: int, window: int, max_s: float) -> Stats:
    stats = Stats()
    slots = threading.Semaphore(window)
    last_reply = [0.0]

    def sender_callback(t0: float) -> Callable[[dict[str, Any]], None]:
        def on_reply(reply: dict[str, Any]) -> None:
            now = time.perf_counter()
            stats.latencies.append(now - t0)
            last_reply[0] = now
            if not call_ok(reply):
                stats.note_error(reply)
            slots.release()

        return on_reply

    start = time.perf_counter()
    for _ in range(n):
        if not slots.acquire(timeout=30):
            raise TimeoutError("pipelined run stalled (no reply for 30 s)")
        t0 = time.perf_counter()
        link.send("tools/call", CALL_PARAMS, sender_callback(t0))
        if t0 - start > max_s:
            break
    for _ in range(window):  # wait for the outstanding requests
        if not slots.acquire(timeout=30):
            raise TimeoutError("pipelined run stalled while draining")
    stats.elapsed = last_reply[0] - start
    return stats


def run_clients(connect: Callable[[], Any], clients: int, n: int, max_s: float) -> Stats:
    """`clients` threads, each with its own connection and session, one request at a time."""
    stats = Stats()
    per_client = max(1, n // clients)
    ready = threading.Barrier(clients + 1)
    lock = threading.Lock()
    failures: list[str] = []
    deadline = [0.0]

    def worker() -> None:
        try:
            link = connect()
            link.handshake()
            if clients == 1:
                warm_up(link)
            else:
                link.call("tools/call", CALL_PARAMS)
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{type(exc).__name__}: {exc}")
            ready.abort()
            return
        ready.wait()
        mine: list[float] = []
        bad: list[dict[str, Any] | None] = []
        for _ in range(per_client):
            t0 = time.perf_counter()
            reply = link.call("tools/call", CALL_PARAMS)
            mine.append(time.perf_counter() - t0)
            if not call_ok(reply):
                bad.append(reply)
            if t0 > deadline[0]:
                break
        with lock:
            stats.latencies.extend(mine)
            for reply in bad:
                stats.note_error(reply)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    # Workers cannot pass the barrier before this thread reaches it, so the deadline is set in time.
    deadline[0] = time.perf_counter() + max_s
    try:
        ready.wait(timeout=60)
    except threading.BrokenBarrierError:
        raise RuntimeError(f"a client could not connect: {failures[0] if failures else 'timeout'}") from None
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    stats.elapsed = time.perf_counter() - start
    return stats


class LoadStats:
    """Summary printed by `atelier bench rpc-load` (the compiled client), shaped like Stats for the table."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d
        self.errors = int(d.get("errors", 0))
        self.first_error = "(see server logs)" if self.errors else ""

    @property
    def count(self) -> int:
        return int(self.d["requests"])

    @property
    def rps(self) -> float:
        return float(self.d["rps"])

    def percentile(self, q: float) -> float:
        return float(self.d["p50Ms"] if q == 0.5 else self.d["p99Ms"])


def has_loadgen(binary: str | None) -> bool:
    if not binary:
        return False
    r = subprocess.run([binary, "bench", "rpc-load", "--help"], capture_output=True)
    return r.returncode == 0


def loadgen(binary: str, target: list[str], clients: int, window: int, n: int, max_s: float) -> LoadStats:
    cmd = [binary, "bench", "rpc-load", *target, "--clients", str(clients), "--window", str(window),
           "--requests", str(n), "--seconds", str(max_s)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=max_s * 4 + 60)
    if r.returncode != 0:
        raise RuntimeError(f"rpc-load failed: {r.stderr.strip()[:300]}")
    return LoadStats(json.loads(r.stdout.strip().splitlines()[-1]))


def loadgen_rows(binary: str, atelier_stdio: list[str], atelier_tcp: list[str], atelier_port: int,
                 python_stdio: list[str], python_tcp: list[str], python_port: int,
                 n_atelier: int, n_python: int, max_s: float, logs: "ServerLogs") -> list[tuple[Any, Any]]:
    """Every configuration driven by the compiled client, so neither server is limited by a Python client."""
    rows: list[tuple[Any, Any]] = []
    for window in (WINDOW, 1):
        pair = []
        for side, argv, n in (("atelier", atelier_stdio, n_atelier), ("python", python_stdio, n_python)):
            pair.append(measure(f"{side} stdio window {window}",
                                lambda argv=argv, n=n: loadgen(binary, ["--spawn", shlex.join(argv)], 1, window, n, max_s)))
        rows.append(tuple(pair))
    nets: dict[str, list[Any]] = {}
    for side, argv, port, n in (("atelier", atelier_tcp, atelier_port, n_atelier), ("python", python_tcp, python_port, n_python)):
        try:
            with tcp_server(argv, port, logs, f"{side}-net"):
                nets[side] = [measure(f"{side} tcp {c} client(s) window {w}",
                                      lambda c=c, w=w, port=port, n=n: loadgen(binary, ["--tcp", f"127.0.0.1:{port}"], c, w, n, max_s))
                              for w, c in TCP_CONFIGS]
        except Exception as exc:  # noqa: BLE001
            log(f"{side}: network server failed: {type(exc).__name__}: {exc}")
            nets[side] = [f"failed ({type(exc).__name__})"] * len(TCP_CONFIGS)
    rows += list(zip(nets["atelier"], nets["python"]))
    return rows


def floor_rows(binary: str, n: int, max_s: float) -> list[Stats | str]:
    """The same client against a bare poll server that answers every line with a fixed result: what
    this machine's loopback and scheduler allow, for the closed-loop TCP configurations."""
    return [measure(f"floor tcp {c} client(s) window {w}",
                    lambda c=c, w=w: loadgen(binary, ["--echo-floor"], c, w, n, max_s))
            for w, c in TCP_CONFIGS if w == 1]


# --------------------------------------------------------------------------- the run


@dataclass
class Row:
    transport: str
    clients: str
    atelier: Stats | str
    python: Stats | str


def measure(label: str, fn: Callable[[], Stats]) -> Stats | str:
    log(f"  {label} ...")
    try:
        stats = fn()
    except Exception as exc:  # noqa: BLE001 - one failed configuration must not lose the table
        log(f"  {label}: FAILED {type(exc).__name__}: {exc}")
        return f"failed ({type(exc).__name__})"
    extra = f", {stats.errors} errors (first: {stats.first_error})" if stats.errors else ""
    log(f"  {label}: {stats.count} calls, {stats.rps:,.0f} req/s, p50 {stats.percentile(0.5):.2f} ms, "
        f"p99 {stats.percentile(0.99):.2f} ms{extra}")
    return stats


def stdio_rows(side: str, argv: list[str], n: int, max_s: float, logs: ServerLogs) -> tuple[Stats | str, Stats | str]:
    log(f"{side}: stdio  ({' '.join(argv)})")
    try:
        with stdio_server(argv, logs, f"{side}-stdio") as link:
            link.handshake()
            warm_up(link)
            piped = measure(f"{side} stdio pipelined x{WINDOW}", lambda: run_pipelined(link, n, WINDOW, max_s))
            serial = measure(f"{side} stdio serial", lambda: run_serial(link, n, max_s))
            return piped, serial
    except Exception as exc:  # noqa: BLE001
        log(f"{side}: stdio server failed: {type(exc).__name__}: {exc}")
        return f"failed ({type(exc).__name__})", f"failed ({type(exc).__name__})"


def net_rows(side: str, argv: list[str], port: int, connect: Callable[[], Any], n: int, max_s: float,
             logs: ServerLogs) -> list[Stats | str]:
    log(f"{side}: network  ({' '.join(argv)})")
    try:
        with tcp_server(argv, port, logs, f"{side}-net"):
            return [measure(f"{side} net {c} client(s)", lambda c=c: run_clients(connect, c, n, max_s)) for c in (1, 16)]
    except Exception as exc:  # noqa: BLE001
        log(f"{side}: network server failed: {type(exc).__name__}: {exc}")
        return [f"failed ({type(exc).__name__})"] * 2


def fanout(argv: list[str], plan_params: str, logs: ServerLogs) -> list[tuple[str, str]]:
    log(f"atelier: fan-out  ({' '.join(argv)})")
    results: list[tuple[str, str]] = []
    try:
        with stdio_server(argv, logs, "atelier-fanout") as link:
            link.handshake()
            listing = link.call("tools/list", "{}")
            names = [tool.get("name") for tool in (listing.get("result") or {}).get("tools", [])]
            if "sleep_200" not in names:
                return [("16 x tools/call sleep_200", "n/a (sleep_200 not listed: is --config supported?)"),
                        ("plan/execute, 16 x sleep_200", "n/a")]
            warm = link.call("tools/call", '{"name":"sleep_200","arguments":{}}')
            if not call_ok(warm):
                return [("16 x tools/call sleep_200", f"n/a (call failed: {json.dumps(warm)[:120]})"),
                        ("plan/execute, 16 x sleep_200", "n/a")]

            # 16 concurrent tools/call on one connection: shows whether the dispatcher runs them in parallel.
            done = threading.Semaphore(0)
            replies: list[dict[str, Any]] = []

            def on_reply(reply: dict[str, Any]) -> None:
                replies.append(reply)
                done.release()

            t0 = time.perf_counter()
            for _ in range(FANOUT):
                link.send("tools/call", '{"name":"sleep_200","arguments":{}}', on_reply)
            for _ in range(FANOUT):
                if not done.acquire(timeout=30):
                    raise TimeoutError("concurrent sleep_200 calls did not finish in 30 s")
            wall = (time.perf_counter() - t0) * 1000
            ok = sum(call_ok(r) for r in replies)
            results.append(("16 x tools/call sleep_200 (pipelined, one connection)",
                            f"{wall:.0f} ms ({ok}/{FANOUT} ok)"))
            log(f"  16 concurrent tools/call: {wall:.0f} ms")

            t0 = time.perf_counter()
            reply = link.call("plan/execute", plan_params, timeout=60)
            wall = (time.perf_counter() - t0) * 1000
            if "error" in reply:
                error = reply["error"]
                if error.get("code") == -32601:
                    results.append(("plan/execute, 16 x sleep_200", "n/a (plan/execute: method not found)"))
                else:
                    results.append(("plan/execute, 16 x sleep_200",
                                    f"n/a (error {error.get('code')}: {str(error.get('message'))[:100]})"))
            else:
                result = reply.get("result") or {}
                calls = result.get("results") if isinstance(result.get("results"), list) else []
                ok = sum(1 for r in calls if isinstance(r, dict) and r.get("status") == "ok")
                detail = f" ({ok}/{len(calls)} ok" + (f", server says {result['durationMs']} ms)"
                                                      if "durationMs" in result else ")") if calls else ""
                results.append(("plan/execute, 16 x sleep_200", f"{wall:.0f} ms{detail}"))
            log(f"  plan/execute: {results[-1][1]}")
    except Exception as exc:  # noqa: BLE001
        log(f"atelier: fan-out failed: {type(exc).__name__}: {exc}")
        results.append(("fan-out", f"failed ({type(exc).__name__}: {exc})"))
    return results


def fmt_rps(value: Stats | str) -> str:
    return value if isinstance(value, str) else f"{value.rps:,.0f}"


def fmt_lat(value: Stats | str) -> str:
    return "—" if isinstance(value, str) else f"{value.percentile(0.5):.2f} / {value.percentile(0.99):.2f}"


def fmt_ratio(a: Stats | str, b: Stats | str) -> str:
    if isinstance(a, str) or isinstance(b, str) or b.rps == 0:
        return "—"
    return f"{a.rps / b.rps:.1f}×"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", nargs="?", help="the atelier binary")
    parser.add_argument("--n-atelier", type=int, default=10000, help="requests per configuration for Atelier")
    parser.add_argument("--n-python", type=int, default=1000, help="requests per configuration for the Python peer")
    parser.add_argument("--max-config-s", type=float, default=6.0, help="stop a configuration after this long")
    parser.add_argument("--python-net", choices=["http", "tcp"], default="http",
                        help="Python peer's network transport: SDK Streamable HTTP (default) or the raw-TCP adapter")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the peer (needs mcp, jsonschema)")
    parser.add_argument("--plan-file", help="JSON file with the params of the plan/execute request")
    parser.add_argument("--no-fanout", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument("--client", choices=["loadgen", "python"], default="loadgen",
                        help="load client: the compiled `atelier bench rpc-load` (default) or this script's Python client")
    parser.add_argument("--atelier-stdio-cmd", help="override: the Atelier stdio command line")
    parser.add_argument("--atelier-tcp-cmd", help="override: the Atelier TCP command line, {addr} = HOST:PORT")
    parser.add_argument("--atelier-fanout-cmd", help="override: the fan-out command line, {config} = config path")
    args = parser.parse_args()

    binary = str(Path(args.binary).resolve()) if args.binary else None
    if not binary and not (args.atelier_stdio_cmd and args.atelier_tcp_cmd):
        parser.error("give ATELIER_BINARY (or both --atelier-stdio-cmd and --atelier-tcp-cmd)")
    atelier_port, python_port = free_port(), free_port()
    atelier_addr = f"127.0.0.1:{atelier_port}"
    atelier_stdio = shlex.split(args.atelier_stdio_cmd) if args.atelier_stdio_cmd else [binary, "serve", "--stdio"]
    atelier_tcp = (shlex.split(args.atelier_tcp_cmd.format(addr=atelier_addr)) if args.atelier_tcp_cmd
                   else [binary, "serve", "--tcp", atelier_addr])
    if args.atelier_fanout_cmd:
        atelier_fanout: list[str] | None = shlex.split(args.atelier_fanout_cmd.format(config=BENCH_CONFIG))
    elif binary:
        atelier_fanout = [binary, "serve", "--stdio", "--config", str(BENCH_CONFIG)]
    else:
        atelier_fanout = None
    python_stdio = [args.python, str(PEER_SCRIPT)]
    python_net = [args.python, str(PEER_SCRIPT), f"--{args.python_net}", f"127.0.0.1:{python_port}"]
    if args.python_net == "http":
        python_connect: Callable[[], Any] = lambda: HttpLink("127.0.0.1", python_port)  # noqa: E731
        net_label = "Streamable HTTP (SDK, uvicorn, JSON responses)"
    else:
        python_connect = lambda: tcp_link("127.0.0.1", python_port)  # noqa: E731
        net_label = "raw TCP, newline-delimited (peer's own adapter over the SDK Server)"
    if args.plan_file:
        plan_params = json.dumps(json.loads(Path(args.plan_file).read_text()), separators=(",", ":"))
    else:
        plan_params = json.dumps({"calls": [{"id": f"c{i + 1}", "name": "sleep_200", "arguments": {}}
                                            for i in range(FANOUT)], "maxParallel": FANOUT}, separators=(",", ":"))

    logs = ServerLogs()
    started = time.perf_counter()
    use_loadgen = args.client == "loadgen" and has_loadgen(binary)
    if use_loadgen:
        python_tcp = [args.python, str(PEER_SCRIPT), "--tcp", f"127.0.0.1:{python_port}"]
        net_label = "raw TCP, newline-delimited (peer's own adapter over the SDK Server)"
        r = loadgen_rows(binary, atelier_stdio, atelier_tcp, atelier_port, python_stdio, python_tcp, python_port,
                         args.n_atelier, args.n_python, args.max_config_s, logs)
        (a_piped, p_piped), (a_serial, p_serial) = r[0], r[1]
        a_net, p_net = [a for a, _ in r[2:]], [p for _, p in r[2:]]
        floors = floor_rows(binary, args.n_atelier, args.max_config_s)
    else:
        a_piped, a_serial = stdio_rows("atelier", atelier_stdio, args.n_atelier, args.max_config_s, logs)
        p_piped, p_serial = stdio_rows("python", python_stdio, args.n_python, args.max_config_s, logs)
        a_net = net_rows("atelier", atelier_tcp, atelier_port, lambda: tcp_link("127.0.0.1", atelier_port),
                         args.n_atelier, args.max_config_s, logs)
        p_net = net_rows("python", python_net, python_port, python_connect, args.n_python, args.max_config_s, logs)
        floors = []
    fan = [] if args.no_fanout or atelier_fanout is None else fanout(atelier_fanout, plan_params, logs)
    total = time.perf_counter() - started
    log(f"done in {total:.1f} s; server stderr logs in {logs.dir}")

    rows = [
        Row("stdio, pipelined (window 16)", "1", a_piped, p_piped),
        Row("stdio, one at a time", "1", a_serial, p_serial),
    ]
    tcp_names = {1: "tcp, one at a time", WINDOW: f"tcp, pipelined (window {WINDOW})"}
    configs = TCP_CONFIGS if use_loadgen else ((1, 1), (1, 16))
    rows += [Row(f"{tcp_names[w]} (python: see below)", str(c), a, p) for (w, c), a, p in zip(configs, a_net, p_net)]
    out: list[str] = []
    print = lambda line="": out.append(line)  # noqa: E731 - collect the section, then print and save it
    print("## RPC")
    print()
    print(f"`make bench-rpc` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores. `tools/call` of `schema_validate`: "
          f"Atelier vs a Python MCP server (`mcp==2.3.0` SDK, `tools/bench_rpc_peer.py`) with an equivalent tool. "
          f"Targets: ≥ 20× the Python server's throughput; p99 < 2 ms at 16 TCP clients; a 16-call fan-out of "
          f"200 ms command tools in < 300 ms.")
    print()
    print("| transport | clients | atelier req/s | python req/s | ratio | atelier p50/p99 ms | python p50/p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.transport} | {row.clients} | {fmt_rps(row.atelier)} | {fmt_rps(row.python)} | "
              f"{fmt_ratio(row.atelier, row.python)} | {fmt_lat(row.atelier)} | {fmt_lat(row.python)} |")
    print()
    print(f"Workload: tools/call schema_validate (object schema, 4 properties, valid instance); legacy handshake "
          f"({HANDSHAKE_VERSION}) on every connection. Requests per configuration: atelier ≤ {args.n_atelier}, "
          f"python ≤ {args.n_python} (each capped at {args.max_config_s:.0f} s). Python network column: {net_label}. "
          + (f"Both sides are driven by the same compiled client (`atelier bench rpc-load`: one thread per connection, "
            f"closed loop with one request or {WINDOW} requests in flight) on this machine." if use_loadgen else
            f"Both sides are driven by the same Python client on this machine, so very high rates are client-bound."))
    if floors:
        print()
        print("| tcp, one at a time | clients | floor req/s | floor / python | atelier / floor |")
        print("|---|---|---|---|---|")
        for row, floor in zip((r for r in rows if r.transport.startswith("tcp, one at a time")), floors):
            share = "—" if isinstance(floor, str) or isinstance(row.atelier, str) or floor.rps == 0 else f"{row.atelier.rps / floor.rps:.0%}"
            print(f"| floor: bare poll server, fixed answer | {row.clients} | {fmt_rps(floor)} | "
                  f"{fmt_ratio(floor, row.python)} | {share} |")
        print()
        print("The floor is the same client against `atelier bench rpc-load --echo-floor`: a bare `poll` loop per core "
              "that answers each line with a fixed result and does no JSON, MCP or tool work. With one request in "
              "flight per client, each round trip costs two loopback writes and two thread wakeups whatever the "
              "server does, so floor / python is the highest ratio any server could show in those rows on this "
              "machine. The pipelined rows measure the servers' own throughput.")
    errors = [(f"{row.transport} x{row.clients} {side}", s) for row in rows
              for side, s in (("atelier", row.atelier), ("python", row.python)) if isinstance(s, Stats) and s.errors]
    for name, s in errors:
        print(f"\nWARNING: {name}: {s.errors} failed calls; first: {s.first_error}")
    if fan:
        print()
        print("| fan-out (atelier, examples/bench-config.yaml) | wall time |")
        print("|---|---|")
        for name, value in fan:
            print(f"| {name} | {value} |")
        print()
        print("Ideal is ~200 ms (16 × `sleep 0.2` in parallel); ~3,200 ms means the calls ran one after another.")
    del print
    text = "\n".join(out) + "\n"
    sys.stdout.write(text)
    if not args.no_write:
        update_section(REPO_ROOT / "BENCHMARKS.md", "## RPC", text)
    failed = any(isinstance(x, str) for x in (a_piped, a_serial, p_piped, p_serial, *a_net, *p_net, *floors))
    return 1 if failed or errors else 0


if __name__ == "__main__":
    sys.exit(main())
