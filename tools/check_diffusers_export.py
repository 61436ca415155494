#!/usr/bin/env python3
"""Checks that a model folder Atelier exported (`atelier pretrain shapes`, `atelier train`) is a diffusers
model: diffusers' StableDiffusionPipeline loads it as is, and sampling it from the same starting latents
gives the same image as `atelier sample` (DDIM, deterministic).

    .venv-torch/bin/python tools/check_diffusers_export.py ATELIER_BINARY MODEL_DIR [--prompt P] [--steps N]

Prints one JSON line {loaded, max_abs_diff, mean_abs_diff, ok} and exits 1 when the images differ by more
than 1e-2 anywhere (both sides compute in float32 from the same f16/f32 weights)."""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from PIL import Image
from safetensors.torch import save_file


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("--prompt", default="a photo of a large red square in the center on a gray background")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--guidance", type=float, default=5.0)
    args = ap.parse_args()
    torch.set_num_threads(2)
    pipe = StableDiffusionPipeline.from_pretrained(args.model, dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    size = pipe.unet.config.sample_size * pipe.vae_scale_factor
    latents = torch.randn(1, pipe.unet.config.in_channels, pipe.unet.config.sample_size, pipe.unet.config.sample_size, generator=torch.Generator().manual_seed(0))
    with tempfile.TemporaryDirectory() as tmp:
        save_file({"latents": latents.contiguous()}, f"{tmp}/latents.safetensors")
        out = subprocess.run([args.binary, "sample", "--model", args.model, "--prompt", args.prompt, "--steps", str(args.steps),
                              "--guidance", str(args.guidance), "--scheduler", "ddim", "--latents-in", f"{tmp}/latents.safetensors",
                              "--out", tmp], capture_output=True, text=True, check=True)
        ours = np.asarray(Image.open(json.loads(out.stdout)["images"][0]), dtype=np.float32) / 255
    with torch.inference_mode():
        theirs = pipe(args.prompt, num_inference_steps=args.steps, guidance_scale=args.guidance, latents=latents * pipe.scheduler.init_noise_sigma,
                      height=size, width=size, output_type="np").images[0]
    theirs = np.round(theirs * 255) / 255
    diff = np.abs(ours - theirs)
    ok = bool(diff.max() <= 1e-2 + 1 / 255)
    print(json.dumps({"loaded": True, "size": size, "max_abs_diff": float(diff.max()), "mean_abs_diff": float(diff.mean()), "ok": ok}))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
