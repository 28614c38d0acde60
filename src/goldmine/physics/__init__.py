"""The physics below every stage: ``parameters`` (the parameter space and its benchmarks),
``morphing`` (weights at any θ from weights at the benchmarks), ``finite_differences`` (the
score at a reference point, for parameters that do not morph), ``processes`` (embedded
generators' matrix elements), ``objects`` (the reconstructed-event record) and ``ww_angles``
(the five LEP angles of ℓνqq̄ events)."""
