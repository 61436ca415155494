#!/usr/bin/env python3
"""JSON Schema benchmark: Atelier's validator against Python `jsonschema` 4.26, side by side.

    .venv/bin/python tools/bench_schema.py ATELIER_BINARY      (what `make bench-schema` runs)

Cases
  (a) the official JSON-Schema-Test-Suite (required tests, top-level *.json) for draft2020-12 and
      draft7: every group's schema is compiled once, then every test instance is validated
      repeatedly. Remote refs resolve from the suite's remotes/ folder as http://localhost:1234/
      (from disk, never the network). Compared per validation.
  (b) a ~10 MB JSON array of tool calls (seeded, so every run sees the same bytes) against a
      realistic plan schema with $defs/$ref; a second copy with ~1% invalid items for the errors
      mode. Compared on validation alone and on parse + validation (json.loads for Python).

Modes: `valid` is the boolean fast path (Python `is_valid`), `errors` collects every error
(Python `list(iter_errors(...))`). Ratio = Python time / Atelier time; the target is >= 10x.

The Markdown table goes to stdout, progress to stderr, and the "## JSON Schema" section of
BENCHMARKS.md (next to this folder) is replaced with the same text (other sections are kept).

Atelier side (the binary's contract):
  ATELIER bench schema --suite DIR [--dialect 2020-12|draft7] [--repeat N] [--mode valid|errors]
      -> {"groups", "instances", "repeat", "compileSeconds", "validateSeconds", "correct"}
  ATELIER bench schema --schema FILE --instance FILE [--repeat N] [--mode valid|errors]
      -> {"bytes", "parseSeconds", "validateSeconds", "valid", "errors"}   (seconds: mean per repetition)

Options for checking the script itself: --python-only (skips Atelier, writes no BENCHMARKS.md),
--no-write (prints only), --benchmarks PATH, --budget SECONDS (whole run, default 170).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import random
import re
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import parse_one_json_line, require_bench_subcommand, update_section  # noqa: E402
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUITE = (ROOT / ".." / "shared" / "data" / "JSON-Schema-Test-Suite").resolve()
REMOTE_BASE = "http://localhost:1234/"
SECTION = "## JSON Schema"
TARGET = 10.0

DIALECTS = {
    # suite folder -> (Atelier --dialect, Python default validator name, meta-schema URI)
    "draft2020-12": ("2020-12", "Draft202012Validator", "https://json-schema.org/draft/2020-12/schema"),
    "draft7": ("draft7", "Draft7Validator", "http://json-schema.org/draft-07/schema#"),
}

ATELIER_TARGET_S = 1.5   # aim each measured Atelier run at about this much validation time
PY_SUITE_TARGET_S = 1.0  # Python suite: repeat passes until this much time is spent (at least one)
SUBPROCESS_TIMEOUT_S = 60


class BenchError(Exception):
    pass


class Budget:
    """The whole run's time limit; each step asks how much is left."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise BenchError(f"time budget exhausted before {what}")


def log(msg: str) -> None:
    print(f"bench-schema: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Atelier side


class Atelier:
    def __init__(self, binary: str, budget: Budget):
        self.binary = binary
        self.budget = budget

    def check(self) -> None:
        self.binary = require_bench_subcommand(self.binary, "schema", "--suite", BenchError)

    def run(self, args: list[str], keys: set[str]) -> dict[str, Any]:
        timeout = max(5.0, min(SUBPROCESS_TIMEOUT_S, self.budget.left()))
        cmd = [self.binary, "bench", "schema", *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"`{' '.join(cmd)}` ran past {timeout:.0f} s")
        if p.returncode != 0:
            raise BenchError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()[-800:]}")
        return parse_one_json_line(cmd, p.stdout, keys, BenchError)

    def calibrated(self, args: list[str], keys: set[str], probe_repeat: int, per_rep) -> dict[str, Any]:
        """Run once with a small --repeat, then with one chosen to last about ATELIER_TARGET_S."""
        probe = self.run([*args, "--repeat", str(probe_repeat)], keys)
        each = max(per_rep(probe), 1e-7)
        target = min(ATELIER_TARGET_S, max(0.2, self.budget.left() / 20))
        n = max(1, min(1_000_000, int(target / each)))
        if n <= probe_repeat:
            return probe
        return self.run([*args, "--repeat", str(n)], keys)


SUITE_KEYS = {"groups", "instances", "repeat", "compileSeconds", "validateSeconds", "correct"}
SINGLE_KEYS = {"bytes", "parseSeconds", "validateSeconds", "valid", "errors"}


# --------------------------------------------------------------------------------------------------
# Python side


def python_suite_groups(folder: str):
    """(schema, [(data, valid)]) for each group of the folder's top-level *.json, in file order."""
    d = SUITE / "tests" / folder
    groups = []
    for f in sorted(p for p in d.iterdir() if p.suffix == ".json"):
        for g in json.loads(f.read_text()):
            groups.append((g["description"], f.name, g["schema"], [(t["data"], t["valid"]) for t in g["tests"]]))
    return groups


def python_registry(folder: str, meta_uri: str):
    """The suite's remotes/ under http://localhost:1234/, as jsonschema's own suite runner builds it."""
    import referencing
    import referencing.jsonschema

    spec = referencing.jsonschema.specification_with(meta_uri)
    root = SUITE / "remotes"
    contents = []
    for each in sorted(root.rglob("*.json")):
        schema = json.loads(each.read_text())
        relative = each.relative_to(root).as_posix()
        # remotes/draftX/... without $schema belong to draft X only
        if isinstance(schema, dict) and "$schema" not in schema and relative.startswith("draft") \
                and not relative.startswith(folder):
            continue
        contents.append((REMOTE_BASE + relative, schema))
    return referencing.Registry().with_contents(contents, default_specification=spec)


def python_suite(folder: str, mode: str, budget: Budget, max_seconds: float) -> dict[str, Any]:
    import jsonschema
    from jsonschema.validators import validator_for

    _, default_name, meta_uri = DIALECTS[folder]
    default = getattr(jsonschema, default_name)
    registry = python_registry(folder, meta_uri)
    groups = python_suite_groups(folder)

    compiled = []  # (validator, tests)
    skipped: list[str] = []
    t0 = time.perf_counter()
    for desc, fname, schema, tests in groups:
        try:
            cls = validator_for(schema, default=default)
            compiled.append((cls(schema, registry=registry), tests, f"{fname}: {desc}"))
        except Exception as e:  # noqa: BLE001 - any failure means "can't compile"
            skipped.append(f"{fname}: {desc} ({type(e).__name__})")
    compile_s = time.perf_counter() - t0

    def one(v, data):
        if mode == "valid":
            return v.is_valid(data)
        return not list(v.iter_errors(data))

    # Warm-up pass (jsonschema resolves refs lazily and caches): a group that raises here is one
    # Python cannot handle, skipped like a schema that does not compile.
    usable = []
    for v, tests, where in compiled:
        try:
            for data, _ in tests:
                one(v, data)
            usable.append((v, tests, where))
        except Exception as e:  # noqa: BLE001
            skipped.append(f"{where} ({type(e).__module__}.{type(e).__name__})")
    instances = sum(len(t) for _, t, _ in usable)

    passes = 0
    # Passes until max_seconds (at least 3); the median pass is reported (this machine is shared and
    # Python's pass times vary by +-20%), as if `passes` repetitions of it had run.
    wrong: list[str] = []
    times: list[float] = []
    t_start = time.perf_counter()
    while True:
        wrong = []
        t0 = time.perf_counter()
        for v, tests, where in usable:
            for data, expected in tests:
                if one(v, data) != expected:
                    wrong.append(where)
        times.append(time.perf_counter() - t0)
        passes += 1
        if passes >= 3 and (time.perf_counter() - t_start >= max_seconds or budget.left() < 30):
            break
    median = sorted(times)[len(times) // 2]
    return {"groups": len(usable), "instances": instances, "repeat": passes, "compileSeconds": compile_s,
            "validateSeconds": median * passes, "correct": instances - len(wrong), "wrong": wrong,
            "skipped": skipped}


class _Alarm(Exception):
    pass


def _with_alarm(seconds: float, fn):
    """Run fn(), raising BenchError if it takes longer than `seconds` (main thread only)."""
    def handler(signum, frame):
        raise _Alarm()
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(1.0, seconds))
    try:
        return fn()
    except _Alarm:
        raise BenchError(f"Python step ran past {seconds:.0f} s (time budget)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def python_single(schema: Any, raw: bytes, mode: str, budget: Budget) -> dict[str, Any]:
    import jsonschema

    v = jsonschema.Draft202012Validator(schema)
    # parse: mean of a few json.loads (cheap next to validation)
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        instance = json.loads(raw)
    parse_s = (time.perf_counter() - t0) / reps

    def validate():
        t = time.perf_counter()
        if mode == "valid":
            ok, n = v.is_valid(instance), 0
        else:
            errs = list(v.iter_errors(instance))
            ok, n = not errs, len(errs)
        return time.perf_counter() - t, ok, n

    limit = max(5.0, budget.left() - 15)
    validate_s, ok, n = _with_alarm(limit, validate)
    return {"bytes": len(raw), "parseSeconds": parse_s, "validateSeconds": validate_s, "valid": ok, "errors": n}


# --------------------------------------------------------------------------------------------------
# The big instance

TOOL_NAMES = ["fs_read", "fs_list", "rag_search", "ocr_extract", "code_outline", "image_generate",
              "schema_validate", "jobs_start"]

PLAN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://atelier.invalid/bench/plan.json",
    "title": "A plan: tool calls run in parallel or as a DAG",
    "type": "array",
    "items": {"$ref": "#/$defs/call"},
    "$defs": {
        "id": {"type": "string", "pattern": "^[a-z0-9-]{1,32}$"},
        "call": {
            "type": "object",
            "required": ["id", "name", "arguments"],
            "additionalProperties": False,
            "properties": {
                "id": {"$ref": "#/$defs/id"},
                "name": {"type": "string", "enum": TOOL_NAMES},
                "arguments": {"$ref": "#/$defs/arguments"},
                "timeoutMs": {"type": "integer", "minimum": 1, "maximum": 600000},
                "dependsOn": {"type": "array", "items": {"$ref": "#/$defs/id"}, "uniqueItems": True, "maxItems": 8},
            },
        },
        "arguments": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string", "minLength": 1, "maxLength": 4096},
                "query": {"type": "string", "maxLength": 500},
                "k": {"type": "integer", "minimum": 1, "maximum": 100},
                "tags": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
                "threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "recursive": {"type": "boolean"},
                "language": {"enum": ["swift", "python", "c", "rust", "go", None]},
            },
        },
    },
}

_WORDS = ("alpha beta gamma delta schema tool call plan graph model index vector token image page "
          "source module parser invoice receipt summary report chart table query answer latency").split()


def _item(rng: random.Random, i: int, ids: list[str]) -> dict[str, Any]:
    cid = f"c{i:x}-{rng.choice(_WORDS)[:6]}"
    name = rng.choice(TOOL_NAMES)
    args: dict[str, Any] = {}
    if rng.random() < 0.7:
        args["path"] = "/".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 5))) + rng.choice([".md", ".swift", ".json", ".png"])
    if rng.random() < 0.6:
        args["query"] = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14)))
    if rng.random() < 0.5:
        args["k"] = rng.randint(1, 100)
    if rng.random() < 0.5:
        args["tags"] = rng.sample(_WORDS, rng.randint(1, 6))
    if rng.random() < 0.4:
        args["threshold"] = round(rng.uniform(0.001, 1.0), 4)
    if rng.random() < 0.2:
        args["recursive"] = rng.random() < 0.5
    if rng.random() < 0.2:
        args["language"] = rng.choice(["swift", "python", "c", "rust", "go", None])
    item: dict[str, Any] = {"id": cid, "name": name, "arguments": args}
    if rng.random() < 0.5:
        item["timeoutMs"] = rng.randint(100, 600000)
    if ids and rng.random() < 0.4:
        item["dependsOn"] = rng.sample(ids[-50:], min(len(ids[-50:]), rng.randint(1, 3)))
    ids.append(cid)
    return item


def _break(rng: random.Random, item: dict[str, Any]) -> None:
    """One schema violation (each gives exactly one leaf error)."""
    kind = rng.randrange(8)
    if kind == 0:
        item["id"] = "Bad ID " + item["id"]                      # pattern
    elif kind == 1:
        item["name"] = "fs_delete"                               # enum
    elif kind == 2:
        item["arguments"]["k"] = 0                               # minimum
    elif kind == 3:
        item["arguments"]["threshold"] = 0                       # exclusiveMinimum
    elif kind == 4:
        item["arguments"]["tags"] = ["alpha", "beta", "alpha"]   # uniqueItems
    elif kind == 5:
        item["priority"] = "high"                                # additionalProperties
    elif kind == 6:
        del item["arguments"]                                    # required
    else:
        item["timeoutMs"] = "30s"                                # type


def generate_plan(target_bytes: int, seed: int, invalid_fraction: float) -> tuple[bytes, int]:
    """A compact JSON array of about target_bytes; returns (bytes, number of broken items)."""
    rng = random.Random(seed)
    brk = random.Random(seed + 1)
    ids: list[str] = []
    parts: list[str] = []
    size = 2
    broken = 0
    i = 0
    while size < target_bytes:
        item = _item(rng, i, ids)
        if invalid_fraction and brk.random() < invalid_fraction:
            _break(brk, item)
            broken += 1
        s = json.dumps(item, separators=(",", ":"))
        parts.append(s)
        size += len(s) + 1
        i += 1
    return ("[" + ",".join(parts) + "]").encode(), broken


# --------------------------------------------------------------------------------------------------
# Report


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:.0f}" if r >= 100 else f"{r:.1f}"


def machine_line() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count()
    js = metadata.version("jsonschema")
    return (f"Machine: nproc {nproc}{', ' + cpu if cpu else ''}; {platform.system()} {platform.machine()}; "
            f"Python {platform.python_version()}, jsonschema {js}. "
            f"Date: {_dt.datetime.now(_dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.")


def render(rows: list[tuple[str, str, str, str, float | None]], notes: list[str], python_only: bool) -> str:
    out = [SECTION, ""]
    out.append(f"`make bench-schema` (`tools/bench_schema.py`): Atelier's validator against Python `jsonschema` "
               f"in the same run, same inputs. **Target: ≥ {TARGET:.0f}× on both** the official test suite "
               f"(per validation) and the ~10 MB instance. Ratio = Python time / Atelier time. `valid` = boolean "
               f"fast path (`is_valid`), `errors` = every error collected (`list(iter_errors(...))`).")
    out.append("")
    out.append(machine_line())
    out.append("")
    out.append("| case | mode | atelier | python jsonschema | ratio (×) |")
    out.append("|---|---|---:|---:|---:|")
    for case, mode, a, p, r in rows:
        out.append(f"| {case} | {mode} | {a} | {p} | {fmt_ratio(r)} |")
    out.append("")
    ratios = [r for *_, r in rows if r is not None]
    if ratios and not python_only:
        worst = min(ratios)
        out.append(f"Lowest ratio {fmt_ratio(worst)}×: target {'met' if worst >= TARGET else 'NOT met'}.")
        out.append("")
    for n in notes:
        out.append(f"- {n}")
    if notes:
        out.append("")
    return "\n".join(out)


def update_benchmarks(path: Path, section: str) -> None:
    update_section(path, SECTION, section)


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atelier", nargs="?", help="the atelier binary (e.g. .build/release/atelier)")
    ap.add_argument("--python-only", action="store_true", help="only the Python half (for checking); writes nothing")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"), help="the file whose section is replaced")
    ap.add_argument("--budget", type=float, default=170.0, help="seconds for the whole run (default 170)")
    ap.add_argument("--big-mb", type=float, default=10.0, help="size of the big instance in MB (default 10)")
    args = ap.parse_args()
    if not args.python_only and not args.atelier:
        ap.error("give ATELIER_BINARY (or --python-only)")

    budget = Budget(args.budget)
    try:
        import jsonschema  # noqa: F401
        import referencing  # noqa: F401
    except ImportError as e:
        print(f"bench-schema: {e}; run `bash tools/bootstrap.sh` and use .venv/bin/python", file=sys.stderr)
        return 2
    if not (SUITE / "tests").is_dir():
        print(f"bench-schema: the test suite is not at {SUITE}", file=sys.stderr)
        return 2

    atelier = None
    if not args.python_only:
        atelier = Atelier(args.atelier, budget)
        try:
            atelier.check()
        except BenchError as e:
            print(f"bench-schema: {e}", file=sys.stderr)
            return 2

    rows: list[tuple[str, str, str, str, float | None]] = []
    notes: list[str] = []
    failed = False
    try:
        # (a) the official suite
        for folder, (dialect, _, _) in DIALECTS.items():
            for mode in ("valid", "errors"):
                budget.check(f"suite {folder} {mode}")
                case = f"suite {folder}"
                a = None
                if atelier:
                    log(f"atelier: {case}, {mode}")
                    a = atelier.calibrated(
                        ["--suite", str(SUITE / "tests" / folder), "--dialect", dialect, "--mode", mode], SUITE_KEYS,
                        probe_repeat=5, per_rep=lambda o: o["validateSeconds"] / max(1, o["repeat"]))
                    if a["correct"] != a["instances"]:
                        notes.append(f"Atelier, {case} ({mode}): {a['correct']} of {a['instances']} results matched "
                                     f"the suite's `valid`.")
                log(f"python: {case}, {mode}")
                p = python_suite(folder, mode, budget, max_seconds=min(PY_SUITE_TARGET_S, max(0.1, budget.left() / 30)))
                if p["skipped"] and mode == "valid":
                    notes.append(f"Python skipped {len(p['skipped'])} group(s) of {folder} it cannot compile/run: "
                                 + "; ".join(p["skipped"][:5]) + ("…" if len(p["skipped"]) > 5 else ""))
                if p["correct"] != p["instances"] and mode == "valid":
                    notes.append(f"Python, {case}: {p['correct']} of {p['instances']} results matched the suite's `valid` "
                                 f"(wrong in: {'; '.join(sorted(set(p['wrong']))[:5])}).")
                p_each = p["validateSeconds"] / (p["repeat"] * p["instances"])
                desc = f"{case} ({p['groups']} groups, {p['instances']} instances)"
                if a:
                    a_each = a["validateSeconds"] / (a["repeat"] * a["instances"])
                    desc = f"{case} ({a['groups']} groups, {a['instances']} instances)"
                    if (a["groups"], a["instances"]) != (p["groups"], p["instances"]):
                        desc += f" [python: {p['groups']}/{p['instances']}]"
                    rows.append((desc, mode, fmt_time(a_each) + "/val", fmt_time(p_each) + "/val", p_each / a_each))
                    if mode == "valid":
                        notes.append(f"Compile, {folder}: Atelier {fmt_time(a['compileSeconds'] / a['groups'])}/group "
                                     f"(eager); Python {fmt_time(p['compileSeconds'] / max(1, p['groups']))}/group "
                                     f"(validator construction only; jsonschema resolves lazily).")
                else:
                    rows.append((desc, mode, "—", fmt_time(p_each) + "/val", None))

        # (b) the big instance
        with tempfile.TemporaryDirectory(prefix="atelier-bench-schema-") as tmp:
            tmpd = Path(tmp)
            schema_path = tmpd / "plan.schema.json"
            schema_path.write_text(json.dumps(PLAN_SCHEMA, indent=1))
            target = int(args.big_mb * 1_000_000)
            variants = []
            for label, frac, mode in (("valid", 0.0, "valid"), ("1% invalid", 0.01, "errors")):
                budget.check(f"generating the {label} instance")
                log(f"generating the {label} instance ({args.big_mb:g} MB)")
                raw, broken = generate_plan(target, seed=20260728, invalid_fraction=frac)
                path = tmpd / f"plan-{'invalid' if frac else 'valid'}.json"
                path.write_bytes(raw)
                variants.append((label, mode, raw, path, broken))

            for label, mode, raw, path, broken in variants:
                budget.check(f"big instance ({label})")
                mb = len(raw) / 1e6
                a = None
                if atelier:
                    log(f"atelier: big instance ({label}), {mode}")
                    a = atelier.calibrated(["--schema", str(schema_path), "--instance", str(path), "--mode", mode],
                                           SINGLE_KEYS, probe_repeat=2,
                                           per_rep=lambda o: o["parseSeconds"] + o["validateSeconds"])
                log(f"python: big instance ({label}), {mode}")
                p = python_single(PLAN_SCHEMA, raw, mode, budget)
                expect_valid = broken == 0
                if p["valid"] != expect_valid:
                    notes.append(f"Python said valid={p['valid']} for the {label} instance (expected {expect_valid}).")
                count_note = f"{broken} broken items" if broken else "all items valid"
                if a:
                    if a["valid"] != expect_valid:
                        notes.append(f"Atelier said valid={a['valid']} for the {label} instance (expected {expect_valid}).")
                    if a["bytes"] != len(raw):
                        notes.append(f"Atelier read {a['bytes']} bytes, Python {len(raw)}.")
                if mode == "errors":
                    notes.append(f"Big instance ({label}): {broken} broken items, one violation each; errors reported: "
                                 + (f"Atelier {a['errors']}, " if a else "") + f"Python {p['errors']}.")
                case = f"{mb:.1f} MB plan, {count_note}"
                a_v = a["validateSeconds"] if a else None
                a_pv = (a["parseSeconds"] + a["validateSeconds"]) if a else None
                p_pv = p["parseSeconds"] + p["validateSeconds"]
                rows.append((f"{case}: validate", mode, fmt_time(a_v) if a else "—", fmt_time(p["validateSeconds"]),
                             p["validateSeconds"] / a_v if a else None))
                rows.append((f"{case}: parse + validate", mode, fmt_time(a_pv) if a else "—", fmt_time(p_pv),
                             p_pv / a_pv if a else None))
                if a and mode == "valid":
                    notes.append(f"Big instance parse alone: Atelier {fmt_time(a['parseSeconds'])} "
                                 f"({len(raw) / a['parseSeconds'] / 1e6:.0f} MB/s), Python json.loads "
                                 f"{fmt_time(p['parseSeconds'])}.")
    except BenchError as e:
        log(f"error: {e}")
        notes.append(f"Run incomplete: {e}")
        failed = True

    section = render(rows, notes, args.python_only)
    print(section)
    if not args.python_only and not args.no_write and rows:
        update_benchmarks(Path(args.benchmarks), section)
        log(f"updated {args.benchmarks}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
