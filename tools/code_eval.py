#!/usr/bin/env python3
"""Compares Atelier's code analysis with the established tools on real code nobody here wrote:
definitions against universal-ctags (recall of ctags' functions, classes and methods), cyclomatic
complexity against lizard (share of functions with the same number), per language.

    python3 tools/code_eval.py ATELIER DIR... [--json OUT] [--check] [--max-files N]

--check exits non-zero below the issue's targets (recall ≥ 95%, complexity identical ≥ 90%).
"""
import argparse, json, os, subprocess, sys
from collections import defaultdict

CTAGS_KINDS = {"function", "class", "method", "member", "func", "subroutine"}
EXT = {".py": "python", ".c": "c", ".h": "c", ".js": "javascript", ".go": "go", ".rs": "rust", ".java": "java", ".rb": "ruby",
       ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp", ".ts": "typescript", ".php": "php", ".lua": "lua", ".sh": "bash", ".pl": "perl", ".swift": "swift"}


def files_under(dirs, max_files):
    out = []
    for d in dirs:
        for root, ds, fs in os.walk(d):
            ds[:] = sorted(x for x in ds if not x.startswith(".") and x not in ("node_modules", "__pycache__", "test", "tests"))
            for f in sorted(fs):
                p = os.path.join(root, f)
                if os.path.splitext(f)[1] in EXT and not os.path.islink(p) and os.path.getsize(p) < 1_000_000:
                    out.append(p)
    return out[:max_files]


def atelier_outline(binary, path):
    p = subprocess.run([binary, "code", "outline", path, "--json", "--root", os.path.dirname(path)], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)["symbols"]


def atelier_metrics(binary, path):
    p = subprocess.run([binary, "code", "metrics", path, "--json", "--root", os.path.dirname(path)], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)["functions"]


def ctags_defs(path, lang):
    p = subprocess.run(["ctags", "--output-format=json", "--fields=+nKe", "-o", "-", path], capture_output=True, text=True)
    out = []
    for line in p.stdout.splitlines():
        t = json.loads(line)
        # C's "member" is a struct field, not a method.
        if t.get("_type") == "tag" and t.get("kind") in CTAGS_KINDS and not (lang in ("c", "cpp") and t.get("kind") == "member"):
            out.append((t["name"], t.get("line")))
    return out


def lizard_functions(path):
    import lizard
    info = lizard.analyze_file(path)
    return [(f.name.split("::")[-1].split(".")[-1], f.start_line, f.end_line, f.cyclomatic_complexity) for f in info.function_list]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("atelier")
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--max-files", type=int, default=400)
    ap.add_argument("--differences", action="store_true", help="list each function whose complexity differs (stderr)")
    a = ap.parse_args()
    stats = defaultdict(lambda: {"files": 0, "ctags": 0, "found": 0, "lizard": 0, "same": 0, "unmatched": 0, "missed": []})
    for path in files_under(a.dirs, a.max_files):
        lang = EXT[os.path.splitext(path)[1]]
        s = stats[lang]
        syms = atelier_outline(a.atelier, path)
        if syms is None:
            continue
        s["files"] += 1
        # ctags drops the `#` of JavaScript private names; a C definition's name line can follow its type's line.
        ours = {(x["name"].lstrip("#"), x["range"]["start"]["line"]) for x in syms}
        for name, line in ctags_defs(path, lang):
            s["ctags"] += 1
            if any(n == name and -3 <= line - l <= 3 for n, l in ours):
                s["found"] += 1
            elif len(s["missed"]) < 10:
                s["missed"].append(f"{path}:{line} {name}")
        fns = atelier_metrics(a.atelier, path) or []
        by_line = defaultdict(list)
        for f in fns:
            for d in range(0, 4):  # lizard starts a function at its name, tree-sitter at its first token
                by_line[f["range"]["start"]["line"] + d].append(f)
        for name, line, end, ccn in lizard_functions(path):
            # Compared only where both tools see the same function: same start (within the head) and end line.
            cands = [f for f in by_line.get(line, []) if abs(f["range"]["end"]["line"] - end) <= 1]
            if not cands:
                s["unmatched"] += 1
                continue
            s["lizard"] += 1
            if any(f["complexity"] == ccn for f in cands):
                s["same"] += 1
            elif a.differences:
                print(f"  complexity {path}:{line} {name}: lizard {ccn}, atelier {[f['complexity'] for f in cands]}", file=sys.stderr)
    rows = []
    for lang, s in sorted(stats.items()):
        recall = s["found"] / s["ctags"] if s["ctags"] else None
        same = s["same"] / s["lizard"] if s["lizard"] else None
        rows.append({"language": lang, "files": s["files"], "ctags_definitions": s["ctags"], "recall": recall,
                     "functions_compared": s["lizard"], "lizard_functions_not_matched": s["unmatched"], "complexity_identical": same,
                     "missed_examples": s["missed"]})
    if a.json:
        json.dump(rows, open(a.json, "w"), indent=1)
    print("| language | files | ctags definitions | recall of ctags | functions compared with lizard | lizard functions with other extents | same complexity |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        f = lambda x: "—" if x is None else f"{x * 100:.1f}%"
        print(f"| {r['language']} | {r['files']} | {r['ctags_definitions']} | {f(r['recall'])} | {r['functions_compared']} | {r['lizard_functions_not_matched']} | {f(r['complexity_identical'])} |")
    for r in rows:
        for m in r["missed_examples"][:5]:
            print("  missed", m, file=sys.stderr)
    if a.check:
        bad = [r for r in rows if (r["recall"] is not None and r["recall"] < 0.95) or (r["complexity_identical"] is not None and r["complexity_identical"] < 0.90)]
        if bad:
            print("FAILED: " + ", ".join(r["language"] for r in bad), file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
