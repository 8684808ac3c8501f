# Remote support accounting — developer entry points.
# Every target sets up what it needs on a fresh machine (the venv is created if missing).

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
STAMP       := $(VENV)/.installed
SAM_VENV    := .venv-sam
SAM         := $(SAM_VENV)/bin/sam
SAM_VERSION ?= aws-sam-cli>=1.120
TOOLS       := .venv-tools
CHECKOV     := $(TOOLS)/bin/checkov
AWS_REGION  ?= us-east-1

# No telemetry / update checks from the SAM CLI (the machines reach only package registries).
export SAM_CLI_TELEMETRY := 0

.PHONY: venv .venv test run bench backfill build build-check lock deploy destroy validate lint clean distclean browser office poppler

venv .venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade --quiet pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

# The suite runs in TEST_WORKERS processes (pytest-xdist), each test module whole in one of them, so
# a module's stack, browser and seeded tenants are made once; the longest modules first, in the order
# tests/conftest.py gives them (LONG_MODULES). Most of a test's time is waiting (the indexes' settle
# time, jobs, a browser, LibreOffice), so more processes than cores pay off; each has its own
# embedded store, free ports and temporary folders. TEST_WORKERS=0: one process, in order.
TEST_WORKERS ?= 4

test: $(STAMP) browser office poppler $(CHECKOV)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder
	$(VENV)/bin/cfn-lint template.yaml

# checkov (the template's security scan, run by tests/test_template.py) lives in a venv of its own
# (TOOLS, above): it pins boto3 to an old exact version that the project's venv must not be downgraded to.
$(CHECKOV):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet 'checkov>=3.2,<4'
	touch $@

# Debian's headless Chromium and its driver, for the web console's browser test (tests/test_console.py).
# Installed only when one is missing (CI starts from a fresh machine of the same image, as root).
CHROMIUM     := /usr/bin/chromium
CHROMEDRIVER := /usr/bin/chromedriver
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if [ ! -x $(CHROMIUM) ] || [ ! -x $(CHROMEDRIVER) ]; then \
	  echo "installing Debian's chromium and chromium-driver (for tests/test_console.py)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Debian's LibreOffice Calc without a GUI, for the tests that open each spreadsheet CSV locale as a
# double click would (tests/api/test_files.py) and for the README's screenshot. Never at run time.
SOFFICE := /usr/bin/soffice

office:
	@if [ ! -x $(SOFFICE) ]; then \
	  echo "installing Debian's libreoffice-calc-nogui (for tests/api/test_files.py)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libreoffice-calc-nogui >/dev/null; \
	fi

# Debian's poppler-utils, for the invoice tests that render a PDF page (pdftoppm,
# tests/api/test_invoice_documents.py). Test-only, never at run time.
PDFTOPPM := /usr/bin/pdftoppm

poppler:
	@if [ ! -x $(PDFTOPPM) ]; then \
	  echo "installing Debian's poppler-utils (for tests/api/test_invoice_documents.py)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null; \
	fi

lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

run: $(STAMP)
	$(PY) -m billing_local.stack $(ARGS)

# Table 2 measures the `sam build` output (as deployed), so the bench builds first unless ARGS skip it.
bench: $(STAMP) $(if $(findstring imports,$(ARGS)),,build)
	$(PY) -m billing_local.bench $(ARGS)

# After deploying this version over data of an older one (README "Upgrading"): the open-session
# index and the running totals. ARGS="--table T" (AWS) or "--stack .local/stack.json"; --check audits.
backfill: $(STAMP)
	$(PY) -m billing_local.backfill $(ARGS)

# aws-sam-cli is heavy: only the targets that need it install it (never `make test`). It lives in a
# venv of its own (SAM_VENV), like checkov: it pins boto3/botocore and click to versions the project's
# venv must not be moved to.
$(SAM):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet '$(SAM_VERSION)'
	touch $@

# sam build needs a python3.12 interpreter on PATH (Lambda runtime python3.12). Use the one on
# PATH if it works, else pyenv's newest 3.12.x; if neither exists, sam build reports the error.
# The functions' own code is then compiled where sam put it (its python3.12 builder ships no
# bytecode, and Lambda cannot write any into /var/task: each cold start compiled the handler's
# app.py again, ~2.5 ms): unchecked-hash .pyc with the run-time path /var/task, the same bytes at
# every build, packaged by `sam deploy` with the rest of .aws-sam/build (the layer compiles its own).
build: $(STAMP) $(SAM)
	@py312=""; \
	if ! python3.12 -c 'import sys' >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then \
	  py312="$$(ls -d "$$(pyenv root)"/versions/3.12.*/bin 2>/dev/null | sort -V | tail -1)"; \
	fi; \
	if [ -n "$$py312" ]; then echo "using python3.12 from $$py312"; export PATH="$$py312:$$PATH"; fi; \
	set -x; SOURCE_DATE_EPOCH=315532800 PYTHONDONTWRITEBYTECODE=1 $(SAM) build --template-file template.yaml && \
	set +x && echo "compiling the functions' code (compileall, unchecked-hash)" && \
	for function in .aws-sam/build/*/app.py; do \
	  PYTHONHASHSEED=0 python3.12 -m compileall -q --invalidation-mode unchecked-hash \
	    -s "$${function%/app.py}" -p /var/task "$${function%/app.py}" || exit 1; \
	done
	$(PY) -m billing_local.build_digest .aws-sam/build > .aws-sam/build.sha256
	@echo "artefact digest: $$(tail -1 .aws-sam/build.sha256)"

# Two builds from scratch must give the same files (the layer's dependencies come from the locked,
# hashed requirements.txt; the bytecode compared like the sources, no timestamps in the comparison).
build-check:
	rm -rf .aws-sam
	$(MAKE) build
	cp .aws-sam/build.sha256 .aws-sam-first.sha256
	rm -rf .aws-sam
	$(MAKE) build
	diff .aws-sam-first.sha256 .aws-sam/build.sha256 && echo "build is reproducible: $$(tail -1 .aws-sam/build.sha256)"
	rm -f .aws-sam-first.sha256

# The layer's lock file: every dependency pinned with its hashes, from requirements.in.
lock: $(STAMP)
	cd layers/billing_core && ../../$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	  --no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in

# Deploy to the AWS account and region of your credentials. The first time (no samconfig.toml)
# asks for the stack name, region and parameters and saves them; later runs reuse them.
STACK ?= remote-support-billing
deploy: build
	@if [ -f samconfig.toml ]; then \
	  $(SAM) deploy; \
	else \
	  $(SAM) deploy --guided --stack-name $(STACK) --capabilities CAPABILITY_IAM --resolve-s3; \
	fi

# Deletes the stack. The table (DeletionPolicy Retain + deletion protection) and a backup vault
# stay: see README "Deploy to AWS" to delete them on purpose.
destroy: $(SAM)
	@if [ -f samconfig.toml ]; then $(SAM) delete; else $(SAM) delete --stack-name $(STACK); fi

validate: $(SAM)
	$(SAM) validate --lint --template-file template.yaml --region $(AWS_REGION)

clean:
	rm -rf .aws-sam .aws-sam-first.sha256 .pytest_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(TOOLS) $(SAM_VENV) .local
