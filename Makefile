# Linli: `make run` serves the demo community, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := FLASK_APP=webapp $(BIN)/flask
HTMX := webapp/static/vendor/htmx.min.js
# axe-core, for the browser tests' accessibility sweep only (never served by the app)
AXE := tests/browser/vendor/axe.min.js
NODE := node_modules/.package-lock.json
CATALOG := webapp/translations/en/LC_MESSAGES/messages.mo
PG_URL ?= postgresql://postgres@127.0.0.1:5432/linli_test
REDIS ?= redis://127.0.0.1:6379/0

# The production stack: PostgreSQL and Redis must be reachable (DATABASE_URL, REDIS_URL, SECRET_KEY set).
WORKERS ?= 2

.PHONY: prod run setup test test-sqlite test-postgres chromium db reset-demo bench load worker clean messages

run: setup db
	@echo "Linli on http://127.0.0.1:5000 — demo accounts above, password linli-demo"
	$(FLASK) run --host 127.0.0.1 --port 5000

setup: $(VENV)/.installed $(HTMX) $(CATALOG)

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

$(NODE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(HTMX): $(NODE)
	mkdir -p $(dir $@)
	cp node_modules/htmx.org/dist/htmx.min.js $@

$(AXE): $(NODE)
	mkdir -p $(dir $@)
	cp node_modules/axe-core/axe.min.js $@

$(CATALOG): webapp/translations/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile -d webapp/translations

db: setup
	$(FLASK) db upgrade
	$(FLASK) seed-demo

# Back to a fresh demo: the SQLite database in instance/ is deleted and seeded again (the secret
# key stays, so nothing else changes). Stop the server first (Ctrl+C where `make run` runs).
reset-demo: setup
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: reset-demo only resets the SQLite demo in instance/"; exit 1; fi
	rm -f instance/linli.sqlite instance/linli.sqlite-wal instance/linli.sqlite-shm
	$(MAKE) --no-print-directory db

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: setup chromium $(AXE)
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "== suite on SQLite, in-process jobs =="
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-postgres:
	@echo "== suite on PostgreSQL, RQ on Redis =="
	$(BIN)/python tools/pg_testdb.py $(PG_URL)
	env -u DATABASE_URL TEST_DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS) $(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench.run_all

# The load test (locust, the `load` extra): a simulated field day against the production stack.
load: setup
	$(BIN)/pip install -q -e '.[load]'
	$(BIN)/python -m bench.load --profile

prod: setup
	@test -n "$$DATABASE_URL" -a -n "$$REDIS_URL" -a -n "$$SECRET_KEY" || { echo "set DATABASE_URL, REDIS_URL and SECRET_KEY"; exit 2; }
	$(FLASK) db upgrade
	$(FLASK) linli-keys
	$(BIN)/honcho start -f Procfile -c worker=$(WORKERS)

worker: setup
	REDIS_URL=$${REDIS_URL:-$(REDIS)} $(FLASK) linli-worker

# Extract UI text into the catalogue (then translate webapp/translations/en/...po).
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o webapp/translations/messages.pot .
	$(BIN)/pybabel -q update -i webapp/translations/messages.pot -d webapp/translations -l en

clean:
	rm -rf $(VENV) node_modules $(dir $(HTMX)) $(dir $(AXE)) instance
