# Every target bootstraps .venv itself: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-scale demo lint typecheck fuzz worker browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/watcher db upgrade
	$(BIN)/watcher run

demo: $(STAMP)
	$(BIN)/watcher demo

browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "chromium could not be installed: browser tests will skip"

test: $(STAMP) browser
	$(BIN)/ruff check watcher subscribers tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m compileall -q watcher subscribers  # cached bytecode, as a deployment would have
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/web.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

fuzz: $(STAMP)
	$(BIN)/python bench/fuzz.py --inputs 100000

worker: $(STAMP)
	$(BIN)/watcher db upgrade
	$(BIN)/watcher worker

lint: $(STAMP)
	$(BIN)/ruff check watcher subscribers tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
