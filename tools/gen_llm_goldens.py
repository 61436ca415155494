#!/usr/bin/env python3
"""Parity goldens for Atelier's GGUF llama engine: SmolLM2-135M-Instruct Q4_1 vs llama.cpp.

How the numbers were obtained: tools/llama_server.py (xllamacpp's in-process llama-server,
--threads 1, --ctx 4096, --parallel 1, the GGUF's own chat template) on 127.0.0.1, then
  * tokenize:   POST /tokenize {"content", "add_special": false, "parse_special": true|false,
                "with_pieces": true}; the model sets tokenizer.ggml.add_bos_token=false, so
                add_special adds nothing anyway (checked below). Pieces: str, or a byte list
                when the piece is not valid UTF-8 on its own.
  * detokenize: POST /detokenize {"tokens": [...]} (specials rendered; lone partial UTF-8 -> U+FFFD).
  * greedy:     prompt ids from /tokenize as above (ChatML built by hand, checked against
                /apply-template); POST /completion {"prompt": <ids>, "n_predict": 48,
                "temperature": 0, "top_k": 1, "samplers": ["top_k"], "n_probs": 5,
                "cache_prompt": false, "return_tokens": true, "ignore_eos": true|false}.
                ignore_eos=true puts logit_bias -inf on llama.cpp's EOG set (recorded as
                `eog_ids`) so 48 tokens always come; the run without it gives the natural stop.
                Log-probs are llama.cpp's pre-sampling softmax of the raw logits (n_probs).
  * flash_attn_off: the same greedy runs on a second server started with --flash-attn off, and how
                many leading tokens agree with the goldens (llama.cpp's default takes its flash-attention
                kernels on this CPU): the reference's own numerical spread.
  * metadata / tensors: read straight from the GGUF file by the tiny reader below.

The reference's numerics: the xllamacpp wheel's ggml is an AVX2 build (its shared object holds no
AVX-512 instruction), so on any CPU its products, softmax and SwiGLU take ggml's 8-lane AVX2 paths
(including the AVX2 ggml_v_expf polynomial in SwiGLU), not the AVX-512 ones.

Run from the repository root: .venv/bin/python tools/gen_llm_goldens.py
Writes Tests/PlannerTests/Goldens/smollm2-135m-q4_1.json (deterministic: a rerun is byte-identical).
"""
import hashlib
import json
import os
import pathlib
import struct
import subprocess
import sys
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODEL = pathlib.Path(os.path.expanduser(
    "~/.cache/atelier/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"))
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
OUT = ROOT / "Tests/PlannerTests/Goldens/smollm2-135m-q4_1.json"
N_PREDICT = 48
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

TOKENIZE_CASES = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    " leading space",
    "trailing space ",
    "multiple   spaces  between   words",
    "   ",
    "line one\nline two\n\nline four\n\n\n",
    "\ttab\tseparated\t\t",
    "windows\r\nnewline",
    "12345 3.14159",
    "1234567890 2024-06-01 000",
    "Hello, world! What?! (yes...) [ok] {x}; #1 @user $5 50% a&b ~/ -- \u2014",
    "don't I'll we've they're she's it'd",
    "DON'T I'LL WE'VE",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\U0001F44D\U0001F3FD \U0001F389",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \ud55c\uad6d\uc5b4 stra\u00dfe",
    "def reverse(s):\n    return s[::-1]\n",
    '{"name": "Alice", "age": 30, "tags": ["a", "b"]}',
    "lib/network/client.go",
    "<|im_start|>user\nhi<|im_end|>",
    "x<|endoftext|>y <reponame> <|im_end|>\n",
    "",
    "HelloWorldFooBAR",
]
# The same text with special-token parsing off: the markers become plain text.
TOKENIZE_NO_SPECIAL = ["<|im_start|>user\nhi<|im_end|>"]

GREEDY_USERS = [
    "What is the capital of France?",
    "Write a Python function that reverses a string.",
    "List three colors.",
    'Extract the name and age from this sentence as JSON with keys "name" and "age": '
    "Maria is 34 years old and lives in Lisbon.",
    "Answer with one word: what color is the sky on a clear day?",
    # 64 prompt tokens or more: llama.cpp's tiled flash-attention kernel computes the prompt.
    "Explain in two sentences what this Python function does:\n\n"
    "def merge(intervals):\n"
    "    intervals.sort(key=lambda pair: pair[0])\n"
    "    merged = []\n"
    "    for start, end in intervals:\n"
    "        if merged and start <= merged[-1][1]:\n"
    "            merged[-1][1] = max(merged[-1][1], end)\n"
    "        else:\n"
    "            merged.append([start, end])\n"
    "    return merged\n",
    # More than one 512-token micro-batch: the prompt is cut in two, the second part one-chunk.
    "Summarise these release notes in one sentence.\n\n" + "".join(
        f"- Version 1.{i}: fixed {thing}, improved {area} by {i + 3}%, and updated the documentation of the {area} module.\n"
        for i, (thing, area) in enumerate([(t, a) for t in ("a crash on start-up", "a memory leak", "slow searches",
                                                              "broken links", "a race in the scheduler", "wrong totals")
                                            for a in ("import", "export", "search", "billing")])),
]

GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0",
              9: "Q8_1", 10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K",
              15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S",
              20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16",
              26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16"}


# ---------------------------------------------------------------- tiny GGUF reader (v2/v3)
def read_gguf(path):
    with open(path, "rb") as f:
        buf = f.read(32 << 20)  # header + metadata + tensor infos fit well within 32 MiB
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {t}")

    assert buf[:4] == b"GGUF", "not a GGUF file"
    pos = 4
    version = take("I")
    n_tensors, n_kv = take("Q"), take("Q")
    kv, kv_types = {}, {}
    for _ in range(n_kv):
        k = string()
        t = take("I")
        kv_types[k] = t
        kv[k] = value(t)
    tensors = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        ne = [take("Q") for _ in range(nd)]
        ty = take("I")
        off = take("Q")
        tensors.append({"name": name, "type": GGML_TYPES.get(ty, str(ty)), "ne": ne, "offset": off})
    align = kv.get("general.alignment", 32)
    data_start = (pos + align - 1) // align * align
    return version, kv, kv_types, tensors, data_start, align


def f32(x):
    """A float32 metadata value printed as the shortest decimal that round-trips through float32."""
    for digits in range(1, 10):
        s = f"{x:.{digits}g}"
        if struct.unpack("<f", struct.pack("<f", float(s)))[0] == struct.unpack("<f", struct.pack("<f", x))[0]:
            return float(s)
    return x


# ---------------------------------------------------------------- server
class Server:
    def __init__(self, flash_attn="auto"):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tools/llama_server.py"), "--model", str(MODEL),
             "--threads", "1", "--ctx", "4096", "--parallel", "1", "--chat-template", "model", "--quiet",
             "--flash-attn", flash_attn],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"server did not start: {line!r}")
        self.base = f"http://127.0.0.1:{int(line.split()[1])}"

    def post(self, path, body):
        req = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=300) as r:
            return json.loads(r.read().decode("utf-8"))

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def tokenize(srv, text, parse_special=True):
    r = srv.post("/tokenize", {"content": text, "add_special": False, "parse_special": parse_special,
                               "with_pieces": True})["tokens"]
    ids = [t["id"] for t in r]
    # Same ids without pieces, and add_special=true must add nothing (add_bos_token=false).
    plain = srv.post("/tokenize", {"content": text, "add_special": False, "parse_special": parse_special})["tokens"]
    special = srv.post("/tokenize", {"content": text, "add_special": True, "parse_special": parse_special})["tokens"]
    assert plain == ids, (text, plain, ids)
    assert special == ids, ("add_special changed the ids", text, special, ids)
    return ids, [t["piece"] for t in r]


def detokenize(srv, ids):
    return srv.post("/detokenize", {"tokens": ids})["content"]


def chatml(user):
    return (f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def complete(srv, prompt, ignore_eos):
    return srv.post("/completion", {
        "prompt": prompt, "n_predict": N_PREDICT, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
        "repeat_penalty": 1.0, "dry_multiplier": 0, "n_probs": 5, "post_sampling_probs": False,
        "cache_prompt": False, "return_tokens": True, "ignore_eos": ignore_eos, "seed": 0, "stream": False})


def dump(v, ind=""):
    """JSON with one key per line but lists of scalars (ids, shapes, top-2 rows) on one line."""
    flat = lambda x: not isinstance(x, (dict, list)) or (isinstance(x, list) and all(
        not isinstance(y, (dict, list)) for y in x))
    if isinstance(v, dict) and v:
        inner = ind + " "
        return "{\n" + ",\n".join(f"{inner}{json.dumps(k, ensure_ascii=False)}: {dump(x, inner)}"
                                   for k, x in v.items()) + "\n" + ind + "}"
    if isinstance(v, list) and v and not flat(v):
        inner = ind + " "
        return "[\n" + ",\n".join(inner + dump(x, inner) for x in v) + "\n" + ind + "]"
    return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))


def r6(x):
    return round(x, 6)


def main():
    h = hashlib.sha256()
    with open(MODEL, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    assert h.hexdigest() == MODEL_SHA256, f"unexpected model sha256 {h.hexdigest()}"

    version, kv, kv_types, tensors, data_start, align = read_gguf(MODEL)
    arch = kv["general.architecture"]
    tokens = kv["tokenizer.ggml.tokens"]
    ttypes = kv["tokenizer.ggml.token_type"]
    a = lambda k: kv.get(f"{arch}.{k}")
    type_counts = {}
    for t in tensors:
        type_counts[t["type"]] = type_counts.get(t["type"], 0) + 1
    tensor_names = {t["name"] for t in tensors}
    metadata = {
        "gguf_version": version,
        "alignment": align,
        "tensor_data_offset": data_start,
        "general.name": kv.get("general.name"),
        "general.file_type": kv.get("general.file_type"),
        "general.quantization_version": kv.get("general.quantization_version"),
        "architecture": arch,
        "context_length": a("context_length"),
        "embedding_length": a("embedding_length"),
        "block_count": a("block_count"),
        "feed_forward_length": a("feed_forward_length"),
        "attention.head_count": a("attention.head_count"),
        "attention.head_count_kv": a("attention.head_count_kv"),
        "attention.layer_norm_rms_epsilon": f32(a("attention.layer_norm_rms_epsilon")),
        "rope.freq_base": f32(a("rope.freq_base")),
        "rope.dimension_count": a("rope.dimension_count"),
        "rope.scaling": {k: v for k, v in kv.items() if k.startswith(f"{arch}.rope.scaling")} or None,
        "vocab_size_metadata": a("vocab_size"),
        "vocab_size": len(tokens),
        "tied_embeddings": "output.weight" not in tensor_names,
        "tokenizer.ggml.model": kv.get("tokenizer.ggml.model"),
        "tokenizer.ggml.pre": kv.get("tokenizer.ggml.pre"),
        "tokenizer.ggml.add_bos_token": kv.get("tokenizer.ggml.add_bos_token"),
        "tokenizer.ggml.add_eos_token": kv.get("tokenizer.ggml.add_eos_token"),
        "tokenizer.ggml.add_space_prefix": kv.get("tokenizer.ggml.add_space_prefix"),
        "tokenizer.ggml.bos_token_id": kv.get("tokenizer.ggml.bos_token_id"),
        "tokenizer.ggml.eos_token_id": kv.get("tokenizer.ggml.eos_token_id"),
        "tokenizer.ggml.unknown_token_id": kv.get("tokenizer.ggml.unknown_token_id"),
        "tokenizer.ggml.padding_token_id": kv.get("tokenizer.ggml.padding_token_id"),
        "tokenizer.ggml.merges_count": len(kv.get("tokenizer.ggml.merges", [])),
        "token_type_counts": {str(k): ttypes.count(k) for k in sorted(set(ttypes))},
        "control_tokens": {str(i): tokens[i] for i, t in enumerate(ttypes) if t == 3},
        "chat_template": kv.get("tokenizer.chat_template"),
        "all_keys": {k: kv_types[k] for k in kv},  # GGUF value type per key (9 = array)
    }
    tensor_list = [{"name": t["name"], "type": t["type"], "ne": t["ne"], "offset": t["offset"]} for t in tensors]

    srv = Server()
    try:
        tok = []
        for text in TOKENIZE_CASES:
            ids, pieces = tokenize(srv, text)
            tok.append({"text": text, "parse_special": True, "ids": ids, "pieces": pieces})
        for text in TOKENIZE_NO_SPECIAL:
            ids, pieces = tokenize(srv, text, parse_special=False)
            tok.append({"text": text, "parse_special": False, "ids": ids, "pieces": pieces})

        greedy, eog_ids = [], None
        for user in GREEDY_USERS:
            prompt = chatml(user)
            tmpl = srv.post("/apply-template", {"messages": [{"role": "system", "content": SYSTEM},
                                                             {"role": "user", "content": user}]})["prompt"]
            assert tmpl == prompt, (tmpl, prompt)
            pids, _ = tokenize(srv, prompt)
            forced = complete(srv, pids, ignore_eos=True)
            natural = complete(srv, pids, ignore_eos=False)
            by_text = complete(srv, prompt, ignore_eos=True)
            assert forced["tokens_evaluated"] == len(pids)
            assert by_text["tokens"] == forced["tokens"], "string prompt and id prompt disagree"
            assert len(forced["tokens"]) == N_PREDICT, forced["stop_type"]
            bias = [b["token"] for b in forced["generation_settings"]["logit_bias"]]
            assert eog_ids in (None, bias)
            eog_ids = bias
            nat = natural["tokens"]
            assert forced["tokens"][:len(nat) - (natural["stop_type"] == "eos")] == \
                nat[:len(nat) - (natural["stop_type"] == "eos")]
            probs = forced["completion_probabilities"]
            first = probs[0]
            greedy.append({
                "user": user,
                "prompt": prompt,
                "prompt_ids": pids,
                "generated_ids": forced["tokens"],
                "generated_text": forced["content"],
                "natural": {  # the same request without ignore_eos
                    "stop_type": natural["stop_type"],
                    "ids": nat,  # ends with the EOG id when stop_type is "eos"
                    "text": natural["content"],
                },
                "first_token_top5": [
                    {"id": p["id"], "piece": p["token"], "logprob": r6(p["logprob"]),
                     "prob": r6(2.718281828459045 ** p["logprob"])}
                    for p in first["top_logprobs"]],
                # every step: [chosen id, its logprob, runner-up id, its logprob] (raw, pre-bias)
                "steps_top2": [[p["top_logprobs"][0]["id"], r6(p["top_logprobs"][0]["logprob"]),
                                p["top_logprobs"][1]["id"], r6(p["top_logprobs"][1]["logprob"])]
                               for p in probs],
            })

        detok_cases = [
            tok[0]["ids"],
            tok[12]["ids"],
            next(t["ids"] for t in tok if t["text"].startswith("\U0001F44D")),
            [15107],  # a lone partial-UTF-8 token (" " + F0 9F)
            [1, 4093, 198, 6004, 2, 198],
            [0, 1, 2, 4, 17],
            [],
            greedy[0]["generated_ids"],
        ]
        detok = [{"ids": ids, "text": detokenize(srv, ids)} for ids in detok_cases]
    finally:
        srv.close()

    # llama.cpp against itself: the same greedy runs with its flash-attention kernels off (the goldens
    # above take them, llama.cpp's default here). The two differ only in how attention rounds; how
    # far they agree is the numerical spread of the reference itself.
    srv = Server(flash_attn="off")
    try:
        for case in greedy:
            ids = complete(srv, case["prompt_ids"], ignore_eos=True)["tokens"]
            same = next((i for i, (x, y) in enumerate(zip(ids, case["generated_ids"])) if x != y), len(ids))
            case["flash_attn_off"] = {"generated_ids": ids, "agreement": same}
    finally:
        srv.close()

    golden = {
        "model": {"file": MODEL.name, "sha256": MODEL_SHA256, "bytes": MODEL.stat().st_size},
        "reference": "llama.cpp server via xllamacpp (see tools/gen_llm_goldens.py docstring)",
        "bos_added": bool(kv.get("tokenizer.ggml.add_bos_token", True)),  # checked via add_special
        "eog_ids": eog_ids,
        "tokenize": tok,
        "detokenize": detok,
        "greedy": {
            "sampling": {"n_predict": N_PREDICT, "temperature": 0, "top_k": 1, "samplers": ["top_k"],
                         "ignore_eos": True, "repeat_penalty": 1.0, "threads": 1},
            "steps_top2_note": "per step [raw top-1 id, logprob, raw top-2 id, logprob] before ignore_eos's "
                               "logit bias; where top-1 differs from generated_ids[i] it is an EOG id that "
                               "ignore_eos masked",
            "cases": greedy,
        },
        "metadata": metadata,
        "tensor_type_counts": type_counts,
        "tensors": tensor_list,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = dump(golden) + "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text.encode())} bytes)")


if __name__ == "__main__":
    main()
