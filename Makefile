# borrower_typing — `make help` lists the targets. Every target sets up .venv itself when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EXTRAS ?= dev,spark,bench,label,monitor
export MLFLOW_TRACKING_URI ?= sqlite:///mlflow.db
MONITOR_BY ?= 催收员,催收时间
SAMPLE_NOTE ?= 客户称上周说好周五还款，结果又没到账，今天又道歉说下周三发工资一定还清，这已经是第三次改期了。

.DEFAULT_GOAL := help
LS_VENV := .venv-label-studio
LS_REQUIREMENT ?= label-studio>=1.20,<1.24

.PHONY: help setup label-studio run train score predict test test-fast lint format mlflow-ui serve bench bench-smoke bench-monitor monitor notebooks clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

setup: $(STAMP) ## Create .venv and install the package (editable, with dev extras)

$(LS_VENV)/bin/label-studio:
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet "$(LS_REQUIREMENT)"

label-studio: $(LS_VENV)/bin/label-studio ## Start Label Studio (own venv .venv-label-studio) on 127.0.0.1:8080
	$(LS_VENV)/bin/label-studio start --host 127.0.0.1 --port 8080 --no-browser --data-dir .label-studio

run: $(STAMP) ## The main job: train on the bundled corpus, score the sample export, type one note
	$(BIN)/borrower-typing train --config configs/train.yaml
	$(BIN)/borrower-typing score data/samples/call_export.csv -o reports/call_export.scored.csv \
		--case-column 案件编号 --time-column 催收时间 --overwrite
	$(BIN)/borrower-typing predict "$(SAMPLE_NOTE)"

train: $(STAMP) ## Train, evaluate, register and export the model (ARGS="--search" for a grid search)
	$(BIN)/borrower-typing train --config configs/train.yaml $(ARGS)

score: $(STAMP) ## Score the sample export (or IN=… OUT=…)
	$(BIN)/borrower-typing score $(or $(IN),data/samples/call_export.csv) -o $(or $(OUT),reports/call_export.scored.csv) \
		--case-column 案件编号 --time-column 催收时间 --overwrite

monitor: $(STAMP) ## Monitor the scored sample export (or SCORED=… MONITOR_BY=…) -> reports/monitor.html
	$(BIN)/borrower-typing monitor $(or $(SCORED),reports/call_export.scored.csv) --by $(MONITOR_BY) \
		-o reports/monitor.html

predict: $(STAMP) ## Type one note: make predict NOTE="客户称…"
	$(BIN)/borrower-typing predict "$(or $(NOTE),$(SAMPLE_NOTE))"

test: $(STAMP) ## Run the whole test suite (trains small models, runs the notebooks and a benchmark smoke test)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP) ## Tests without the slow end-to-end paths
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP) ## Ruff lint and format check
	$(BIN)/ruff check src tests benchmarks notebooks/render.py
	$(BIN)/ruff format --check src tests benchmarks notebooks/render.py

format: $(STAMP) ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests benchmarks notebooks/render.py
	$(BIN)/ruff check --fix src tests benchmarks notebooks/render.py

bench: $(STAMP) ## Benchmarks against peers, 1,000,000-row scoring, memory, latency, labelling loop (~1 h) -> reports/
	$(BIN)/python -m benchmarks.bench
	$(BIN)/python -m benchmarks.active_learning

bench-smoke: $(STAMP) ## The same harness on a few thousand rows (checks it works; the figures mean little)
	$(BIN)/python -m benchmarks.bench --smoke --out reports/bench-smoke
	$(BIN)/python -m benchmarks.active_learning --smoke --out reports/bench-smoke
	$(BIN)/python -m benchmarks.monitor_bench --smoke --out reports/bench-smoke

bench-monitor: $(STAMP) ## Monitoring a 1,000,000-row scored export: time against scoring, memory -> reports/monitoring.md
	$(BIN)/python -m benchmarks.monitor_bench

notebooks: $(STAMP) ## Execute the notebooks, render them to reports/*.html (DATA=… TEXT_COLUMN=… LABEL_COLUMN=… GROUP_COLUMN=…)
	$(BIN)/python notebooks/render.py $(if $(DATA),--data "$(DATA)") $(if $(TEXT_COLUMN),--text-column "$(TEXT_COLUMN)") \
		$(if $(LABEL_COLUMN),--label-column "$(LABEL_COLUMN)") $(if $(GROUP_COLUMN),--group-column "$(GROUP_COLUMN)") \
		$(if $(ENCODING),--encoding "$(ENCODING)") $(if $(TRACKING_URI),--tracking-uri "$(TRACKING_URI)")

mlflow-ui: $(STAMP) ## Browse runs and registered models at http://127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri $(MLFLOW_TRACKING_URI) --host 127.0.0.1 --port 5000

serve: $(STAMP) ## Serve models:/borrower-typing@champion over HTTP on 127.0.0.1:5001 (manifest checked first)
	$(BIN)/borrower-typing serve -m "models:/borrower-typing@champion" --host 127.0.0.1 --port 5001

clean: ## Remove the venv, caches, the tracking store, exported models and reports
	rm -rf $(VENV) $(LS_VENV) .label-studio .pytest_cache .ruff_cache .hypothesis mlflow.db mlruns mlartifacts models/borrower-typing reports/train reports/evaluate reports/*.csv
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
