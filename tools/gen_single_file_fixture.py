#!/usr/bin/env python3
"""Writes Tests/DiffusionTests/Fixtures/tiny-sd-single-file.safetensors: the tiny-sd pipeline's weights
(UNet, VAE, CLIP text encoder) as one float16 file under the original CompVis / LDM checkpoint key names,
the layout of `v1-5-pruned-emaonly.safetensors`.

    make diffusion-goldens            # runs tools/gen_diffusion_fixtures.py, then this script
    .venv-torch/bin/python tools/gen_single_file_fixture.py

It reads the float16 safetensors that tools/gen_diffusion_fixtures.py wrote into Fixtures/tiny-sd/ (so
run that first) and writes nothing else. The tensors are copied bit for bit; only the names change, plus
the VAE mid-block attention's q/k/v/proj_out weights, which SD 1.x checkpoints hold as 1x1 conv weights
[C, C, 1, 1] where diffusers has linear [C, C].

The diffusers -> LDM renaming below is this script's own, so it is checked against the reference before
anything is written: diffusers' own single-file converters (convert_ldm_unet_checkpoint,
convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint from diffusers.loaders.single_file_utils) must turn
the LDM-keyed dict back into exactly the diffusers state dicts (same keys, bit-equal tensors). After
writing, StableDiffusionPipeline.from_single_file must load the file into the same parameters as the
diffusers folder. Any mismatch raises.

Key layout (tiny model: block_out_channels (32, 64), layers_per_block L = 2 for the UNet, 1 for the VAE):
  UNet  input_blocks.0.0 = conv_in; down level l, layer j -> input_blocks.{1 + l*(L+1) + j}
        (.0 resnet, .1 transformer); down level l's downsampler -> input_blocks.{(l+1)*(L+1)}.0.op
        middle_block.0 / .1 / .2 = mid resnet 0 / transformer / resnet 1
        up level l (diffusers up_blocks order), layer j in 0...L -> output_blocks.{l*(L+1) + j}
        (.0 resnet, .1 transformer); up level l's upsampler -> output_blocks.{l*(L+1) + L}.{1 or 2}.conv
        (.1 when the level has no attention, .2 when it has)
  VAE   encoder.down.{l}.block.{j}, encoder.down.{l}.downsample.conv; encoder/decoder mid.block_1,
        mid.attn_1, mid.block_2; decoder.up.{n-1-i} = diffusers decoder.up_blocks.{i} (reversed),
        decoder.up.{n-1-i}.upsample.conv
  CLIP  cond_stage_model.transformer.text_model.<transformers name> (no position_ids: transformers 5 keeps
        it as a non-persistent buffer, so it is not in the diffusers state dict the converter must return)
"""
import json
import os
import pathlib
import re
import sys

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch
from safetensors.torch import load_file, save_file

import diffusers
import transformers
from diffusers import StableDiffusionPipeline
from diffusers.loaders.single_file_utils import (
    convert_ldm_clip_checkpoint,
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/DiffusionTests/Fixtures"
TINY = OUT / "tiny-sd"
TARGET = OUT / "tiny-sd-single-file.safetensors"

UNET_PREFIX = "model.diffusion_model."
VAE_PREFIX = "first_stage_model."
CLIP_PREFIX = "cond_stage_model.transformer."

torch.set_num_threads(1)
diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()


class MappingError(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise MappingError(msg)


# ---------------------------------------------------------------------------------------------
# diffusers -> LDM
# ---------------------------------------------------------------------------------------------

def rename_unet_resnet(rest):
    """rest: the part after `...resnets.{j}.`, e.g. `norm1.weight`."""
    for d, l in (("norm1.", "in_layers.0."), ("conv1.", "in_layers.2."), ("norm2.", "out_layers.0."),
                 ("conv2.", "out_layers.3."), ("time_emb_proj.", "emb_layers.1."),
                 ("conv_shortcut.", "skip_connection.")):
        if rest.startswith(d):
            return l + rest[len(d):]
    raise MappingError(f"unknown UNet resnet parameter {rest!r}")


def unet_to_ldm(sd, config):
    L = config["layers_per_block"]
    fixed = {
        "time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
        "conv_in.": "input_blocks.0.0.", "conv_norm_out.": "out.0.", "conv_out.": "out.2.",
    }
    up_has_attention = {int(m.group(1)) for k in sd if (m := re.match(r"up_blocks\.(\d+)\.attentions\.", k))}
    out = {}
    for key, t in sd.items():
        new = None
        for d, l in fixed.items():
            if key.startswith(d):
                new = l + key[len(d):]
        if m := re.fullmatch(r"down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            l, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + l * (L + 1) + j}.0.{rename_unet_resnet(rest)}"
        elif m := re.fullmatch(r"down_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
            l, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"input_blocks.{1 + l * (L + 1) + j}.1.{rest}"
        elif m := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
            l, rest = int(m[1]), m[2]
            new = f"input_blocks.{(l + 1) * (L + 1)}.0.op.{rest}"
        elif m := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(.+)", key):
            new = f"middle_block.{2 * int(m[1])}.{rename_unet_resnet(m[2])}"
        elif m := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", key):
            new = f"middle_block.1.{m[1]}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            l, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{l * (L + 1) + j}.0.{rename_unet_resnet(rest)}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
            l, j, rest = int(m[1]), int(m[2]), m[3]
            new = f"output_blocks.{l * (L + 1) + j}.1.{rest}"
        elif m := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
            l, rest = int(m[1]), m[2]
            slot = 2 if l in up_has_attention else 1
            new = f"output_blocks.{l * (L + 1) + L}.{slot}.conv.{rest}"
        check(new is not None, f"no LDM name for UNet parameter {key!r}")
        check(UNET_PREFIX + new not in out, f"two UNet parameters map to {new!r}")
        out[UNET_PREFIX + new] = t
    return out


VAE_ATTN = {"group_norm.": "norm.", "to_q.": "q.", "to_k.": "k.", "to_v.": "v.", "to_out.0.": "proj_out."}


def vae_to_ldm(sd, config):
    n_up = len(config["up_block_types"])
    fixed = {"encoder.conv_norm_out.": "encoder.norm_out.", "decoder.conv_norm_out.": "decoder.norm_out."}
    out = {}
    for key, t in sd.items():
        new = None
        if re.fullmatch(r"(encoder|decoder)\.conv_(in|out)\.(weight|bias)", key) or re.fullmatch(
            r"(post_)?quant_conv\.(weight|bias)", key
        ):
            new = key
        for d, l in fixed.items():
            if key.startswith(d):
                new = l + key[len(d):]
        if m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            new = f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut.', 'nin_shortcut.')}"
        elif m := re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)", key):
            new = f"encoder.down.{m[1]}.downsample.conv.{m[2]}"
        elif m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", key):
            new = f"decoder.up.{n_up - 1 - int(m[1])}.block.{m[2]}.{m[3].replace('conv_shortcut.', 'nin_shortcut.')}"
        elif m := re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)", key):
            new = f"decoder.up.{n_up - 1 - int(m[1])}.upsample.conv.{m[2]}"
        elif m := re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", key):
            new = f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut.', 'nin_shortcut.')}"
        elif m := re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(.+)", key):
            rest = m[2]
            for d, l in VAE_ATTN.items():
                if rest.startswith(d):
                    rest = l + rest[len(d):]
                    break
            else:
                raise MappingError(f"unknown VAE attention parameter {key!r}")
            new = f"{m[1]}.mid.attn_1.{rest}"
            if rest.endswith("weight") and not rest.startswith("norm."):
                # SD 1.x checkpoints hold these as 1x1 convolutions.
                check(t.ndim == 2, f"{key}: expected a linear weight, got {list(t.shape)}")
                t = t[:, :, None, None]
        check(new is not None, f"no LDM name for VAE parameter {key!r}")
        check(VAE_PREFIX + new not in out, f"two VAE parameters map to {new!r}")
        out[VAE_PREFIX + new] = t
    return out


def clip_to_ldm(sd):
    # transformers 5 saves CLIPTextModel flattened (`embeddings...`); SD 1.x checkpoints hold the 4.x names
    # (`text_model.embeddings...`) under `cond_stage_model.transformer.`.
    out = {}
    for key, t in sd.items():
        check(not key.startswith("text_model."), f"unexpected text encoder key {key!r}")
        out[f"{CLIP_PREFIX}text_model.{key}"] = t
    return out


# ---------------------------------------------------------------------------------------------
# Validation against diffusers' converters
# ---------------------------------------------------------------------------------------------

def assert_same(label, got, want):
    missing, extra = sorted(want.keys() - got.keys()), sorted(got.keys() - want.keys())
    check(not missing and not extra, f"{label}: keys differ; missing {missing[:8]}, extra {extra[:8]}")
    for k, w in want.items():
        g = got[k]
        check(g.dtype == w.dtype, f"{label}.{k}: dtype {g.dtype} != {w.dtype}")
        check(g.shape == w.shape, f"{label}.{k}: shape {list(g.shape)} != {list(w.shape)}")
        check(torch.equal(g.view(torch.int16), w.view(torch.int16)), f"{label}.{k}: values differ")
    print(f"  {label}: {len(want)} tensors, same keys, bit-equal")


def validate(ldm, unet_sd, vae_sd, clip_sd, unet_config, vae_config):
    unet_back = convert_ldm_unet_checkpoint(dict(ldm), unet_config)
    assert_same("convert_ldm_unet_checkpoint", unet_back, unet_sd)
    vae_back = convert_ldm_vae_checkpoint(dict(ldm), vae_config)
    assert_same("convert_ldm_vae_checkpoint", vae_back, vae_sd)
    # create_diffusers_clip_model_from_ldm strips the `text_model.` the converter leaves on each key when
    # the transformers model is flattened (CLIPTextModel in transformers >= 5.6); the same here.
    clip_back = {k.removeprefix("text_model."): v for k, v in convert_ldm_clip_checkpoint(dict(ldm)).items()}
    assert_same("convert_ldm_clip_checkpoint", clip_back, clip_sd)
    check(len(unet_back) + len(vae_back) + len(clip_back) == len(ldm), "the converters did not use every key")


def check_ldm_layout(ldm):
    """What diffusers' converters accept either way, so the round trip cannot check it: the LDM UNet appends
    Upsample after the level's modules (openaimodel.py: layers = [ResBlock, SpatialTransformer?, Upsample]),
    so it sits at `.1.conv` without attention and `.2.conv` with it (the converter looks at both), and the VAE
    attention weights are 1x1 convolutions (the converter squeezes 4-d weights and passes 2-d ones through)."""
    for key in ldm:
        if m := re.fullmatch(re.escape(UNET_PREFIX) + r"output_blocks\.(\d+)\.(\d+)\.conv\.(weight|bias)", key):
            has_attention = any(k.startswith(f"{UNET_PREFIX}output_blocks.{m[1]}.1.norm.") for k in ldm)
            check(int(m[2]) == (2 if has_attention else 1), f"{key}: upsampler in the wrong slot")
        if m := re.fullmatch(r".*\.mid\.attn_1\.(q|k|v|proj_out)\.weight", key):
            check(ldm[key].ndim == 4 and ldm[key].shape[2:] == (1, 1), f"{key}: {list(ldm[key].shape)}, not 1x1 conv")
    n_attn = sum(1 for k in ldm if re.fullmatch(r".*\.mid\.attn_1\.(q|k|v|proj_out)\.weight", k))
    check(n_attn == 8, f"expected 8 VAE mid-attention conv weights, found {n_attn}")


def validate_loaded(path):
    """The whole public path: from_single_file with the tiny-sd folder as config, against the folder."""
    a = StableDiffusionPipeline.from_single_file(
        str(path), config=str(TINY), local_files_only=True, dtype=torch.float16,
        safety_checker=None, requires_safety_checker=False,
    )
    b = StableDiffusionPipeline.from_pretrained(str(TINY), dtype=torch.float16)
    for name in ("unet", "vae", "text_encoder"):
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        assert_same(f"from_single_file {name}", sa, sb)


# ---------------------------------------------------------------------------------------------

def load_config(sub):
    return json.loads((TINY / sub / "config.json").read_text())


def main():
    for sub in ("unet", "vae", "text_encoder"):
        check((TINY / sub).is_dir(), f"{TINY / sub} is missing; run tools/gen_diffusion_fixtures.py first")
    unet_sd = load_file(str(TINY / "unet/diffusion_pytorch_model.safetensors"))
    vae_sd = load_file(str(TINY / "vae/diffusion_pytorch_model.safetensors"))
    clip_sd = load_file(str(TINY / "text_encoder/model.safetensors"))
    for label, sd in (("unet", unet_sd), ("vae", vae_sd), ("text_encoder", clip_sd)):
        dtypes = {t.dtype for t in sd.values()}
        check(dtypes == {torch.float16}, f"tiny-sd/{label} holds {dtypes}, expected float16 only")
    unet_config, vae_config = load_config("unet"), load_config("vae")

    ldm = {**unet_to_ldm(unet_sd, unet_config), **vae_to_ldm(vae_sd, vae_config), **clip_to_ldm(clip_sd)}
    check(len(ldm) == len(unet_sd) + len(vae_sd) + len(clip_sd), "key collision between models")
    print(f"diffusers {diffusers.__version__}: converting the LDM-keyed dict back with its single-file converters")
    validate(ldm, unet_sd, vae_sd, clip_sd, unet_config, vae_config)
    check_ldm_layout(ldm)

    save_file({k: v.contiguous() for k, v in ldm.items()}, str(TARGET),
              metadata={"format": "pt"})  # one entry: safetensors writes a map of several in random order
    with open(TARGET, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
    check(dtypes == {"F16"} and len(header) - 1 == len(ldm), f"{TARGET.name}: {len(header) - 1} tensors, dtypes {dtypes}")
    print(f"loading {TARGET.name} with StableDiffusionPipeline.from_single_file")
    validate_loaded(TARGET)
    print(f"{str(TARGET.relative_to(ROOT)):60s} {TARGET.stat().st_size / 1024:9.1f} KiB  "
          f"{len(ldm)} f16 tensors (unet {len(unet_sd)}, vae {len(vae_sd)}, text encoder {len(clip_sd)}), LDM keys")


if __name__ == "__main__":
    try:
        main()
    except MappingError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
