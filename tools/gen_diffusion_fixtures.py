#!/usr/bin/env python3
"""Writes the parity fixtures ("goldens") for the Swift `Diffusion` module into
Tests/DiffusionTests/Fixtures/. The reference is diffusers + transformers + torch on CPU, float32.

    make diffusion-goldens            # = .venv-torch/bin/python tools/gen_diffusion_fixtures.py, then
                                      #   tools/gen_single_file_fixture.py (tiny-sd-single-file.safetensors)
    .venv-torch/bin/python tools/gen_diffusion_fixtures.py --bpe PATH/bpe_simple_vocab_16e6.txt.gz

What it writes (Fixtures/README.md says the same for readers of the tests):
  tiny-sd/                  a diffusers-layout SD-1.x pipeline folder, random weights, float16 safetensors
                            (tools/gen_single_file_fixture.py, run after this by the make target, writes
                            tiny-sd-single-file.safetensors from it: the same weights under LDM names)
  unet-sd2/                 an SD-2.x-style UNet (linear proj_in/out, per-block head counts), float16
  tokens.json               CLIPTokenizer ids (what diffusers uses) beside open_clip's for ~35 prompts
  reference.safetensors/json  text encoder, UNet, VAE and whole-pipeline outputs (float32)
  schedulers.safetensors/json scheduler trajectories under a toy noise model, no network involved

Everything is deterministic (fixed seeds, one thread), and the script overwrites what it wrote before.

Weights: each model is built from a seeded random init and then perturbed, because diffusers
zero-initialises many output convolutions, which would make a parity test pass for an implementation
that ignores those layers. The weights are then rounded to float16 *before* any reference is computed,
so the float16 files hold exactly the weights the float32 references used.

The CLIP vocabulary is OpenAI's `bpe_simple_vocab_16e6.txt.gz` (shipped in the open-clip-torch wheel);
the tokenizer folder is built from it the way OpenAI's SimpleTokenizer builds its encoder.
"""
import argparse
import gzip
import hashlib
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

# Set before transformers is imported: its import-time notices (e.g. about torchvision) would bury the
# per-file summary, and nothing here may reach the Hub.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import numpy as np
import torch
from safetensors.torch import save_file

import diffusers
import transformers
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/DiffusionTests/Fixtures"

OPEN_CLIP_SPEC = "open-clip-torch==3.3.0"
BPE_NAME = "bpe_simple_vocab_16e6.txt.gz"
# The same checksum tools/bootstrap.sh checks: a different vocabulary would make every id meaningless.
BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
BOS, EOS = "<|startoftext|>", "<|endoftext|>"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

def randn(shape, seed):
    """Inputs come from their own generator so that adding a case never shifts another's numbers."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def say(path, what):
    size = path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"{str(path.relative_to(ROOT)):60s} {size / 1024:9.1f} KiB  {what}")


def write_json(path, obj):
    # allow_nan=False: Python would otherwise write -Infinity, which strict JSON readers (Foundation's) refuse.
    text = json.dumps(obj, indent=1, ensure_ascii=False, default=jsonable, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def jsonable(v):
    # Scheduler configs hold tuples, numpy scalars and the odd tensor; JSON wants plain values.
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.ndarray, torch.Tensor)):
        return v.tolist()
    if isinstance(v, tuple):
        return list(v)
    raise TypeError(f"not JSON-serialisable: {type(v)}")


def plain_config(config):
    """A scheduler config as strict JSON. Non-finite numbers (DPM-Solver's lambda_min_clipped defaults to
    -inf) become the strings "inf"/"-inf"/"nan", which Python's float() reads back."""
    def finite(v):
        if isinstance(v, float) and not np.isfinite(v):
            return str(v)
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [finite(x) for x in v]
        return v
    config = finite(json.loads(json.dumps(dict(config), default=jsonable)))
    # diffusers builds this list from a set, so its order changes from run to run (hash seeds).
    if isinstance(config.get("_use_default_values"), list):
        config["_use_default_values"] = sorted(config["_use_default_values"])
    return config


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def save_tensors(path, tensors, metadata):
    save_file({k: f32(v) for k, v in tensors.items()}, str(path), metadata=metadata)
    shapes = ", ".join(f"{k}{list(v.shape)}" for k, v in tensors.items())
    say(path, f"{len(tensors)} f32 tensors: {shapes}")


def safetensors_dtypes(path):
    """Reads the header directly: what matters is what is on disk, not what a loader converts it to."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return {v["dtype"] for k, v in header.items() if k != "__metadata__"}


def check_f16_folder(folder):
    files = sorted(folder.rglob("*.safetensors"))
    assert files, f"no safetensors under {folder}"
    for f in files:
        dtypes = safetensors_dtypes(f)
        assert dtypes == {"F16"}, f"{f} holds {dtypes}, expected only F16"
    return files


# ---------------------------------------------------------------------------------------------
# Weights: seeded init, perturbed, rounded to float16
# ---------------------------------------------------------------------------------------------

NORM_TYPES = (torch.nn.GroupNorm, torch.nn.LayerNorm)


def perturb_and_round(model):
    """Moves every parameter off its (often zero) default, keeps normalisation scales near 1 so
    activations stay in a sane range, then rounds to float16 precision so saving in f16 is lossless.
    Called right after the model's torch.manual_seed(0) construction, so the draws are reproducible."""
    norm_weights = {
        f"{name}.weight" for name, m in model.named_modules() if isinstance(m, NORM_TYPES) and m.weight is not None
    }
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name in norm_weights:
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.add_(0.05 * torch.randn_like(p))
            p.copy_(p.half().float())
    return model.eval()


def build_unet(sd2):
    torch.manual_seed(0)
    extra = dict(use_linear_projection=True, attention_head_dim=(2, 4), upcast_attention=False) if sd2 else {}
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=2,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        **extra,
    )
    return perturb_and_round(unet)


def build_vae():
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[32, 64],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        sample_size=32,
    )
    return perturb_and_round(vae)


def build_text_encoder():
    torch.manual_seed(0)
    config = CLIPTextConfig(
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=5,
        vocab_size=49408,
        max_position_embeddings=77,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
        projection_dim=32,
    )
    return perturb_and_round(CLIPTextModel(config))


def sd_ddim_scheduler():
    return DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        num_train_timesteps=1000,
        timestep_spacing="leading",
    )


# ---------------------------------------------------------------------------------------------
# CLIP vocabulary and tokenizers
# ---------------------------------------------------------------------------------------------

def models_cache():
    env = os.environ
    if env.get("ATELIER_MODELS"):
        return pathlib.Path(env["ATELIER_MODELS"])
    base = pathlib.Path(env.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache")
    return base / "atelier/models"


def open_clip_files(scratch, wheel=None):
    """The open_clip wheel's tokenizer.py and vocabulary, unpacked into scratch/open_clip/. Only those two
    files are taken: importing the whole open_clip package would pull in its model zoo and timm."""
    if wheel is None:
        print(f"downloading {OPEN_CLIP_SPEC} (for open_clip/tokenizer.py and its vocabulary)")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--disable-pip-version-check",
             "-d", str(scratch), OPEN_CLIP_SPEC],
            check=True,
        )
        wheel = next(scratch.glob("open_clip_torch-*.whl"))
    dest = scratch / "open_clip"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name in ("tokenizer.py", BPE_NAME):
            (dest / name).write_bytes(z.read(f"open_clip/{name}"))
    return dest / "tokenizer.py", dest / BPE_NAME


def load_open_clip_tokenizer_module(tokenizer_py):
    # Imported by path under a private name; it only needs ftfy, regex, numpy and torch.
    spec = importlib.util.spec_from_file_location("open_clip_tokenizer_ref", tokenizer_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clip_vocab_and_merges(bpe_path, bytes_to_unicode):
    """Exactly OpenAI CLIP's SimpleTokenizer encoder: 256 byte symbols, the same with '</w>', one entry per
    merge, then the two special tokens (named as transformers names them), 49408 in all."""
    lines = gzip.open(bpe_path).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    symbols = list(bytes_to_unicode().values())
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [BOS, EOS]
    encoder = {token: i for i, token in enumerate(vocab)}
    assert len(encoder) == len(vocab) == 49408, len(encoder)
    assert encoder[BOS] == 49406 and encoder[EOS] == 49407
    return encoder, merges


def write_vocab_files(folder, encoder, merges):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    # The "#version" header is what Hugging Face's CLIP repos have; readers skip it.
    (folder / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8"
    )


def make_clip_tokenizer(scratch, encoder, merges):
    # transformers 5 ignores vocab_file=/merges_file= keyword arguments (it silently builds a 3-token
    # vocabulary), so the tokenizer is loaded from a folder holding vocab.json and merges.txt instead.
    src = scratch / "clip-tokenizer-src"
    write_vocab_files(src, encoder, merges)
    tok = CLIPTokenizer.from_pretrained(str(src), model_max_length=77, pad_token=EOS)
    assert len(tok) == 49408 and tok.bos_token_id == 49406 and tok.eos_token_id == 49407 and tok.pad_token_id == 49407
    return tok


PROMPTS = [
    "a photo of a red star",
    "A Photo Of A RED STAR",
    "a red star, a blue circle; a green square!",
    "3.5 inches",
    "don't stop, it's fine",
    "a,b;c!",
    "I'M sure WE'RE done, THEY'VE left",
    "hello world 1234567890",
    "!!!???...",
    "e-mail: someone@example.com",
    "  leading and trailing spaces  ",
    "repeated    spaces   between   words",
    "tabs\tand\nnewlines\r\nmixed",
    "   ",
    "",
    "x",
    "café naïve façade",
    "Straße ÀÉÎÕÜ",
    "decomposed cafe\u0301",
    "東京の夜景",
    "一只红色的星星",
    "a cat 🐱 with a 🚀 rocket",
    "👍🏽",
    " ".join(["red star"] * 60),
    "a highly detailed photograph of a small red star above a quiet lake at dusk, soft light, reflections on "
    "the water, pine trees, distant mountains, mist, 35mm film, shallow depth of field, golden hour, "
    "volumetric light, trending on an art site, intricate, elegant, sharp focus, award winning",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "<|endoftext|>",
    "a photo <|endoftext|> of a star",
    "<|startoftext|>hello",
    "tom &amp; jerry",
    "&lt;b&gt;bold&lt;/b&gt;",
    "\u201csmart quotes\u201d and \u2018apostrophes\u2019",
    "\uff26\uff35\uff2c\uff2c\uff37\uff29\uff24\uff34\uff28 text",
    "\ufb01ne ligature",
    "mojibake caf\u00c3\u00a9",
]


def token_cases(tok, oc, bpe_path):
    simple = oc.SimpleTokenizer(str(bpe_path))
    cases, disagree = [], []
    for prompt in PROMPTS:
        ids = tok(prompt, padding="max_length", max_length=77, truncation=True)["input_ids"]
        untruncated = tok(prompt, truncation=False)["input_ids"]
        open_clip_ids = simple(prompt)[0].tolist()
        # Compare the sequences before padding: open_clip pads with 0, transformers with EOS (49407).
        ours = tok(prompt, max_length=77, truncation=True)["input_ids"]
        theirs = [simple.sot_token_id] + simple.encode(prompt) + [simple.eot_token_id]
        if len(theirs) > 77:
            theirs = theirs[:76] + [simple.eot_token_id]
        agree = ours == theirs
        assert len(ids) == 77 and len(open_clip_ids) == 77
        cases.append({
            "prompt": prompt,
            "ids": ids,
            "untruncated_length": len(untruncated),
            "open_clip_ids": open_clip_ids,
            "agree": agree,
        })
        if not agree:
            disagree.append(prompt)
    return cases, disagree


def write_tokens_json(path, cases):
    # One case per line: 77-id lists spread one number per line would make the file unreadable.
    lines = [json.dumps(c, ensure_ascii=False, separators=(", ", ": ")) for c in cases]
    path.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Scheduler trajectories under a toy model
# ---------------------------------------------------------------------------------------------

SCHED_COMMON = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                    num_train_timesteps=1000, steps_offset=1)

SCHEDULER_CASES = {
    # name: (class, extra config, eta, steps)
    "ddim_leading": (DDIMScheduler, dict(set_alpha_to_one=False, clip_sample=False, timestep_spacing="leading"), 0.0, 10),
    "ddim_trailing": (DDIMScheduler, dict(set_alpha_to_one=False, clip_sample=False, timestep_spacing="trailing"), 0.0, 10),
    "ddim_eta1": (DDIMScheduler, dict(set_alpha_to_one=False, clip_sample=False, timestep_spacing="leading"), 1.0, 10),
    "ddpm_leading": (DDPMScheduler, dict(variance_type="fixed_small", clip_sample=False, timestep_spacing="leading"), None, 10),
    "euler_linspace": (EulerDiscreteScheduler, dict(timestep_spacing="linspace"), None, 10),
    "euler_leading": (EulerDiscreteScheduler, dict(timestep_spacing="leading"), None, 10),
    "euler_trailing": (EulerDiscreteScheduler, dict(timestep_spacing="trailing"), None, 10),
    "euler_a_linspace": (EulerAncestralDiscreteScheduler, dict(timestep_spacing="linspace"), None, 10),
    "dpmpp_2m_linspace": (DPMSolverMultistepScheduler,
                          dict(algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="linspace"), None, 10),
    "dpmpp_2m_leading": (DPMSolverMultistepScheduler,
                         dict(algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="leading"), None, 10),
    "dpmpp_2m_trailing": (DPMSolverMultistepScheduler,
                          dict(algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="trailing"), None, 10),
    "dpmpp_2m_4steps": (DPMSolverMultistepScheduler,
                        dict(algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="linspace"), None, 4),
}

# Each scheduler module imported randn_tensor by name, so that name is what gets replaced.
SCHEDULER_MODULES = [
    diffusers.schedulers.scheduling_ddim,
    diffusers.schedulers.scheduling_ddpm,
    diffusers.schedulers.scheduling_euler_discrete,
    diffusers.schedulers.scheduling_euler_ancestral_discrete,
    diffusers.schedulers.scheduling_dpmsolver_multistep,
]


class NoiseRecorder:
    """Stands in for randn_tensor in every scheduler module: draws from one seeded generator (whatever
    generator the scheduler passed, none here) and keeps each draw, so an implementation can replay them."""

    def __init__(self, seed):
        self.generator = torch.Generator().manual_seed(seed)
        self.draws = []
        self.saved = {}

    def __enter__(self):
        real = diffusers.utils.torch_utils.randn_tensor

        def recorded(shape, generator=None, device=None, dtype=None, layout=None, **kwargs):
            t = real(shape, generator=self.generator, device=torch.device("cpu"), dtype=dtype, layout=layout)
            self.draws.append(t.detach().clone())
            return t

        for m in SCHEDULER_MODULES:
            self.saved[m] = m.randn_tensor
            m.randn_tensor = recorded
        return self

    def __exit__(self, *exc):
        for m, f in self.saved.items():
            m.randn_tensor = f


def toy_eps(x_in, t):
    # A model any implementation can compute exactly: smooth in x, and it depends on t so a wrong
    # timestep shows up in the result.
    return 0.5 * torch.tanh(x_in) + 0.001 * t.to(torch.float32)


def make_scheduler(cls, extra, steps):
    s = cls(**SCHED_COMMON, **extra)
    s.set_timesteps(steps)
    return s


def scheduler_fixtures():
    tensors, info = {}, {}
    for name, (cls, extra, eta, steps) in SCHEDULER_CASES.items():
        s = make_scheduler(cls, extra, steps)
        init_sigma = float(s.init_noise_sigma)
        x0 = randn([1, 4, 8, 8], 6) * init_sigma
        kwargs = {"eta": eta} if eta is not None else {}
        x = x0.clone()
        with NoiseRecorder(7) as noise:
            for t in s.timesteps:
                x_in = s.scale_model_input(x, t)
                x = s.step(toy_eps(x_in, t), t, x, **kwargs).prev_sample
        tensors[f"{name}.x0"] = x0
        tensors[f"{name}.final"] = x
        tensors[f"{name}.timesteps"] = s.timesteps.to(torch.float32)
        if noise.draws:
            tensors[f"{name}.noise"] = torch.stack(noise.draws)
        if hasattr(s, "sigmas"):
            tensors[f"{name}.sigmas"] = torch.as_tensor(s.sigmas).to(torch.float32)
        info[name] = {
            "class": cls.__name__,
            "config": plain_config(s.config),
            "eta": eta if eta is not None else 0.0,
            "init_noise_sigma": init_sigma,
            "num_inference_steps": steps,
            "timesteps": [float(t) for t in s.timesteps],
            "noise_draws": len(noise.draws),
        }

    # Image-to-image starts from add_noise at the second timestep; a fresh scheduler, because Euler's
    # add_noise reads its step index once a trajectory has run.
    original, noise = randn([1, 4, 8, 8], 8), randn([1, 4, 8, 8], 9)
    tensors["add_noise.original"] = original
    tensors["add_noise.noise"] = noise
    for name in ("ddim_leading", "euler_linspace"):
        cls, extra, _, steps = SCHEDULER_CASES[name]
        s = make_scheduler(cls, extra, steps)
        t = s.timesteps[1:2]
        tensors[f"{name}.add_noise"] = s.add_noise(original, noise, t)
        info[name]["add_noise_timestep"] = float(t[0])
        info[name]["add_noise_step"] = 1
    return tensors, info


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bpe", help=f"path to {BPE_NAME} (default: the Atelier model cache, else the open_clip wheel)")
    ap.add_argument("--open-clip-wheel", help=f"a downloaded {OPEN_CLIP_SPEC} wheel (default: pip download it)")
    args = ap.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="diffusion-fixtures-"))
    try:
        run(args, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(args, scratch):
    versions = {
        "torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "open_clip_torch": OPEN_CLIP_SPEC.split("==")[1], "python": sys.version.split()[0],
    }
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))

    # -- CLIP vocabulary and tokenizers ---------------------------------------------------------
    tokenizer_py, wheel_bpe = open_clip_files(scratch, pathlib.Path(args.open_clip_wheel) if args.open_clip_wheel else None)
    cached = models_cache() / "open-clip" / BPE_NAME
    bpe_path = pathlib.Path(args.bpe) if args.bpe else (cached if cached.exists() else wheel_bpe)
    digest = hashlib.sha256(bpe_path.read_bytes()).hexdigest()
    assert digest == BPE_SHA256, f"{bpe_path}: sha256 {digest}, expected {BPE_SHA256}"
    print(f"CLIP vocabulary: {bpe_path}")
    oc = load_open_clip_tokenizer_module(tokenizer_py)
    encoder, merges = clip_vocab_and_merges(bpe_path, oc.bytes_to_unicode)
    tokenizer = make_clip_tokenizer(scratch, encoder, merges)

    # -- Models (float32 compute on float16-exact weights) --------------------------------------
    unet, unet_sd2, vae, text_encoder = build_unet(False), build_unet(True), build_vae(), build_text_encoder()
    ref, meta = {}, {"versions": versions}

    with torch.no_grad():
        text_prompts = ["a photo of a red star", ""]
        ids = tokenizer(text_prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        out = text_encoder(ids, output_hidden_states=True)
        ref["text.last_hidden_state"] = out.last_hidden_state
        # diffusers' clip_skip=1: the penultimate layer's output, through the final layer norm.
        # (transformers 5 flattened CLIPTextModel: no .text_model wrapper; 4.x had one.)
        text_model = getattr(text_encoder, "text_model", text_encoder)
        ref["text.penultimate"] = text_model.final_layer_norm(out.hidden_states[-2])
        meta["text_prompts"] = text_prompts
        meta["text_ids"] = ids.tolist()

        t_unet = 500
        sample, context = randn([2, 4, 16, 16], 1), randn([2, 77, 32], 2)
        ref["unet.sample"], ref["unet.encoder_hidden_states"] = sample, context
        ref["unet.out"] = unet(sample, t_unet, encoder_hidden_states=context).sample
        ref["unet_sd2.out"] = unet_sd2(sample, t_unet, encoder_hidden_states=context).sample
        meta["unet_timestep"] = t_unet

        image = torch.rand([1, 3, 32, 32], generator=torch.Generator().manual_seed(3)) * 2 - 1
        dist = vae.encode(image).latent_dist
        latents = randn([1, 4, 16, 16], 4)
        ref["vae.image"], ref["vae.mean"], ref["vae.logvar"] = image, dist.mean, dist.logvar
        ref["vae.latents"], ref["vae.decoded"] = latents, vae.decode(latents).sample
        meta["vae"] = {"scaling_factor": vae.config.scaling_factor,
                       "note": "vae.decoded = vae.decode(vae.latents): no scaling factor applied"}

    # -- tiny-sd: the whole pipeline folder, float16 on disk -------------------------------------
    tiny = OUT / "tiny-sd"
    shutil.rmtree(tiny, ignore_errors=True)
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=sd_ddim_scheduler(),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.to(torch.float16)
    pipe.save_pretrained(str(tiny), safe_serialization=True)
    # transformers 5 saves only tokenizer.json; SD repos (and the Swift reader) use vocab.json + merges.txt,
    # so the folder gets those instead, as Hugging Face's SD 1.x repos have them.
    tok_dir = tiny / "tokenizer"
    (tok_dir / "tokenizer.json").unlink(missing_ok=True)
    write_vocab_files(tok_dir, encoder, merges)
    write_json(tok_dir / "special_tokens_map.json", {"bos_token": BOS, "eos_token": EOS, "pad_token": EOS, "unk_token": EOS})
    check_f16_folder(tiny)
    say(tiny, "SD-1.x pipeline folder (f16 safetensors: unet, vae, text_encoder; tokenizer; DDIM scheduler)")

    sd2 = OUT / "unet-sd2"
    shutil.rmtree(sd2, ignore_errors=True)
    unet_sd2.to(torch.float16).save_pretrained(str(sd2), safe_serialization=True)
    check_f16_folder(sd2)
    say(sd2, "SD-2.x-style UNet (use_linear_projection, attention_head_dim [2, 4]), f16")

    # -- tokens.json -----------------------------------------------------------------------------
    # The folder's own tokenizer, reloaded, is the one the pipelines below use, so it is the reference.
    folder_tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    cases, disagree = token_cases(folder_tokenizer, oc, bpe_path)
    for c in cases:
        assert c["ids"] == tokenizer(c["prompt"], padding="max_length", max_length=77, truncation=True)["input_ids"]
    write_tokens_json(OUT / "tokens.json", cases)
    say(OUT / "tokens.json", f"{len(cases)} prompts; transformers and open_clip disagree on {len(disagree)}")
    for p in disagree:
        print(f"    disagree: {p!r}")

    # -- Pipelines, each on a freshly loaded folder ----------------------------------------------
    p = {"prompt": "a photo of a red star", "negative_prompt": "blurry", "num_inference_steps": 4,
         "guidance_scale": 7.5, "height": 32, "width": 32, "eta": 0.0, "latents_seed": 5,
         "note": "pipeline.latents is passed as latents=; diffusers multiplies it by the scheduler's "
                 "init_noise_sigma (recorded per scheduler) before the first step"}
    start = randn([1, 4, 16, 16], 5)
    ref["pipeline.latents"] = start
    saved_config = DDIMScheduler.load_config(str(tiny), subfolder="scheduler")
    p["saved_scheduler_config"] = plain_config(saved_config)
    for name in ("ddim", "euler"):
        extra = {} if name == "ddim" else {"scheduler": EulerDiscreteScheduler.from_config(saved_config)}
        outputs = {}
        for output_type in ("latent", "np"):
            # Loaded anew for every run: a pipeline whose scheduler was swapped in memory has misled before.
            loaded = StableDiffusionPipeline.from_pretrained(str(tiny), dtype=torch.float32, **extra)
            loaded.set_progress_bar_config(disable=True)
            if name == "ddim" and output_type == "latent":
                check_loaded_weights(loaded, unet, vae, text_encoder)
            with NoiseRecorder(0) as rec, torch.no_grad():
                result = loaded(
                    p["prompt"], negative_prompt=p["negative_prompt"], num_inference_steps=p["num_inference_steps"],
                    guidance_scale=p["guidance_scale"], height=p["height"], width=p["width"], eta=p["eta"],
                    latents=start.clone(), output_type=output_type,
                )
            assert not rec.draws, f"{name} drew noise; the reference would not be reproducible"
            outputs[output_type] = torch.as_tensor(np.asarray(result.images))
            p[name] = {"class": type(loaded.scheduler).__name__,
                       "scheduler_config": plain_config(loaded.scheduler.config),
                       "timesteps": [float(t) for t in loaded.scheduler.timesteps],
                       "init_noise_sigma": float(loaded.scheduler.init_noise_sigma)}
        ref[f"pipeline.{name}.latents"] = outputs["latent"]
        ref[f"pipeline.{name}.image"] = outputs["np"]
    meta["pipeline"] = p
    meta["seeds"] = {"unet.sample": 1, "unet.encoder_hidden_states": 2, "vae.image (uniform [-1, 1])": 3,
                     "vae.latents": 4, "pipeline.latents": 5,
                     "how": "torch.randn(shape, generator=torch.Generator().manual_seed(seed))"}

    save_tensors(OUT / "reference.safetensors", ref, {"generator": "tools/gen_diffusion_fixtures.py"})
    write_json(OUT / "reference.json", meta)
    say(OUT / "reference.json", "prompts, timestep, seeds, pipeline settings and timesteps")
    for k, v in ref.items():
        print(f"    {k:28s} {str(list(v.shape)):16s} max|x| {v.abs().max().item():9.4f}  std {v.std().item():.4f}")

    # -- schedulers --------------------------------------------------------------------------------
    sched_tensors, sched_info = scheduler_fixtures()
    sched_info["about"] = {
        "model": "eps = 0.5 * tanh(x_in) + 0.001 * t, x_in = scheduler.scale_model_input(x, t), t the float timestep",
        "x0": "randn([1,4,8,8], seed 6) * init_noise_sigma (after set_timesteps)",
        "noise": "stochastic steps replay <case>.noise[i] in draw order (seed 7)",
        "non_finite": "config numbers that are not finite are written as the strings \"inf\", \"-inf\", \"nan\"",
        "add_noise": "scheduler.add_noise(add_noise.original (seed 8), add_noise.noise (seed 9), [timesteps[1]])",
        "versions": versions,
    }
    save_tensors(OUT / "schedulers.safetensors", sched_tensors, {"generator": "tools/gen_diffusion_fixtures.py"})
    write_json(OUT / "schedulers.json", sched_info)
    say(OUT / "schedulers.json", f"{len(SCHEDULER_CASES)} cases: config, class, eta, init sigma, timesteps")

    write_readme(versions, disagree)
    say(OUT / "README.md", "what is here and how to make it again")
    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"total {total / 1024 / 1024:.2f} MiB in {OUT.relative_to(ROOT)}")


def check_loaded_weights(loaded, unet, vae, text_encoder):
    """float16 on disk must give back exactly the weights the references used."""
    for label, a, b in (("unet", loaded.unet, unet), ("vae", loaded.vae, vae), ("text_encoder", loaded.text_encoder, text_encoder)):
        sa, sb = dict(a.named_parameters()), dict(b.named_parameters())
        assert sa.keys() == sb.keys(), f"{label}: parameter names changed through save/load"
        for k, v in sa.items():
            assert v.dtype == torch.float32, f"{label}.{k} loaded as {v.dtype}"
            assert torch.equal(v, sb[k].float()), f"{label}.{k} changed through float16 save/load"


def write_readme(versions, disagree):
    d = "\n".join(f"  - `{json.dumps(p, ensure_ascii=False)}`" for p in disagree) or "  - none"
    text = f"""# Diffusion parity fixtures

Made by `tools/gen_diffusion_fixtures.py` (run `make diffusion-goldens`; it overwrites everything here).
Reference: diffusers {versions['diffusers']}, transformers {versions['transformers']}, torch {versions['torch']} (CPU,
float32, one thread); CLIP vocabulary `bpe_simple_vocab_16e6.txt.gz` from open-clip-torch {versions['open_clip_torch']}.

Weights are random (seed 0 per model), perturbed off diffusers' zero inits, and rounded to float16 before any
reference was computed: the float16 files hold exactly the weights behind the float32 references.

| file | holds |
|---|---|
| `tiny-sd/` | diffusers-layout SD-1.x pipeline: UNet (32/64 channels, 8 heads, 1×1 conv proj), VAE (32/64), CLIP text encoder (32 wide, 5 layers, real 49408-token vocabulary), tokenizer (`vocab.json`, `merges.txt`), DDIM scheduler config. Float16 safetensors. |
| `tiny-sd-single-file.safetensors` | the same tiny-sd UNet, VAE and text encoder weights (float16, bit-identical) in one file under the original CompVis/LDM checkpoint names, as in `v1-5-pruned-emaonly.safetensors`: `model.diffusion_model.*`, `first_stage_model.*` (VAE mid-attention q/k/v/proj_out as 1×1 conv weights), `cond_stage_model.transformer.text_model.*` (no `position_ids`). Written by `tools/gen_single_file_fixture.py` from `tiny-sd/`, after checking that diffusers' own `convert_ldm_*_checkpoint` converters give back the diffusers state dicts exactly. |
| `unet-sd2/` | SD-2.x-style UNet: `use_linear_projection`, `attention_head_dim` [2, 4] (heads per block). Float16. |
| `tokens.json` | per prompt: transformers `CLIPTokenizer` ids (77, padded with EOS), `untruncated_length` (with BOS/EOS), open_clip's ids (77, padded with 0), and `agree` (same ids before padding). |
| `reference.safetensors` / `.json` | text encoder (last and penultimate+final-LN), UNet SD1 and SD2 at t=500, VAE encode (mean, logvar) and decode, and whole pipelines (DDIM and Euler, 4 steps, guidance 7.5, negative prompt) from a fixed start latent; the json has prompts, seeds, settings and timesteps. |
| `schedulers.safetensors` / `.json` | trajectories of DDIM, DDPM, Euler, Euler ancestral and DPM-Solver++(2M) under the toy model `eps = 0.5·tanh(x_in) + 0.001·t`, with the noise stochastic steps drew, the sigmas, and `add_noise` for image-to-image. Non-finite config numbers (DPM-Solver's `lambda_min_clipped`) are written as the strings `"-inf"` etc., to keep the JSON strict. |

Prompts on which transformers 5's `CLIPTokenizer` (no ftfy, no HTML unescaping, `<|endoftext|>` as a special
token) and OpenAI/open_clip's `SimpleTokenizer` give different ids:
{d}
"""
    (OUT / "README.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
