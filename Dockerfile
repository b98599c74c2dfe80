# Production image: assets built in a Node stage, Python app run by gunicorn as a non-root user.
# Configure with the environment (see README.md): SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS, ...

FROM node:20-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend ./frontend
RUN npm run build

FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=signposting.settings \
    WEB_CONCURRENCY=2
WORKDIR /app
RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=app:app . .
COPY --from=assets --chown=app:app /build/node_modules/govuk-frontend/dist/govuk ./node_modules/govuk-frontend/dist/govuk
COPY --from=assets --chown=app:app /build/build ./build
# collectstatic reads no secrets; a throwaway key satisfies the settings module.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0 \
    && mkdir -p var && chown app:app var
USER app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, sys, urllib.request as u; r = u.Request('http://127.0.0.1:8000/healthz', headers={'Host': os.environ['ALLOWED_HOSTS'].split(',')[0]}); sys.exit(0 if u.urlopen(r, timeout=4).status == 200 else 1)"
# On PostgreSQL run the audit sealer from this image beside the web containers (one or more;
# one seals, the others wait): `python manage.py seal_audit --follow` (README.md).
# No gunicorn access log: its lines name the path, which may hold a child's public id. The
# app logs one JSON line a request instead (docs/operations/logging.md).
CMD ["sh", "-c", "exec gunicorn signposting.wsgi --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY} --forwarded-allow-ips=${FORWARDED_ALLOW_IPS:-127.0.0.1}"]
