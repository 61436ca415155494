#!/usr/bin/env python3
"""Neural engine benchmark: Atelier's engine against PyTorch (and numpy for sgemm), side by side.

    .venv-torch/bin/python tools/bench_neural.py ATELIER_BINARY      (what `make bench-neural` runs)

Same shapes, same thread count (2: Atelier `--threads 2`, `torch.set_num_threads(2)`, numpy's OpenBLAS
via OPENBLAS_NUM_THREADS=2), fp32 only. Each case on each side runs in its own process, so the peak
RSS (getrusage ru_maxrss of that process, its runtime included) is per case. Both sides time the same
way: one warm-up iteration, then R timed ones; the median (upper median, as Atelier) is reported.
Inputs are created before each iteration's clock starts.

This machine is a shared VM: with 2 threads the second core is sometimes there and sometimes not
(sgemm 2048 flips between ~65 and ~125 GFLOP/s from one process to the next, whichever library).
So the whole list of cases is run in several rounds (default 3), the sides alternating who goes
first, and each side keeps its best round; the spread between rounds is reported.

Cases
  sgemm N       C = A·B, A and B random [N,N] (N = 1024, 2048); peers: torch.matmul (MKL) and numpy
                matmul (numpy's bundled OpenBLAS).
  conv B,C,H,W  3×3 conv, stride 1, padding 1, no bias, C→C; forward + backward (upstream ones),
                grads for x and the weight. SD-UNet-like shapes.
  attention T   scaled dot-product attention, q/k/v [1,H,T,D], no mask, forward + backward (upstream
                ones), grads for q, k, v (torch: F.scaled_dot_product_attention).

GFLOP/s use one formula for all sides (the one in `atelier bench neural`): sgemm 2N³; conv 3× the
forward 2·B·C·C·9·H·W; attention 3.5× the forward 4·H·T²·D. Ratio = peer time / Atelier time
(> 1: Atelier is faster).

The Markdown goes to stdout, progress to stderr, and the "## Neural engine" section of BENCHMARKS.md
is replaced with the same text (other sections are kept).

Atelier side (the binary's contract):
  ATELIER bench neural --case sgemm|conv|attention [--size N] [--conv B,C,H,W] [--heads H,D]
      [--repeat R] [--threads T]  ->  {"case", "seconds", "gflops", "peakRSSMB", "backend"}

Options: --no-write (print only), --benchmarks PATH, --rounds N, --quick (one round, one repeat; checks
the script, writes nothing), --peers-only (skip Atelier; writes nothing). Internal: --worker
torch|numpy (one measurement, one JSON line).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import cpu_model, parse_one_json_line, require_bench_subcommand, update_section  # noqa: E402,F401

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Neural engine"
THREADS = 2
SUBPROCESS_TIMEOUT_S = 150

# (case, shape argument, label, repeats per round). With 3 rounds the run takes about 3 minutes on 2 cores.
CASES: list[tuple[str, str, str, int]] = [
    ("sgemm", "1024", "1024×1024 · 1024×1024", 11),
    ("sgemm", "2048", "2048×2048 · 2048×2048", 5),
    ("conv", "2,320,32,32", "x [2,320,32,32], w [320,320,3,3]", 3),
    ("conv", "2,640,16,16", "x [2,640,16,16], w [640,640,3,3]", 3),
    ("conv", "2,1280,8,8", "x [2,1280,8,8], w [1280,1280,3,3]", 3),
    ("attention", "1024", "q,k,v [1,8,1024,40]", 5),
    ("attention", "4096", "q,k,v [1,8,4096,40]", 1),
    # The tiny SD UNet (the Shapes model's config, trained by DreamBooth in the diffusion issues): one
    # whole training step, run by bench_train.py's two sides. The shape argument is the precision.
    ("unet-train", "fp32", "Shapes UNet, batch 2, 16×16×4 latents, fp32", 5),
    ("unet-train", "bf16", "Shapes UNet, batch 2, 16×16×4 latents, bf16 (PyTorch: autocast)", 5),
]
TRAIN_SCRIPT = Path(__file__).resolve().parent / "bench_train.py"
HEADS = "8,40"
NOISY = 1.3  # rounds further apart than this (max/min) are listed under the table


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"bench-neural: {msg}", file=sys.stderr, flush=True)


def flops(case: str, shape: str) -> float:
    """The same formulas as `atelier bench neural`."""
    if case == "sgemm":
        n = int(shape)
        return 2.0 * n ** 3
    if case == "conv":
        b, c, h, w = (int(v) for v in shape.split(","))
        return 3 * 2.0 * b * c * c * 9 * h * w
    if case == "unet-train":
        return 0.0  # not counted: the report shows no GFLOP/s for whole steps
    h, d = (int(v) for v in HEADS.split(","))
    t = int(shape)
    return 3.5 * 2 * 2.0 * h * t * t * d


def child_env() -> dict[str, str]:
    """The Makefile exports OMP_THREAD_LIMIT=1 (for Tesseract); it would cap torch's OpenMP pool at one
    thread, so it is dropped here and every library is told 2 threads."""
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(THREADS)
    return env


def parse_one_line(cmd: list[str], stdout: str, keys: set[str]) -> dict[str, Any]:
    return parse_one_json_line(cmd, stdout, keys, BenchError)


def run_json(cmd: list[str], keys: set[str]) -> dict[str, Any]:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S, env=child_env())
    except subprocess.TimeoutExpired:
        raise BenchError(f"`{' '.join(cmd)}` ran past {SUBPROCESS_TIMEOUT_S} s")
    if p.returncode != 0:
        raise BenchError(f"`{' '.join(cmd)}` exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return parse_one_line(cmd, p.stdout, keys)


KEYS = {"case", "seconds", "gflops", "peakRSSMB", "backend"}


# --------------------------------------------------------------------------------------------------
# Atelier side


class Atelier:
    def __init__(self, binary: str):
        self.binary = binary

    def check(self) -> None:
        self.binary = require_bench_subcommand(self.binary, "neural", "--case", BenchError)

    def run(self, case: str, shape: str, repeat: int) -> dict[str, Any]:
        if case == "unet-train":
            cmd = [self.binary, "bench", "train", "--config", "shapes", "--size", "32", "--repeat", str(repeat),
                   "--threads", str(THREADS)] + (["--bf16"] if shape == "bf16" else [])
            return train_result(run_json(cmd, {"stepSeconds", "peakRSSMB", "backend"}))
        cmd = [self.binary, "bench", "neural", "--case", case, "--repeat", str(repeat), "--threads", str(THREADS)]
        if case == "conv":
            cmd += ["--conv", shape]
        else:
            cmd += ["--size", shape]
        if case == "attention":
            cmd += ["--heads", HEADS]
        return run_json(cmd, KEYS)


def train_result(one: dict[str, Any]) -> dict[str, Any]:
    """A `bench train` line (either side) in this script's keys."""
    return {"case": "unet-train", "seconds": one["stepSeconds"], "gflops": 0.0, "peakRSSMB": one["peakRSSMB"],
            "backend": one["backend"]}


def peer(kind: str, case: str, shape: str, repeat: int) -> dict[str, Any]:
    if case == "unet-train":
        # train_dreambooth.py's step on diffusers' UNet2DConditionModel (bench_train.py's worker).
        cmd = [sys.executable, str(TRAIN_SCRIPT), "--worker", "shapes", "32", str(repeat), "0", "1" if shape == "bf16" else "0"]
        return train_result(run_json(cmd, {"stepSeconds", "peakRSSMB", "backend"}))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--case", case, "--shape", shape,
           "--repeat", str(repeat)]
    return run_json(cmd, KEYS | {"baseRSSMB"})


# --------------------------------------------------------------------------------------------------
# Peer workers (one measurement per process)


def _peak_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _median_high(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def _numpy_openblas() -> str:
    """numpy's bundled OpenBLAS: version and the kernel it picked at run time."""
    import ctypes
    import glob
    import numpy as np
    libs = glob.glob(str(Path(np.__file__).resolve().parent.parent / "numpy.libs" / "libscipy_openblas*.so*"))
    try:
        lib = ctypes.CDLL(libs[0])
        for prefix in ("scipy_openblas_get_", "openblas_get_"):
            for suffix in ("64_", ""):
                try:
                    core_fn = getattr(lib, f"{prefix}corename{suffix}")
                    cfg_fn = getattr(lib, f"{prefix}config{suffix}")
                except AttributeError:
                    continue
                core_fn.restype = cfg_fn.restype = ctypes.c_char_p
                version = cfg_fn().decode().split()[1]
                return f"OpenBLAS {version} {core_fn().decode()}"
    except (IndexError, OSError):
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return f"{blas.get('name', 'BLAS')} {blas.get('version', '?')}"


def worker(kind: str, case: str, shape: str, repeat: int) -> dict[str, Any]:
    if kind == "numpy":
        import numpy as np
        if case != "sgemm":
            raise SystemExit("numpy worker: sgemm only")
        base = _peak_mb()
        rng = np.random.default_rng(0)
        n = int(shape)
        times = []
        for _ in range(repeat + 1):
            a = rng.standard_normal((n, n), dtype=np.float32)
            b = rng.standard_normal((n, n), dtype=np.float32)
            t0 = time.perf_counter()
            c = a @ b
            times.append(time.perf_counter() - t0)
            del c
        backend = f"numpy {np.__version__}, {_numpy_openblas()}, {os.environ.get('OPENBLAS_NUM_THREADS', '?')} threads"
    else:
        import torch
        import torch.nn.functional as F
        torch.set_num_threads(THREADS)
        base = _peak_mb()
        torch.manual_seed(0)
        times = []
        for _ in range(repeat + 1):
            if case == "sgemm":
                n = int(shape)
                a, b = torch.randn(n, n), torch.randn(n, n)
                t0 = time.perf_counter()
                c = torch.matmul(a, b)
                times.append(time.perf_counter() - t0)
                del c
            elif case == "conv":
                bsz, ch, h, w = (int(v) for v in shape.split(","))
                x = torch.randn(bsz, ch, h, w, requires_grad=True)
                wt = (torch.randn(ch, ch, 3, 3) * 0.02).requires_grad_()
                t0 = time.perf_counter()
                y = F.conv2d(x, wt, None, stride=1, padding=1)
                y.backward(torch.ones_like(y))
                times.append(time.perf_counter() - t0)
                assert x.grad is not None and wt.grad is not None
            else:
                nh, d = (int(v) for v in HEADS.split(","))
                t = int(shape)
                q, k, v = (torch.randn(1, nh, t, d, requires_grad=True) for _ in range(3))
                t0 = time.perf_counter()
                o = F.scaled_dot_product_attention(q, k, v)
                o.backward(torch.ones_like(o))
                times.append(time.perf_counter() - t0)
                assert q.grad is not None and k.grad is not None and v.grad is not None
        cap = torch.backends.cpu.get_cpu_capability()
        blas = "MKL" if torch.backends.mkl.is_available() else "BLAS"
        backend = f"PyTorch {torch.__version__} ({blas} + oneDNN, {cap}), {torch.get_num_threads()} threads"
    seconds = _median_high(times[1:])
    return {"case": case, "seconds": seconds, "gflops": flops(case, shape) / seconds / 1e9,
            "peakRSSMB": _peak_mb(), "baseRSSMB": base, "backend": backend}


# --------------------------------------------------------------------------------------------------
# Report


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}×" if r < 10 else f"{r:.1f}×"




def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                have = set(line.split(":", 1)[1].split())
                return [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16") if f in have]
    except OSError:
        pass
    return []


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPUs busy over `seconds` (from /proc/stat), before anything of ours runs."""
    def sample() -> tuple[int, int]:
        f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(f[:8]), f[3] + f[4]  # total (without guest), idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
        return 1.0 - (i1 - i0) / max(1, t1 - t0)
    except (OSError, ValueError, IndexError):
        return float("nan")


def cpu_ticks() -> tuple[float, float]:
    """(busy CPU-seconds of the whole machine so far, CPU-seconds of our finished children so far)."""
    import resource
    f = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return busy, ru.ru_utime + ru.ru_stime


SIDE_NAMES = {"atelier": "Atelier", "torch": "PyTorch", "numpy": "numpy"}


def report(results: list[dict[str, Any]], started: float, busy: float, others: list[float], rounds: int) -> str:
    out: list[str] = []
    out.append(SECTION)
    out.append("")
    out.append("`make bench-neural` (`tools/bench_neural.py`): Atelier's Neural engine against PyTorch on the same "
               f"shapes, fp32 (bf16 only where a row says so), {THREADS} threads each side, each case in its own process. Time = median per "
               "iteration after one warm-up (input creation not timed); the cases run in "
               f"{rounds} round{'s' if rounds != 1 else ''}, sides alternating who goes first, and each side keeps "
               "its best round. Ratio = PyTorch time / Atelier time (> 1: Atelier is faster). Peak MB = ru_maxrss "
               "of that case's process (runtime included).")
    out.append("")
    out.append("| case | shape | atelier | pytorch | ratio | atelier GFLOP/s | pytorch GFLOP/s | atelier peak MB "
               "| pytorch peak MB |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        a, t = r["atelier"], r["torch"]
        label = {"sgemm": "sgemm", "conv": "conv 3×3 fwd+bwd", "attention": "attention fwd+bwd",
                 "unet-train": "UNet training step"}[r["case"]]
        rate = lambda side: "–" if r["case"] == "unet-train" else f"{side['gflops']:.1f}"
        out.append(f"| {label} | {r['label']} | {fmt_time(a['seconds'])} | {fmt_time(t['seconds'])} | "
                   f"{fmt_ratio(t['seconds'] / a['seconds'])} | {rate(a)} | {rate(t)} | "
                   f"{a['peakRSSMB']:.0f} | {t['peakRSSMB']:.0f} |")
    out.append("")

    sg = [r for r in results if r["case"] == "sgemm" and r.get("numpy")]
    if sg:
        out.append("sgemm against both peers (best = highest GFLOP/s of the three):")
        out.append("")
        out.append("| N | atelier GFLOP/s | pytorch GFLOP/s | numpy GFLOP/s | numpy / atelier time | best "
                   "| atelier % of best | numpy peak MB |")
        out.append("|---|---:|---:|---:|---:|---|---:|---:|")
        for r in sg:
            a, t, n = r["atelier"], r["torch"], r["numpy"]
            best_name, best = max((("atelier", a["gflops"]), ("pytorch", t["gflops"]), ("numpy", n["gflops"])),
                                  key=lambda x: x[1])
            out.append(f"| {r['shape']} | {a['gflops']:.1f} | {t['gflops']:.1f} | {n['gflops']:.1f} | "
                       f"{fmt_ratio(n['seconds'] / a['seconds'])} | {best_name} {best:.1f} | "
                       f"{100 * a['gflops'] / best:.0f}% | {n['peakRSSMB']:.0f} |")
        out.append("")

    first = results[0]
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    date = _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    flags = cpu_flags()
    machine = (f"Machine: nproc {ncpu}, {cpu_model()} ({' '.join(flags) or 'no AVX2'}); Linux {platform.machine()}. "
               f"Atelier: {first['atelier']['backend']}. Peer: {first['torch']['backend']}")
    if sg:
        machine += f"; {sg[0]['numpy']['backend']}"
    machine += (f". CPU busy before the run: {100 * busy:.0f}%; other processes' share of the CPUs during each "
                f"round: {' / '.join(f'{100 * o:.0f}%' for o in others)}. Date: {date}.")
    out.append(machine)
    out.append("")

    noisy = []
    for r in results:
        for side in ("atelier", "torch", "numpy"):
            if side in r and r[side]["spread"] > NOISY:
                rounds_ms = " / ".join(fmt_time(s) for s in r[side]["rounds"])
                noisy.append(f"{r['case']} {r['shape']} {SIDE_NAMES[side]} ({rounds_ms})")
    if noisy:
        out.append(f"- Rounds more than {NOISY}× apart (other processes, see the per-round share above, and this VM's "
                   "second core, which comes and goes; the table keeps each side's best round): " + "; ".join(noisy) + ".")
    base = max(r["torch"].get("baseRSSMB", 0) for r in results)
    out.append(f"- PyTorch's peak includes ~{base:.0f} MB for importing torch itself (measured before the first input).")
    out.append("- Flop counts are nominal (same formula on every side); attention's 3.5× forward for forward + "
               "backward ignores softmax.")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        out.append(f"- OPENBLAS_CORETYPE={coretype} is set in this machine's environment (it pins OpenBLAS's kernel where "
                   "older builds misdetect the CPU); numpy's OpenBLAS runs under it. Atelier's products of 8+ rows and "
                   "64+ columns run on its own AVX-512 kernel (CKernels), which does not depend on that setting.")
    out.append("- UNet training step: one DreamBooth step with prior preservation (forward, backward, clipping, AdamW) "
               "on the Shapes model's UNet config with random weights, as `make bench-train` runs it (tools/bench_train.py: "
               "train_dreambooth.py's step on diffusers for PyTorch); the bf16 row runs PyTorch's UNet forward under "
               "bf16 autocast and Atelier's products on bf16 operands, both with fp32 weights and optimizer state. "
               "SD-1.5-sized steps: see DreamBooth training below.")
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("atelier", nargs="?", help="the atelier binary (e.g. .build/release/atelier)")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    ap.add_argument("--benchmarks", default=str(ROOT / "BENCHMARKS.md"), help="the file whose section is replaced")
    ap.add_argument("--rounds", type=int, default=3,
                    help="passes over all cases, sides alternating who goes first; each side keeps its best "
                         "round (default 3)")
    ap.add_argument("--quick", action="store_true", help="one round, one repeat per case (checks the script); "
                                                         "writes nothing")
    ap.add_argument("--peers-only", action="store_true", help="skip Atelier (checks the peers); writes nothing")
    ap.add_argument("--worker", choices=["torch", "numpy"], help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--shape", help=argparse.SUPPRESS)
    ap.add_argument("--repeat", type=int, default=3, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        print(json.dumps(worker(args.worker, args.case, args.shape, args.repeat)), flush=True)
        return 0
    if not args.atelier and not args.peers_only:
        ap.error("give ATELIER_BINARY (or --peers-only)")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")

    import importlib.util  # only the workers import torch and numpy
    missing = [m for m in ("torch", "numpy") if importlib.util.find_spec(m) is None]
    if missing:
        log(f"{', '.join(missing)} not importable by {sys.executable}; use the torch venv "
            "(`make bench-neural` creates .venv-torch)")
        return 2

    atelier = None
    if not args.peers_only:
        atelier = Atelier(args.atelier)
        try:
            atelier.check()
        except BenchError as e:
            log(str(e))
            return 2

    started = time.time()
    busy = cpu_busy()
    if busy > 0.15:
        log(f"CPU {100 * busy:.0f}% busy before the run: something else is running; numbers may be noisy")

    rounds = 1 if args.quick else args.rounds
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    others: list[float] = []  # per round: CPU share used by processes other than ours
    samples: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {(c, sh): {} for c, sh, _, _ in CASES}
    try:
        for rnd in range(rounds):
            ticks0, wall0 = cpu_ticks(), time.monotonic()
            for case, shape, _, repeat in CASES:
                if args.quick:
                    repeat = 1
                sides = (["atelier"] if atelier else []) + ["torch"] + (["numpy"] if case == "sgemm" else [])
                if rnd % 2 == 1:
                    sides.reverse()  # alternate who goes first
                got = samples[(case, shape)]
                for side in sides:
                    log(f"round {rnd + 1}/{rounds}, {side}: {case} {shape} (repeat {repeat})")
                    one = atelier.run(case, shape, repeat) if side == "atelier" else peer(side, case, shape, repeat)
                    got.setdefault(side, []).append(one)
                log("  " + ", ".join(f"{side} {fmt_time(got[side][-1]['seconds'])}" for side in sides))
            # busy time beyond this process's children (this process itself mostly sleeps)
            ticks1, wall1 = cpu_ticks(), time.monotonic()
            others.append(max(0.0, (ticks1[0] - ticks0[0]) - (ticks1[1] - ticks0[1]))
                          / max(1e-9, (wall1 - wall0) * ncpu))
            if others[-1] > 0.1:
                log(f"round {rnd + 1}: other processes used {100 * others[-1]:.0f}% of the CPUs; only rounds "
                    "without them are trustworthy (each side keeps its best round)")
    except BenchError as e:
        log(str(e))
        return 1

    if min(others) > 0.1:
        log("every round shared the CPUs with other processes: rerun on a quiet machine")

    results: list[dict[str, Any]] = []
    for case, shape, label, _ in CASES:
        r: dict[str, Any] = {"case": case, "shape": shape, "label": label}
        for side, runs in samples[(case, shape)].items():
            best = dict(min(runs, key=lambda o: o["seconds"]))
            times = [o["seconds"] for o in runs]
            best["spread"] = max(times) / min(times)
            best["rounds"] = times
            best["peakRSSMB"] = max(o["peakRSSMB"] for o in runs)
            r[side] = best
        results.append(r)

    if not atelier:
        for r in results:
            for k in ("torch", "numpy"):
                if k in r:
                    print(f"{r['case']} {r['shape']} {k}: {fmt_time(r[k]['seconds'])}, {r[k]['gflops']:.1f} GFLOP/s, "
                          f"peak {r[k]['peakRSSMB']:.0f} MB ({r[k]['backend']})")
        return 0

    text = report(results, started, busy, others, rounds)
    print(text, end="")
    if args.quick:
        log("--quick: BENCHMARKS.md not written")
    elif not args.no_write:
        update_section(Path(args.benchmarks), SECTION, text)
        log(f"wrote the {SECTION!r} section of {args.benchmarks}")
    log(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
