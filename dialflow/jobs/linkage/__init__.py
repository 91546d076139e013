"""Probabilistic record linkage (Fellegi-Sunter) for dedupe: blocking, comparison levels, the
model fitted by EM on pattern counts, and the one-frame reference pipeline. Not yet a
`dedupe.method`: the Dask wiring and the configuration follow (README, "The dedupe job")."""
