#!/usr/bin/env python3
"""Reconstruct every transcript the way a correct chat-completions client must,
and check the result against manifest.json.

    python3 check_transcripts.py          # assert manifest.json matches the transcripts
    python3 check_transcripts.py --write  # (re)write manifest.json from the transcripts

Standard library only. The SSE reader follows the WHATWG "event stream" parsing rules
(lines end in CRLF, LF or CR; a blank line dispatches; a line starting with ':' is a comment;
one optional space after 'data:' is dropped; several data lines join with '\n').
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "manifest.json")

# name, status, headers, body file, provider
SCENARIOS = [
    ("openai_text_stream", 200,
     {"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_atelier_text_0001"},
     "openai_text_stream.sse", "openai"),
    ("openai_parallel_tool_calls_stream", 200,
     {"content-type": "text/event-stream; charset=utf-8", "x-request-id": "req_atelier_tools_0002"},
     "openai_parallel_tool_calls_stream.sse", "openai"),
    ("xai_tool_calls_stream", 200, {"content-type": "text/event-stream"},
     "xai_tool_calls_stream.sse", "xai"),
    ("xai_text_stream", 200, {"content-type": "text/event-stream"},
     "xai_text_stream.sse", "xai"),
    ("openai_nonstream_tool_calls", 200,
     {"content-type": "application/json", "x-request-id": "req_atelier_nonstream_0003"},
     "openai_nonstream_tool_calls.json", "openai"),
    ("error_400", 400,
     {"content-type": "application/json", "x-request-id": "req_atelier_err400_0004"},
     "error_400.json", "openai"),
    ("error_429", 429,
     {"content-type": "application/json", "retry-after": "1",
      "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "1s", "x-request-id": "req_atelier_err429_0005"},
     "error_429.json", "openai"),
    ("xai_error_400", 400, {"content-type": "application/json"},
     "xai_error_400.json", "xai"),
]


def sse_events(text):
    """Yield the data payload of each dispatched SSE event."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    data = []
    comments = 0
    for line in lines:
        if line == "":
            if data:
                yield "\n".join(data)
            data = []
            continue
        if line.startswith(":"):
            comments += 1
            continue
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        # 'event', 'id', 'retry' and unknown fields are ignored by a chat client
    assert not data, "stream ended with an undispatched event (missing blank line)"


def check_wire_format(name, raw):
    assert raw.endswith("data: [DONE]\n\n"), f"{name}: must end with 'data: [DONE]\\n\\n'"
    assert "\r" not in raw, f"{name}: unexpected CR"
    for block in raw.split("\n\n")[:-1]:
        block_lines = block.split("\n")
        data_lines = [l for l in block_lines if l.startswith("data:")]
        assert len(data_lines) <= 1, f"{name}: an event spans several data: lines (not OpenAI-style)"
        for l in block_lines:
            assert l.startswith("data: ") or l.startswith(":"), f"{name}: unexpected line {l!r}"


def usage_of(u):
    details = u.get("completion_tokens_details") or {}
    return {
        "promptTokens": u["prompt_tokens"],
        "completionTokens": u["completion_tokens"],
        "totalTokens": u["total_tokens"],  # as reported; xAI counts reasoning tokens here too
        "reasoningTokens": details.get("reasoning_tokens", 0),
    }


def reconstruct_stream(name, raw, provider):
    check_wire_format(name, raw)
    content, reasoning, finish, usage = [], [], None, None
    calls = {}  # index -> {"id", "name", "arguments"}
    order = []
    done = False
    chunk_ids = set()
    for payload in sse_events(raw):
        assert not done, f"{name}: event after [DONE]"
        if payload == "[DONE]":
            done = True
            continue
        chunk = json.loads(payload)
        assert chunk["object"] == "chat.completion.chunk", name
        chunk_ids.add(chunk["id"])
        if chunk.get("usage") is not None:
            usage = usage_of(chunk["usage"])  # last non-null usage wins
        for choice in chunk["choices"]:
            assert choice["index"] == 0, f"{name}: only n=1 is used"
            delta = choice.get("delta") or {}
            if delta.get("content") is not None:
                content.append(delta["content"])
            if delta.get("reasoning_content") is not None:
                reasoning.append(delta["reasoning_content"])
            for tc in delta.get("tool_calls") or []:
                idx = tc["index"]  # both OpenAI and xAI send index
                if idx not in calls:
                    calls[idx] = {"id": None, "name": None, "arguments": ""}
                    order.append(idx)
                slot = calls[idx]
                if tc.get("id") is not None:
                    assert slot["id"] in (None, tc["id"]), f"{name}: id changed for index {idx}"
                    slot["id"] = tc["id"]
                fn = tc.get("function") or {}
                if fn.get("name") is not None:  # sent whole, on the first delta of a call
                    assert slot["name"] in (None, fn["name"]), f"{name}: name changed for index {idx}"
                    slot["name"] = fn["name"]
                if fn.get("arguments") is not None:
                    slot["arguments"] += fn["arguments"]
            if choice.get("finish_reason") is not None:
                finish = choice["finish_reason"]
    assert done, f"{name}: no [DONE]"
    assert len(chunk_ids) == 1, f"{name}: every chunk must share one id"
    tool_calls = []
    for idx in sorted(order):
        c = calls[idx]
        assert c["id"] and c["name"], f"{name}: incomplete tool call at index {idx}"
        json.loads(c["arguments"])  # the concatenated arguments must be valid JSON
        tool_calls.append({"id": c["id"], "name": c["name"], "arguments": c["arguments"]})
    if provider == "xai":
        # xAI: "the function call is returned in whole in a single chunk" -> every tool_calls
        # entry already carries id, name and complete JSON arguments.
        for payload in sse_events(raw):
            if payload == "[DONE]":
                continue
            for choice in json.loads(payload)["choices"]:
                for tc in (choice.get("delta") or {}).get("tool_calls") or []:
                    assert tc.get("id") and tc["function"].get("name"), name
                    json.loads(tc["function"]["arguments"])
    assert usage is not None, f"{name}: no usage"
    return {
        "content": "".join(content),
        "reasoningContent": "".join(reasoning),
        "toolCalls": tool_calls,
        "finishReason": finish,
        "usage": usage,
    }


def reconstruct_json(name, body, status, provider):
    if status >= 400:
        err = body["error"]
        if isinstance(err, dict):  # OpenAI: {"error": {"message","type","param","code"}}
            assert set(err) >= {"message", "type", "param", "code"}, name
            return {"error": {"status": status, "message": err["message"], "code": err["code"], "type": err["type"]}}
        # xAI: {"code": "<gRPC-style status text>", "error": "<message string>"}
        return {"error": {"status": status, "message": err, "code": body.get("code"), "type": None}}
    assert body["object"] == "chat.completion", name
    msg = body["choices"][0]["message"]
    return {
        "content": msg.get("content") or "",
        "reasoningContent": msg.get("reasoning_content") or "",
        "toolCalls": [{"id": t["id"], "name": t["function"]["name"], "arguments": t["function"]["arguments"]}
                      for t in msg.get("tool_calls") or []],
        "finishReason": body["choices"][0]["finish_reason"],
        "usage": usage_of(body["usage"]),
    }


def build_manifest():
    out = []
    for name, status, headers, fname, provider in SCENARIOS:
        with open(os.path.join(HERE, fname), encoding="utf-8", newline="") as f:
            raw = f.read()
        if fname.endswith(".sse"):
            assert headers["content-type"].startswith("text/event-stream"), name
            expect = reconstruct_stream(name, raw, provider)
        else:
            assert headers["content-type"] == "application/json", name
            expect = reconstruct_json(name, json.loads(raw), status, provider)
        out.append({"name": name, "provider": provider, "status": status, "headers": headers,
                    "body": fname, "expect": expect})
    return out


def main():
    manifest = build_manifest()
    if "--write" in sys.argv:
        with open(MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {MANIFEST} ({len(manifest)} scenarios)")
        return
    with open(MANIFEST, encoding="utf-8") as f:
        on_disk = json.load(f)
    assert on_disk == manifest, "manifest.json does not match the transcripts (run with --write and review)"
    # Spot checks that pin the intent of each transcript.
    by = {m["name"]: m["expect"] for m in manifest}
    want = [
        {"name": "rag_search", "arguments": "{\"query\":\"vacation policy\",\"k\":5}"},
        {"name": "fs_read", "arguments": "{\"path\":\"docs/handbook.md\"}"},
    ]
    for n in ("openai_parallel_tool_calls_stream", "xai_tool_calls_stream", "openai_nonstream_tool_calls"):
        assert [{"name": t["name"], "arguments": t["arguments"]} for t in by[n]["toolCalls"]] == want, n
        assert by[n]["finishReason"] == "tool_calls", n
    assert by["openai_text_stream"]["finishReason"] == "stop"
    assert by["xai_text_stream"]["content"] == "Ah, the ultimate question! The answer is 42."
    assert by["xai_text_stream"]["usage"]["totalTokens"] != (
        by["xai_text_stream"]["usage"]["promptTokens"] + by["xai_text_stream"]["usage"]["completionTokens"])
    print(f"ok: {len(manifest)} scenarios match manifest.json")


if __name__ == "__main__":
    main()
