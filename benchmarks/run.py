"""Run every benchmark of this folder (``make bench``)."""

from benchmarks import stats_bench

if __name__ == "__main__":
    stats_bench.main()
