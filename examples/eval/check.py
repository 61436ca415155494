#!/usr/bin/env python3
"""Checks examples/eval/planner.jsonl against its workspace and the tool list; prints counts.

Usage: python3 examples/eval/check.py [planner.jsonl] [workspace]
Exit status 1 when a line is malformed, an id repeats, a tool or argument is unknown, a path
argument is missing from the workspace (unless the case's note says "missing"), or a request is a
near-copy of a tool's own example phrasing (schemas/tools/*.json `_meta`).
"""
import collections
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Tool -> allowed argument names; planned tools (not yet in schemas/tools) are listed by hand.
TOOLS = {
    "fs_read": {"path", "offset", "maxBytes"},
    "fs_list": {"path", "recursive", "includeHidden", "maxEntries"},
    "rag_ingest": {"paths", "collection"},
    "rag_search": {"query", "collection", "k", "mode", "pathPrefix", "mmr"},
    "rag_delete": {"collection", "paths"},
    "rag_collections": set(),
    "schema_validate": {"schema", "instance", "formatAssertion"},
    "ocr_extract": {"path", "pages", "languages", "mode"},
    "code_outline": {"path"}, "code_symbols": {"query", "kind"}, "code_references": {"symbol"},
    "code_dependencies": {"path"}, "code_metrics": {"path"}, "code_diagnostics": {"path"},
    "code_query": {"query", "path"}, "code_repo_map": {"path", "tokens"},
    "image_generate": {"prompt", "seed", "steps", "width", "height"},
    "dreambooth_train": {"instance_data_dir", "class_name", "identifier", "max_train_steps",
                         "num_class_images", "train_text_encoder"},
}
ENUMS = {("rag_search", "mode"): {"bm25", "dense", "hybrid"},
         ("ocr_extract", "mode"): {"text", "layout", "tables", "forms", "all"}}
# (tool, argument) -> "file" | "dir" | "any": which path arguments must exist, and as what.
PATHS = {("fs_read", "path"): "file", ("fs_list", "path"): "dir", ("rag_ingest", "paths"): "any",
         ("rag_delete", "paths"): "any", ("ocr_extract", "path"): "file", ("code_outline", "path"): "file",
         ("code_dependencies", "path"): "file", ("code_metrics", "path"): "any",
         ("code_diagnostics", "path"): "any", ("code_query", "path"): "any", ("code_repo_map", "path"): "dir",
         ("dreambooth_train", "instance_data_dir"): "dir"}
FAMILIES = ["rag", "fs", "ocr", "code", "image", "schema", "multi", "none"]
MINIMUM = {"rag": 10, "fs": 6, "ocr": 5, "code": 8, "image": 5, "multi": 6, "none": 3}


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9_]+", text.lower()))


def main() -> int:
    jsonl = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "planner.jsonl")
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "workspace")
    examples = []
    for f in glob.glob(os.path.join(REPO, "schemas", "tools", "*.json")):
        examples += json.load(open(f)).get("_meta", {}).get("atelier/examples", [])
    problems, ids = [], set()
    families, calls = collections.Counter(), collections.Counter()
    multi_call = 0
    for n, line in enumerate(open(jsonl, encoding="utf-8"), start=1):
        where = f"line {n}"
        try:
            case = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        where = f"line {n} ({case.get('id')})"
        if not {"id", "family", "request", "expected"} <= case.keys() or set(case) - {"id", "family", "request", "expected", "note"}:
            problems.append(f"{where}: keys are {sorted(case)}")
            continue
        if case["id"] in ids:
            problems.append(f"{where}: duplicate id")
        ids.add(case["id"])
        if case["family"] not in FAMILIES:
            problems.append(f"{where}: unknown family {case['family']}")
        families[case["family"]] += 1
        if len(case["expected"]) > 1:
            multi_call += 1
        missing_ok = "missing" in case.get("note", "").lower()
        for call in case["expected"]:
            name, args = call.get("name"), call.get("arguments")
            if name not in TOOLS or not isinstance(args, dict) or set(call) != {"name", "arguments"}:
                problems.append(f"{where}: bad call {call}")
                continue
            calls[name] += 1
            if set(args) - TOOLS[name]:
                problems.append(f"{where}: {name} has unknown arguments {sorted(set(args) - TOOLS[name])}")
            for (tool, arg), allowed in ENUMS.items():
                if tool == name and arg in args and args[arg] not in allowed:
                    problems.append(f"{where}: {name}.{arg} = {args[arg]!r} not in {sorted(allowed)}")
            for (tool, arg), kind in PATHS.items():
                if tool != name or arg not in args:
                    continue
                values = args[arg] if isinstance(args[arg], list) else [args[arg]]
                for p in values:
                    if p.startswith("./") or p.startswith("/") or (p.endswith("/") and p != "/"):
                        problems.append(f"{where}: path {p!r} should be relative, without ./ or a trailing /")
                    full = os.path.join(root, p)
                    ok = {"file": os.path.isfile, "dir": os.path.isdir, "any": os.path.exists}[kind](full)
                    if not ok and not missing_ok:
                        want = {"file": "file", "dir": "directory", "any": "file or directory"}[kind]
                        problems.append(f"{where}: {name}.{arg} {p!r}: no such {want} under {root}")
        w = words(case["request"])
        for ex in examples:
            e = words(ex)
            if w and e and len(w & e) / len(w | e) >= 0.6:
                problems.append(f"{where}: request is close to the tool example {ex!r}")
    for fam, least in MINIMUM.items():
        if families[fam] < least:
            problems.append(f"family {fam}: {families[fam]} cases, want at least {least}")
    print(f"{sum(families.values())} cases, {len(ids)} ids; {multi_call} with several calls")
    print("per family: " + ", ".join(f"{f} {families[f]}" for f in FAMILIES))
    print("per tool:   " + ", ".join(f"{t} {c}" for t, c in sorted(calls.items())))
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
