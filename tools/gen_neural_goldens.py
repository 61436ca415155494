#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures (goldens) for the Swift `Neural` module into
Tests/NeuralTests/Goldens/. The reference is PyTorch only; nothing here is computed by hand.

Run from the repository root, in the separate torch virtualenv (kept out of git):

    python3 -m venv .venv-torch
    .venv-torch/bin/pip install 'torch==2.13.0+cpu' numpy safetensors
    .venv-torch/bin/python tools/gen_neural_goldens.py

The script is deterministic: every case draws its inputs from its own seeded torch.Generator
(seed = crc32 of the case name), torch runs single-threaded, and numbers are written with a fixed
format, so running it twice gives byte-identical files. Tests/NeuralTests/Goldens/README.md
describes the file format and the conventions of each op.

Inputs are float32 draws; the reference output and gradients are computed in float64 on exactly
those float32 values, and written rounded to 9 significant digits.
"""
import json
import math
import pathlib
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/NeuralTests/Goldens"

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


# ---------------------------------------------------------------------------------------------
# Number formatting and JSON layout
# ---------------------------------------------------------------------------------------------

def num9(v):
    """9 significant digits, written as the shortest JSON number that parses back to that value."""
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"non-finite value {v}")
    r = float(f"{v:.9g}")
    if r == 0.0:
        r = 0.0  # no "-0.0" in the files
    return repr(r)


def tensor_json(t, ints=False):
    t = t.detach()
    shape = list(t.shape)
    flat = t.reshape(-1).tolist()
    if ints:
        data = ",".join(str(int(v)) for v in flat)
    else:
        data = ",".join(num9(v) for v in flat)
    return '{"shape":' + json.dumps(shape, separators=(",", ":")) + ',"data":[' + data + "]}"


def dict_block(entries, indent="  "):
    """entries: list of (name, already-serialised JSON text)."""
    if not entries:
        return "{}"
    inner = (",\n").join(f'{indent}  {json.dumps(k)}: {v}' for k, v in entries)
    return "{\n" + inner + "\n" + indent + "}"


def write_case(name, op, params, inputs, output, upstream, grads, int_inputs=()):
    parts = [
        ("case", json.dumps(name)),
        ("op", json.dumps(op)),
        ("params", json.dumps(params, separators=(",", ":"))),
        ("inputs", dict_block([(k, tensor_json(v, ints=k in int_inputs)) for k, v in inputs.items()])),
        ("output", tensor_json(output)),
        ("upstream", tensor_json(upstream)),
        ("grads", dict_block([(k, tensor_json(v)) for k, v in grads.items()])),
    ]
    write_text(name + ".json", parts)


def write_text(filename, parts):
    text = "{\n" + ",\n".join(f"  {json.dumps(k)}: {v}" for k, v in parts) + "\n}\n"
    json.loads(text)  # fail loudly on a broken file
    (OUT / filename).write_text(text)


# ---------------------------------------------------------------------------------------------
# Case machinery
# ---------------------------------------------------------------------------------------------

def gen_for(name):
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def randn(g, *shape, scale=1.0, shift=0.0):
    """float32 N(0,1) draw, scaled in float32 so the stored values are exact float32."""
    t = torch.randn(*shape, generator=g, dtype=torch.float32)
    if scale != 1.0:
        t = t * torch.tensor(scale, dtype=torch.float32)
    if shift != 0.0:
        t = t + torch.tensor(shift, dtype=torch.float32)
    return t


def run_case(name, op, params, inputs, fn, int_inputs=(), upstream=None):
    """inputs: name -> float32 (or int64) tensor. fn(params, **float64 tensors) -> output.
    Writes the case and returns it for the self-checks."""
    g = gen_for(name + "/upstream")
    x64 = {}
    for k, v in inputs.items():
        if k in int_inputs:
            x64[k] = v.to(torch.int64)
        else:
            x64[k] = v.to(torch.float64).requires_grad_(True)
    out = fn(params, **x64)
    if upstream is None:
        upstream = torch.randn(*out.shape, generator=g, dtype=torch.float32)
    up64 = upstream.to(torch.float64)
    loss = (out * up64).sum()
    names = [k for k in inputs if k not in int_inputs]
    gs = torch.autograd.grad(loss, [x64[k] for k in names])
    grads = dict(zip(names, gs))
    write_case(name, op, params, inputs, out, upstream, grads, int_inputs)


# ---------------------------------------------------------------------------------------------
# Op semantics (float64, PyTorch functional). Shared with the self-check script by import.
# ---------------------------------------------------------------------------------------------

def op_linear(p, x, weight, bias):
    return F.linear(x, weight, bias)


def op_matmul(p, a, b):
    return torch.matmul(a, b)


def op_add(p, a, b):
    return a + b


def op_mul(p, a, b):
    return a * b


def op_sum(p, x):
    return x.sum(dim=p["dims"], keepdim=p["keepdim"])


def op_mean(p, x):
    return x.mean(dim=p["dims"], keepdim=p["keepdim"])


def op_conv2d(p, x, weight, bias):
    if "pad" in p:
        x = F.pad(x, p["pad"])
    return F.conv2d(x, weight, bias, stride=p["stride"], padding=p["padding"], groups=p["groups"])


def op_group_norm(p, x, weight, bias):
    return F.group_norm(x, p["num_groups"], weight, bias, eps=p["eps"])


def op_layer_norm(p, x, weight, bias):
    return F.layer_norm(x, p["normalized_shape"], weight, bias, eps=p["eps"])


def op_rms_norm(p, x, weight):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + p["eps"]) * weight


def op_softmax(p, x):
    return F.softmax(x, dim=p["dim"])


def op_gelu(p, x):
    return F.gelu(x, approximate=p["approximate"])


def op_quick_gelu(p, x):
    return x * torch.sigmoid(1.702 * x)


def op_silu(p, x):
    return F.silu(x)


def op_sigmoid(p, x):
    return torch.sigmoid(x)


def op_tanh(p, x):
    return torch.tanh(x)


def op_geglu(p, x):
    a, gate = x.chunk(2, dim=-1)
    return a * F.gelu(gate)


def op_swiglu(p, x):
    a, b = x.chunk(2, dim=-1)
    return F.silu(a) * b


def op_embedding(p, ids, weight):
    return F.embedding(ids, weight)


def op_upsample(p, x):
    return F.interpolate(x, scale_factor=p["scale_factor"], mode="nearest")


def op_sdpa(p, q, k, v):
    mask = None
    if "mask" in p:
        mask = torch.tensor(p["mask"], dtype=torch.bool)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=p["causal"],
                                          scale=p["scale"])


def _mha(p, x, context, to_q, to_k, to_v, to_out_weight, to_out_bias):
    b, lq, _ = x.shape
    lk = context.shape[1]
    h, d = p["heads"], p["dim_head"]
    q = F.linear(x, to_q).view(b, lq, h, d).transpose(1, 2)
    k = F.linear(context, to_k).view(b, lk, h, d).transpose(1, 2)
    v = F.linear(context, to_v).view(b, lk, h, d).transpose(1, 2)
    o = F.scaled_dot_product_attention(q, k, v, scale=p["scale"])
    o = o.transpose(1, 2).reshape(b, lq, h * d)
    return F.linear(o, to_out_weight, to_out_bias)


def op_mha_cross(p, x, context, to_q, to_k, to_v, to_out_weight, to_out_bias):
    return _mha(p, x, context, to_q, to_k, to_v, to_out_weight, to_out_bias)


def op_mha_self(p, x, to_q, to_k, to_v, to_out_weight, to_out_bias):
    return _mha(p, x, x, to_q, to_k, to_v, to_out_weight, to_out_bias)


def op_cross_entropy(p, logits, targets):
    return F.cross_entropy(logits, targets, reduction=p["reduction"])


def op_mse(p, a, b):
    return F.mse_loss(a, b, reduction=p["reduction"])


OPS = {
    "linear": op_linear, "matmul": op_matmul, "add": op_add, "mul": op_mul, "sum": op_sum,
    "mean": op_mean, "conv2d": op_conv2d, "group_norm": op_group_norm, "layer_norm": op_layer_norm,
    "rms_norm": op_rms_norm, "softmax": op_softmax, "gelu": op_gelu, "quick_gelu": op_quick_gelu,
    "silu": op_silu, "sigmoid": op_sigmoid, "tanh": op_tanh, "geglu": op_geglu, "swiglu": op_swiglu,
    "embedding": op_embedding, "upsample_nearest2d": op_upsample, "sdpa": op_sdpa,
    "mha_cross": op_mha_cross, "mha_self": op_mha_self, "cross_entropy": op_cross_entropy,
    "mse": op_mse,
}


def case(name, op, params, inputs, int_inputs=(), upstream=None):
    run_case(name, op, params, inputs, OPS[op], int_inputs=int_inputs, upstream=upstream)


# ---------------------------------------------------------------------------------------------
# The op cases
# ---------------------------------------------------------------------------------------------

def op_cases():
    g = gen_for("linear")
    case("linear", "linear", {}, {"x": randn(g, 2, 3, 5), "weight": randn(g, 4, 5, scale=5 ** -0.5),
                                  "bias": randn(g, 4, scale=0.1)})

    g = gen_for("matmul")
    case("matmul", "matmul", {}, {"a": randn(g, 2, 3, 4), "b": randn(g, 2, 4, 5)})
    g = gen_for("matmul_broadcast")
    case("matmul_broadcast", "matmul", {}, {"a": randn(g, 2, 3, 4), "b": randn(g, 4, 5)})

    g = gen_for("add_broadcast")
    case("add_broadcast", "add", {}, {"a": randn(g, 2, 3, 4), "b": randn(g, 3, 1)})
    g = gen_for("mul_broadcast")
    case("mul_broadcast", "mul", {}, {"a": randn(g, 2, 3, 4), "b": randn(g, 4)})

    g = gen_for("sum")
    case("sum", "sum", {"dims": [1], "keepdim": False}, {"x": randn(g, 2, 3, 4)})
    g = gen_for("mean")
    case("mean", "mean", {"dims": [-1], "keepdim": True}, {"x": randn(g, 2, 3, 4)})

    def conv(name, xshape, wshape, params):
        g = gen_for(name)
        fan_in = wshape[1] * wshape[2] * wshape[3]
        case(name, "conv2d", params, {"x": randn(g, *xshape),
                                      "weight": randn(g, *wshape, scale=fan_in ** -0.5),
                                      "bias": randn(g, wshape[0], scale=0.1)})

    conv("conv2d", [2, 4, 6, 6], [6, 4, 3, 3], {"stride": [1, 1], "padding": [1, 1], "groups": 1})
    conv("conv2d_stride2", [2, 4, 6, 6], [6, 4, 3, 3], {"stride": [2, 2], "padding": [1, 1], "groups": 1})
    conv("conv2d_groups", [2, 4, 6, 6], [6, 2, 3, 3], {"stride": [1, 1], "padding": [1, 1], "groups": 2})
    conv("conv2d_1x1", [2, 4, 6, 6], [5, 4, 1, 1], {"stride": [1, 1], "padding": [0, 0], "groups": 1})
    conv("conv2d_vae_pad", [1, 3, 6, 6], [3, 3, 3, 3],
         {"stride": [2, 2], "padding": [0, 0], "groups": 1, "pad": [0, 1, 0, 1]})

    for name, eps in [("group_norm", 1e-6), ("group_norm_eps5", 1e-5)]:
        g = gen_for(name)
        # a non-zero mean and a larger spread, so that the centring matters
        case(name, "group_norm", {"num_groups": 4, "eps": eps},
             {"x": randn(g, 2, 8, 3, 3, scale=2.0, shift=0.5), "weight": randn(g, 8, scale=0.1, shift=1.0),
              "bias": randn(g, 8, scale=0.1)})

    g = gen_for("layer_norm")
    case("layer_norm", "layer_norm", {"normalized_shape": [8], "eps": 1e-5},
         {"x": randn(g, 2, 3, 8, scale=2.0, shift=0.5), "weight": randn(g, 8, scale=0.1, shift=1.0),
          "bias": randn(g, 8, scale=0.1)})

    g = gen_for("rms_norm")
    case("rms_norm", "rms_norm", {"eps": 1e-6},
         {"x": randn(g, 2, 3, 8), "weight": randn(g, 8, scale=0.1, shift=1.0)})

    g = gen_for("softmax")
    case("softmax", "softmax", {"dim": -1}, {"x": randn(g, 2, 3, 7, scale=2.0)})

    unary = [("gelu", "gelu", {"approximate": "none"}), ("gelu_tanh", "gelu", {"approximate": "tanh"}),
             ("quick_gelu", "quick_gelu", {}), ("silu", "silu", {}), ("sigmoid", "sigmoid", {}),
             ("tanh", "tanh", {}), ("geglu", "geglu", {}), ("swiglu", "swiglu", {})]
    for name, op, params in unary:
        g = gen_for(name)
        case(name, op, params, {"x": randn(g, 2, 3, 8, scale=1.5)})

    g = gen_for("embedding")
    ids = torch.randint(0, 10, (2, 3), generator=g)
    ids[1, 2] = ids[0, 0]  # a repeated id, so the weight gradient must accumulate
    case("embedding", "embedding", {}, {"ids": ids, "weight": randn(g, 10, 6)}, int_inputs=("ids",))

    g = gen_for("upsample_nearest2d")
    case("upsample_nearest2d", "upsample_nearest2d", {"scale_factor": 2, "mode": "nearest"},
         {"x": randn(g, 2, 3, 4, 4)})

    scale = 1 / math.sqrt(4)
    g = gen_for("sdpa")
    case("sdpa", "sdpa", {"causal": False, "scale": scale},
         {"q": randn(g, 2, 2, 5, 4), "k": randn(g, 2, 2, 7, 4), "v": randn(g, 2, 2, 7, 4)})
    g = gen_for("sdpa_causal")
    case("sdpa_causal", "sdpa", {"causal": True, "scale": scale},
         {"q": randn(g, 2, 2, 6, 4), "k": randn(g, 2, 2, 6, 4), "v": randn(g, 2, 2, 6, 4)})
    g = gen_for("sdpa_mask")
    mask = (torch.rand(5, 7, generator=g) < 0.6).to(torch.int64)
    mask[:, 0] = 1  # every query row may attend somewhere
    mask[0, :] = 1  # and one row attends everywhere
    case("sdpa_mask", "sdpa", {"causal": False, "scale": scale, "mask": mask.tolist()},
         {"q": randn(g, 2, 2, 5, 4), "k": randn(g, 2, 2, 7, 4), "v": randn(g, 2, 2, 7, 4)})

    mha_params = {"heads": 2, "dim_head": 4, "scale": scale}
    g = gen_for("mha_cross")
    case("mha_cross", "mha_cross", mha_params,
         {"x": randn(g, 2, 5, 8), "context": randn(g, 2, 7, 6),
          "to_q": randn(g, 8, 8, scale=8 ** -0.5), "to_k": randn(g, 8, 6, scale=6 ** -0.5),
          "to_v": randn(g, 8, 6, scale=6 ** -0.5), "to_out_weight": randn(g, 8, 8, scale=8 ** -0.5),
          "to_out_bias": randn(g, 8, scale=0.1)})
    g = gen_for("mha_self")
    case("mha_self", "mha_self", mha_params,
         {"x": randn(g, 2, 5, 8),
          "to_q": randn(g, 8, 8, scale=8 ** -0.5), "to_k": randn(g, 8, 8, scale=8 ** -0.5),
          "to_v": randn(g, 8, 8, scale=8 ** -0.5), "to_out_weight": randn(g, 8, 8, scale=8 ** -0.5),
          "to_out_bias": randn(g, 8, scale=0.1)})

    # Losses are scalars (shape []); their upstream is 1.0, so a plain backward() matches.
    one = torch.tensor(1.0, dtype=torch.float32)
    g = gen_for("cross_entropy")
    case("cross_entropy", "cross_entropy", {"reduction": "mean"},
         {"logits": randn(g, 4, 7, scale=2.0), "targets": torch.randint(0, 7, (4,), generator=g)},
         int_inputs=("targets",), upstream=one)
    g = gen_for("mse")
    case("mse", "mse", {"reduction": "mean"}, {"a": randn(g, 2, 3, 4), "b": randn(g, 2, 3, 4)}, upstream=one)


# ---------------------------------------------------------------------------------------------
# Optimizers, gradient clipping, numpy's RNG, safetensors
# ---------------------------------------------------------------------------------------------

def optimizer_case(name, make_opt, params):
    g = gen_for(name)
    p0 = randn(g, 6)
    grads = randn(g, 3, 6)
    p = p0.to(torch.float64).clone().requires_grad_(True)
    opt = make_opt([p])
    steps = []
    for i in range(grads.shape[0]):
        opt.zero_grad()
        p.grad = grads[i].to(torch.float64).clone()
        opt.step()
        steps.append(p.detach().clone())
    parts = [
        ("case", json.dumps(name)),
        ("op", json.dumps(name)),
        ("params", json.dumps(params, separators=(",", ":"))),
        ("inputs", dict_block([("param", tensor_json(p0)), ("grads", tensor_json(grads))])),
        ("output", tensor_json(torch.stack(steps))),
    ]
    write_text(name + ".json", parts)


def optimizer_cases():
    adamw = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2}
    optimizer_case("adamw", lambda ps: torch.optim.AdamW(ps, lr=adamw["lr"], betas=tuple(adamw["betas"]),
                                                         eps=adamw["eps"], weight_decay=adamw["weight_decay"],
                                                         amsgrad=False, foreach=False), adamw)
    sgd = {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}
    optimizer_case("sgd_momentum", lambda ps: torch.optim.SGD(ps, lr=sgd["lr"], momentum=sgd["momentum"],
                                                              dampening=sgd["dampening"],
                                                              weight_decay=sgd["weight_decay"],
                                                              nesterov=sgd["nesterov"], foreach=False), sgd)


def ema_case():
    """diffusers' EMAModel (the one train_text_to_image.py uses) over a parameter that moves each step."""
    from diffusers.training_utils import EMAModel

    name = "ema"
    g = gen_for(name)
    values = randn(g, 12, 6)
    params = {"decay": 0.5}  # small, so 12 steps reach the cap past the warm-up
    p = torch.nn.Parameter(values[0].to(torch.float64).clone())
    ema = EMAModel([p], decay=params["decay"], foreach=False)
    shadows = []
    for i in range(values.shape[0]):
        with torch.no_grad():
            p.copy_(values[i].to(torch.float64))
        ema.step([p])
        shadows.append(ema.shadow_params[0].detach().clone())
    parts = [
        ("case", json.dumps(name)),
        ("op", json.dumps(name)),
        ("params", json.dumps(params, separators=(",", ":"))),
        ("inputs", dict_block([("values", tensor_json(values))])),
        ("output", tensor_json(torch.stack(shadows))),
    ]
    write_text(name + ".json", parts)


def clip_case():
    name = "clip_grad_norm"
    g = gen_for(name)
    g0, g1 = randn(g, 3), randn(g, 2, 2)
    params = {"max_norm": 1.0, "norm_type": 2.0}
    ps = [torch.zeros(3, dtype=torch.float64, requires_grad=True),
          torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)]
    ps[0].grad = g0.to(torch.float64).clone()
    ps[1].grad = g1.to(torch.float64).clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm=params["max_norm"], norm_type=params["norm_type"],
                                           foreach=False)
    parts = [
        ("case", json.dumps(name)),
        ("op", json.dumps(name)),
        ("params", json.dumps(params, separators=(",", ":"))),
        ("inputs", dict_block([("g0", tensor_json(g0)), ("g1", tensor_json(g1))])),
        ("outputs", dict_block([("total_norm", tensor_json(total)), ("g0", tensor_json(ps[0].grad)),
                                ("g1", tensor_json(ps[1].grad))])),
    ]
    write_text(name + ".json", parts)


def numpy_case():
    entries = []
    for seed in [0, 42, 1234]:
        e = {"seed": seed, "normal": np.random.RandomState(seed).standard_normal(12).tolist()}
        if seed == 42:
            e["random_sample"] = np.random.RandomState(42).random_sample(6).tolist()
        entries.append(e)
    # json.dumps writes floats with repr: full double precision, round-trip exact.
    lines = ",\n".join("    " + json.dumps(e) for e in entries)
    parts = [
        ("case", json.dumps("numpy_normal")),
        ("note", json.dumps("np.random.RandomState(seed).standard_normal(12) (legacy MT19937, polar "
                            "Box-Muller with the cached second value); random_sample from a fresh "
                            "RandomState(seed): doubles from two 32-bit draws (a>>5, b>>6)")),
        ("entries", "[\n" + lines + "\n  ]"),
    ]
    write_text("numpy_normal.json", parts)


def safetensors_case():
    from safetensors.torch import save_file
    tensors = {
        "f32": torch.tensor([[1.0, -2.5, 0.1], [3.25, -0.0078125, 1e-3]], dtype=torch.float32),
        "f16": torch.tensor([0.1, -1.5, 65504.0, 6e-5], dtype=torch.float16),   # 6e-5 is subnormal in f16
        "bf16": torch.tensor([[0.1, -3.0], [1e30, 7.5]], dtype=torch.bfloat16),
        "i64": torch.tensor([-3, 0, 2 ** 40 + 1], dtype=torch.int64),
    }
    save_file(tensors, str(OUT / "sample.safetensors"), metadata={"format": "pt"})
    (OUT / "sample.safetensors").chmod(0o644)
    names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64"}
    entries = []
    for k, t in tensors.items():
        if t.dtype == torch.int64:
            values = t.reshape(-1).tolist()
        else:
            values = t.to(torch.float64).reshape(-1).tolist()  # exact decoded values, repr precision
        entries.append((k, json.dumps({"dtype": names[t.dtype], "shape": list(t.shape), "values": values})))
    parts = [
        ("case", json.dumps("sample_safetensors")),
        ("file", json.dumps("sample.safetensors")),
        ("metadata", json.dumps({"format": "pt"})),
        ("tensors", dict_block(entries)),
    ]
    write_text("sample_safetensors.json", parts)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    op_cases()
    optimizer_cases()
    clip_case()
    ema_case()
    numpy_case()
    safetensors_case()
    files = sorted(OUT.iterdir())
    total = sum(f.stat().st_size for f in files)
    print(f"wrote {len(files)} files, {total} bytes, to {OUT.relative_to(ROOT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
