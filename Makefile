# Paperscope: `make run` sets everything up and serves the demo; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1:8000
export HF_HUB_OFFLINE := 1

.PHONY: run test serve demo-data

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

demo-data: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py import_papers samples/hf-papers-listing.txt samples/arxiv-sample-300.jsonl
	$(PY) manage.py embed_papers --missing
	$(PY) manage.py build_index

run: demo-data
	DEBUG=1 $(PY) manage.py runserver --noreload $(HOST)

test: $(VENV)/.installed
	./scripts/test.sh
