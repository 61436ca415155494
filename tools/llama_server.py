"""A real OpenAI-compatible llama.cpp server on loopback, for integration tests.

Runs llama.cpp's own HTTP server (the `llama-server` code, in process, via the
`xllamacpp` wheel that tools/bootstrap.sh installs into .venv) on 127.0.0.1.

Usage:
    .venv/bin/python tools/llama_server.py \
        --model ~/.cache/atelier/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \
        [--port 0] [--threads 2] [--ctx 4096] [--parallel 1] [--alias NAME]
        [--chat-template chatml-tools|model|FILE.jinja] [--quiet] [--ignore-stdin]

Protocol with the parent (e.g. a Swift test):
  * stdout carries exactly one line, `READY <port>`, once the model is loaded and
    GET /health answers 200; nothing else is ever written to stdout (llama.cpp's own
    stdout is redirected to stderr). On failure the process exits non-zero without it.
  * All logs go to stderr, a few lines per request: inherit stderr or drain it,
    since an undrained pipe fills up and stalls the server. `--quiet` keeps only errors.
  * The server runs until stdin reaches EOF (the parent closes its end or dies), or
    SIGTERM/SIGINT; then it shuts down cleanly and exits 0. With `--ignore-stdin` only
    the signals stop it (for a parent whose stdin is /dev/null).

Endpoints (base http://127.0.0.1:<port>): GET /health, GET /v1/models,
POST /v1/chat/completions (stream, stream_options.include_usage, tools + tool_choice,
response_format json_schema), POST /v1/completions, /tokenize, /apply-template.
Jinja chat templates are on (llama-server --jinja); temperature etc. are per request
(send "temperature": 0 for repeatable output).

Tool calls: SmolLM2's own chat template has no tools, so llama.cpp silently drops
`tools` with it (`--chat-template model`). The default, `chatml-tools`, is the same
ChatML prompt (byte-identical without tools, same default system line) plus the
Hermes/Qwen2.5 tool convention: tools listed in the system turn, calls written as
<tool_call>{"name": ..., "arguments": {...}}</tool_call>, results sent back as
<tool_response> in a user turn. llama.cpp then parses calls into OpenAI `tool_calls`
(streamed as argument fragments) and constrains arguments to the tool's schema once
`<tool_call>` is written. It cannot make the model start a call: even with
tool_choice "required" the grammar allows prose first, and SmolLM2-135M rarely
starts one by itself. A final assistant message with content "<tool_call>\n"
(assistant prefill) makes it answer with a call. Named tool_choice objects are
ignored (only "auto" / "none" / "required").
"""

import argparse
import os
import signal
import sys
import threading
import time
import urllib.request


# ChatML (SmolLM2's own format and default system line) with Hermes/Qwen2.5-style tool use.
CHATML_TOOLS = r"""{%- set default_system = 'You are a helpful AI assistant named SmolLM, trained by Hugging Face' %}
{%- if tools %}
{{- '<|im_start|>system\n' }}
{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- default_system }}{%- endif %}
{{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
{%- for tool in tools %}{{- "\n" }}{{- tool | tojson }}{%- endfor %}
{{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}{%- else %}{{- '<|im_start|>system\n' + default_system + '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- for message in messages %}
{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
{{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
{%- elif message.role == "assistant" %}
{{- '<|im_start|>' + message.role }}
{%- if message.content %}{{- '\n' + message.content }}{%- endif %}
{%- for tool_call in message.tool_calls %}
{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}
{{- '\n<tool_call>\n{"name": "' }}{{- tool_call.name }}{{- '", "arguments": ' }}{{- tool_call.arguments | tojson }}{{- '}\n</tool_call>' }}
{%- endfor %}
{{- '<|im_end|>\n' }}
{%- elif message.role == "tool" %}
{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- '<|im_start|>user' }}{%- endif %}
{{- '\n<tool_response>\n' }}{{- message.content }}{{- '\n</tool_response>' }}
{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- '<|im_end|>\n' }}{%- endif %}
{%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}
"""


def log(msg):
    print(f"llama_server: {msg}", file=sys.stderr, flush=True)


def wait_healthy(base, deadline_s):
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception as e:  # 503 while loading, refused before listen
            last = e
        time.sleep(0.1)
    raise RuntimeError(f"server at {base} not healthy after {deadline_s}s: {last}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="path to a .gguf file")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free one")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads for generation and prompt processing")
    ap.add_argument("--ctx", type=int, default=4096, help="context size in tokens (shared by all slots)")
    ap.add_argument("--parallel", type=int, default=1, help="concurrent request slots")
    ap.add_argument("--alias", default=None, help="model id reported by /v1/models (default: the file name)")
    ap.add_argument("--chat-template", default="chatml-tools",
                    help="'chatml-tools' (built in, default), 'model' (the GGUF's own) or a .jinja file")
    ap.add_argument("--flash-attn", choices=["auto", "on", "off"], default="auto",
                    help="llama.cpp's flash-attention kernels (auto: llama.cpp decides; on this CPU it takes them)")
    ap.add_argument("--quiet", action="store_true", help="log errors only")
    ap.add_argument("--ignore-stdin", action="store_true", help="do not stop at stdin EOF")
    args = ap.parse_args()

    if not os.path.isfile(args.model):
        log(f"no such model file: {args.model}")
        return 2

    # Keep the real stdout for the READY line only; everything llama.cpp prints goes to stderr.
    ready_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    # llama.cpp's CPU backend runs --threads through OpenMP, which reads OMP_THREAD_LIMIT once, when it
    # loads: an inherited limit (the Makefile sets 1 for Tesseract) would hold it to one thread.
    os.environ.pop("OMP_THREAD_LIMIT", None)
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = args.model
    p.hostnames = ["127.0.0.1"]
    p.port = args.port
    p.n_ctx = args.ctx
    p.n_parallel = args.parallel
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.flash_attn_type = xlc.llama_flash_attn_type({"auto": -1, "off": 0, "on": 1}[args.flash_attn])
    p.use_jinja = True  # llama-server --jinja: template-driven tool calls and parsing
    p.ui = False
    if args.chat_template == "chatml-tools":
        p.chat_template = CHATML_TOOLS
    elif args.chat_template != "model":
        with open(args.chat_template, encoding="utf-8") as f:
            p.chat_template = f.read()
    if args.alias:
        p.model_alias = {args.alias}
    if args.quiet:
        p.verbosity = 0

    stop = threading.Event()

    def on_signal(signum, _frame):
        log(f"signal {signum}, shutting down")
        stop.set()

    log(f"xllamacpp {xlc.__version__}: loading {args.model} (threads={args.threads}, ctx={args.ctx}, template={args.chat_template})")
    t0 = time.monotonic()
    try:
        server = xlc.Server(p)  # blocks until the model is loaded and HTTP listens
    except Exception as e:
        log(f"failed to start: {e}")
        return 1
    # llama.cpp installs its own SIGINT/SIGTERM handlers while starting (they would stop
    # its loop behind our back); take them back so shutdown always goes through us.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    base = server.listening_address.rstrip("/")
    port = int(base.rsplit(":", 1)[1])
    try:
        wait_healthy(base, 60)
    except Exception as e:
        log(str(e))
        del server
        return 1
    log(f"listening on {base} ({time.monotonic() - t0:.1f}s)")
    ready_out.write(f"READY {port}\n")
    ready_out.flush()

    if not args.ignore_stdin:
        def watch_stdin():
            try:
                while os.read(0, 65536):
                    pass
            except OSError:
                pass
            log("stdin closed, shutting down")
            stop.set()
        threading.Thread(target=watch_stdin, daemon=True).start()

    while not stop.wait(0.5):
        pass

    # A stuck shutdown must not outlive the parent's patience.
    threading.Timer(15, lambda: (log("shutdown timed out"), os._exit(1))).start()
    del server  # ~Server: terminates the main loop, stops HTTP, joins
    log("stopped")
    os._exit(0)  # skip interpreter teardown of the extension's threads


if __name__ == "__main__":
    sys.exit(main())
