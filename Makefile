# cognigy-enrich. The two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

WASM := target/wasm32-wasip1/release/cognigy_enrich.wasm
export ENVOY_BIN ?= $(CURDIR)/.venv/bin/envoy
WASM_TEST_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner

.PHONY: build run stop test unit wasm-test e2e lint audit validate bench fuzz fuzz-smoke clean

## Build the filter: target/wasm32-wasip1/release/cognigy_enrich.wasm
build:
	scripts/install-tools.sh build
	cargo build --release --target wasm32-wasip1
	@ls -l $(WASM)

## Build, start the mock services and Envoy, print a curl that works.
run: build
	scripts/install-tools.sh envoy
	cargo build --release -p mock-upstreams
	scripts/run-demo.sh

stop:
	scripts/run-demo.sh stop

## Everything, from a fresh machine.
test: build
	scripts/install-tools.sh test
	$(MAKE) --no-print-directory lint unit wasm-test validate e2e audit

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings

unit:
	cargo test --lib
	cargo test -p mock-upstreams

wasm-test:
	$(WASM_TEST_ENV) cargo test --target wasm32-unknown-unknown --lib

validate:
	scripts/validate-configs.sh

e2e: build
	cargo test --test 'e2e_*'

audit:
	cargo audit --db ../shared/advisory-db --no-fetch --deny warnings

clean:
	cargo clean
	rm -rf .run
