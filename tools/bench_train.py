#!/usr/bin/env python3
"""DreamBooth training-step benchmark: Atelier's trainer step against the same step in diffusers'
`train_dreambooth.py` logic on PyTorch (CPU), side by side.

    .venv-torch/bin/python tools/bench_train.py ATELIER_BINARY      (what `make bench-train` runs)

One step with prior preservation, as train_dreambooth.py computes it: instance and class examples in
one batch (1 + 1), random timesteps, noise added with the DDPM schedule (SD's scaled-linear betas), the
UNet's noise prediction, loss = MSE(instance) + 1.0·MSE(prior), backward, clip_grad_norm_(1.0), AdamW
(lr 5e-6), gradients zeroed. Both sides use random weights (fp32), precomputed latents and text
embeddings (the frozen VAE and text encoder are outside the timed step: Atelier caches their outputs,
and train_dreambooth.py's `--pre_compute_text_embeddings` does the same for the text), and 2 threads.
Configs: `shapes` (the embedded Shapes model's UNet, 16×16×4 latents) and `sd15` (Stable Diffusion 1.5's UNet)
at 256×256 (32×32 latents). Each measurement runs in its own process: one warm-up step, then the median of
R steps; rounds alternate which side goes first; each side keeps its best round. Ratio = diffusers time /
Atelier time (> 1: Atelier is faster); memory is each process's peak RSS.

bf16 rows: PyTorch runs the UNet's forward under `torch.autocast("cpu", dtype=torch.bfloat16)` with fp32 weights
(what accelerate's `--mixed_precision bf16` does for the trained UNet); Atelier runs the step under
MatmulPrecision.bf16 (bf16 operands in every matrix product, fp32 accumulation and weights).

Atelier side: ATELIER bench train --config shapes|sd15 --size N --repeat R --threads 2 [--lora] [--gradient-checkpointing] [--bf16]
    -> {"config", "size", "lora", "stepSeconds", "peakRSSMB", "trainableParameters", "backend"}
Options: --no-write, --rounds N, --quick (shapes only, one round), --worker (internal: the diffusers side).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmarks_md import cpu_model, require_bench_subcommand, run_probe, update_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## DreamBooth training"
THREADS = 2
# (config, size, repeat, gradient checkpointing, bf16 mixed precision)
CASES = [("shapes", 32, 5, False, False), ("shapes", 32, 5, False, True), ("sd15", 256, 2, False, False),
         ("sd15", 256, 2, False, True), ("sd15", 256, 2, True, False)]
KEYS = {"stepSeconds", "peakRSSMB"}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"bench-train: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> dict:
    return run_probe(cmd, THREADS, KEYS, BenchError, timeout=3600)


def cpu_flags() -> str:
    """The CPU's vector and bf16 features that matter for these numbers."""
    try:
        flags = set(next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split())
    except (OSError, StopIteration):
        return "flags unknown"
    have = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return ", ".join(have) if have else "no AVX2"


def worker(config: str, size: int, repeat: int, ckpt: bool, bf16: bool = False) -> None:
    """The diffusers side, in its own process: train_dreambooth.py's step."""
    import torch
    import torch.nn.functional as F
    from diffusers import DDPMScheduler, UNet2DConditionModel

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if config == "shapes":
        # Mirrors ShapesPretrainConfig().unet (Sources/Diffusion/ShapesPretrainer.swift).
        unet = UNet2DConditionModel(block_out_channels=(32, 64, 64), layers_per_block=1, sample_size=16, in_channels=4, out_channels=4,
                                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                                    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=64,
                                    attention_head_dim=4, norm_num_groups=32)
        factor, dim = 2, 64
    else:
        unet = UNet2DConditionModel(sample_size=size // 8, cross_attention_dim=768)
        factor, dim = 8, 768
    unet.train()
    if ckpt:
        unet.enable_gradient_checkpointing()
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=5e-6, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    latent = size // factor
    latents = torch.randn(2, unet.config.in_channels, latent, latent)
    context = torch.randn(2, 77, dim)

    def step() -> None:
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],)).long()
        noisy = scheduler.add_noise(latents, noise, timesteps)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            pred = unet(noisy, timesteps, context, return_dict=False)[0]
        pred, pred_prior = torch.chunk(pred, 2, dim=0)
        target, target_prior = torch.chunk(noise, 2, dim=0)
        loss = F.mse_loss(pred.float(), target.float(), reduction="mean")
        loss = loss + 1.0 * F.mse_loss(pred_prior.float(), target_prior.float(), reduction="mean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    times = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"config": config, "size": size, "stepSeconds": times[len(times) // 2], "peakRSSMB": rss,
                      "trainableParameters": sum(p.numel() for p in unet.parameters()),
                      "backend": f"torch {torch.__version__}, {torch.get_num_threads()} threads"}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--core", action="store_true", help="skip the gradient-checkpointing comparison and the 512×512 runs")
    ap.add_argument("--worker", nargs=5, metavar=("CONFIG", "SIZE", "REPEAT", "CKPT", "BF16"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]), args.worker[3] == "1", args.worker[4] == "1")
        return
    if not args.binary:
        ap.error("give the atelier binary")
    binary = require_bench_subcommand(args.binary, "train", "DreamBooth training step", BenchError)
    cases = CASES[:2] if args.quick else [c for c in CASES if not c[3]] if args.core else CASES
    rounds = 1 if args.quick else args.rounds
    best: dict[tuple[str, str], dict] = {}
    for r in range(rounds):
        for config, size, repeat, ckpt, bf16 in cases:
            sides = [("atelier", [binary, "bench", "train", "--config", config, "--size", str(size), "--repeat", str(repeat), "--threads", str(THREADS)]
                      + (["--gradient-checkpointing"] if ckpt else []) + (["--bf16"] if bf16 else [])),
                     ("diffusers", [sys.executable, __file__, "--worker", config, str(size), str(repeat), "1" if ckpt else "0",
                                    "1" if bf16 else "0"])]
            if r % 2:
                sides.reverse()
            for side, cmd in sides:
                log(f"round {r + 1}: {side} {config} {size}×{size}{' ckpt' if ckpt else ''}{' bf16' if bf16 else ''}")
                out = run(cmd)
                key = (config, ckpt, bf16, side)
                if key not in best or out["stepSeconds"] < best[key]["stepSeconds"]:
                    best[key] = out
    lines = [SECTION, "",
             f"One DreamBooth step with prior preservation (1 instance + 1 class example, UNet forward and backward, clipping, AdamW), random "
             f"weights, {THREADS} threads each, best of {rounds} round(s); `make bench-train` (tools/bench_train.py). CPU: {cpu_model()} "
             f"({cpu_flags()}); {platform.python_implementation()} peer: {best[(cases[0][0], False, False, 'diffusers')]['backend']} running "
             f"train_dreambooth.py's step; Atelier: {best[(cases[0][0], False, False, 'atelier')]['backend']}. bf16: PyTorch's CPU autocast "
             "around the UNet's forward against Atelier's bf16 operands (fp32 weights and optimizer state on both sides); " + (
                 "Atelier's bf16 products run on AVX512-BF16 dot products (CKernels)." if "avx512_bf16" in cpu_flags() else
                 "this CPU has no AVX512-BF16, so Atelier's bf16 rounds its operands before fp32 products: the numerics, not the speed."),
             "",
             "Ratio = diffusers time / Atelier time (> 1: Atelier is faster).", "",
             "| config | size | precision | gradient checkpointing | step: Atelier | diffusers | ratio | peak RSS MB: Atelier | diffusers | memory ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for config, size, _, ckpt, bf16 in cases:
        a, d = best[(config, ckpt, bf16, "atelier")], best[(config, ckpt, bf16, "diffusers")]
        lines.append(f"| {config} | {size}×{size} | {'bf16' if bf16 else 'fp32'} | {'on' if ckpt else 'off'} | {a['stepSeconds']:.3f} s "
                     f"| {d['stepSeconds']:.3f} s | {d['stepSeconds'] / a['stepSeconds']:.2f}× "
                     f"| {a['peakRSSMB']:.0f} | {d['peakRSSMB']:.0f} | {d['peakRSSMB'] / a['peakRSSMB']:.2f}× |")
    if not args.quick:
        log("atelier sd15 256×256 LoRA")
        lora = run([binary, "bench", "train", "--config", "sd15", "--size", "256", "--repeat", "2", "--threads", str(THREADS), "--lora"])
        lines += ["", f"Atelier with rank-4 LoRA on the SD-1.5 UNet's attention (256×256): {lora['stepSeconds']:.2f} s per step, "
                      f"peak RSS {lora['peakRSSMB'] / 1024:.2f} GiB, {lora['trainableParameters']:,} trainable parameters."]
        # Does SD-1.5 fine-tuning at 512×512 fit in this machine's 24 GiB? Full UNet with checkpointing, and LoRA with checkpointing.
        for extra, label in () if args.core else ((["--gradient-checkpointing"], "full UNet, gradient checkpointing"),
                             (["--lora", "--gradient-checkpointing"], "rank-4 LoRA, gradient checkpointing")):
            log(f"atelier sd15 512×512 {label}")
            try:
                big = run([binary, "bench", "train", "--config", "sd15", "--size", "512", "--repeat", "1", "--threads", str(THREADS)] + extra)
                lines.append(f"SD-1.5 at 512×512, {label}: {big['stepSeconds']:.1f} s per step, peak RSS {big['peakRSSMB'] / 1024:.2f} GiB "
                             f"({'fits' if big['peakRSSMB'] < 24 * 1024 else 'does not fit'} in 24 GiB).")
            except BenchError as e:
                lines.append(f"SD-1.5 at 512×512, {label}: did not complete ({str(e)[:160]}).")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write and not args.quick:
        update_section(ROOT / "BENCHMARKS.md", SECTION, text)
        log("BENCHMARKS.md updated")


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        log(str(e))
        sys.exit(1)
