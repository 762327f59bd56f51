#!/bin/sh
# Datapedia's container entrypoint: migrate, seed when asked (idempotent: unchanged source
# files are skipped), then run the command (by default the server). Replicas may start at
# once on one PostgreSQL: `db upgrade` and `seed` hold an advisory lock, so one migrates and
# seeds while the others wait and then find nothing to do. `exec` makes the server PID 1:
# `docker stop` (SIGTERM) lets requests in flight finish (DATAPEDIA_GRACEFUL_SHUTDOWN_SECONDS,
# keep it below the stop timeout) and the container exits 0.
set -eu

datapedia db upgrade

if [ "${DATAPEDIA_SEED_ON_START:-0}" = "1" ]; then
    if [ -d "${DATAPEDIA_SOURCE_DIR:-/data}/geo" ]; then
        datapedia seed
    else
        echo "DATAPEDIA_SEED_ON_START=1 but ${DATAPEDIA_SOURCE_DIR:-/data}/geo is missing:" \
             "mount the source files there (-v /path/to/data:/data:ro); not seeding" >&2
    fi
fi

exec "$@"
