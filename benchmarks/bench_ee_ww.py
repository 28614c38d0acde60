"""Benchmark of the embedded ee → WW → ℓνqq̄ generator: events per second and sampling efficiency.

Run as ``python benchmarks/bench_ee_ww.py [--events N] [--sqrt-s 189 500]``. For each energy it
times the cross-section quadrature (once per process), the unweighted sampling alone (with the
accept–reject efficiency of the envelope), and :func:`goldmine.generation.generate` with the ten
morphing benchmarks of (Δg₁ᶻ, Δκ_γ, λ_γ), which adds one amplitude evaluation per event.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from goldmine.generation import generate
from goldmine.physics.parameters import build_parameter_space
from goldmine.physics.processes import EEWW


def _efficiency(process: EEWW, n: int = 100_000) -> float:
    """Accepted fraction of envelope candidates: mean(f/g) / max(f/g)."""
    points, envelope = process._candidates(n, np.random.default_rng(0))
    weights = process.phase_space_density(points, np.zeros(3)) / envelope
    return float(weights.mean() / weights.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--sqrt-s", type=float, nargs="+", default=[189.0, 500.0])
    arguments = parser.parse_args()
    for sqrt_s in arguments.sqrt_s:
        process = EEWW(sqrt_s=sqrt_s)
        start = time.perf_counter()
        sigma = float(process.cross_section(np.zeros(3)))
        quadrature = time.perf_counter() - start

        start = time.perf_counter()
        process.sample_phase_space(arguments.events, np.zeros(3), np.random.default_rng(1))
        sampling = arguments.events / (time.perf_counter() - start)

        space = build_parameter_space(process.parameter_names, [(-0.2, 0.2)] * 3, process.max_powers,
                                      process.max_overall_power, n_trials=50)
        start = time.perf_counter()
        generate(process, space, arguments.events, seed=2)
        generation = arguments.events / (time.perf_counter() - start)
        print(f"sqrt_s = {sqrt_s:6.1f} GeV: sigma(lvqq) = {sigma:7.3f} pb (quadrature {quadrature:4.1f} s), "
              f"envelope efficiency {_efficiency(process):5.1%}, sampling {sampling:8.0f} events/s, "
              f"generate with {len(space.benchmarks)} benchmark weights {generation:8.0f} events/s")


if __name__ == "__main__":
    main()
