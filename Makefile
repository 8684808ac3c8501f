# Remote support accounting — developer entry points.
# Every target sets up what it needs on a fresh machine (the venv is created if missing).

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
STAMP       := $(VENV)/.installed
SAM         := $(VENV)/bin/sam
SAM_VERSION ?= aws-sam-cli>=1.120
AWS_REGION  ?= us-east-1

# No telemetry / update checks from the SAM CLI (the machines reach only package registries).
export SAM_CLI_TELEMETRY := 0

.PHONY: venv .venv test run bench build validate lint clean distclean browser office

venv .venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade --quiet pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

test: $(STAMP) browser office
	$(PY) -m pytest
	$(VENV)/bin/cfn-lint template.yaml

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

lint: $(STAMP)
	$(VENV)/bin/cfn-lint template.yaml

run: $(STAMP)
	$(PY) -m billing_local.stack $(ARGS)

bench: $(STAMP)
	$(PY) -m billing_local.bench $(ARGS)

# aws-sam-cli is heavy: only the targets that need it install it (never `make test`).
$(SAM): $(STAMP)
	$(PIP) install --quiet '$(SAM_VERSION)'
	touch $@

# sam build needs a python3.12 interpreter on PATH (Lambda runtime python3.12). Use the one on
# PATH if it works, else pyenv's newest 3.12.x; if neither exists, sam build reports the error.
build: $(SAM)
	@py312=""; \
	if ! python3.12 -c 'import sys' >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then \
	  py312="$$(ls -d "$$(pyenv root)"/versions/3.12.*/bin 2>/dev/null | sort -V | tail -1)"; \
	fi; \
	if [ -n "$$py312" ]; then echo "using python3.12 from $$py312"; export PATH="$$py312:$$PATH"; fi; \
	set -x; $(SAM) build --template-file template.yaml

validate: $(SAM)
	$(SAM) validate --lint --template-file template.yaml --region $(AWS_REGION)

clean:
	rm -rf .aws-sam .pytest_cache .hypothesis build *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .local
