# The README's two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_WORKERS ?= 2

export FLASK_APP := assess:create_app

.PHONY: demo test install lint bench translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The demo's passwords are published, so a second factor would protect nothing there:
# demo logins go straight in. Production keeps MFA on (ASSESS_MFA_REQUIRED defaults to true).
demo: export ASSESS_MFA_REQUIRED := false
demo: $(STAMP)
	$(BIN)/assess db upgrade
	$(BIN)/assess demo-data --if-empty
	@echo "Serving on http://127.0.0.1:5000 (Ctrl-C stops)"
	$(BIN)/assess run --host 127.0.0.1 --port 5000

# The suite runs in two processes (tests sharing Redis keep apart by key prefix, not by
# xdist groups); the fault tests restart PostgreSQL and load the machine, so they run
# afterwards on their own.
test: $(STAMP)
	bash .ci/services
	$(BIN)/ruff check .
	$(BIN)/python -m tests.security.pip_audit
	. ./.ci/env && $(BIN)/pytest -q -n $(TEST_WORKERS) -m "not faults"
	. ./.ci/env && $(BIN)/pytest -q -m faults

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	bash .ci/services
	. ./.ci/env && $(BIN)/python benchmarks/run.py

translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o assess/translations/messages.pot .
	$(BIN)/pybabel update -i assess/translations/messages.pot -d assess/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d assess/translations

clean:
	rm -rf $(VENV) instance .pytest_cache
