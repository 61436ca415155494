# Atelier: `make run` starts the server on its embedded defaults; `make test` runs every test.
SWIFT ?= swift
BIN_RELEASE := .build/release/atelier
BIN_DEBUG := .build/debug/atelier
export OMP_THREAD_LIMIT := 1
# PyTorch (CPU) for the Neural engine's peer benchmark only; `make test` never needs it.
TORCH_VENV ?= .venv-torch
TORCH_WHEELS ?= /opt/wheels

.PHONY: bootstrap build build-debug run test bench bench-rpc bench-schema bench-neural bench-rag bench-planner bench-ocr bench-code bench-diffusion bench-train bench-shapes bench-llm check-export torch-venv diffusion-goldens schemas clean

bootstrap:
	@bash tools/bootstrap.sh

schemas:
	@python3 tools/gen_schemas.py

build: bootstrap schemas
	$(SWIFT) build -c release --product atelier

build-debug: bootstrap schemas
	$(SWIFT) build --build-tests
	$(SWIFT) build --product atelier

run: build
	$(BIN_RELEASE) serve --stdio

test: build-debug
	$(SWIFT) test --skip-build
	ATELIER_BIN=$(BIN_DEBUG) .venv/bin/python tools/mcp_sdk_check.py $(BIN_DEBUG) --era legacy
	ATELIER_BIN=$(BIN_DEBUG) .venv/bin/python tools/mcp_sdk_check.py $(BIN_DEBUG) --era 2026-07-28

bench: bench-schema bench-rpc bench-neural bench-rag bench-planner bench-llm bench-ocr bench-code bench-diffusion bench-train bench-shapes

bench-schema: build
	.venv/bin/python tools/bench_schema.py $(BIN_RELEASE)

bench-llm: build
	.venv/bin/python tools/bench_llm.py $(BIN_RELEASE)

bench-rpc: build
	.venv/bin/python tools/bench_rpc.py $(BIN_RELEASE)

# torch==2.13.0+cpu comes from the local wheel folder (find-links); numpy, the diffusion references
# (diffusers, transformers and what CLIPTokenizer needs) and torch's dependencies from the index.
DIFFUSION_PINS := 'diffusers==0.42.1' 'transformers==5.25.0' 'safetensors==0.8.0' 'ftfy==6.3.1' 'regex==2026.11.19'
torch-venv:
	@$(TORCH_VENV)/bin/python -c 'import torch, numpy, diffusers, transformers' 2>/dev/null || { \
	  echo "creating $(TORCH_VENV) (torch 2.13.0+cpu, numpy, diffusers, transformers)"; \
	  python3 -m venv $(TORCH_VENV) && \
	  $(TORCH_VENV)/bin/pip install --find-links $(TORCH_WHEELS) 'torch==2.13.0+cpu' numpy $(DIFFUSION_PINS); }

# Parity fixtures for the Diffusion module (committed; `make test` only reads them).
diffusion-goldens: torch-venv
	$(TORCH_VENV)/bin/python tools/gen_diffusion_fixtures.py
	$(TORCH_VENV)/bin/python tools/gen_single_file_fixture.py

# The embedded Shapes model: base accuracy on held-out captions and the DreamBooth ablation.
bench-shapes: build
	python3 tools/bench_shapes.py $(BIN_RELEASE)

# An exported model (default: the embedded Shapes model) loads in diffusers and samples the same image.
EXPORT ?= models/shapes
check-export: build torch-venv
	$(TORCH_VENV)/bin/python tools/check_diffusers_export.py $(BIN_RELEASE) $(EXPORT)

bench-diffusion: build torch-venv
	$(TORCH_VENV)/bin/python tools/bench_diffusion.py $(BIN_RELEASE)

# DreamBooth: one training step with prior preservation against train_dreambooth.py's step on PyTorch.
bench-train: build torch-venv
	$(TORCH_VENV)/bin/python tools/bench_train.py $(BIN_RELEASE)

bench-neural: build torch-venv
	$(TORCH_VENV)/bin/python tools/bench_neural.py $(BIN_RELEASE)

# Retrieval: quality (stdlib Python; its reference row uses the torch venv) then speed against
# sentence-transformers, numpy, sqlite-vec and hnswlib (installed into the torch venv when missing).
bench-rag: build torch-venv
	@$(TORCH_VENV)/bin/python -c 'import sentence_transformers, sqlite_vec, hnswlib' 2>/dev/null || \
	  $(TORCH_VENV)/bin/pip install --find-links $(TORCH_WHEELS) sentence-transformers 'sqlite-vec==0.1.9' hnswlib
	.venv/bin/python tools/rag_eval.py $(BIN_RELEASE) --peer-python $(TORCH_VENV)/bin/python
	$(TORCH_VENV)/bin/python tools/bench_rag.py $(BIN_RELEASE)

# Planner: Atelier's offline planner against llama.cpp + SmolLM2-135M with a JSON-schema-constrained plan
# (xllamacpp from .venv), both graded by `atelier eval planner` on examples/eval/planner.jsonl.
bench-planner: build
	.venv/bin/python tools/bench_planner.py $(BIN_RELEASE)

# OCR: Atelier against the tesseract CLI on generated pages with known truth (quality, pages/min, pre-processing ablation).
bench-ocr: build
	.venv/bin/python tools/bench_ocr.py $(BIN_RELEASE)

# Code analysis: indexing a real multi-language tree against universal-ctags + lizard, warm update, agreement.
bench-code: build
	.venv/bin/python tools/bench_code.py $(BIN_RELEASE)

clean:
	rm -rf .build
