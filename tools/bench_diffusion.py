#!/usr/bin/env python3
"""Stable Diffusion sampler benchmark: Atelier's Diffusion module against diffusers on PyTorch (CPU), side by side.

    .venv-torch/bin/python tools/bench_diffusion.py ATELIER_BINARY      (what `make bench-diffusion` runs)

Both sides build the same architecture with random weights (fp32) and time the same work with 2 threads
(Atelier `--threads 2`; torch.set_num_threads(2)):
  step    one UNet forward with classifier-free guidance: batch 2 (negative + positive), timestep 500,
          text context [2, 77, d];
  decode  one VAE decode of [1, 4, H/8, W/8] latents (tiny: H/2);
  RSS     peak resident memory of the process (its runtime included).
A last Atelier-only run checks the memory target: SD-1.5 shapes at 512×512, one guided step and a decode.
Configs: `tiny` (the parity-test model: UNet (32, 64), VAE (32, 64), CLIP hidden 32) at 64×64, and `sd15`
(Stable Diffusion 1.5's UNet, VAE and text-encoder shapes) at 256×256. Each measurement runs in its own
process: one warm-up, then the median of R repetitions; rounds alternate which side goes first and each
side keeps its best round (the machine is shared and noisy). Ratio = diffusers time / Atelier time
(> 1: Atelier is faster).

The Markdown goes to stdout, progress to stderr, and the "## Diffusion" section of BENCHMARKS.md is replaced.

Atelier side: ATELIER bench diffusion --config tiny|sd15 --size N --repeat R --threads 2
    -> {"config", "size", "stepSeconds", "decodeSeconds", "textSeconds", "peakRSSMB", "parameters", "backend"}
Options: --no-write, --rounds N, --quick (tiny only, one round), --worker (internal: the diffusers side).
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
SECTION = "## Diffusion"
THREADS = 2
CASES = [("tiny", 64, 5), ("sd15", 256, 2)]
KEYS = {"stepSeconds", "decodeSeconds", "peakRSSMB"}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(f"bench-diffusion: {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str]) -> dict:
    return run_probe(cmd, THREADS, KEYS, BenchError, timeout=1800)


def worker(config: str, size: int, repeat: int) -> None:
    """The diffusers side, in its own process."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if config == "tiny":
        unet = UNet2DConditionModel(block_out_channels=(32, 64), layers_per_block=2, sample_size=size // 2, in_channels=4, out_channels=4,
                                    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
                                    cross_attention_dim=32)
        vae = AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                            up_block_types=["UpDecoderBlock2D"] * 2, latent_channels=4)
        text = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=5, vocab_size=49408))
        factor, dim = 2, 32
    else:
        unet = UNet2DConditionModel(sample_size=size // 8, cross_attention_dim=768)  # diffusers' defaults are SD 1.x's UNet
        vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], down_block_types=["DownEncoderBlock2D"] * 4,
                            up_block_types=["UpDecoderBlock2D"] * 4, latent_channels=4, layers_per_block=2)
        text = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12, vocab_size=49408))
        factor, dim = 8, 768
    for m in (unet, vae, text):
        m.eval()
    latent = size // factor
    ids = torch.tensor([[49406] + [320] * 8 + [49407] * 68] * 2)
    context = torch.randn(2, 77, dim)
    sample = torch.randn(2, 4, latent, latent)
    z = torch.randn(1, 4, latent, latent)

    def timed(fn) -> float:
        times = []
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        times = sorted(times[1:])
        return times[len(times) // 2]

    with torch.inference_mode():
        text_s = timed(lambda: text(ids))
        step_s = timed(lambda: unet(sample, 500, encoder_hidden_states=context))
        decode_s = timed(lambda: vae.decode(z))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"config": config, "size": size, "stepSeconds": step_s, "decodeSeconds": decode_s, "textSeconds": text_s,
                      "peakRSSMB": rss, "backend": f"torch {torch.__version__}, {torch.get_num_threads()} threads"}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", nargs=3, metavar=("CONFIG", "SIZE", "REPEAT"))
    args = ap.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    if not args.binary:
        ap.error("give the atelier binary")
    binary = require_bench_subcommand(args.binary, "diffusion", "guided UNet step", BenchError)
    cases = CASES[:1] if args.quick else CASES
    rounds = 1 if args.quick else args.rounds
    best: dict[tuple[str, str], dict] = {}
    for r in range(rounds):
        for config, size, repeat in cases:
            sides = [("atelier", [binary, "bench", "diffusion", "--config", config, "--size", str(size), "--repeat", str(repeat), "--threads", str(THREADS)]),
                     ("diffusers", [sys.executable, __file__, "--worker", config, str(size), str(repeat)])]
            if r % 2:
                sides.reverse()
            for side, cmd in sides:
                log(f"round {r + 1}: {side} {config} {size}×{size}")
                out = run(cmd)
                key = (config, side)
                if key not in best or out["stepSeconds"] < best[key]["stepSeconds"]:
                    best[key] = out
    lines = [SECTION, "",
             f"Stable Diffusion parts with random weights, fp32, {THREADS} threads each, best of {rounds} round(s); `make bench-diffusion` "
             f"(tools/bench_diffusion.py). CPU: {cpu_model()}; {platform.python_implementation()} peer: "
             f"{best[(cases[0][0], 'diffusers')]['backend']}; Atelier: {best[(cases[0][0], 'atelier')]['backend']}.", "",
             "Ratio = diffusers time / Atelier time (> 1: Atelier is faster).", "",
             "| config | size | guided UNet step: Atelier | diffusers | ratio | VAE decode: Atelier | diffusers | ratio | peak RSS MB: Atelier | diffusers |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for config, size, _ in cases:
        a, d = best[(config, "atelier")], best[(config, "diffusers")]
        lines.append(f"| {config} | {size}×{size} | {a['stepSeconds']:.3f} s | {d['stepSeconds']:.3f} s | {d['stepSeconds'] / a['stepSeconds']:.2f}× "
                     f"| {a['decodeSeconds']:.3f} s | {d['decodeSeconds']:.3f} s | {d['decodeSeconds'] / a['decodeSeconds']:.2f}× "
                     f"| {a['peakRSSMB']:.0f} | {d['peakRSSMB']:.0f} |")
    if not args.quick:
        # The memory target: SD-1.5-shaped sampling at 512×512 (one guided step and a decode) within 8 GiB.
        log("atelier sd15 512×512 (memory)")
        big = run([binary, "bench", "diffusion", "--config", "sd15", "--size", "512", "--repeat", "1", "--threads", str(THREADS)])
        lines += ["", f"SD-1.5-shaped at 512×512 (random weights, text encoder included): guided step {big['stepSeconds']:.1f} s, "
                      f"VAE decode {big['decodeSeconds']:.1f} s, peak RSS {big['peakRSSMB'] / 1024:.2f} GiB (target ≤ 8 GiB)."]
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
