# ACORN: the README's commands. Each target builds or refreshes .venv from requirements.txt by itself.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export ACORN_HOME ?= $(CURDIR)/.acorn
export AIRFLOW_HOME ?= $(ACORN_HOME)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: install demo test bench bench-csv bench-review up warehouse stop lint format lock clean

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: ACORN needs Python 3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)

demo: $(STAMP)  ## the pipeline end to end on built-in demo data, with a printed summary
	$(BIN)/python -m acorn_airflow.demo

test: $(STAMP)  ## the test suite against a real Postgres and real Airflow runs
	$(BIN)/python -m pytest

bench: $(STAMP)  ## stage-by-stage benchmark against the raw COPY limit and the naive pipeline
	$(BIN)/python -m bench.run

bench-csv: $(STAMP)  ## the CSV import's time and memory on a 100 MiB file, beside pandas.read_csv
	$(BIN)/python -m bench.csv_files

bench-review: $(STAMP)  ## the reviewer's page's queries on 10,000+ open review items, beside their floors
	$(BIN)/python -m bench.review_queue

up: $(STAMP)  ## the Airflow UI on http://127.0.0.1:8080 with the DAGs and the embedded warehouse
	$(BIN)/python -m acorn_airflow.up

warehouse: $(STAMP)  ## start the embedded warehouse and print its DSN
	$(BIN)/python -m acorn.warehouse.embedded

stop: $(STAMP)  ## stop the embedded warehouse
	$(BIN)/python -m acorn.warehouse.embedded stop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock:  ## re-resolve requirements.txt from the top-level pins in requirements.in
	$(PYTHON) -m venv /tmp/acorn-lock && /tmp/acorn-lock/bin/pip install --quiet -r requirements.in && \
	  { echo "# Pinned, resolved together with pip on Python 3.11. Regenerate: make lock"; \
	    /tmp/acorn-lock/bin/pip freeze --exclude-editable | grep -v '^pip=='; } > requirements.txt

clean:
	-$(BIN)/python -m acorn.warehouse.embedded stop
	rm -rf $(VENV) $(ACORN_HOME)
