#!/usr/bin/env python3
"""A minimal script client: calls a tool on `atelier serve --tcp 127.0.0.1:7300` over newline-delimited JSON-RPC.
Usage: python3 examples/tcp_client.py [PORT] [TOKEN]"""
import json, socket, sys

port = int(sys.argv[1]) if len(sys.argv) > 1 else 7300
token = sys.argv[2] if len(sys.argv) > 2 else None
sock = socket.create_connection(("127.0.0.1", port))
reader = sock.makefile("r", encoding="utf-8")

def call(i, method, params):
    sock.sendall((json.dumps({"jsonrpc": "2.0", "id": i, "method": method, "params": params}) + "\n").encode())
    while True:
        msg = json.loads(reader.readline())
        if msg.get("id") == i:
            return msg

if token:
    print(call(0, "auth", {"token": token}))
print(json.dumps(call(1, "tools/call", {"name": "schema_validate",
      "arguments": {"schema": {"type": "integer", "minimum": 1}, "instance": 0}}), indent=2))
print(json.dumps(call(2, "plan/execute", json.load(open("examples/plan.json"))), indent=2)[:2000])
