#!/usr/bin/env python3
"""Retrieval quality benchmark: Atelier's BM25, dense and hybrid search over real documentation.

    .venv/bin/python tools/rag_eval.py ATELIER_BINARY      (what `make bench-rag` runs first)

Corpus (built at run time in a temporary folder; nothing is shipped)
  Primary: the Node.js API reference in Markdown that Debian's `nodejs` package installs
  (/usr/share/doc/nodejs/api/*.md), the modules in NODE_MODULES in that order until CHAR_BUDGET
  characters. Mechanical clean-up only: HTML comments (YAML metadata) dropped, the `cjs` twin of each
  code example dropped (the `mjs` one stays), link-reference definitions dropped and Markdown links
  reduced to their text. Fallback when those files are missing: Python standard-library docstrings
  (one Markdown file per module, a `##` section per public class/function).

Sections and relevance
  Each file is cut into sections at its Markdown headings (outside code fences). A hit (a chunk) is
  mapped to the section holding its citation's start offset; the ranked hits are reduced to distinct
  sections (first occurrence kept). Every query has exactly one relevant section.

Queries (derived mechanically, seeded)
  ict      inverse cloze task (Lee et al., 2019): one prose sentence (8-40 words) is taken from a
           section and REMOVED from the corpus; the sentence (Markdown stripped) is the query and the
           section it came from is the relevant one. Sentences whose text occurs more than once in the
           corpus are not used; at most one per section.
  heading  a section's heading (2+ plain words, unique in the corpus) is the query; the heading stays
           in the corpus, so this is a known-item "title lookup".

Metrics at 10 (k = 10 hits per query), single relevant section: recall@10 (= success@10), MRR@10,
nDCG@10 (= 1/log2(1 + rank)). Every query runs in bm25, dense and hybrid modes.

Atelier side: `atelier ingest DIR --db FILE --collection NAME --json` (CLI), then the queries through one
`atelier serve --stdio` process calling the `rag_search` tool (the same search as `atelier search`; a
few queries per mode are also run with the CLI and must give the same hits). `--via cli` runs every
query with `atelier search ... --json` instead (slower: one process per query).

The Markdown goes to stdout, progress to stderr, and the "## RAG quality" section of BENCHMARKS.md is
replaced with the same text. Options: --no-write, --benchmarks PATH, --keep (keep the temp folder),
--source node|python, --max-ict N, --max-heading N, --char-budget N, --show-misses N.
"""

from __future__ import annotations

import argparse
import bisect
import datetime as _dt
import inspect
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import update_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## RAG quality"
COLLECTION = "rag-eval"
K = 10
MODES = ("bm25", "dense", "hybrid")
REF = "dense, sentence-transformers (reference)"
SEED = 20261129
NODE_DIR = Path("/usr/share/doc/nodejs/api")
# Prose-heavy modules first; the list is cut when CHAR_BUDGET (after clean-up) is reached.
NODE_MODULES = ["events", "timers", "path", "os", "readline", "modules", "esm", "packages", "permissions",
                "worker_threads", "cluster", "repl", "zlib", "debugger", "corepack", "single-executable-applications",
                "child_process", "dns", "async_hooks", "perf_hooks", "globals", "report", "domain", "tty", "console",
                "url", "dgram", "string_decoder", "querystring"]
PY_MODULES = ["json", "argparse", "collections", "itertools", "functools", "pathlib", "subprocess", "threading",
              "logging", "datetime", "re", "shutil", "tempfile", "sqlite3", "csv", "textwrap", "heapq", "bisect",
              "statistics", "random", "string", "os", "socket", "asyncio.tasks", "asyncio.queues", "zipfile",
              "tarfile", "gzip", "hashlib", "hmac", "base64", "uuid", "urllib.parse", "http.client", "email.message",
              "inspect", "dataclasses", "enum", "typing", "contextlib", "unittest.case", "difflib", "fractions",
              "decimal", "calendar", "configparser", "sched", "queue", "weakref", "copy", "pprint", "struct"]
CHAR_BUDGET = 240_000
MAX_ICT = 250
MAX_HEADING = 100
CHECK_CLI_QUERIES = 3       # per mode: these queries also go through `atelier search` and must agree
INGEST_TIMEOUT_S = 240
SEARCH_TIMEOUT_S = 180
PEER_TIMEOUT_S = 180


class EvalError(Exception):
    pass


def log(msg: str) -> None:
    print(f"rag-eval: {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Corpus


@dataclass
class Section:
    doc: int
    index: int              # ordinal within its document
    start: int              # code-point offsets into the document text (= Unicode scalars)
    end: int
    heading: str | None


@dataclass
class Doc:
    name: str               # file name in the corpus folder
    text: str
    sections: list[Section] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)


@dataclass
class Query:
    qid: str
    task: str               # "ict" or "heading"
    text: str
    doc: int
    section: int            # ordinal within the document


FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^(#{1,6}) +(.*?)\s*#*\s*$")


def clean_node(md: str) -> str:
    md = md.replace("\r\n", "\n")
    md = re.sub(r"<!--.*?-->", "", md, flags=re.S)
    md = re.sub(r"^```cjs\n.*?^```[ \t]*\n", "", md, flags=re.S | re.M)
    md = re.sub(r"^\[[^\]\n]+\]:[ \t]+\S.*\n?", "", md, flags=re.M)
    md = re.sub(r"\[([^\]\n]+)\]\[[^\]\n]*\]", r"\1", md)          # [text][] and [text][ref]
    md = re.sub(r"\[([^\]\n]+)\]\([^)\n]*\)", r"\1", md)            # [text](url)
    md = re.sub(r"[ \t]+\n", "\n", md)
    md = re.sub(r"\n{3,}", "\n\n", md)
    return md.strip("\n") + "\n"


def sections_of(text: str, doc: int) -> list[Section]:
    """Cut at Markdown headings outside code fences; text before the first heading is a section too."""
    out: list[Section] = []
    fence = False
    pos = 0
    cur_start, cur_heading = 0, None
    for line in text.splitlines(keepends=True):
        if FENCE.match(line):
            fence = not fence
        elif not fence:
            m = HEADING.match(line.rstrip("\n"))
            if m and pos > cur_start:
                out.append(Section(doc, len(out), cur_start, pos, cur_heading))
                cur_start = pos
            if m:
                cur_heading = m.group(2).strip()
        pos += len(line)
    if pos > cur_start:
        out.append(Section(doc, len(out), cur_start, pos, cur_heading))
    return out


def strip_md(s: str) -> str:
    s = s.replace("`", "")
    s = re.sub(r"(\*\*|__)(.+?)\1", r"\2", s)
    s = re.sub(r"(?<![\w*])[*_](?=\S)(.+?)(?<=\S)[*_](?![\w*])", r"\1", s)
    return re.sub(r"\s+", " ", s).strip()


def norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", strip_md(s).lower()).strip()


SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`_*\"'(])")
BAD_SENT = re.compile(r"\b(e\.g|i\.e|etc|vs|cf)\.|^(See|For example|The following|This|It|These|Those|In this)\b|:$")


def prose_paragraphs(text: str, sec: Section) -> list[tuple[int, int]]:
    """Spans of plain paragraphs (not code, lists, tables, quotes, headings) inside one section."""
    spans: list[tuple[int, int]] = []
    fence = False
    pos = sec.start
    para: tuple[int, int] | None = None
    ok = True
    for line in text[sec.start:sec.end].splitlines(keepends=True):
        stripped = line.strip()
        boundary = False
        if FENCE.match(line):
            fence = not fence
            boundary = True
        elif fence or not stripped or HEADING.match(line.rstrip("\n")):
            boundary = True
        if boundary:
            if para and ok:
                spans.append(para)
            para, ok = None, True
        else:
            if para is None:
                para = (pos, pos + len(line.rstrip("\n")))
                ok = not (re.match(r"^\s*([-*+>|<]|\d+[.)]|\s{4})", line))
            else:
                para = (para[0], pos + len(line.rstrip("\n")))
        pos += len(line)
    if para and ok:
        spans.append(para)
    return spans


def sentences(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    a, b = span
    chunk = text[a:b]
    out, s = [], 0
    for m in SENT_END.finditer(chunk):
        out.append((a + s, a + m.start()))
        s = m.end()
    out.append((a + s, b))
    return out


def words(s: str) -> list[str]:
    return re.findall(r"[A-Za-z][A-Za-z'-]*", s)


def build_node(budget: int) -> tuple[list[tuple[str, str]], str]:
    files = []
    total = 0
    for mod in NODE_MODULES:
        p = NODE_DIR / f"{mod}.md"
        if not p.is_file():
            continue
        text = clean_node(p.read_text(encoding="utf-8", errors="replace"))
        if total and total + len(text) > budget:
            continue
        files.append((f"{mod}.md", text))
        total += len(text)
    version = ""
    try:
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "nodejs"], capture_output=True,
                                 text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    desc = (f"the Node.js API reference (Markdown from Debian's `nodejs` package{' ' + version if version else ''}, "
            "/usr/share/doc/nodejs/api)")
    return files, desc


def build_python(budget: int) -> tuple[list[tuple[str, str]], str]:
    import importlib
    files = []
    total = 0
    for name in PY_MODULES:
        try:
            mod = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module missing from this Python is skipped
            continue
        parts = [f"# {name}\n\n{inspect.getdoc(mod) or ''}\n"]
        for attr, obj in sorted(vars(mod).items()):
            if attr.startswith("_") or getattr(obj, "__module__", None) != mod.__name__:
                continue
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            doc = inspect.getdoc(obj) or ""
            if len(doc) < 120:
                continue
            try:
                sig = attr + str(inspect.signature(obj))
            except (TypeError, ValueError):
                sig = attr
            parts.append(f"## {attr}\n\n`{sig}`\n\n{doc}\n")
        text = "\n".join(parts)
        if total and total + len(text) > budget:
            continue
        files.append((f"{name}.md", text))
        total += len(text)
    desc = f"Python {sys.version.split()[0]} standard-library docstrings (one Markdown file per module)"
    return files, desc


def make_queries(raw: list[tuple[str, str]], max_ict: int, max_heading: int) -> tuple[list[Doc], list[Query]]:
    rng = random.Random(SEED)
    docs = [Doc(name, text) for name, text in raw]
    corpus_norm = " \n ".join(norm(d.text) for d in docs)
    # ICT candidates: one per section.
    cands: list[tuple[int, int, tuple[int, int], str]] = []
    for di, d in enumerate(docs):
        for sec in sections_of(d.text, di):
            paras = prose_paragraphs(d.text, sec)
            prose_words = sum(len(words(d.text[a:b])) for a, b in paras)
            options = []
            for para in paras:
                for a, b in sentences(d.text, para):
                    raw_s = d.text[a:b]
                    q = strip_md(raw_s)
                    w = words(q)
                    if not (8 <= len(q.split()) <= 40) or not q.endswith(".") or BAD_SENT.search(q):
                        continue
                    if sum(len(x) >= 3 for x in w) < 6 or prose_words - len(w) < 25:
                        continue
                    if corpus_norm.count(norm(q)) != 1:
                        continue
                    options.append(((a, b), q))
            if options:
                span, q = options[rng.randrange(len(options))]
                cands.append((di, sec.index, span, q))
    ict = sorted(rng.sample(cands, min(max_ict, len(cands))), key=lambda c: (c[0], c[2][0]))
    # Remove the ICT sentences from the corpus (last first, so offsets stay valid).
    by_doc: dict[int, list[tuple[int, int]]] = {}
    for di, _, span, _ in ict:
        by_doc.setdefault(di, []).append(span)
    for di, spans in by_doc.items():
        t = docs[di].text
        for a, b in sorted(spans, reverse=True):
            # take the following blank (or the preceding one at a paragraph's end) with the sentence
            if b < len(t) and t[b] in " \n":
                b += 1
            elif a > 0 and t[a - 1] in " \n":
                a -= 1
            t = t[:a] + t[b:]
        docs[di].text = t
    for di, d in enumerate(docs):
        d.sections = sections_of(d.text, di)
        d.starts = [s.start for s in d.sections]
    queries: list[Query] = []
    for n, (di, si, _, q) in enumerate(ict):
        if si >= len(docs[di].sections):
            raise EvalError(f"section count changed in {docs[di].name} after removing sentences")
        queries.append(Query(f"ict-{n}", "ict", q, di, si))
    # Heading queries.
    heads: dict[str, list[tuple[int, int]]] = {}
    for di, d in enumerate(docs):
        for s in d.sections:
            if s.heading:
                heads.setdefault(s.heading.lower(), []).append((di, s.index))
    hcands = []
    for di, d in enumerate(docs):
        for s in d.sections:
            h = s.heading
            if not h or len(heads[h.lower()]) != 1 or not re.fullmatch(r"[A-Za-z][A-Za-z ,'-]*", h):
                continue
            if len(h.split()) < 2 or len(words(d.text[s.start:s.end])) - len(h.split()) < 20:
                continue
            hcands.append((di, s.index, h))
    for n, (di, si, h) in enumerate(sorted(rng.sample(hcands, min(max_heading, len(hcands))))):
        queries.append(Query(f"heading-{n}", "heading", h, di, si))
    return docs, queries


# --------------------------------------------------------------------------------------------------
# Atelier


def run_cli(cmd: list[str], timeout: float) -> dict[str, Any]:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EvalError(f"`{' '.join(cmd)}` ran past {timeout:.0f} s")
    except FileNotFoundError:
        raise EvalError(f"no such binary: {cmd[0]} (build it first: make build)")
    if p.returncode != 0:
        raise EvalError(f"`{' '.join(cmd[:3])} …` exited {p.returncode}: {p.stderr.strip()[-800:]}")
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise EvalError(f"`{' '.join(cmd[:3])} …` printed no JSON ({e}): {p.stdout[:300]}")


def cli_search(binary: str, db: Path, query: str, mode: str) -> list[dict[str, Any]]:
    out = run_cli([binary, "search", query, "--db", str(db), "--collection", COLLECTION, "--k", str(K),
                   "--mode", mode, "--json"], 60)
    if not isinstance(out.get("hits"), list):
        raise EvalError(f"`atelier search` output has no hits array: {str(out)[:300]}")
    return out["hits"]


def serve_search(binary: str, db: Path, work: Path, jobs: list[tuple[str, str]]) -> tuple[list[Any], list[float]]:
    """Runs (query, mode) pairs through one `atelier serve --stdio` (tools/call rag_search, pipelined, at most
    32 in flight). Returns, per job, the hits or an error string, and when its answer arrived (monotonic)."""
    cfg = work / "atelier.json"
    cfg.write_text(json.dumps({"ragDatabase": str(db)}))
    p = subprocess.Popen([binary, "serve", "--stdio", "--config", str(cfg), "--log-level", "error"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         bufsize=1)
    init = {"jsonrpc": "2.0", "id": "init", "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "rag_eval", "version": "1"}}}
    window = threading.Semaphore(32)
    ready = threading.Event()

    def writer() -> None:
        try:
            p.stdin.write(json.dumps(init) + "\n")
            p.stdin.flush()
            ready.wait(SEARCH_TIMEOUT_S)
            p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
            for i, (q, mode) in enumerate(jobs):
                window.acquire()
                req = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                       "params": {"name": "rag_search",
                                  "arguments": {"query": q, "collection": COLLECTION, "k": K, "mode": mode}}}
                p.stdin.write(json.dumps(req) + "\n")
                p.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    errbuf: list[str] = []
    threading.Thread(target=lambda: errbuf.append(p.stderr.read()), daemon=True).start()
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    results: list[Any] = [None] * len(jobs)
    arrived = [0.0] * len(jobs)
    deadline = time.monotonic() + SEARCH_TIMEOUT_S
    got = 0
    try:
        while got < len(jobs):
            if time.monotonic() > deadline:
                raise EvalError(f"`atelier serve --stdio` answered {got} of {len(jobs)} searches in {SEARCH_TIMEOUT_S} s")
            line = p.stdout.readline()
            if not line:
                raise EvalError(f"`atelier serve --stdio` closed its output after {got} of {len(jobs)} searches: "
                                f"{''.join(errbuf)[-500:]}")
            msg = json.loads(line)
            if "id" not in msg or "method" in msg:
                continue  # notifications
            if msg["id"] == "init":
                if "error" in msg:
                    raise EvalError(f"initialize failed: {msg['error']}")
                ready.set()
                continue
            window.release()
            i = msg["id"]
            arrived[i] = time.monotonic()
            got += 1
            if "error" in msg:
                results[i] = f"JSON-RPC error {msg['error'].get('code')}: {msg['error'].get('message')}"
                continue
            res = msg.get("result", {})
            sc = res.get("structuredContent")
            if res.get("isError") or not isinstance(sc, dict) or not isinstance(sc.get("hits"), list):
                text = " ".join(c.get("text", "") for c in res.get("content", []) if isinstance(c, dict))
                results[i] = f"tool error: {text[:300]}"
                continue
            results[i] = sc["hits"]
    finally:
        try:
            p.stdin.close()
        except OSError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return results, arrived


MODEL_DIR = Path(os.environ.get("ATELIER_MODEL_DIR", Path.home() / ".cache/atelier/models/all-MiniLM-L6-v2"))


def peer_worker(db: str, queries_file: str) -> dict[str, Any]:
    """Runs under a Python with sentence-transformers: embeds Atelier's own chunks (read from its database)
    and the queries with the reference MiniLM, ranks by cosine, and compares Atelier's stored vectors."""
    import sqlite3

    os.environ.pop("OMP_THREAD_LIMIT", None)
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(2)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT d.path, c.start, c.end, c.text, v.embedding FROM chunks c "
                       "JOIN documents d ON d.id = c.document_id JOIN collections k ON k.id = d.collection_id "
                       "JOIN vectors v ON v.chunk_id = c.id WHERE k.name = ? ORDER BY c.id", (COLLECTION,)).fetchall()
    queries = json.loads(Path(queries_file).read_text())
    model = SentenceTransformer(str(MODEL_DIR), device="cpu")
    t0 = time.monotonic()
    emb = model.encode([r[3] for r in rows], batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    secs = time.monotonic() - t0
    qv = model.encode(queries, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    ours = np.stack([np.frombuffer(r[4], dtype="<f4") for r in rows])
    ours = ours / np.linalg.norm(ours, axis=1, keepdims=True)
    cos = (ours * emb).sum(axis=1)
    sims = qv @ emb.T
    top = np.argsort(-sims, axis=1)[:, :K]
    ours_top = np.argsort(-(qv @ ours.T), axis=1)[:, :K]
    return {"chunks": [[r[0], r[1], r[2]] for r in rows], "top": top.tolist(),
            "oursTop": ours_top.tolist(),
            "cosine": {"mean": float(cos.mean()), "min": float(cos.min()), "p01": float(np.quantile(cos, 0.01))},
            "seconds": secs, "model": str(MODEL_DIR.name),
            "versions": f"sentence-transformers {__import__('sentence_transformers').__version__}, torch {torch.__version__}"}


def run_peer(py: str, db: Path, work: Path, queries: list[Query]) -> dict[str, Any]:
    qf = work / "queries.json"
    qf.write_text(json.dumps([q.text for q in queries]))
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    env.update({"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    cmd = [py, str(Path(__file__).resolve()), "--peer-worker", str(db), str(qf)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=PEER_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise EvalError(f"the sentence-transformers reference ran past {PEER_TIMEOUT_S} s")
    if p.returncode != 0:
        raise EvalError(f"the sentence-transformers reference exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------------
# Scoring


def ranked_sections(docs: list[Doc], by_path: dict[str, int], hits: list[dict[str, Any]],
                    problems: dict[str, int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for h in hits[:K]:
        cit = h.get("citation") or {}
        path = os.path.realpath(cit.get("document") or h.get("path") or "")
        di = by_path.get(path)
        if di is None:
            problems["hit outside the corpus"] = problems.get("hit outside the corpus", 0) + 1
            continue
        d = docs[di]
        start, end = int(cit.get("start", -1)), int(cit.get("end", -1))
        if not (0 <= start < end <= len(d.text)):
            problems["citation range outside its document"] = problems.get("citation range outside its document", 0) + 1
            continue
        if isinstance(h.get("text"), str) and h["text"] != d.text[start:end]:
            problems["hit text differs from document[start:end]"] = problems.get(
                "hit text differs from document[start:end]", 0) + 1
        si = bisect.bisect_right(d.starts, start) - 1
        if end > d.sections[si].end:
            problems["chunk spans two sections"] = problems.get("chunk spans two sections", 0) + 1
        key = (di, si)
        if key not in out:
            out.append(key)
    return out


def metrics(rank: int | None) -> tuple[float, float, float]:
    if rank is None or rank > K:
        return 0.0, 0.0, 0.0
    return 1.0, 1.0 / rank, 1.0 / math.log2(rank + 1)


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atelier", nargs="?", help="the atelier binary (e.g. .build/release/atelier)")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary corpus and database")
    ap.add_argument("--source", choices=["auto", "node", "python"], default="auto")
    ap.add_argument("--via", choices=["serve", "cli"], default="serve", help="how queries reach Atelier")
    ap.add_argument("--max-ict", type=int, default=MAX_ICT)
    ap.add_argument("--max-heading", type=int, default=MAX_HEADING)
    ap.add_argument("--char-budget", type=int, default=CHAR_BUDGET)
    ap.add_argument("--show-misses", type=int, default=0, help="print N missed queries per mode to stderr")
    ap.add_argument("--peer-python", default=str(ROOT / ".venv-torch" / "bin" / "python"),
                    help="a Python with sentence-transformers for the reference dense row ('' to skip; "
                         "default .venv-torch/bin/python when it exists)")
    ap.add_argument("--peer-worker", nargs=2, metavar=("DB", "QUERIES"), help=argparse.SUPPRESS)
    ap.add_argument("--corpus-only", metavar="DIR", help="write the corpus to DIR and exit (used by bench_rag.py)")
    args = ap.parse_args()
    if args.peer_worker:
        print(json.dumps(peer_worker(*args.peer_worker)))
        return 0
    if not args.atelier:
        ap.error("give ATELIER_BINARY")
    started = time.time()

    source = args.source
    if source == "auto":
        source = "node" if (NODE_DIR / "events.md").is_file() else "python"
    raw, desc = build_node(args.char_budget) if source == "node" else build_python(args.char_budget)
    if not raw:
        raise EvalError(f"no documents for source {source}")
    docs, queries = make_queries(raw, args.max_ict, args.max_heading)
    log(f"corpus: {len(docs)} files, {sum(len(d.text) for d in docs):,} chars, "
        f"{sum(len(d.sections) for d in docs)} sections; {len(queries)} queries")

    if args.corpus_only:
        out = Path(args.corpus_only)
        out.mkdir(parents=True, exist_ok=True)
        for d in docs:
            (out / d.name).write_text(d.text, encoding="utf-8")
        return 0

    binary = str(Path(args.atelier).resolve())
    work = Path(tempfile.mkdtemp(prefix="atelier-rag-eval-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        for d in docs:
            (corpus / d.name).write_text(d.text, encoding="utf-8")
        by_path = {os.path.realpath(corpus / d.name): i for i, d in enumerate(docs)}
        db = work / "rag.sqlite"
        log("ingesting …")
        t0 = time.monotonic()
        rep = run_cli([binary, "ingest", str(corpus), "--db", str(db), "--collection", COLLECTION, "--json"],
                      INGEST_TIMEOUT_S)
        ingest_wall = time.monotonic() - t0
        log(f"ingest: {rep.get('chunks')} chunks in {ingest_wall:.1f} s; skipped {rep.get('skipped')}")
        if rep.get("skipped"):
            log(f"warning: skipped {rep['skipped']}")

        jobs = [(q.text, m) for m in MODES for q in queries]
        t0 = time.monotonic()
        if args.via == "serve":
            results, arrived = serve_search(binary, db, work, jobs)
        else:
            results, arrived = [], []
            for q, m in jobs:
                try:
                    results.append(cli_search(binary, db, q, m))
                except EvalError as e:
                    results.append(str(e))
                arrived.append(time.monotonic())
        search_wall = time.monotonic() - t0
        # per mode: the jobs go mode after mode, so a mode's time is from the previous mode's last answer
        mode_ms, prev = {}, t0
        for mi, m in enumerate(MODES):
            last = max(arrived[mi * len(queries):(mi + 1) * len(queries)], default=prev)
            mode_ms[m] = 1000 * (last - prev) / max(1, len(queries))
            prev = last
        log(f"{len(jobs)} searches in {search_wall:.1f} s ({args.via})")

        # The server's rag_search and the CLI's search must agree.
        cli_check = []
        if args.via == "serve":
            for mi, m in enumerate(MODES):
                for qi in range(min(CHECK_CLI_QUERIES, len(queries))):
                    j = mi * len(queries) + qi
                    want = cli_search(binary, db, queries[qi].text, m)
                    got = results[j]
                    key = lambda hs: [(h["citation"]["document"], h["citation"]["start"], h["citation"]["end"]) for h in hs]  # noqa: E731
                    cli_check.append(isinstance(got, list) and key(got) == key(want))

        # The sentence-transformers reference: the same chunks, ranked by the reference MiniLM.
        peer = None
        peer_error = ""
        per_mode: dict[str, list[Any]] = {m: results[mi * len(queries):(mi + 1) * len(queries)]
                                          for mi, m in enumerate(MODES)}
        modes = list(MODES)
        py = args.peer_python
        if py and Path(py).exists():
            log("sentence-transformers reference: embedding Atelier's chunks …")
            try:
                peer = run_peer(py, db, work, queries)
            except EvalError as e:
                log(f"reference skipped: {e}")
                peer_error = str(e)
            if peer:
                ch = peer["chunks"]
                per_mode[REF] = [[{"citation": {"document": ch[c][0], "start": ch[c][1], "end": ch[c][2]}}
                                  for c in row] for row in peer["top"]]
                modes.append(REF)
                ours = [{(h["citation"]["document"], h["citation"]["start"]) for h in hs}
                        if isinstance(hs, list) else set() for hs in per_mode["dense"]]
                ref = [{(ch[c][0], ch[c][1]) for c in row} for row in peer["top"]]
                peer["overlap"] = sum(len(a & b) for a, b in zip(ours, ref)) / (K * len(queries))

        problems: dict[str, int] = {}
        errors: dict[str, int] = {}
        tasks = ["ict", "heading"]
        table: dict[tuple[str, str], list[float]] = {}
        misses: dict[str, list[str]] = {m: [] for m in modes}
        for m in modes:
            for qi, q in enumerate(queries):
                res = per_mode[m][qi]
                if isinstance(res, str):
                    errors[m] = errors.get(m, 0) + 1
                    if errors[m] == 1:
                        log(f"{m}: {res}")
                    ranked = []
                else:
                    ranked = ranked_sections(docs, by_path, res, problems)
                target = (q.doc, q.section)
                rank = ranked.index(target) + 1 if target in ranked else None
                r, rr, nd = metrics(rank)
                for t in (q.task, "all"):
                    acc = table.setdefault((t, m), [0.0, 0.0, 0.0, 0])
                    acc[0] += r
                    acc[1] += rr
                    acc[2] += nd
                    acc[3] += 1
                if rank is None and len(misses[m]) < args.show_misses:
                    sec = docs[q.doc].sections[q.section]
                    got = ", ".join(f"{docs[di].name}#{docs[di].sections[si].heading}" for di, si in ranked[:3])
                    misses[m].append(f"[{q.task}] {q.text!r} -> want {docs[q.doc].name}#{sec.heading}; got {got}")
        for m in modes:
            for line in misses[m]:
                log(f"miss ({m}): {line}")

        # ---- report
        n_ict = sum(q.task == "ict" for q in queries)
        n_head = sum(q.task == "heading" for q in queries)
        n_sec = sum(len(d.sections) for d in docs)
        chars = sum(len(d.text) for d in docs)
        chunks = rep.get("chunks")
        out: list[str] = [SECTION, ""]
        out.append("`make bench-rag` (`tools/rag_eval.py`): retrieval quality of `atelier search` (bm25, dense = "
                   "MiniLM cosine, hybrid = RRF) on documentation nobody here wrote, with queries and judgements "
                   "derived mechanically (seeded, so every run on the same machine sees the same ones).")
        out.append("")
        cleanup = (" after mechanical clean-up (HTML comments, the `cjs` twin of each code example and link "
                   "targets removed)") if source == "node" else ""
        out.append(f"- **Corpus**: {desc}: {len(docs)} files, {chars:,} characters{cleanup}, "
                   f"{n_sec} sections (cut at Markdown headings), {chunks} chunks after `atelier ingest` "
                   f"({ingest_wall:.0f} s).")
        out.append(f"- **ict** ({n_ict} queries, inverse cloze task): a prose sentence of 8–40 words (unique in "
                   "the corpus) is removed from its section and becomes the query; the section it was cut from is "
                   "the one relevant answer.")
        out.append(f"- **heading** ({n_head} queries): a section heading of 2+ plain words, unique in the corpus, "
                   "is the query; the heading stays in the text (a title lookup).")
        out.append(f"- Scoring: top {K} chunks per query, mapped to their sections by citation offset and "
                   "de-duplicated; one relevant section per query, so recall@10 = success@10 and "
                   "nDCG@10 = 1/log2(1 + rank).")
        out.append("")
        out.append("| queries | mode | recall@10 | MRR@10 | nDCG@10 |")
        out.append("|---|---|---:|---:|---:|")
        for t in tasks + ["all"]:
            count = {"ict": n_ict, "heading": n_head, "all": len(queries)}[t]
            if not count:
                continue
            best = max(table[(t, m)][2] for m in MODES)
            for m in modes:
                r, rr, nd, n = table[(t, m)]
                bold = (lambda s: f"**{s}**") if table[(t, m)][2] == best else (lambda s: s)
                out.append(f"| {t} ({count}) | {m} | {bold(f'{r / n:.3f}')} | {bold(f'{rr / n:.3f}')} | "
                           f"{bold(f'{nd / n:.3f}')} |")
        out.append("")
        date = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        notes = [f"Bold: the best mode by nDCG@10 per query set. {len(jobs)} searches through "
                 + ("one `atelier serve --stdio` (`rag_search` tool)" if args.via == "serve" else "`atelier search`")
                 + f" in {search_wall:.1f} s (" + ", ".join(f"{m} {v:.1f}" for m, v in mode_ms.items())
                 + f" ms per search). Date: {date}."]
        if cli_check:
            agree = sum(cli_check)
            notes.append(f"`atelier search` (CLI) and the server's `rag_search` returned the same hits for "
                         f"{agree} of {len(cli_check)} checked query/mode pairs.")
        if peer:
            c = peer["cosine"]
            notes.append(f"Reference row `{REF}`: {peer['versions']} embeds Atelier's own {len(peer['chunks'])} "
                         f"chunks and the queries with the same model folder ({peer['seconds']:.0f} s for the chunks) "
                         "and ranks by cosine; not bold-eligible. Atelier's stored chunk vectors against the "
                         f"reference: cosine mean {c['mean']:.6f}, min {c['min']:.6f}. Top-10 chunk overlap of "
                         f"Atelier's dense hits with the reference ranking: {100 * peer['overlap']:.1f}%.")
        elif py and Path(py).exists():
            notes.append(f"The sentence-transformers reference row failed: {peer_error[:200]}")
        if errors:
            notes.append("Failed searches: " + ", ".join(f"{m} {n}" for m, n in errors.items()) + ".")
        if problems:
            notes.append("Citation problems: " + "; ".join(f"{k}: {v}" for k, v in problems.items()) + ".")
        if rep.get("skipped"):
            notes.append(f"Ingest skipped {len(rep['skipped'])} file(s): {rep['skipped'][:3]}.")
        out.extend(f"- {n}" for n in notes)
        md = "\n".join(out) + "\n"
        print(md)
        if not args.no_write:
            update_section(Path(args.benchmarks), SECTION, md)
            log(f"wrote the {SECTION!r} section of {args.benchmarks}")
        return 0
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except EvalError as e:
        log(f"error: {e}")
        sys.exit(1)
