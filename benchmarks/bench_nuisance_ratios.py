"""A learned ratio profiled over a learned shape nuisance, against the exact likelihood profiled over the true one.

The default analysis (ee_mumu) with a 5% tilt of cos θ(μ⁻) as a shape systematic: generates
N + N/4 events, mines N samples, trains ALICES and the per-nuisance ratio network
(`goldmine train-nuisances`), and runs the inference twice, with and without the tilt. Reports
each method's 68% CL interval (Asimov SM, L = 500 pb⁻¹), the widening by the tilt, and the
profiled Fisher information's prediction of it, √((I_prof⁻¹)_ii / (I⁻¹)_ii) of the exact likelihood.

Usage:
    python benchmarks/bench_nuisance_ratios.py [--events 100000] [--grid-points 21] [--epochs 40]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from goldmine import config as config_module
from goldmine import stages
from goldmine.inference.analysis import run_inference
from goldmine.io import events

REPOSITORY = Path(__file__).resolve().parents[1]
TILT = {"tilt": {"observable": "cos_theta_mu_minus", "size": 0.05}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="training events (N)")
    parser.add_argument("--grid-points", type=int, default=21)
    parser.add_argument("--epochs", type=int, default=40, help="ALICES's epochs")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    n_total = arguments.events + arguments.events // 4
    config["generation"].update(chunks=1, events_per_chunk=n_total)
    config["mining"].update(test_fraction=0.2, samples={"local_score": arguments.events, "ratio": arguments.events})
    config["training"]["methods"] = ["alices"]
    config["training"]["ratio"]["epochs"] = arguments.epochs
    config["inference"]["grid_points"] = arguments.grid_points
    config["inference"]["systematics"]["tilts"] = TILT
    config = config_module.validate(config)
    seconds = {}
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        start = time.perf_counter()
        stages.setup(config, directory / "setup.h5")
        stages.generate(config, directory / "setup.h5", 0, directory / "0.lhe.gz")
        stages.detect(config, directory / "setup.h5", directory / "0.lhe.gz", 0, directory / "0.h5")
        events.merge([directory / "0.h5"], directory / "events.h5")
        outputs = [directory / f"{name}.h5" for name in ("local_score", "ratio", "test")]
        stages.mine(config, directory / "events.h5", *outputs)
        seconds["events"] = time.perf_counter() - start
        start = time.perf_counter()
        stages.train(config, "alices", directory / "ratio.h5", directory / "setup.h5", directory / "alices.pt",
                     progress=False)
        seconds["alices"] = time.perf_counter() - start
        start = time.perf_counter()
        stages.train_nuisances(config, directory / "events.h5", directory / "nuisances.pt", progress=False)
        seconds["nuisance_networks"] = time.perf_counter() - start
        models = {"alices": [directory / "alices.pt"]}
        start = time.perf_counter()
        profiled = run_inference(config, directory / "test.h5", models, nuisance_model=directory / "nuisances.pt")
        seconds["inference_profiled"] = time.perf_counter() - start
        without_config = copy.deepcopy(config)
        without_config["inference"]["systematics"]["tilts"] = {}
        without = run_inference(without_config, directory / "test.h5", models)
    names = profiled["limits"]["meta"]["parameters"]
    report: dict = {"events": arguments.events, "grid_points": arguments.grid_points, "seconds": seconds,
                    "nuisance_ratios": profiled["validation"]["nuisance_ratios"]}
    fisher = profiled["fisher"]["methods"]["exact"]
    expected = np.sqrt(np.diag(np.linalg.inv(fisher["profiled"])) / np.diag(np.linalg.inv(fisher["matrix"])))
    for method in ("exact", "alices"):
        entry = {}
        for i, name in enumerate(names):
            with_tilt = profiled["limits"]["methods"][method]["intervals"]["68"][name]
            plain = without["limits"]["methods"][method]["intervals"]["68"][name]
            ends = [with_tilt["low"], with_tilt["high"], plain["low"], plain["high"]]
            # an interval open at the grid's edge has no width
            widening = None if None in ends else (ends[1] - ends[0]) / (ends[3] - ends[2])
            entry[name] = {"profiled": ends[:2], "without": ends[2:], "widening": widening,
                           "fisher_widening": float(expected[i])}
        report[method] = entry
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
