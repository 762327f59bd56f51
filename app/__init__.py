"""Datapedia: open-data catalogue and statistics API for the Flemish centre cities."""

import os

# The only linear algebra here is the disclosure audit's (app.stats.disclosure): matrices of a
# few hundred rows, which one thread solves in milliseconds and which OpenBLAS's threads made
# take a tenth of a second each, spinning against the server's own threads and processes.
# Read when numpy is first imported, so set before anything imports it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
