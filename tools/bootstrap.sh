#!/usr/bin/env bash
# Installs what Atelier needs on a fresh Debian machine; idempotent and quick when all is there.
#   Debian packages: the C libraries our system-library targets link.
#   .venv/: Python peers used only by tests and benchmarks (the MCP SDK client, jsonschema).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "bootstrap: $*" >&2; }

APT_PACKAGES=(libsqlite3-dev libopenblas-dev)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
fi

PY_PACKAGES=(mcp==2.3.0 jsonschema==4.26.0)
STAMP=".venv/.atelier-$(printf '%s\n' "${PY_PACKAGES[@]}" | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  log "creating .venv with ${PY_PACKAGES[*]}"
  python3 -m venv .venv >&2
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}" >&2
  touch "$STAMP"
fi
log "ready"
