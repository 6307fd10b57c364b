# customer-tiers: `make run` (demo pipeline) and `make test` (the whole suite) on a machine with
# only Python 3.11, pip and make. Everything else is installed into .venv from the lock file.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_SOURCES := var/demo
WAREHOUSE := var/warehouse.duckdb
CUSTOMERS ?= 2000
DAGSTER_HOME_DIR := $(CURDIR)/var/dagster_home

.PHONY: docs install run test dev lint demo-data clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "customer-tiers needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

demo-data: install
	$(BIN)/tiers demo-data --out $(DEMO_SOURCES) --customers $(CUSTOMERS)

run: demo-data
	$(BIN)/tiers run --sources $(DEMO_SOURCES) --warehouse $(WAREHOUSE)

test: install
	$(BIN)/pytest

dev: install
	@test -d $(DEMO_SOURCES) || $(MAKE) demo-data
	mkdir -p $(DAGSTER_HOME_DIR) && cp orchestration/dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) TIERS_SOURCES=$(CURDIR)/$(DEMO_SOURCES) \
	TIERS_WAREHOUSE=$(CURDIR)/$(WAREHOUSE) \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m orchestration.definitions

# The dbt documentation site (every model and column described), with the column types of the
# demo warehouse (built first when missing); open var/dbt_docs/static_index.html.
docs: install
	@test -f $(WAREHOUSE) || $(MAKE) run
	cp $(WAREHOUSE) $(WAREHOUSE).building
	$(BIN)/tiers dbt --warehouse $(WAREHOUSE) -- docs generate --static \
		--target-path $(CURDIR)/var/dbt_docs; status=$$?; rm -f $(WAREHOUSE).building; exit $$status
	@echo "dbt docs: open var/dbt_docs/static_index.html"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests

clean:
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache
