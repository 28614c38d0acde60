"""The Weinberg demo's design against a dense scan: where the EIG about sin²θ_W peaks over √s in
60–130 GeV (config/weinberg.yaml: prior width 0.01, fixed luminosity inference.luminosity, 5000
simulated events per evaluation), and where the optimiser's 12 evaluations put it (docs/design.md).

A scan every ``--step`` GeV over the range plus the Z pole (91.1876 GeV), then ``goldmine design``'s
loop on the same configuration (4 Sobol points, 4 rounds of 2, ``--workers`` processes). Prints the
scan's best √s and EIG, the recommendation, its EIG on the surrogate, the scan's EIG at its nearest
point, and the times; with ``--output`` the numbers (and the scan) as JSON.

Usage: python benchmarks/bench_weinberg_design.py [--step 1.0] [--workers 2] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from goldmine import config as config_module
from goldmine import stages
from goldmine.experiment.loop import evaluate_setting, run_design

REPOSITORY = Path(__file__).resolve().parents[1]
Z_MASS = 91.1876


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path)
    arguments = parser.parse_args()
    config = config_module.load(REPOSITORY / "config" / "config.yaml", REPOSITORY / "config" / "weinberg.yaml")
    low, high = config["design"]["range"]
    settings = np.union1d(np.arange(low, high + arguments.step / 2, arguments.step), [Z_MASS])
    with tempfile.TemporaryDirectory() as directory:
        setup = Path(directory) / "setup.h5"
        stages.setup(config, setup)
        start = time.perf_counter()
        scan = [evaluate_setting(config, setup, float(value), 1000 + k, directory) for k, value in enumerate(settings)]
        scan_seconds = time.perf_counter() - start
        start = time.perf_counter()
        document = run_design(config, setup, workers=arguments.workers)
        design_seconds = time.perf_counter() - start
    best = max(scan, key=lambda entry: entry["eig"])
    recommendation = document["recommendation"]
    nearest = min(scan, key=lambda entry: abs(entry["setting"] - recommendation["setting"]))
    results = {
        "scan_points": len(scan), "scan_best_setting": best["setting"], "scan_best_eig": best["eig"],
        "scan_best_eig_error": best["eig_error"], "evaluations": len(document["history"]),
        "recommended_setting": recommendation["setting"], "recommended_eig": recommendation["eig"],
        "recommended_eig_std": recommendation["eig_std"], "scan_eig_nearest_recommended": nearest["eig"],
        "scan_seconds": scan_seconds, "design_seconds": design_seconds,
        "scan": [[entry["setting"], entry["eig"], entry["eig_error"]] for entry in scan],
    }
    print(f"scan ({len(scan)} points, {scan_seconds:.0f} s): best √s = {best['setting']:.2f} GeV, EIG "
          f"{best['eig']:.4f} ± {best['eig_error']:.4f}; design ({len(document['history'])} evaluations, "
          f"{design_seconds:.0f} s): recommended {recommendation['setting']:.2f} GeV, EIG "
          f"{recommendation['eig']:.4f} ± {recommendation['eig_std']:.4f} (surrogate), scan's EIG at "
          f"{nearest['setting']:.2f} GeV: {nearest['eig']:.4f} ± {nearest['eig_error']:.4f}")
    for value in (60.0, 80.0, 85.0, 89.0, 91.0, Z_MASS, 93.0, 100.0, 130.0):
        entry = min(scan, key=lambda e: abs(e["setting"] - value))
        print(f"  EIG({entry['setting']:.2f} GeV) = {entry['eig']:.4f} ± {entry['eig_error']:.4f}")
    if arguments.output:
        arguments.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
