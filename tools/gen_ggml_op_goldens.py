#!/usr/bin/env python3
"""Goldens for the local LLM's arithmetic, from the reference build of ggml itself.

Usage (from the repository root, with the project virtualenv that has xllamacpp):

    .venv/bin/python tools/gen_ggml_op_goldens.py

It loads the ggml inside the xllamacpp wheel (the llama.cpp build the LLM parity goldens come from)
through ctypes, runs single operations on small deterministic inputs and writes their outputs,
as little-endian float32 bytes in base64, to Tests/PlannerTests/Goldens/ggml-ops.json:

  flash_attn_one_chunk   ggml_flash_attn_ext, 5 queries over 40 cached keys (f16 K and V, causal
                         mask), head size 64, two query heads sharing one KV head: fewer than 64
                         queries, so ggml's one-chunk kernel runs.
  flash_attn_tiled       the same with 64 queries over 74 keys (two key tiles): the tiled kernel.
  swiglu                 ggml_swiglu_split on 1539 values, some beyond |x| = 87 (the vector exp's
                         scaled range) and a tail of 3 past the last group of 8 (libm's expf).

The inputs are not stored: both sides draw them from the same xorshift32 stream (see `Stream`),
so the test rebuilds them exactly. K and V are rounded to f16 (round to nearest even) on both sides.
"""

from __future__ import annotations

import base64
import ctypes
import glob
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "PlannerTests" / "Goldens" / "ggml-ops.json"
F32, F16 = 0, 1
GGML_PREC_F32 = 10  # llama.cpp asks for it on flash attention


class Stream:
    """xorshift32; each value is (x >> 8) / 2^24 scaled to [lo, hi): exact in float32."""

    def __init__(self, seed: int) -> None:
        self.x = seed & 0xFFFFFFFF

    def next(self) -> int:
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x

    def floats(self, n: int, lo: float, hi: float) -> np.ndarray:
        unit = np.array([(self.next() >> 8) for _ in range(n)], dtype=np.float32) * np.float32(2.0 ** -24)
        return (unit * np.float32(hi - lo) + np.float32(lo)).astype(np.float32)


class IP(ctypes.Structure):
    _fields_ = [("mem_size", ctypes.c_size_t), ("mem_buffer", ctypes.c_void_p), ("no_alloc", ctypes.c_bool)]


def load_ggml() -> ctypes.CDLL:
    so = glob.glob(str(ROOT / ".venv/lib/python*/site-packages/xllamacpp/xllamacpp.abi3.so"))
    if not so:
        raise SystemExit("xllamacpp is not installed in .venv (run make bootstrap)")
    lib = ctypes.CDLL(so[0])
    P = ctypes.c_void_p
    lib.ggml_init.restype = P
    lib.ggml_init.argtypes = [IP]
    lib.ggml_new_tensor_4d.restype = P
    lib.ggml_new_tensor_4d.argtypes = [P, ctypes.c_int] + [ctypes.c_int64] * 4
    lib.ggml_flash_attn_ext.restype = P
    lib.ggml_flash_attn_ext.argtypes = [P, P, P, P, P, ctypes.c_float, ctypes.c_float, ctypes.c_float]
    lib.ggml_flash_attn_ext_set_prec.argtypes = [P, ctypes.c_int]
    lib.ggml_swiglu_split.restype = P
    lib.ggml_swiglu_split.argtypes = [P, P, P]
    lib.ggml_new_graph.restype = P
    lib.ggml_new_graph.argtypes = [P]
    lib.ggml_build_forward_expand.argtypes = [P, P]
    lib.ggml_graph_compute_with_ctx.restype = ctypes.c_int
    lib.ggml_graph_compute_with_ctx.argtypes = [P, P, ctypes.c_int]
    lib.ggml_get_data.restype = P
    lib.ggml_get_data.argtypes = [P]
    lib.ggml_free.argtypes = [P]
    return lib


def tensor(lib: ctypes.CDLL, ctx: int, typ: int, arr: np.ndarray) -> int:
    """A ggml tensor holding `arr` (numpy shape is ggml's ne reversed)."""
    ne = list(arr.shape)[::-1] + [1] * (4 - arr.ndim)
    t = lib.ggml_new_tensor_4d(ctx, typ, *ne)
    data = np.ascontiguousarray(arr.astype(np.float32 if typ == F32 else np.float16))
    ctypes.memmove(lib.ggml_get_data(t), data.ctypes.data, data.nbytes)
    return t


def run(lib: ctypes.CDLL, ctx: int, t: int, shape: tuple[int, ...]) -> np.ndarray:
    graph = lib.ggml_new_graph(ctx)
    lib.ggml_build_forward_expand(graph, t)
    assert lib.ggml_graph_compute_with_ctx(ctx, graph, 1) == 0
    n = int(np.prod(shape)) * 4
    return np.frombuffer(bytes((ctypes.c_char * n).from_address(lib.ggml_get_data(t))), dtype=np.float32).reshape(shape).copy()


def attention_case(lib: ctypes.CDLL, seed: int, queries: int, keys: int) -> dict:
    heads, kv_heads, dim = 2, 1, 64
    s = Stream(seed)
    q = s.floats(heads * queries * dim, -2, 2).reshape(heads, queries, dim)
    k = s.floats(kv_heads * keys * dim, -2, 2).reshape(kv_heads, keys, dim).astype(np.float16).astype(np.float32)
    v = s.floats(kv_heads * keys * dim, -1, 1).reshape(kv_heads, keys, dim).astype(np.float16).astype(np.float32)
    first = keys - queries  # query i sees keys 0 ... first + i
    mask = np.full((queries, keys), -np.inf, np.float32)
    for i in range(queries):
        mask[i, : first + i + 1] = 0
    scale = float(np.float32(1) / np.sqrt(np.float32(dim)))
    ctx = lib.ggml_init(IP(64 << 20, None, False))
    out = lib.ggml_flash_attn_ext(ctx, tensor(lib, ctx, F32, q), tensor(lib, ctx, F16, k), tensor(lib, ctx, F16, v),
                                  tensor(lib, ctx, F16, mask), scale, 0.0, 0.0)
    lib.ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32)
    result = run(lib, ctx, out, (queries, heads, dim))
    lib.ggml_free(ctx)
    return {"seed": seed, "heads": heads, "kv_heads": kv_heads, "head_dim": dim, "queries": queries, "keys": keys,
            "scale": scale, "inputs": "q [heads][queries][dim] in [-2,2), k [keys][dim] in [-2,2), v in [-1,1)",
            "output_layout": "[queries][heads][dim]", "output_f32_base64": base64.b64encode(result.tobytes()).decode()}


def swiglu_case(lib: ctypes.CDLL, seed: int, n: int) -> dict:
    s = Stream(seed)
    x = s.floats(n, -100, 100)
    g = s.floats(n, -1, 1)
    ctx = lib.ggml_init(IP(16 << 20, None, False))
    out = lib.ggml_swiglu_split(ctx, tensor(lib, ctx, F32, x), tensor(lib, ctx, F32, g))
    result = run(lib, ctx, out, (n,))
    lib.ggml_free(ctx)
    return {"seed": seed, "count": n, "inputs": "x in [-100,100), then g in [-1,1)",
            "output_f32_base64": base64.b64encode(result.tobytes()).decode()}


def main() -> None:
    lib = load_ggml()
    golden = {
        "reference": "ggml inside the xllamacpp wheel (AVX2 build), one thread; tools/gen_ggml_op_goldens.py",
        "flash_attn_one_chunk": attention_case(lib, 0x1234567, queries=5, keys=40),
        "flash_attn_tiled": attention_case(lib, 0x2345678, queries=64, keys=74),
        "swiglu": swiglu_case(lib, 0x3456789, 1539),
    }
    OUT.write_text(json.dumps(golden, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
