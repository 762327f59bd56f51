"""Run every benchmark of this folder (``make bench``)."""

from benchmarks import ingest_bench, publish_bench, rdf_bench, stats_bench

if __name__ == "__main__":
    stats_bench.main()
    rdf_bench.main()
    ingest_bench.main()
    publish_bench.main()
