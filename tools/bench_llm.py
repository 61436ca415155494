#!/usr/bin/env python3
"""make bench-llm: Atelier's GGUF engine next to llama.cpp (the xllamacpp wheel) on the same GGUF.

Measured, at 1 thread and at every core, best of 3 runs each, the two engines alternating:
  * prompt processing: tokens/s over a ~512-token prompt (one batch, no cache reuse);
  * generation: tokens/s over 128 greedy tokens (end-of-turn ignored so both produce all 128);
  * constrained decoding: Atelier's time in the constraint per generated token, both as it runs
    (the first draw checked alone, a full mask only when it is refused) and with a full mask at every
    token, as a share of the per-token time; llama.cpp's tokens/s with the same schema as a GBNF
    grammar (response json_schema) next to its unconstrained rate.
Both engines time themselves in-process (llama.cpp's server `timings`, Atelier's `llm --json`), so
HTTP and process start-up are outside both figures.

Usage: .venv/bin/python tools/bench_llm.py .build/release/atelier [--model GGUF] [--runs 3]
Prints the table and writes it to BENCHMARKS.md (section "Local LLM").
"""
import argparse
import json
import os
import pathlib
import random
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from benchmarks_md import cpu_model, update_section  # noqa: E402

MODEL = os.path.expanduser("~/.cache/atelier/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
SCHEMA = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 40},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "city": {"type": "string"},
    "hobbies": {"type": "array", "items": {"type": "string"}, "maxItems": 4}},
    "required": ["name", "age", "city", "hobbies"], "additionalProperties": False}
SCHEMA_PROMPT = "Describe a fictional person as JSON with a name, age, city and hobbies."


def long_prompt():
    rnd = random.Random(1)
    words = ("the a model server tool request answer planner token vector index search document page table "
             "image sample train step loss weight layer attention cache memory thread kernel block quant value").split()
    return " ".join(rnd.choice(words) for _ in range(480))


class LlamaCpp:
    def __init__(self, model, threads):
        self.p = subprocess.Popen([str(ROOT / ".venv/bin/python"), str(ROOT / "tools/llama_server.py"), "--model", model,
                                   "--threads", str(threads), "--ctx", "2048", "--quiet", "--chat-template", "model"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("READY"):
            raise SystemExit("llama.cpp server did not start")
        self.port = int(line.split()[1])

    def post(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=600).read())

    def prompt_rate(self, text):
        r = self.post("/completion", {"prompt": text, "n_predict": 1, "cache_prompt": False, "temperature": 0})
        return r["timings"]["prompt_n"], r["timings"]["prompt_per_second"]

    def gen_rate(self, prompt_text, n, schema=None):
        body = {"prompt": prompt_text, "n_predict": n, "cache_prompt": False, "temperature": 0, "ignore_eos": schema is None}
        if schema is not None:
            body["json_schema"] = schema
        r = self.post("/completion", body)
        return r["timings"]["predicted_n"], r["timings"]["predicted_per_second"]

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def atelier(binary, model, threads, prompt, *extra):
    out = subprocess.run([binary, "llm", prompt, "--model", model, "--threads", str(threads), "--json", *extra],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def chatml(user):
    return ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    text = long_prompt()
    gen_prompt = "Write a poem about the sea"
    rows, constrained = [], []
    for threads in sorted({1, cores}):
        srv = LlamaCpp(a.model, threads)
        try:
            best = {"pp_ours": 0, "pp_ref": 0, "tg_ours": 0, "tg_ref": 0}
            n_pp = 0
            for _ in range(a.runs):
                n_pp, r = srv.prompt_rate(text)
                best["pp_ref"] = max(best["pp_ref"], r)
                o = atelier(a.binary, a.model, threads, text, "--raw", "--max-tokens", "1", "--temperature", "0")
                best["pp_ours"] = max(best["pp_ours"], o["prompt_tokens_per_second"])
                _, r = srv.gen_rate(chatml(gen_prompt), 128)
                best["tg_ref"] = max(best["tg_ref"], r)
                o = atelier(a.binary, a.model, threads, gen_prompt, "--max-tokens", "128", "--temperature", "0", "--ignore-eos")
                best["tg_ours"] = max(best["tg_ours"], o["tokens_per_second"])
            rows.append((threads, n_pp, best))
            print(f"threads {threads}: {best}", file=sys.stderr)
            # Constrained decoding, greedy, same schema on both.
            lazy = full = None
            ref_c = 0
            for _ in range(a.runs):
                o = atelier(a.binary, a.model, threads, SCHEMA_PROMPT, "--schema", json.dumps(SCHEMA), "--max-tokens", "96", "--temperature", "0")
                if lazy is None or o["tokens_per_second"] > lazy["tokens_per_second"]:
                    lazy = o
                f = atelier(a.binary, a.model, threads, SCHEMA_PROMPT, "--schema", json.dumps(SCHEMA), "--max-tokens", "96",
                            "--temperature", "0", "--mask-every-token")
                if full is None or f["tokens_per_second"] > full["tokens_per_second"]:
                    full = f
                _, r = srv.gen_rate(chatml(SCHEMA_PROMPT), 96, schema=SCHEMA)
                ref_c = max(ref_c, r)
            constrained.append((threads, lazy, full, ref_c, best))
        finally:
            srv.close()

    lines = ["## Local LLM", "",
             f"`make bench-llm` ({time.strftime('%Y-%m-%d')}): Atelier's GGUF engine (`atelier llm`) next to llama.cpp "
             "(xllamacpp's in-process llama-server) on the same file, "
             f"`{pathlib.Path(a.model).name}`, same thread count, best of {a.runs} runs, both timed in-process, on {cpu_model()}. "
             "Prompt: ~512 tokens of text in one batch; generation: 128 greedy tokens.", "",
             "| threads | prompt tok/s Atelier | llama.cpp | ratio | generation tok/s Atelier | llama.cpp | ratio |",
             "|---|---|---|---|---|---|---|"]
    for threads, n_pp, b in rows:
        lines.append(f"| {threads} | {b['pp_ours']:.0f} | {b['pp_ref']:.0f} | **{b['pp_ours'] / b['pp_ref']:.2f}×** | "
                     f"{b['tg_ours']:.0f} | {b['tg_ref']:.0f} | **{b['tg_ours'] / b['tg_ref']:.2f}×** |")
    lines += ["", f"Prompt length: {rows[0][1]} tokens (llama.cpp's count; Atelier's tokenizer gives the same ids)."]
    # A peer that gains nothing from a second thread was most likely held to one (an inherited
    # OMP_THREAD_LIMIT did that once): that row's ratio would say nothing about the engines.
    by_threads = {t: b for t, _, b in rows}
    if len(by_threads) > 1 and 1 in by_threads:
        one, most = by_threads[1], by_threads[max(by_threads)]
        for key, what in (("pp_ref", "prompt processing"), ("tg_ref", "generation")):
            if most[key] < 1.05 * one[key]:
                lines.append(f"- llama.cpp's {what} did not scale in this run: {one[key]:.0f} tok/s on 1 thread, "
                             f"{most[key]:.0f} on {max(by_threads)}; the 1-thread row is the like-for-like comparison.")
    lines += ["",
              "Constrained decoding (the same JSON Schema on both: an object of 4 required properties, a bounded integer, "
              "a string array; greedy, up to 96 tokens). Atelier checks the first draw alone and computes a full mask only "
              "when it is refused (llama.cpp's own strategy); the full-mask row computes the whole vocabulary's mask "
              "(49,152 tokens) at every token.", "",
              "| threads | Atelier tok/s | constraint ms/token | share of token time | full masks | full mask every token: ms/token | share | llama.cpp tok/s with grammar | unconstrained |",
              "|---|---|---|---|---|---|---|---|---|"]
    for threads, lazy, full, ref_c, b in constrained:
        t_lazy = 1000 / lazy["tokens_per_second"]
        t_full = 1000 / full["tokens_per_second"]
        lines.append(f"| {threads} | {lazy['tokens_per_second']:.0f} | {lazy['constraint_ms_per_token']:.3f} | "
                     f"{100 * lazy['constraint_ms_per_token'] / t_lazy:.1f}% | {lazy['full_masks']} of {lazy['tokens']} | "
                     f"{full['constraint_ms_per_token']:.2f} | {100 * full['constraint_ms_per_token'] / t_full:.0f}% | "
                     f"{ref_c:.0f} | {b['tg_ref']:.0f} |")
    lines.append("")
    lines.append(f"Atelier's constrained output: `{lazy['text']}`")
    table = "\n".join(lines)
    print(table)
    update_section(ROOT / "BENCHMARKS.md", "## Local LLM", table)


if __name__ == "__main__":
    main()
