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

.PHONY: docs install run test dev lint demo-data clean browser java report-screenshot

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "customer-tiers needs Python 3.11, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,spark]"
	touch $(STAMP)

demo-data: install
	$(BIN)/tiers demo-data --out $(DEMO_SOURCES) --customers $(CUSTOMERS)

run: demo-data
	$(BIN)/tiers run --sources $(DEMO_SOURCES) --warehouse $(WAREHOUSE)

# Two workers, a test file each at a time (the files' fixtures share pipeline runs).
test: install browser java
	$(BIN)/pytest -n 2 --dist loadfile

dev: install
	@test -d $(DEMO_SOURCES) || $(MAKE) demo-data
	mkdir -p $(DAGSTER_HOME_DIR) && cp customer_tiers/orchestration/dagster.yaml $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) TIERS_SOURCES=$(CURDIR)/$(DEMO_SOURCES) \
	TIERS_WAREHOUSE=$(CURDIR)/$(WAREHOUSE) \
	$(BIN)/dagster dev -h 127.0.0.1 -p 3000 -m customer_tiers.orchestration.definitions

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
	TIERS_SQLFLUFF_TARGET=spark $(BIN)/sqlfluff lint --dialect sparksql \
		dbt_project/models dbt_project/macros dbt_project/tests

clean:
	rm -rf var dbt_project/target dbt_project/logs .pytest_cache

# Headless Chromium for the report's browser test (tests/e2e/test_report.py): Debian's chromium
# package, installed when /usr/bin/chromium is missing (about 12 s from a package mirror).
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser: no apt-get (not a Debian machine): install Chromium as /usr/bin/chromium" \
			"yourself; without it the report's browser test is skipped"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "browser: installing Debian's chromium needs root (sudo make browser);" \
			"without it the report's browser test is skipped"; \
	else \
		echo "browser: installing Debian's chromium for the report's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

# Java 17 for the Spark engine and its tests (tests/e2e/test_spark.py,
# tests/unit/test_expectations_spark.py): Debian's openjdk-17-jre-headless, installed when the
# Java that Spark would use ($$JAVA_HOME/bin/java, else java on PATH) is missing or not 17.
JAVA_VERSION = $${JAVA_HOME:+$$JAVA_HOME/bin/}java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
java:
	@found=$$($(JAVA_VERSION)); \
	if [ "$$found" = 17 ]; then :; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "java: found Java $${found:-none}, the Spark engine needs 17 (not a Debian machine):" \
			"install Java 17 yourself (PATH or JAVA_HOME); without it the Spark tests are skipped"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "java: found Java $${found:-none}; installing Debian's openjdk-17-jre-headless needs" \
			"root (sudo make java); without it the Spark tests are skipped"; \
	else \
		echo "java: installing Debian's openjdk-17-jre-headless for the Spark engine"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null; \
		found=$$($(JAVA_VERSION)); \
		if [ "$$found" != 17 ]; then \
			echo "java: Java 17 is installed in /usr/lib/jvm but Java $${found:-none} comes first:" \
				"export JAVA_HOME=$$(ls -d /usr/lib/jvm/java-17-openjdk-* | head -n 1)"; \
		fi; \
	fi

# docs/report.png, the README's screenshot of `tiers report` on the demo warehouse (built first
# when missing), from a copy given a second analysis date so the migration chart is drawn.
# Chinese text (the demo's staff names, the zh page) needs a CJK font: Debian's fonts-noto-cjk,
# installed when no Chinese font is there.
report-screenshot: install browser
	@test -f $(WAREHOUSE) || $(MAKE) run
	@test -d $(DEMO_SOURCES) || $(MAKE) demo-data
	@if fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null; \
	else echo "report-screenshot: no Chinese font (Debian: fonts-noto-cjk); Chinese shows as boxes"; \
	fi
	$(BIN)/python scripts/report_screenshot.py --sources $(DEMO_SOURCES) \
		--warehouse $(WAREHOUSE) --out docs/report.png
