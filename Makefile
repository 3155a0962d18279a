# kubectl-svc-inspect: every developer and CI entry point. `make test` works from a fresh clone.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: help venv cluster-binaries cluster-up cluster-down cluster-status lint unit e2e test demo demo-picture demo-down e2e-kind bench bench-diff bench-serve dist clean

help:
	@echo "make demo          bring up the local cluster, apply the demo scenarios, show the findings"
	@echo "make demo-picture  redraw the README's picture (docs/demo.png) from the demo scenarios"
	@echo "make test          lint, types, import contracts, unit and e2e tests (starts and stops a local cluster)"
	@echo "make cluster-up    start the local cluster (.cluster/env has KUBECONFIG and INSPECTOR_DNS_SERVER)"
	@echo "make cluster-down  stop every process of the local cluster"
	@echo "make e2e-kind      the e2e suite on a three-node kind cluster it builds, starts and deletes (root;"
	@echo "                   KIND_E2E=subset: only the files that hang on the cluster's own parts)"
	@echo "make dist          wheel, sdist, and the krew archive and manifest, in dist/"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "error: Python 3.11+ is required ($(PYTHON) is $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# renamed from kubectl-inspect: a venv still holding it would load the pytest plugin twice
	$(BIN)/pip uninstall --quiet --yes kubectl-inspect 2>/dev/null || true
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

venv: $(VENV)/.installed

cluster-binaries:
	@bash cluster/build.sh

cluster-up: venv cluster-binaries
	@$(PY) cluster/localcluster.py up

cluster-down:
	@$(PYTHON) cluster/localcluster.py down

cluster-status:
	@$(PYTHON) cluster/localcluster.py status

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# tests/test_alerts.py runs promtool (built once, cached with the cluster's binaries)
unit: venv
	@bash cluster/build.sh prometheus
	$(BIN)/pytest tests

# The e2e session fixture starts the local cluster unless E2E_KUBECONFIG names another one,
# and stops what it started, pass or fail. The whole suite runs with kube-proxy in iptables mode;
# then the tests of the real nodes' data plane (and the teardown) run again in nftables mode, on a
# cluster of their own. A tier that cannot start fails the run (E2E_ALLOW_SKIP=1 skips instead).
NFTABLES_E2E := e2e/test_nodes.py e2e/test_pernode.py e2e/test_real_node.py e2e/test_why.py e2e/test_teardown.py
e2e: venv cluster-binaries
	LOCALCLUSTER_PROXY_MODE=iptables $(BIN)/pytest e2e
	@if [[ -z "$${E2E_KUBECONFIG:-}" ]]; then \
	  echo "e2e: the real nodes' tests again, kube-proxy in nftables mode"; \
	  LOCALCLUSTER_PROXY_MODE=nftables $(BIN)/pytest $(NFTABLES_E2E); \
	fi

# CI runs the suite on kind too, after the local cluster's e2e (which stops the cluster it started):
# strict like the rest (e2e/kind.sh: a kind tier that cannot start fails the run; E2E_ALLOW_SKIP=1
# skips it). On its own `make e2e-kind` runs the whole suite; in `make test` only KIND_SUBSET (a fresh
# machine's whole run must fit in an hour, and the whole suite on kind takes over 20 minutes here):
# the files whose outcome hangs on the cluster's own parts (its nodes' CNI, kube-proxy, kube-router,
# the control plane's static pods, kind's fences) rather than on the API server, the same build the
# local cluster's e2e has just run every test against. `make test KIND_E2E=all` runs all of it.
test: KIND_E2E = subset
test: lint unit e2e e2e-kind

demo: venv cluster-binaries
	@bash e2e/demo.sh

# The README's picture, from the demo namespace (applied, and the local cluster brought up, when needed)
demo-picture: venv cluster-binaries
	@bash e2e/demo.sh --picture

# builds (once) and starts what it needs: Docker, kind, the node image (cluster/build.sh kind); the
# cluster, its network and dockerd are gone afterwards, pass or fail, and the host compared with before
KIND_SUBSET := e2e/test_kind.py e2e/test_nodes.py e2e/test_pernode.py e2e/test_reach.py e2e/test_chaos.py
e2e-kind: venv
	@case "$(or $(KIND_E2E),all)" in all|subset) ;; *) echo "KIND_E2E=$(KIND_E2E): all or subset"; exit 2 ;; esac
	KIND_TESTS="$(if $(filter subset,$(KIND_E2E)),$(KIND_SUBSET),e2e)" bash e2e/kind.sh

bench: venv cluster-binaries
	$(PY) bench/bench_all.py $(BENCH_ARGS)

# one benchmark at one size (BENCH_ARGS: --small, --preset large, --keep, --compare-with EXE, ...)
bench-diff: venv cluster-binaries
	$(PY) bench/bench_diff.py $(BENCH_ARGS)

# serve under churn (issue 24, item 3): 20,000 pods, 5 minutes of pod moves and the EndpointSlice
# changes they cause; a bench cluster kept by `make bench BENCH_ARGS=--keep` is reused (same plan).
# BENCH_SERVE_ARGS: --small, --minutes N, --rate MOVES_PER_MINUTE, --keep
bench-serve: venv cluster-binaries
	$(PY) bench/bench_serve.py $(BENCH_SERVE_ARGS)

# DIST=DIR writes elsewhere (the krew e2e test does)
DIST ?= dist
dist: venv
	@DIST=$(DIST) bash deploy/dist.sh

clean: cluster-down
	rm -rf .cluster $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
