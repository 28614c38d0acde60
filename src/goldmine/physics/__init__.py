"""The physics below every stage: ``parameters`` (the parameter space and its benchmarks),
``morphing`` (weights at any θ from weights at the benchmarks), ``processes`` (embedded
generators' matrix elements), ``objects`` (the reconstructed-event record) and
``ww_angles`` (the five LEP angles of ℓνqq̄ events)."""
