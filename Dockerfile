# Datapedia — multi-stage image: build a wheel with its dependencies, run as a non-root user.
# The database comes from the environment (DATAPEDIA_DATABASE_URL; by default SQLite on the
# volume /srv/datapedia/var); the real source files can be mounted at /data and the official
# DCAT-AP shapes at /shacl.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
# PYTHONPATH puts the copied project first, so that the code finds alembic.ini, migrations/
# and seeds/ beside it (the wheel provides the dependencies and the `datapedia` script).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/datapedia \
    DATAPEDIA_SOURCE_DIR=/data \
    DATAPEDIA_SHACL_DIR=/shacl \
    DATAPEDIA_DATABASE_URL=sqlite:////srv/datapedia/var/datapedia.sqlite3 \
    DATAPEDIA_WORKERS=1 \
    DATAPEDIA_LOG_FORMAT=json \
    DATAPEDIA_SEED_ON_START=0
RUN useradd --create-home --uid 10001 datapedia
WORKDIR /srv/datapedia
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY alembic.ini ./
COPY migrations ./migrations
COPY seeds ./seeds
COPY schemas ./schemas
COPY app ./app
COPY docker/entrypoint.sh /usr/local/bin/datapedia-entrypoint
RUN mkdir -p var && chown datapedia var
# The SQLite default lives here: a volume, so data outlives the container.
VOLUME ["/srv/datapedia/var"]
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').status == 200 else 1)"]
# Migrate (and seed when DATAPEDIA_SEED_ON_START=1), then serve DATAPEDIA_WORKERS workers.
ENTRYPOINT ["datapedia-entrypoint"]
CMD ["datapedia", "serve", "--host", "0.0.0.0", "--port", "8000"]
