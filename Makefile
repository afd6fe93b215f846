# cognigy-enrich. The two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

WASM := target/wasm32-wasip1/release/cognigy_enrich.wasm
export ENVOY_BIN ?= $(CURDIR)/.venv/bin/envoy
WASM_TEST_ENV := CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner

.PHONY: build run stop test unit wasm-test e2e lint audit validate contracts oci bench bench-core bench-wasm-profile host-call-cost size fuzz fuzz-smoke clean mcp-clients

## Build the filter: target/wasm32-wasip1/release/cognigy_enrich.wasm, size-optimized by wasm-opt
## when binaryen is installed (scripts/optimize-wasm.sh; the plain cargo output otherwise).
build:
	scripts/install-tools.sh build
	cargo build --release --target wasm32-wasip1
	scripts/optimize-wasm.sh $(WASM)
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
	$(MAKE) --no-print-directory lint unit wasm-test validate e2e mcp-clients contracts fuzz-smoke audit

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --target wasm32-wasip1 --lib -- -D warnings
	cargo clippy --target wasm32-wasip1 --bench core_v8 -- -D warnings

unit:
	cargo test --lib
	cargo test -p mock-upstreams

wasm-test:
	$(WASM_TEST_ENV) cargo test --target wasm32-unknown-unknown --lib

validate:
	scripts/validate-configs.sh

e2e: build
	scripts/install-tools.sh copilot
	cargo test --test 'e2e_*'

## The MCP endpoint through the official clients (tests/mcp_clients.rs): the MCP Python SDK newest
## 1.x and 2.x (pinned venvs .venv-mcp1/.venv-mcp2) and the TypeScript SDK (tests/mcp/ts), each
## against the release filter in a real Envoy.
mcp-clients: build
	scripts/install-tools.sh envoy
	scripts/install-tools.sh mcp
	cargo test --test mcp_clients

## The platform contracts: schema/plugin-config.schema.json against src/config/ (Rust, no
## Envoy) and, with pytest in .venv (tests/contracts): the schema against every shipped plugin
## configuration, the OpenAPI description against the code and, through schemathesis, against
## the running demo stack; docker-compose.yml, deploy/, examples/cognigy and the OCI packaging.
contracts: build
	scripts/install-tools.sh contracts
	cargo build --release -p mock-upstreams
	cargo test --test contract_config_schema
	.venv/bin/python -m pytest tests/contracts -q -p no:cacheprovider

## Package the filter as a Wasm OCI image (Istio / Envoy Gateway) without Docker: target/oci/.
oci: build
	scripts/build-oci.sh $(WASM) target/oci

audit:
	cargo audit --db ../shared/advisory-db --no-fetch --deny warnings
	cargo audit --db ../shared/advisory-db --no-fetch --deny warnings --file fuzz/Cargo.lock

## Fuzz the core (fuzz/, cargo-fuzz on the stable toolchain): every target for FUZZ_SECONDS each,
## starting from fuzz/seeds and what earlier runs kept in fuzz/corpus. A crash fails the run and
## prints how to reproduce it.
FUZZ_SECONDS ?= 60
fuzz:
	scripts/install-tools.sh fuzz
	scripts/fuzz.sh $(FUZZ_SECONDS)

## Every fuzz target briefly (part of `make test`).
fuzz-smoke:
	scripts/install-tools.sh fuzz
	scripts/fuzz.sh 10

## Soak (not part of `make test`, which runs its 2-minute variant with the other e2e tests):
## SOAK_SECS of steady mixed traffic while a fault script cycles the services through slow, 429,
## 500, reset, closed port and back; the figures go to bench/soak.md. See tests/e2e_soak.rs.
.PHONY: soak
SOAK_SECS ?= 1200
soak: build
	SOAK_SECS=$(SOAK_SECS) SOAK_REPORT=bench/soak.md cargo test --test e2e_soak -- --nocapture

## Benchmark (not part of `make test`): bench/run.sh builds the filter, the minimal filter of the
## limit row (bench/minimal-filter) and the host-call counting build, and writes bench/results.md
## (after `make size`, whose tables it keeps). BENCH_RSS_RUN=0 skips the 1M-request RSS run; see
## bench/run.sh for the other knobs. Holds the lock every user of the benchmark's and the demo's
## fixed ports takes.
bench: size
	flock /tmp/cognigy-fixed-ports.lock bench/run.sh

## What one host call of each kind costs Envoy per call (the minimal filter with N extra calls of
## one kind against it plain, in one Envoy): writes its section of bench/results.md. ~12 minutes.
host-call-cost:
	flock /tmp/cognigy-fixed-ports.lock bench/host-call-cost.sh

## The core's per-request work alone (benches/core_v8.rs), natively and compiled to wasm32 in V8
## (Node.js): seconds, no Envoy; the figure to watch when changing the engine's hot path.
bench-core:
	bench/core.sh

## Where the wasm time goes per enrich request, by function (the product and the minimal filter in
## Node.js's V8 behind a proxy-wasm host in JavaScript, under V8's CPU profiler): writes its section
## of bench/results.md. No Envoy, no ports; under a minute after the builds.
bench-wasm-profile:
	bench/wasm-profile.sh

## Where the filter's bytes go (scripts/wasm-size.sh): sections, code by crate and module, the
## largest functions, read from the optimized build with its names kept.
size: build
	scripts/wasm-size.sh --top 30

clean:
	cargo clean
	rm -rf .run
