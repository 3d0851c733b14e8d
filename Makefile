# The README's commands. `make run` and `make test` work on a fresh machine with only Python 3.11.
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= default
PYTEST_ARGS ?=

.PHONY: run test install migrate seed lint format worker bench schema clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: migrate
	$(PY) manage.py seed_demo
	@echo ""
	@echo "Admin:     http://$(HOST):$(PORT)/admin/   (admin/admin, marketing/marketing, care/care)"
	@echo "API docs:  http://$(HOST):$(PORT)/api/docs/"
	@echo "Till API credentials: $(PY) manage.py seed_demo --json"
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file openapi.yaml

worker: install
	$(VENV)/bin/celery -A loyalty_site worker -B --loglevel=INFO

# Benchmarks (README: Performance): needs DATABASE_URL on PostgreSQL; with REDIS_URL the jobs run
# on a real Celery worker. SCALE=small|medium|default, ONLY=name,name to pick scenarios.
bench: migrate
	$(PY) -m bench --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
