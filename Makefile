# Crime Predict: the two commands are `make demo` and `make test` (see README).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test setup services venv lint bench stop

demo:  ## set everything up and run the site with real data on 127.0.0.1:8000
	bash scripts/demo.sh

test:  ## install what is missing, start services, run the whole suite
	bash scripts/setup.sh
	bash scripts/test.sh

setup:  ## system packages, services, database, virtualenv (idempotent)
	bash scripts/setup.sh

lint:
	$(VENV)/bin/ruff check .

bench:
	bash scripts/bench.sh

stop:
	bash scripts/demo.sh stop
