#!/usr/bin/env python3
"""Planner benchmark: Atelier's offline planner against llama.cpp + SmolLM2-135M with a constrained plan.

    .venv/bin/python tools/bench_planner.py ATELIER_BINARY      (what `make bench-planner` runs)

Both planners see the same labelled set (examples/eval/planner.jsonl: one realistic request per line,
its family and the first turn's expected tool calls) over the same workspace (examples/eval/workspace),
and the same grader scores them:

  (a) `ATELIER eval planner SET --root WORKSPACE --json`: Atelier's default (offline) planner plans the
      first turn of every request (dry run: calls are planned, never executed);
  (b) `tools/planner_baseline.py` runs llama.cpp's server (xllamacpp) with SmolLM2-135M-Instruct Q4_1,
      one chat completion per request whose output is constrained by a JSON schema to
      {"calls": [{"name": <tool enum>, "arguments": {...}}]}; its calls are graded by
      `ATELIER eval planner SET --root WORKSPACE --predictions PRED --json`.

Figures (from the grader): tool selection (the called tools, as a multiset, are the expected ones),
arguments exact (requests with graded arguments whose tools are right and every graded argument
matches), argument values (share of graded argument values matched), schema-valid calls (share of
calls whose arguments validate against the tool's input schema), mean ms per request. Each is given on
all requests and on the requests whose expected tools are registered today.

The Markdown goes to stdout, progress to stderr, and the "## Planner" section of BENCHMARKS.md is
replaced. Options: --no-write, --benchmarks PATH, --set FILE, --root DIR, --baseline-predictions FILE
(grade an existing predictions file instead of running the baseline).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import cpu_model, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Planner"
ATELIER_NAME = "Atelier offline planner"
BASELINE_NAME = "llama.cpp + SmolLM2-135M constrained plan"
METRICS = [("tool selection", "toolSelection"), ("arguments exact", "argumentsExact"),
           ("argument values", "argumentValues"), ("schema-valid calls", "schemaValid")]
KEYS = {"planner", "all", "toolsAvailable", "families"}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"bench-planner: {msg}", file=sys.stderr, flush=True)


def run_json(cmd: list[str], timeout: float, env: dict | None = None) -> dict[str, Any]:
    log("$ " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(cmd)}` ran past {timeout:.0f} s")
    except FileNotFoundError:
        raise BenchError(f"no such program: {cmd[0]}")
    if p.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()[-600:]}")
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError:
        raise BenchError(f"`{' '.join(cmd)}` printed no JSON: {p.stdout[:300]!r}")
    missing = KEYS - set(out) if isinstance(out, dict) else KEYS
    if missing:
        raise BenchError(f"`{' '.join(cmd)}` output lacks {sorted(missing)}")
    return out


def pct(v: Any) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def ms(v: Any) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def load_avg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atelier", help="the atelier binary (e.g. .build/release/atelier)")
    ap.add_argument("--set", default="examples/eval/planner.jsonl")
    ap.add_argument("--root", default="examples/eval/workspace")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--baseline-predictions", help="grade this predictions file instead of running the baseline")
    ap.add_argument("--keep-predictions", help="also copy the baseline's predictions to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.atelier)
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        raise BenchError(f"no such binary: {args.atelier} (build it first: make build)")
    set_path = ROOT / args.set
    if not set_path.is_file():
        raise BenchError(f"no evaluation set at {set_path}")
    items = [json.loads(l) for l in set_path.read_text(encoding="utf-8").splitlines() if l.strip()]
    n = len(items)
    started = time.time()
    load_before = load_avg()

    # (a) Atelier's own planner.
    t = time.perf_counter()
    atelier = run_json([binary, "eval", "planner", args.set, "--root", args.root, "--json"], 300 + 60 * n)
    log(f"atelier: {time.perf_counter() - t:.0f} s")

    # (b) The baseline, then the same grader on its calls.
    work = Path(tempfile.mkdtemp(prefix="atelier-bench-planner-"))
    summary: dict[str, Any] = {}
    try:
        if args.baseline_predictions:
            pred = Path(args.baseline_predictions).resolve()
        else:
            pred, summ = work / "baseline.jsonl", work / "summary.json"
            venv_py = ROOT / ".venv/bin/python"
            py = str(venv_py) if venv_py.exists() else sys.executable
            cmd = [py, str(ROOT / "tools/planner_baseline.py"), "--set", args.set, "--root", args.root,
                   "--out", str(pred), "--atelier", binary, "--summary", str(summ)]
            log("$ " + " ".join(cmd))
            t = time.perf_counter()
            try:
                p = subprocess.run(cmd, cwd=ROOT, timeout=300 + 90 * n)
            except subprocess.TimeoutExpired:
                raise BenchError(f"the baseline ran past {300 + 90 * n} s")
            if p.returncode != 0:
                raise BenchError(f"tools/planner_baseline.py exited {p.returncode}")
            log(f"baseline: {time.perf_counter() - t:.0f} s")
            summary = json.loads(summ.read_text())
        baseline = run_json([binary, "eval", "planner", args.set, "--root", args.root, "--predictions", str(pred),
                             "--json"], 300)
        pred_rows = [json.loads(l) for l in pred.read_text(encoding="utf-8").splitlines() if l.strip()]
        base_ms = sorted(r["ms"] for r in pred_rows if "id" in r and isinstance(r.get("ms"), (int, float)))
        if args.keep_predictions and not args.baseline_predictions:
            Path(args.keep_predictions).write_text(pred.read_text(encoding="utf-8"), encoding="utf-8")
            log(f"kept the baseline's predictions in {args.keep_predictions}")
    finally:
        for f in work.iterdir():
            f.unlink()
        work.rmdir()

    # ---------------------------------------------------------------- report
    a_all, b_all = atelier["all"], baseline["all"]
    a_av, b_av = atelier["toolsAvailable"], baseline["toolsAvailable"]
    n_av = a_av.get("requests", 0)
    families = atelier["families"]
    missing_tools = sorted({t for r in atelier.get("requests", []) for t in r.get("unavailableTools", [])})
    date = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rel_bin = os.path.relpath(binary, ROOT)
    debug = "/debug/" in binary

    out = [SECTION, ""]
    out.append(f"`make bench-planner` (`tools/bench_planner.py`): the first turn's tool calls for the {n} requests of "
               f"`{args.set}` ({len(families)} families) over the workspace `{args.root}`, both planners graded by "
               "the same `atelier eval planner` (the baseline's calls through `--predictions`). Calls are planned, "
               "never executed. Tool selection: the called tools (as a multiset) are the expected ones; arguments "
               "exact: requests with graded arguments whose tools are right and whose graded arguments all match; "
               "argument values: share of graded argument values matched; schema-valid: share of calls whose "
               "arguments validate against the tool's input schema.")
    out.append("")
    out.append(f"| | {ATELIER_NAME}, all {n} | {BASELINE_NAME}, all {n} | {ATELIER_NAME}, tools exist today ({n_av}) "
               f"| {BASELINE_NAME}, tools exist today ({n_av}) |")
    out.append("|---|---:|---:|---:|---:|")
    for label, key in METRICS:
        out.append(f"| {label} | {pct(a_all.get(key))} | {pct(b_all.get(key))} | {pct(a_av.get(key))} "
                   f"| {pct(b_av.get(key))} |")
    out.append(f"| calls made | {a_all.get('calls', 0)} | {b_all.get('calls', 0)} | {a_av.get('calls', 0)} "
               f"| {b_av.get('calls', 0)} |")
    out.append(f"| mean ms per request | {ms(a_all.get('meanMs'))} | {ms(b_all.get('meanMs'))} "
               f"| {ms(a_av.get('meanMs'))} | {ms(b_av.get('meanMs'))} |")
    out.append("")
    out.append(f"{ATELIER_NAME}, per family:")
    out.append("")
    out.append("| family | requests | tool selection | arguments exact | argument values | schema-valid calls "
               "| mean ms |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for fam in sorted(families):
        f = families[fam]
        out.append(f"| {fam} | {f.get('requests', 0)} | {pct(f.get('toolSelection'))} | {pct(f.get('argumentsExact'))} "
                   f"| {pct(f.get('argumentValues'))} | {pct(f.get('schemaValid'))} | {ms(f.get('meanMs'))} |")
    out.append("")
    base_desc = ("SmolLM2-135M-Instruct Q4_1 in llama.cpp's server (`tools/llama_server.py`, xllamacpp "
                 f"{summary.get('xllamacpp', '?')}, {summary.get('threads', 2)} threads), one chat completion per "
                 "request: a system prompt listing the registered tools (name, description, input schema; "
                 f"`ask` left out{', ' + str(summary['systemPromptTokens']) + ' tokens' if summary.get('systemPromptTokens') else ''}), "
                 "`response_format` json_schema (strict) `{\"calls\": [{\"name\": <tool enum>, \"arguments\": {object}}]}`, "
                 "at most 4 calls, temperature 0, max_tokens 256; output that is not valid JSON counts as no call.")
    if summary:
        base_desc += (f" In this run {summary['notJSON']} of {summary['requests']} outputs were not valid JSON "
                      f"({summary['finishLength']} stopped at max_tokens). Its ms is one HTTP request to a warm "
                      "server that reuses the cached system-prompt prefix.")
    else:
        base_desc += f" Graded from `{args.baseline_predictions}`."
    if base_ms:
        base_desc += (f" Per request: median {ms(base_ms[len(base_ms) // 2])} ms, min {ms(base_ms[0])}, "
                      f"max {ms(base_ms[-1])}.")
    right = {}
    for r in baseline.get("requests", []):
        if r.get("toolsRight"):
            right[r.get("family", "?")] = right.get(r.get("family", "?"), 0) + 1
    if right and set(right) == {"none"}:
        base_desc += (f" All {right['none']} of its right tool selections are requests of family `none`, where "
                      "no usable plan counts as the expected \"no call\".")
    elif right:
        base_desc += " Its right tool selections by family: " + ", ".join(f"{k} {v}" for k, v in sorted(right.items())) + "."
    out.append(f"- Baseline: {base_desc}")
    out.append(f"- Atelier: `{rel_bin} eval planner {args.set} --root {args.root} --json` (the default `local` "
               "planner, dry run, first turn only); its ms is the whole first turn per request, timed in "
               "process (one process for all requests; models load once, on an untimed warm-up run of the first request)."
               + (f" The router alone (embedding the clauses, ranking the tools): mean {atelier['router']['meanMs']} ms, "
                  f"max {atelier['router']['maxMs']} ms per request." if atelier.get("router") else "")
               + (" **Debug build**: its times are not representative." if debug else ""))
    if missing_tools:
        out.append(f"- Tools expected by the set but not registered today: {', '.join(f'`{t}`' for t in missing_tools)} "
                   f"({n - n_av} requests); the \"tools exist today\" columns leave those requests out.")
    fams_missing = sorted({r.get("family", "?") for r in atelier.get("requests", []) if r.get("unavailableTools")})
    out.append("- Not yet measured: the turns after the first (the calls are never executed, so answers built from "
               "tool results and calls that depend on an earlier result are not scored)"
               + (f", and real planning for the families whose tools are not registered yet ({', '.join(fams_missing)}), "
                  "which neither planner can call today." if fams_missing else "."))
    out.append(f"- Machine: nproc {ncpu}, {cpu_model()}; Linux {platform.machine()}; load average before the run "
               f"{load_before}, after {load_avg()} (1-minute). Date: {date}.")
    md = "\n".join(out) + "\n"
    print(md)
    if not args.no_write:
        update_section(Path(args.benchmarks), SECTION, md)
        log(f"wrote the {SECTION!r} section of {args.benchmarks}")
    log(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log(f"error: {e}")
        sys.exit(1)
