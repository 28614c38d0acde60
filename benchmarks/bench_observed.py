"""A hidden θ recovered from pseudo-data: how often the exact likelihood's observed intervals contain it.

The default analysis (ee_mumu, L = 500 pb⁻¹) with 2 × 60k generated events (about what
tests/test_observed.py uses): the first 30k detected events are the pool, and each of
``--data-sets`` pseudo-data sets has N ~ Poisson(Lσ(θ)) events drawn from it ∝ w(θ)
(:func:`goldmine.inference.observed.draw_pseudo_data`, what ``goldmine pseudodata`` writes). For
each set the exact likelihood's observed q on a 21 × 21 grid of ±0.12 around θ gives the best
fit and the 68% and 95% CL intervals (:func:`goldmine.inference.observed.unbinned`). Prints, per θ,
the fraction of sets whose interval contains θ with its binomial error, the mean and spread
of the best fit, and the time per data set.

Usage:
    python benchmarks/bench_observed.py [--data-sets 1000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import goldmine
from goldmine.detection.detector import MuonDetector
from goldmine.inference import coverage, methods, observed
from goldmine.inference.exact import ExactLikelihood
from goldmine.inference.grid import Grid
from goldmine.io import events
from goldmine.physics.processes import get_process

REPOSITORY = Path(__file__).resolve().parents[1]
POOL_EVENTS = 30_000
TRUE_POINTS = [np.array([0.0, 0.0]), np.array([0.04, -0.05]), np.array([-0.06, 0.08])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-sets", type=int, default=1000)
    args = parser.parse_args()
    config = goldmine.load_config(REPOSITORY / "config" / "config.yaml", generation={"chunks": 2,
                                                                                      "events_per_chunk": 60_000},
                                  morphing={"n_trials": 200})
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        goldmine.setup(config, directory / "setup.h5")
        chunks = []
        for chunk in range(2):
            goldmine.generate(config, directory / "setup.h5", directory / f"{chunk}.lhe.gz", chunk)
            chunks.append(directory / f"{chunk}.h5")
            goldmine.detect(config, directory / "setup.h5", directory / f"{chunk}.lhe.gz", chunks[-1], chunk)
        goldmine.merge(chunks, directory / "events.h5")
        space = events.read_parameter_space(directory / "events.h5")
        names = list(events.read_observable_names(directory / "events.h5"))
        pool = events.read(directory / "events.h5", 0, POOL_EVENTS)
        morphed = space.morphing.morph(pool.weights * events.count(directory / "events.h5") / POOL_EVENTS)
    luminosity = config["inference"]["luminosity"]
    exact = ExactLikelihood(get_process(config["process"]), MuonDetector.from_config(config["detector"]), names)
    integrals = exact.angular_integrals(pool.observations)
    rng = np.random.default_rng(2026)
    print(f"{POOL_EVENTS} pool events, L = {luminosity:g} pb⁻¹, {args.data_sets} pseudo-data sets per θ")
    print("| θ_true (c_vv, c_aa) | ⟨N⟩ | parameter | 68% CL contains | 95% CL contains | best fit: mean ± spread |")
    print("|---|---|---|---|---|---|")
    for truth in TRUE_POINTS:
        grid = Grid(space.names, tuple(np.linspace(t - 0.12, t + 0.12, 21) for t in truth), space.benchmark("sm"))
        table = coverage.log_ratio_table(
            lambda thetas, grid=grid: exact.log_likelihood_ratio(pool.observations, thetas, grid.reference,
                                                                 integrals),
            grid.points, POOL_EVENTS)
        covered = {label: np.zeros(2) for label in methods.CONFIDENCE_LEVELS}
        fits, sizes = [], []
        start = time.perf_counter()
        for _ in range(args.data_sets):
            counts = observed.draw_pseudo_data(morphed(truth), luminosity, rng)
            seen = counts > 0
            result = observed.unbinned(table[seen], counts[seen], morphed, grid, luminosity)
            for label, per_parameter in result.intervals.items():
                covered[label] += [interval.contains(t) for interval, t in zip(per_parameter, truth)]
            fits.append(result.best_fit)
            sizes.append(counts.sum())
        seconds = (time.perf_counter() - start) / args.data_sets
        fits = np.array(fits)
        theta = "(" + ", ".join(f"{t:+.2f}" for t in truth) + ")"
        for k, name in enumerate(space.names):
            cells = []
            for label, level in methods.CONFIDENCE_LEVELS.items():
                fraction = covered[label][k] / args.data_sets
                cells.append(f"{fraction:.3f} ± {np.sqrt(level * (1 - level) / args.data_sets):.3f}")
            print(f"| {theta} | {np.mean(sizes):.0f} | {name} | {' | '.join(cells)} | "
                  f"{fits[:, k].mean():+.4f} ± {fits[:, k].std():.4f} |")
        print(f"({seconds * 1e3:.1f} ms per data set: q on {len(grid.points)} points, best fit and intervals)")


if __name__ == "__main__":
    main()
