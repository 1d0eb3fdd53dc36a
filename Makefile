# Incident Portal: `make run` starts it (web and worker) with demo data, `make test` runs the whole suite.
# Both set up .venv on a fresh machine (Python 3.11+).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST := $(PY) -m pytest -c tests/pytest.ini --rootdir .
PG_DB  := incident_portal_test_$(shell date +%s)

.PHONY: run test test-sqlite test-postgres venv dev-venv node-tools bench clean image image-tar

$(VENV)/.runtime: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.runtime
dev-venv: $(VENV)/.dev

# The Node tools of the suite (package.json: axe-core, the OpenAPI linters), exactly as the
# lock file pins them. Without npm the tests that need them skip, and say so (fail under CI).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

node-tools:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory node_modules/.installed; \
	else echo "npm not found: the tests that need Node tools will skip."; fi

# The Procfile's web server and worker run under honcho, which gives the web its PORT and
# stops both on Ctrl-C. --env /dev/null: the app reads .env itself (python-dotenv, where the
# environment wins); honcho's own reading would put .env above the environment
# (`MAIL_SERVER=... make run`) and a PORT in it above --port.
run: venv
	$(PY) manage.py init-db
	$(PY) manage.py seed --if-empty
	@echo ""
	@echo "Incident Portal on http://$(HOST):$(PORT), with the worker (mail, webhooks, SLA checks,"
	@echo "IMAP polling when MAIL_INBOX_URL is set). Ctrl-C stops both."
	@echo "Demo logins (email / password):"
	@echo "  admin       ada@example.com   admin-demo-2026"
	@echo "  technician  tom@example.com   tech-demo-2026"
	@echo "  reporter    rita@example.com  reporter-demo-2026"
	@echo ""
	HOST=$(HOST) WEB_CONCURRENCY=2 PATH="$(abspath $(VENV))/bin:$$PATH" \
		$(VENV)/bin/honcho start --env /dev/null --port $(PORT)

# The whole suite on SQLite and, at the same time, on a fresh PostgreSQL database (they share
# no state: each has its own database and ports; one pass a core keeps make test under 20
# minutes on 2 cores). The container tests run in the SQLite pass only: the image they build
# keeps its own database in its volume. -O prints each pass's output whole, when it ends.
test: dev-venv node-tools
	$(MAKE) --no-print-directory -j2 -O test-sqlite test-postgres

test-sqlite: dev-venv node-tools
	$(PYTEST)

# Without a PostgreSQL server the pass is skipped, and says so, except under CI.
test-postgres: dev-venv node-tools
	@if $(PY) -m tests.postgres ping; then \
		url=$$($(PY) -m tests.postgres create $(PG_DB)) || exit 1; \
		echo "PostgreSQL pass on $$url"; \
		TEST_DATABASE_URL=$$url $(PYTEST) -m "not browser and not container"; rc=$$?; \
		$(PY) -m tests.postgres drop $(PG_DB); exit $$rc; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is not reachable: CI needs it for the PostgreSQL pass."; exit 1; \
	else \
		echo "PostgreSQL pass SKIPPED: no server answers on 127.0.0.1:5432."; \
	fi

# The benchmark of issue 7 (bench/run.py): 100,000 incidents, the app under gunicorn, wrk;
# SQLite, then PostgreSQL when a server answers. Options: make bench BENCH_ARGS="--db sqlite --duration 30"
bench: venv
	$(PY) bench/run.py $(BENCH_ARGS)

# The Docker image, and the same image as a file to carry (docker load -i incident-portal.tar).
# The engine is docker when its daemon answers, else podman (CONTAINER_ENGINE=docker|podman
# chooses); portal/deploy/engine.sh adds the flags podman needs. PYTHON_IMAGE is the base:
# the official image by default; CI passes the Debian stand-in of portal/deploy/offline-base.sh.
# The name is spelled out in full so that a tar saved by podman loads into docker as
# incident-portal:latest, the name docker-compose.yml uses (docker shortens it).
IMAGE        ?= docker.io/library/incident-portal:latest
IMAGE_TAR    ?= incident-portal.tar
PYTHON_IMAGE ?= python:3.12-slim
ENGINE       := CONTAINER_ENGINE=$(CONTAINER_ENGINE) portal/deploy/engine.sh

image:
	$(ENGINE) build --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) -t $(IMAGE) .

image-tar: image
	rm -f $(IMAGE_TAR)
	$(ENGINE) save -o $(IMAGE_TAR) $(IMAGE)

clean:
	rm -rf $(VENV) .pytest_cache node_modules
