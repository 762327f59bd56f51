# Datapedia — multi-stage image: build a wheel with its dependencies, run as a non-root user.
# The database comes from the environment (DATAPEDIA_DATABASE_URL); the real source files can
# be mounted at /data (DATAPEDIA_SOURCE_DIR).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-cache-dir --upgrade pip \
 && pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim AS runtime
# PYTHONPATH puts the copied project first, so that the code finds alembic.ini, migrations/
# and seeds/ beside it (the wheel provides the dependencies and the `datapedia` script).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/datapedia \
    DATAPEDIA_SOURCE_DIR=/data \
    DATAPEDIA_DATABASE_URL=sqlite:////srv/datapedia/var/datapedia.sqlite3
RUN useradd --create-home --uid 10001 datapedia
WORKDIR /srv/datapedia
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY alembic.ini ./
COPY migrations ./migrations
COPY seeds ./seeds
COPY schemas ./schemas
COPY app ./app
RUN mkdir -p var && chown datapedia var
USER datapedia
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health').status == 200 else 1)"
# Migrations first, then serve. Seeding is a separate, explicit step (docker compose run).
CMD ["sh", "-c", "datapedia db upgrade && datapedia serve --host 0.0.0.0 --port 8000"]
