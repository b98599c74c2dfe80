# Two commands for a fresh machine: `make run` and `make test` (see README.md).
# Everything else here is what they are made of.

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
export DJANGO_SETTINGS_MODULE := signposting.settings

.PHONY: run test setup assets lint checks pytest serve demo clean cluster cluster-stop cluster-status

## run: set up, migrate, seed the demo once, serve on http://127.0.0.1:$(PORT) (8000) with gunicorn
## (on PostgreSQL with the audit sealer beside it; SQLite seals each event as it is recorded)
run: export SIGNPOSTING_DEMO ?= true
run: setup assets
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py seed_demo
	case "$${DATABASE_URL:-}" in postgres*|pgsql*|postgis*|psql*) \
		$(BIN)/python manage.py seal_audit --follow & sealer=$$!; \
		trap 'kill $$sealer 2>/dev/null' EXIT INT TERM;; \
	esac; \
	$(BIN)/gunicorn signposting.wsgi --bind 127.0.0.1:$(PORT) --workers $${WEB_CONCURRENCY:-2} \
		--forwarded-allow-ips=""

## test: set up, then lint, migration and deploy checks and the whole suite against DATABASE_URL
test: setup assets lint checks pytest

setup: $(BIN)/.installed node_modules/.installed

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	mkdir -p var
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

assets: build/static/css/app.css

build/static/css/app.css: frontend/app.scss node_modules/.installed
	npm run --silent build

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

checks:
	SECRET_KEY=makemigrations-check-only $(BIN)/python manage.py makemigrations --check --dry-run
	DEBUG=false SIGNPOSTING_DEMO=false SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') \
		ALLOWED_HOSTS=signposting.example SECURE_SSL_REDIRECT=true TRUSTED_PROXY_COUNT=1 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

PYTEST_WORKERS ?= 2
pytest:
	mkdir -p var/staticfiles
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## cluster: a PostgreSQL primary and synchronous standby under var/cluster/ (ports 5433, 5434);
## prints the DATABASE_URL to use (bench/cluster.py; docs/operations/database-cluster.md)
cluster: setup
	$(BIN)/python bench/cluster.py start

cluster-stop:
	$(BIN)/python bench/cluster.py stop

cluster-status:
	$(BIN)/python bench/cluster.py status

clean:
	rm -rf $(VENV) node_modules build var/staticfiles
