#!/usr/bin/env python3
"""Planner baseline: llama.cpp + SmolLM2-135M with a JSON-schema-constrained plan.

    .venv/bin/python tools/planner_baseline.py --set examples/eval/planner.jsonl \
        --root examples/eval/workspace --out PRED.jsonl [--atelier .build/release/atelier]

The baseline the planner issue asks for: what a plain local model does with the same tools when its
output is forced into a plan. `tools/llama_server.py` (llama.cpp's server in process, via xllamacpp)
runs SmolLM2-135M-Instruct Q4_1 on loopback; for each request of the set it gets one chat completion:

  * system prompt: the registered tools (name, description, input schema), as `atelier tools list
    --json` prints them with the workspace as working directory, `ask` left out (it is the planner
    itself);
  * user message: the request;
  * `response_format` json_schema (strict): {"calls": [{"name": <one of the tool names>,
    "arguments": {any object}}]}, at most 4 calls; temperature 0, max_tokens 256.

The output is parsed as JSON; if it is not valid JSON (typically: the 256 tokens ran out inside a
string) the request gets zero calls. Each request's wall time (one HTTP request to a warm server;
llama.cpp reuses the cached system-prompt prefix) is recorded.

Output (what `atelier eval planner --predictions` reads): a first line {"planner": NAME}, then one line
per request {"id", "calls": [{"name", "arguments"}], "ms", "finish", "parsed"} ("finish" and "parsed"
are diagnostics the grader ignores). A summary goes to stderr and, with --summary FILE, as JSON to FILE.

Model: $ATELIER_MODELS/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf (default
~/.cache/atelier/models/...), or --model.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "llama.cpp + SmolLM2-135M constrained plan"
MAX_CALLS = 4
MAX_TOKENS = 256
EXCLUDED = {"ask"}
SYSTEM_HEAD = ("You are a planner. Choose the tool calls that carry out the user's request, using only the tools "
               "below, and answer with JSON {\"calls\": [{\"name\": TOOL, \"arguments\": {...}}]} whose arguments "
               "follow the tool's input schema. Paths are relative to the workspace root. Answer {\"calls\": []} "
               "when no tool is needed.\n\nTools:\n")


def log(msg: str) -> None:
    print(f"planner-baseline: {msg}", file=sys.stderr, flush=True)


def default_model() -> Path:
    base = os.environ.get("ATELIER_MODELS") or str(Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                                                   / "atelier" / "models")
    return Path(base) / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_tools(atelier: str, root: Path) -> list[dict]:
    p = subprocess.run([atelier, "tools", "list", "--json"], cwd=root, capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise SystemExit(f"`{atelier} tools list --json` exited {p.returncode}: {p.stderr.strip()[-400:]}")
    tools = json.loads(p.stdout)
    if isinstance(tools, dict):
        tools = tools.get("tools", [])
    return [t for t in tools if t.get("name") not in EXCLUDED]


def system_prompt(tools: list[dict]) -> str:
    parts = []
    for t in tools:
        parts.append(json.dumps({"name": t["name"], "description": t.get("description", ""),
                                 "inputSchema": t.get("inputSchema", {"type": "object"})}, ensure_ascii=False))
    return SYSTEM_HEAD + "\n".join(parts)


def plan_schema(names: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "calls": {
                "type": "array",
                "maxItems": MAX_CALLS,
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "enum": names}, "arguments": {"type": "object"}},
                    "required": ["name", "arguments"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["calls"],
        "additionalProperties": False,
    }


def post(base: str, path: str, body: dict, timeout: float = 300) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def parse_calls(content: str) -> tuple[list[dict], bool]:
    """The calls of a plan, and whether the output was valid JSON at all."""
    try:
        v = json.loads(content)
    except (json.JSONDecodeError, TypeError):
        return [], False
    calls = v.get("calls") if isinstance(v, dict) else None
    out = []
    for c in calls if isinstance(calls, list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            args = c.get("arguments")
            out.append({"name": c["name"], "arguments": args if isinstance(args, dict) else {}})
    return out, True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default=str(ROOT / "examples/eval/planner.jsonl"), help="evaluation set (JSON lines)")
    ap.add_argument("--root", default=str(ROOT / "examples/eval/workspace"), help="the workspace the tools see")
    ap.add_argument("--out", required=True, help="predictions file to write (JSON lines)")
    ap.add_argument("--atelier", default=str(ROOT / ".build/release/atelier"), help="atelier binary (for the tool list)")
    ap.add_argument("--model", default=str(default_model()), help="GGUF model file")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=8192)
    ap.add_argument("--summary", help="also write a JSON summary here")
    args = ap.parse_args()

    args.atelier = os.path.abspath(args.atelier) if os.sep in args.atelier else args.atelier
    items = [json.loads(l) for l in Path(args.set).read_text(encoding="utf-8").splitlines() if l.strip()]
    tools = load_tools(args.atelier, Path(args.root))
    names = [t["name"] for t in tools]
    system = system_prompt(tools)
    schema = plan_schema(names)
    if not os.path.isfile(args.model):
        raise SystemExit(f"no model file {args.model} (run tools/bootstrap.sh or set ATELIER_MODELS)")

    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)  # the Makefile's cap (for Tesseract) would pin ggml to one thread
    log(f"starting llama.cpp ({args.threads} threads, ctx {args.ctx}) on {args.model}")
    server = subprocess.Popen([sys.executable, str(ROOT / "tools/llama_server.py"), "--model", args.model, "--port", "0",
                               "--threads", str(args.threads), "--ctx", str(args.ctx), "--quiet"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, env=env)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("READY "):
            raise SystemExit(f"llama_server.py did not start (exit {server.wait()})")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        prompt_tokens = None
        try:
            tok = post(base, "/tokenize", {"content": system})
            prompt_tokens = len(tok.get("tokens", []))
        except Exception:
            pass
        log(f"{len(items)} requests, {len(names)} tools ({', '.join(names)}), system prompt "
            f"{len(system)} chars{f' / {prompt_tokens} tokens' if prompt_tokens else ''}")
        rows, invalid, truncated, total_ms = [], 0, 0, 0.0
        for n, it in enumerate(items, 1):
            body = {
                "messages": [{"role": "system", "content": system}, {"role": "user", "content": it["request"]}],
                "temperature": 0,
                "max_tokens": MAX_TOKENS,
                "response_format": {"type": "json_schema",
                                    "json_schema": {"name": "plan", "strict": True, "schema": schema}},
            }
            t0 = time.perf_counter()
            r = post(base, "/v1/chat/completions", body)
            ms = (time.perf_counter() - t0) * 1000
            total_ms += ms
            choice = r["choices"][0]
            content = choice["message"].get("content") or ""
            calls, ok = parse_calls(content)
            invalid += not ok
            truncated += choice.get("finish_reason") == "length"
            rows.append({"id": it["id"], "calls": calls, "ms": round(ms, 1), "finish": choice.get("finish_reason"),
                         "parsed": ok})
            log(f"[{n}/{len(items)}] {it['id']}: {ms:.0f} ms, "
                + (", ".join(c["name"] + " " + json.dumps(c["arguments"], ensure_ascii=False)[:80] for c in calls)
                   if ok else f"not JSON ({choice.get('finish_reason')}): {content[:80]!r}"))
        out = Path(args.out)
        with out.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"planner": NAME}) + "\n")
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        summary = {"planner": NAME, "requests": len(items), "notJSON": invalid, "finishLength": truncated,
                   "meanMs": round(total_ms / max(1, len(items)), 1), "systemPromptChars": len(system),
                   "systemPromptTokens": prompt_tokens, "tools": names, "threads": args.threads,
                   "maxTokens": MAX_TOKENS, "model": os.path.basename(args.model)}
        try:
            import xllamacpp
            summary["xllamacpp"] = xllamacpp.__version__
        except Exception:
            pass
        if args.summary:
            Path(args.summary).write_text(json.dumps(summary) + "\n")
        log(f"wrote {out}: {len(items) - invalid}/{len(items)} outputs were JSON ({truncated} hit max_tokens), "
            f"mean {summary['meanMs']} ms")
        return 0
    finally:
        if server.stdin:
            server.stdin.close()  # EOF on stdin stops the server
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
