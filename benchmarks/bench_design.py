"""Experiment design against a dense scan: where the EIG about the contact terms peaks over √s,
and how many evaluations the Bayesian optimiser needs to find it (docs/design.md).

For each case — the range 20–250 GeV at fixed luminosity (500 pb⁻¹, the default analysis's) and
at fixed event count (10⁴ selected events), and 60–90 GeV at fixed luminosity (below the Z pole,
where the EIG has an interior maximum) — a scan of ``--scan`` settings evenly over the range and
``goldmine design``'s loop (4 Sobol points, then rounds of 2, ``--workers`` processes) on the same
analysis with ``--events`` simulated events per evaluation. Prints, per case: the scan's best √s
and EIG, the optimiser's recommendation, its EIG on the surrogate, the number of evaluations,
and the distance between the two in GeV and in the scan's MC errors; with ``--output`` the
numbers as JSON. Then the EIG at √s = 79, 88, 91.19 (the Z pole), 95 and 114 GeV with both
budgets, and the correlation F₁₂/√(F₁₁F₂₂) of c_vv and c_aa there: the structure around the Z.

Usage: python benchmarks/bench_design.py [--scan 40] [--events 5000] [--rounds 4] [--workers 2] [--output FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from goldmine import config as config_module
from goldmine import stages
from goldmine.experiment.loop import evaluate_setting, run_design

REPOSITORY = Path(__file__).resolve().parents[1]
CASES = {
    "20-250 GeV, fixed luminosity": {"range": [20.0, 250.0], "budget": "luminosity"},
    "20-250 GeV, fixed events": {"range": [20.0, 250.0], "budget": "events", "budget_events": 10000},
    "60-90 GeV, fixed luminosity": {"range": [60.0, 90.0], "budget": "luminosity"},
}


def _config(design: dict, arguments: argparse.Namespace) -> dict:
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["design"] = dict(design, events=arguments.events, initial_points=4, batch_size=2, rounds=arguments.rounds,
                            seed=11000)
    return config_module.validate(config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scan", type=int, default=40)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as directory:
        setup = Path(directory) / "setup.h5"
        stages.setup(_config(CASES["20-250 GeV, fixed luminosity"], arguments), setup)
        for name, design in CASES.items():
            config = _config(design, arguments)
            start = time.perf_counter()
            scan = [evaluate_setting(config, setup, float(value), 1000 + k, directory)
                    for k, value in enumerate(np.linspace(*design["range"], arguments.scan))]
            scan_seconds = time.perf_counter() - start
            best = max(scan, key=lambda entry: entry["eig"])
            start = time.perf_counter()
            document = run_design(config, setup, workers=arguments.workers)
            design_seconds = time.perf_counter() - start
            recommendation = document["recommendation"]
            # The scan's EIG at the recommended setting (nearest scan point) against the scan's best.
            nearest = min(scan, key=lambda entry: abs(entry["setting"] - recommendation["setting"]))
            results[name] = {
                "scan_points": len(scan), "scan_best_setting": best["setting"], "scan_best_eig": best["eig"],
                "scan_best_eig_error": best["eig_error"], "evaluations": len(document["history"]),
                "recommended_setting": recommendation["setting"], "recommended_eig": recommendation["eig"],
                "recommended_eig_std": recommendation["eig_std"],
                "setting_difference": recommendation["setting"] - best["setting"],
                "eig_shortfall_in_errors": (best["eig"] - nearest["eig"]) / best["eig_error"],
                "scan_seconds": scan_seconds, "design_seconds": design_seconds,
                "scan": [[entry["setting"], entry["eig"], entry["eig_error"]] for entry in scan],
            }
            row = results[name]
            print(f"{name}: scan ({len(scan)} points, {scan_seconds:.0f} s) best √s = {best['setting']:.1f} GeV, "
                  f"EIG {best['eig']:.4f} ± {best['eig_error']:.4f}; design ({row['evaluations']} evaluations, "
                  f"{design_seconds:.0f} s) recommends {recommendation['setting']:.1f} GeV, EIG "
                  f"{recommendation['eig']:.4f} ± {recommendation['eig_std']:.4f}; difference "
                  f"{row['setting_difference']:+.1f} GeV, shortfall {row['eig_shortfall_in_errors']:.1f} errors",
                  flush=True)
        for budget, extra in (("luminosity", {}), ("events", {"budget_events": 10000})):
            config = _config({"range": [20.0, 250.0], "budget": budget, **extra}, arguments)
            points = {value: evaluate_setting(config, setup, value, 2000 + k, directory)
                      for k, value in enumerate((79.0, 88.0, 91.19, 95.0, 114.0))}
            correlations = {value: entry["fisher"][0][1] / np.sqrt(entry["fisher"][0][0] * entry["fisher"][1][1])
                            for value, entry in points.items()}
            results[f"Z region, fixed {budget}"] = {str(value): [entry["eig"], entry["eig_error"], correlations[value]]
                                                    for value, entry in points.items()}
            print(f"Z region, fixed {budget}: " + ", ".join(f"EIG({value} GeV) = {entry['eig']:.4f} ± "
                                                           f"{entry['eig_error']:.4f} (correlation "
                                                           f"{correlations[value]:+.2f})"
                                                           for value, entry in points.items()), flush=True)
    if arguments.output:
        arguments.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
