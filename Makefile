# Atelier: `make run` starts the server on its embedded defaults; `make test` runs every test.
SWIFT ?= swift
BIN_RELEASE := .build/release/atelier
BIN_DEBUG := .build/debug/atelier
export OMP_THREAD_LIMIT := 1

.PHONY: bootstrap build build-debug run test bench bench-rpc bench-schema schemas clean

bootstrap:
	@bash tools/bootstrap.sh

schemas:
	@python3 tools/gen_schemas.py

build: bootstrap schemas
	$(SWIFT) build -c release --product atelier

build-debug: bootstrap schemas
	$(SWIFT) build --build-tests

run: build
	$(BIN_RELEASE) serve --stdio

test: build-debug
	$(SWIFT) test --skip-build
	ATELIER_BIN=$(BIN_DEBUG) .venv/bin/python tools/mcp_sdk_check.py $(BIN_DEBUG) --era legacy
	ATELIER_BIN=$(BIN_DEBUG) .venv/bin/python tools/mcp_sdk_check.py $(BIN_DEBUG) --era 2026-07-28

bench: bench-schema bench-rpc

bench-schema: build
	.venv/bin/python tools/bench_schema.py $(BIN_RELEASE)

bench-rpc: build
	.venv/bin/python tools/bench_rpc.py $(BIN_RELEASE)

clean:
	rm -rf .build
