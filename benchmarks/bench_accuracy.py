"""Accuracy of every estimator against the exact likelihood of ee_mumu (cf. arXiv:1805.00020, fig. 6).

For each number N of training events, generates N + N/4 events of the default analysis
(the last fifth is the test set), mines N samples per family, trains every method and
reports on the fixed test events:
- the mean squared error of log r̂(x|θ₀, SM) against the exact log r, averaged over 50 θ₀
  drawn from the prior, relative to the variance of the exact log r (ratio and density methods),
  or of t̂(x|SM) against the exact score (local-score methods);
- each method's expected 68% CL interval (Asimov SM, L = 500 pb⁻¹) against the exact one.

Usage:
    python benchmarks/bench_accuracy.py [--sizes 10000 100000 1000000] [--methods ...] [--output docs/accuracy.md]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from goldmine import config as config_module
from goldmine import stages
from goldmine.inference.analysis import run_inference
from goldmine.io import events
from goldmine.ml import METHODS, sample_of

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_METHODS = ["sally", "sallino", "carl", "rolr", "rascal", "alice", "alices", "cascal", "morphing_alices",
                   "nde", "scandal"]


def run_size(n_train: int, methods: list[str], directory: Path) -> dict:
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    n_total = n_train + n_train // 4
    chunks = max(1, n_total // 250_000)
    config["generation"].update(chunks=chunks, events_per_chunk=n_total // chunks)
    config["mining"].update(test_fraction=0.2, samples={"local_score": n_train, "ratio": n_train})
    config["training"]["methods"] = methods
    config["inference"]["grid_points"] = 31
    config = config_module.validate(config)
    setup = directory / "setup.h5"
    stages.setup(config, setup)
    detected = []
    for chunk in range(chunks):
        stages.generate(config, setup, chunk, directory / f"{chunk}.lhe.gz")
        detected.append(directory / f"{chunk}.h5")
        stages.detect(config, setup, directory / f"{chunk}.lhe.gz", chunk, detected[-1])
    events.merge(detected, directory / "events.h5")
    outputs = [directory / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    paths = stages.mine(config, directory / "events.h5", *outputs)
    models, seconds = {}, {}
    for method in methods:
        models[method] = [directory / method / "0.pt"]
        start = time.perf_counter()
        stages.train(config, method, paths[sample_of(method)], setup, models[method][0], progress=False)
        seconds[method] = time.perf_counter() - start
        print(f"  N={n_train:>8} {method:<16} trained in {seconds[method]:6.1f} s", flush=True)
    results = run_inference(config, paths["test"], models, progress=False)
    return {"results": results, "training_seconds": seconds, "test_events": events.count(paths["test"])}


def table(all_results: dict[int, dict], methods: list[str]) -> str:
    sizes = sorted(all_results)
    lines = ["| method | " + " | ".join(f"MSE/Var, N={n:.0e}" for n in sizes) + " | "
             + " | ".join(f"68% width / exact, N={n:.0e} (c_vv, c_aa)" for n in sizes) + " |",
             "|---" * (1 + 2 * len(sizes)) + "|"]
    for method in methods + ["histogram"]:
        cells = []
        for n in sizes:
            validation = all_results[n]["results"]["validation"]
            if f"{method}_log_r_mse" in validation:
                cells.append(f"{validation[f'{method}_log_r_mse'] / validation['exact_log_r_variance']:.2e}")
            elif f"{method}_score_mse" in validation:
                ratios = np.array(validation[f"{method}_score_mse"]) / np.array(validation["exact_score_variance"])
                cells.append("score " + ", ".join(f"{r:.1e}" for r in ratios))
            else:
                cells.append("—")
        for n in sizes:
            against = all_results[n]["results"]["validation"].get("intervals_against_exact", {}).get(method)
            cells.append(", ".join(_ratio_cell(against["68"][p]) for p in ("c_vv", "c_aa")) if against else "—")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratio_cell(numbers: dict) -> str:
    """A width ratio with its bootstrap error bar; "open" where an end is."""
    if numbers["width_ratio"] is None:
        return "open"
    error = numbers["width_ratio_error"]
    return f"{numbers['width_ratio']:.3f}" + ("" if error is None else f" ± {error:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=DEFAULT_METHODS, choices=METHODS)
    parser.add_argument("--output", type=Path, default=REPOSITORY / "docs" / "accuracy.md")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    all_results = {}
    for n in arguments.sizes:
        with tempfile.TemporaryDirectory() as directory:
            all_results[n] = run_size(n, arguments.methods, Path(directory))
        text = table(all_results, arguments.methods)
        print(text, flush=True)
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        exact = {n: all_results[n]["results"]["limits"]["methods"]["exact"]["intervals"]["68"] for n in all_results}
        arguments.output.write_text(
            "# Accuracy of the estimators against the exact likelihood\n\n"
            "ee_mumu at √s = 200 GeV with the default detector (config/config.yaml); N training events,\n"
            "N/4 test events. MSE/Var: mean squared error of log r̂(x|θ₀, SM) over the test events and 50\n"
            "θ₀ from the prior, divided by the variance of the exact log r (for SALLY and SALLINO: of the\n"
            "score t̂(x|SM) per component, divided by the variance of the exact score). Interval: width of\n"
            "the expected 68% CL interval (Asimov SM, L = 500 pb⁻¹, profiled) over the exact one.\n"
            "Training: default networks and settings, one thread, CPU.\n\n"
            f"Produced by `python benchmarks/bench_accuracy.py --sizes {' '.join(map(str, arguments.sizes))}`.\n\n"
            + text + "\n\nExact 68% CL intervals: " + json.dumps(exact) + "\n\nTraining seconds: "
            + json.dumps({n: {m: round(s, 1) for m, s in r["training_seconds"].items()}
                          for n, r in all_results.items()}) + "\n"
        )


if __name__ == "__main__":
    sys.exit(main())
