"""Helpers shared by the bench drivers: replace one `## ` section of BENCHMARKS.md (keeping the others),
find the atelier binary's bench subcommand, name the CPU."""
import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

HEADER = ("# Benchmarks\n\nMeasured with `make bench` (`make bench-schema`, `make bench-rpc`, `make bench-neural`, `make bench-rag`, `make bench-planner`, `make bench-ocr`, `make bench-code`); each section is "
          "rewritten by its driver in `tools/`, the others are kept. Our code and its peer run in the same "
          "run on the same machine; read the ratios, not the absolute times.\n")


def update_section(path: Path, title: str, section: str) -> None:
    """`section` starts with the line `title` (e.g. "## RPC")."""
    text = path.read_text() if path.exists() else HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip() == title), None)
    body = section.rstrip("\n") + "\n"
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((j for j in range(start + 1, len(lines)) if re.match(r"^## ", lines[j])), len(lines))
        after = "".join(lines[end:])
        new = "".join(lines[:start]) + body + ("\n" + after if after else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def require_bench_subcommand(binary: str, name: str, marker: str, error: type) -> str:
    """The binary's path, if it has a usable `bench NAME` (its help mentions `marker`); raises `error` otherwise."""
    path = shutil.which(binary) if os.sep not in binary else binary
    if not path or not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise error(f"{binary}: not an executable file (build it with `make build`)")
    try:
        p = subprocess.run([path, "bench", name, "--help"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise error(f"`{binary} bench {name} --help` did not answer within 30 s")
    if p.returncode != 0 or marker not in p.stdout + p.stderr:
        detail = (p.stderr or p.stdout).strip().splitlines()[:3]
        raise error(f"{binary} has no usable `bench {name}` subcommand (exit {p.returncode}: "
                    f"{' / '.join(detail) or 'no output'}); rebuild a current release binary (`make build`)")
    return path


def parse_one_json_line(cmd: list, stdout: str, keys: set, error: type) -> dict:
    """The single JSON line a `bench` probe prints, with the keys the driver needs; raises `error` otherwise."""
    lines = [l for l in stdout.splitlines() if l.strip()]
    if len(lines) != 1:
        raise error(f"`{' '.join(cmd)}` printed {len(lines)} lines on stdout, expected one JSON line")
    try:
        out = json.loads(lines[0])
    except json.JSONDecodeError as e:
        raise error(f"`{' '.join(cmd)}` printed no JSON ({e}): {lines[0][:200]}")
    missing = keys - set(out)
    if missing:
        raise error(f"`{' '.join(cmd)}` output lacks {sorted(missing)}: {lines[0][:300]}")
    return out


def threaded_env(threads: int) -> dict:
    """The environment for a side-by-side probe: every BLAS/OpenMP pool at `threads`, and no Tesseract
    OMP_THREAD_LIMIT from the Makefile (it would cap torch at one thread)."""
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    return env


def run_probe(cmd: list, threads: int, keys: set, error: type, timeout: float) -> dict:
    """Runs one `bench` probe (ours or the peer's worker) with `threaded_env` and returns its JSON line."""
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=threaded_env(threads))
    if p.returncode != 0:
        raise error(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return parse_one_json_line(cmd, p.stdout, keys, error)
