"""The jobs: pure functions on one pandas partition, and one Dask wiring function per job."""
