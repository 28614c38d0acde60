"""How many θ a learned ratio's grid scan evaluates, and what its interpolation costs in accuracy.

For each model, E_ref[log r̂(x|θ, θ_ref)] is computed on every point of the analysis grid (on
the first ``--events`` test events), and :func:`goldmine.inference.grid.refined_scan` is run
on the resulting q: the number of θ it evaluates, whether it kept its checked cubic
interpolation or fell back to the exact region, and the largest difference of its interval
ends (68% and 95% CL) from those of the full scan.

Usage:
    python benchmarks/bench_scan.py CONFIG TEST.h5 MODEL.pt [MODEL.pt ...] [--events 10000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from goldmine import config as config_module
from goldmine.inference import methods
from goldmine.inference.grid import analysis_grid, refined_scan
from goldmine.io import events
from goldmine.ml.estimators import mean_log_ratio
from goldmine.ml.models import load_model


def _ends(result: methods.MethodResult) -> np.ndarray:
    return np.array([[np.nan if i.low is None else i.low, np.nan if i.high is None else i.high]
                     for label in methods.CONFIDENCE_LEVELS for i in result.intervals[label]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("test")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--events", type=int, default=10_000, help="test events of the full scan")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    config = config_module.load(arguments.config)
    space = events.read_parameter_space(arguments.test)
    test = events.read(arguments.test)
    n = min(arguments.events, len(test.weights))
    # the first n events, weighted up to the whole sample's cross section
    morphed = space.morphing.morph(test.weights[:n] * len(test.weights) / n)
    grid = analysis_grid(config, space)
    luminosity = config["inference"]["luminosity"]
    print(f"{n} events, {grid.shape} grid, L = {luminosity} pb^-1")
    for path in arguments.models:
        model, metadata = load_model(path)
        start = time.process_time()
        mean = mean_log_ratio(model, test.observations[:n], morphed(grid.reference), grid.points)
        per_point = (time.process_time() - start) / len(grid.points)
        q = methods._unbinned_q(morphed, grid, mean, np.zeros(len(grid.names)), luminosity)
        q -= q.min()
        evaluated: list[int] = []

        def evaluate(indices: np.ndarray, q: np.ndarray = q, evaluated: list[int] = evaluated) -> np.ndarray:
            evaluated.extend(indices)
            return q[indices]

        scan = refined_scan(evaluate, grid, methods.EXACT_BELOW)
        difference = np.nanmax(np.abs(_ends(methods.MethodResult.from_scan(grid, scan))
                                      - _ends(methods.MethodResult.from_q(grid, q))))
        kept = "interpolation" if scan.exact_below is None else "exact region"
        print(f"{metadata['method']:>8}: {len(set(evaluated))} of {len(q)} θ evaluated ({kept}), "
              f"largest end difference {difference:.1e}; {per_point:.2f} CPU s per θ on {n} events")


if __name__ == "__main__":
    main()
