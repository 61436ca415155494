#!/usr/bin/env python3
"""Grades OCR on a set made by tools/gen_ocr_eval.py: Atelier (`atelier ocr --json`, all files in one
run) side by side with the `tesseract` CLI (one process per page, as a script would run it).

Text: CER and WER (edit distance over characters / words after whitespace normalisation, as jiwer and
dinglehopper count them) on pages with running text. Tables: cell accuracy (truth cells whose text the
table at the same row and column matches exactly). Forms: field F1 over (key, value) pairs, tick boxes
counted as (label, checked|unchecked). Throughput: pages per minute, both tools on the same images.

    python3 tools/ocr_eval.py ATELIER SET_DIR [--json OUT] [--check] [--no-peer]

--check exits non-zero when the issue's quality targets are not met on clean pages (used by tests).
"""
import argparse, json, os, re, subprocess, sys, time


def norm(s):
    return re.sub(r"\s+", " ", s.replace("\u2014", "-").replace("\u2019", "'")).strip()


def edit(a, b):
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def cer(ref, hyp):
    r, h = norm(ref), norm(hyp)
    return edit(r, h) / max(1, len(r))


def wer(ref, hyp):
    r, h = norm(ref).split(), norm(hyp).split()
    return edit(r, h) / max(1, len(r))


def key(s):
    return re.sub(r"[^a-z0-9@.+-]", "", s.lower())


def cell_accuracy(truth_tables, tables):
    total = hit = 0
    for grid in truth_tables:
        total += sum(len(r) for r in grid)
        best = 0
        for t in tables:
            got = {(c["row"], c["column"]): c["text"] for c in t["cells"]}
            n = sum(1 for i, row in enumerate(grid) for j, v in enumerate(row) if norm(got.get((i, j), "")) == norm(v))
            best = max(best, n)
        hit += best
    return hit, total


def field_scores(truth, page_fields, page_boxes):
    want = {(key(f["key"]), key(f["value"])) for f in truth["fields"]}
    want |= {(key(c["label"]), "checked" if c["checked"] else "unchecked") for c in truth["checkboxes"]}
    got = {(key(f["key"]), key(f["value"])) for f in page_fields}
    got |= {(key(c["label"]), "checked" if c["checked"] else "unchecked") for c in page_boxes}
    # Only pairs whose key the truth knows count as predictions: a page also has unlabelled text.
    keys = {k for k, _ in want}
    got = {g for g in got if g[0] in keys}
    return len(want & got), len(got), len(want)


def run_atelier(binary, files, extra=()):
    t = time.time()
    p = subprocess.run([binary, "ocr", "--json", *extra, *files], capture_output=True, text=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
    secs = time.time() - t
    docs = {}
    for line in p.stdout.splitlines():
        d = json.loads(line)
        docs[os.path.basename(d["path"])] = d
    return docs, secs


def run_tesseract(files):
    t = time.time()
    out = {}
    for f in files:
        p = subprocess.run(["tesseract", f, "stdout"], capture_output=True, text=True, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
        out[os.path.basename(f)] = p.stdout
    return out, time.time() - t


def evaluate(binary, folder, extra=(), peer=True, only=None):
    """Runs both tools over the set (or the files `only` accepts) and grades them."""
    names = [n for n in json.load(open(os.path.join(folder, "manifest.json"))) if only is None or only(n)]
    truths = {n: json.load(open(os.path.join(folder, os.path.splitext(n)[0] + ".json"))) for n in names}
    files = [os.path.join(folder, n) for n in names]
    docs, at_secs = run_atelier(binary, files, extra)
    cli, cli_secs = run_tesseract(files) if peer else ({}, 0)

    groups = {}  # degradation -> metrics
    def g(d):
        return groups.setdefault(d, {"cer": [], "wer": [], "cli_cer": [], "cli_wer": [], "cells": [0, 0], "fields": [0, 0, 0], "types": [0, 0]})
    rows = []
    for n in names:
        t, d = truths[n], docs.get(n, {})
        m = g(t["degradation"])
        pages = d.get("pages", [])
        text = d.get("text", "")
        row = {"file": n, "kind": t["kind"], "degradation": t["degradation"]}
        if t["kind"] in ("text", "letter", "columns"):
            m["cer"].append(cer(t["text"], text)); m["wer"].append(wer(t["text"], text))
            row["cer"] = m["cer"][-1]
            if n in cli:
                m["cli_cer"].append(cer(t["text"], cli[n])); m["cli_wer"].append(wer(t["text"], cli[n]))
                row["cli_cer"] = m["cli_cer"][-1]
        if t["tables"]:
            h, tot = cell_accuracy(t["tables"], [tb for p in pages for tb in p["tables"]])
            m["cells"][0] += h; m["cells"][1] += tot
            row["cells"] = f"{h}/{tot}"
        if t["fields"] or t["checkboxes"]:
            tp, np_, nt = field_scores(t, [f for p in pages for f in p["fields"]], [c for p in pages for c in p["checkboxes"]])
            for i, v in enumerate((tp, np_, nt)):
                m["fields"][i] += v
            row["fields"] = f"tp={tp} pred={np_} truth={nt}"
        m["types"][1] += 1
        if (d.get("type") or {}).get("kind") == t["type"]:
            m["types"][0] += 1
        rows.append(row)

    def mean(xs):
        return sum(xs) / len(xs) if xs else None

    summary = {}
    for deg, m in groups.items():
        tp, np_, nt = m["fields"]
        prec, rec = (tp / np_ if np_ else 0), (tp / nt if nt else 0)
        summary[deg] = {
            "cer": mean(m["cer"]), "wer": mean(m["wer"]), "cli_cer": mean(m["cli_cer"]), "cli_wer": mean(m["cli_wer"]),
            "cell_accuracy": m["cells"][0] / m["cells"][1] if m["cells"][1] else None,
            "field_f1": (2 * prec * rec / (prec + rec)) if prec + rec else (None if not nt else 0.0),
            "type_accuracy": m["types"][0] / m["types"][1] if m["types"][1] else None,
        }
    n = len(files)
    return {"pages": n, "atelier_seconds": at_secs, "cli_seconds": cli_secs,
            "atelier_ppm": n / at_secs * 60, "cli_ppm": (n / cli_secs * 60) if cli_secs else None,
            "by_degradation": summary, "files": rows, "missing": [n for n in names if n not in docs or "error" in docs[n]]}


def table(result):
    """The quality table, one row per degradation, as Markdown."""
    summary = result["by_degradation"]

    def f(x):
        return "—" if x is None else f"{x * 100:.2f}%"
    lines = ["| pages | CER Atelier | CER tesseract CLI | WER Atelier | WER tesseract CLI | table cells | form field F1 | document type |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for deg in ["clean", "skew", "blur", "noise", "lowres", "jpeg"]:
        if deg in summary:
            s = summary[deg]
            lines.append(f"| {deg} | {f(s['cer'])} | {f(s['cli_cer'])} | {f(s['wer'])} | {f(s['cli_wer'])} | {f(s['cell_accuracy'])} | {f(s['field_f1'])} | {f(s['type_accuracy'])} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("atelier")
    ap.add_argument("set")
    ap.add_argument("--json")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--no-peer", action="store_true")
    a = ap.parse_args()
    result = evaluate(a.atelier, a.set, peer=not a.no_peer)
    if a.json:
        json.dump(result, open(a.json, "w"), indent=1)
    print(table(result))
    speed = f"Throughput on {result['pages']} pages: Atelier {result['atelier_ppm']:.1f} pages/min"
    if result["cli_seconds"]:
        speed += f", tesseract CLI page by page {result['cli_ppm']:.1f} pages/min, ratio {result['atelier_ppm'] / result['cli_ppm']:.2f}×"
    print("\n" + speed)
    for r in result["files"]:
        print("  ", r, file=sys.stderr)
    if a.check:
        c = result["by_degradation"].get("clean", {})
        problems = []
        if c.get("cell_accuracy") is not None and c["cell_accuracy"] < 0.95:
            problems.append(f"clean table cell accuracy {c['cell_accuracy']:.3f} < 0.95")
        if c.get("field_f1") is not None and c["field_f1"] < 0.90:
            problems.append(f"clean form field F1 {c['field_f1']:.3f} < 0.90")
        if c.get("cer") is not None and c.get("cli_cer") is not None and c["cer"] > c["cli_cer"] + 1e-9:
            problems.append(f"clean CER {c['cer']:.4f} above the CLI's {c['cli_cer']:.4f}")
        if result["missing"]:
            problems.append(f"no result for {result['missing']}")
        if problems:
            print("FAILED: " + "; ".join(problems), file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
