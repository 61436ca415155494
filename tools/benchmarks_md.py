"""Replaces one `## ` section of BENCHMARKS.md, keeping the others (shared by the bench drivers)."""
import os
import re
from pathlib import Path

HEADER = ("# Benchmarks\n\nMeasured with `make bench` (`make bench-schema`, `make bench-rpc`, `make bench-neural`, `make bench-rag`); each section is "
          "rewritten by its driver in `tools/`, the others are kept. Our code and its peer run in the same "
          "run on the same machine; read the ratios, not the absolute times.\n")


def update_section(path: Path, title: str, section: str) -> None:
    """`section` starts with the line `title` (e.g. "## RPC")."""
    text = path.read_text() if path.exists() else HEADER
    lines = text.splitlines(keepends=True)
    start = next((i for i, l in enumerate(lines) if l.rstrip() == title), None)
    body = section.rstrip("\n") + "\n"
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body
    else:
        end = next((j for j in range(start + 1, len(lines)) if re.match(r"^## ", lines[j])), len(lines))
        after = "".join(lines[end:])
        new = "".join(lines[:start]) + body + ("\n" + after if after else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
