# The platform's commands. `make run` serves everything locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= dev
AUTH ?= none
SCOPE ?= read

.PHONY: run reset token test test-unit lint services bench deploy package teardown clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (Lambda runtime python3.11+); set PYTHON=python3.12 or similar"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || \
		{ echo "could not create .venv; on Debian/Ubuntu: sudo apt-get install -y python3-venv"; exit 1; }
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

services:
	@bash devtools/ensure_services.sh

# make run AUTH=jwt: every route not open needs a token of the local issuer (docs/auth.md)
run: venv services
	AUTH=$(AUTH) $(PY) -m devtools.run

# a token of the local issuer for make run AUTH=jwt, e.g. make token SCOPE="read write"
token: venv
	@$(PY) -m devtools.local_auth token $(SCOPE)

# wipe the local platform's state on purpose: its databases, Redis index and the objects make run saved
reset: venv services
	$(PY) -m devtools.local_state

test: venv services
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint --include-checks I -- infra/*.yaml
	$(VENV)/bin/pytest

# the unit tier alone: pure logic, no MySQL, Redis or emulator (no `make services`), a few seconds
test-unit: venv
	$(VENV)/bin/pytest tests/unit

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint --include-checks I -- infra/*.yaml

# docs/benchmarks.md: our hot paths next to limits and peers; writes bench/results.json (bounded: about 4 minutes,
# 6-8 on a first run that generates the inputs)
bench: venv services
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) -m bench.run

# AWS (docs/deploy.md): STAGE=dev|prod; needs AWS credentials and a region
deploy: venv
	$(PY) -m devtools.deploy deploy --stage $(STAGE)

# the stage as terraform (chalice package, completed with what Chalice cannot declare) in build/terraform
package: venv
	$(PY) -m devtools.deploy package --stage $(STAGE)

teardown: venv
	$(PY) -m devtools.deploy teardown --stage $(STAGE)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
