"""The second exact benchmark: parton-level ee → WW → ℓνqq̄ in three parameters (docs/ee_ww.md).

Run as ``python benchmarks/bench_ee_ww_exact.py [--directory DIR] [--events-per-chunk N]
[--epochs E]``. It runs the stages of ``config/ee_ww_parton.yaml`` from Python (setup, generate,
detect at parton level, merge, mine, train SALLY, ALICES and RASCAL, infer with the exact
likelihood) and prints, per method, the Fisher information relative to the exact likelihood's
(the eigenvalues of I_exact⁻¹ I_method, and each diagonal element's ratio) and the 68% and
95% CL interval ends and widths against the exact ones with their bootstrap error bars
(``validation.intervals_against_exact``), and the wall time of each stage.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from goldmine import api
from goldmine.io import events

REPOSITORY = Path(__file__).resolve().parents[1]


def _timed(label: str, times: dict[str, float], function, *arguments, **keywords):
    start = time.perf_counter()
    result = function(*arguments, **keywords)
    times[label] = times.get(label, 0.0) + time.perf_counter() - start
    return result


def run(directory: Path, events_per_chunk: int, epochs: int) -> tuple[dict, dict[str, float], float]:
    config = api.load_config(REPOSITORY / "config" / "ee_ww_parton.yaml")
    config["generation"]["events_per_chunk"] = events_per_chunk
    for family in ("local_score", "ratio"):
        config["training"][family]["epochs"] = epochs
    times: dict[str, float] = {}
    setup = directory / "setup.h5"
    _timed("setup", times, api.setup, config, setup)
    chunks = []
    for chunk in range(config["generation"]["chunks"]):
        lhe = _timed("generate", times, api.generate, config, setup, directory / f"chunk{chunk}.lhe.gz", chunk)
        chunks.append(directory / f"chunk{chunk}.h5")
        _timed("detect", times, api.detect, config, setup, lhe, chunks[-1], chunk)
    merged = directory / "events.h5"
    _timed("merge", times, api.merge, chunks, merged)
    samples = _timed("mine", times, api.mine, config, merged, directory / "samples")
    models = []
    for method in config["training"]["methods"]:
        family = "local_score" if method == "sally" else "ratio"
        models.append(directory / "models" / f"{method}_0.pt")
        _timed(f"train {method}", times, api.train, config, method, samples[family], setup, models[-1])
    result = _timed("infer", times, api.infer, config, samples["test"], models, directory / "results")
    test = events.read(samples["test"])
    reference = events.read_parameter_space(samples["test"]).benchmark(config["mining"]["reference_benchmark"])
    space = events.read_parameter_space(samples["test"])
    expected = config["inference"]["luminosity"] * float(space.morphing.morph(test.weights).total(reference))
    return result, times, expected


def _f(entry: dict, key: str) -> str:
    """A number with its error bar, "open" where an interval end lies outside the range."""
    value, error = entry.get(key), entry.get(f"{key}_error")
    if value is None:
        return "open"
    return f"{value:+.4f}" + ("" if error is None else f" ± {error:.4f}")


def report(result: dict, times: dict[str, float], expected: float) -> None:
    fisher = result["fisher"]["methods"]
    exact = np.array(fisher["exact"]["matrix"])
    print("Fisher information relative to exact (eigenvalues of I_exact^-1 I; diagonal ratios):")
    for method, entry in fisher.items():
        information = np.array(entry["matrix"])
        eigenvalues = np.sort(np.linalg.eigvals(np.linalg.solve(exact, information)).real)
        diagonal = np.diag(information) / np.diag(exact)
        print(f"  {method:32s} eig {np.round(eigenvalues, 3).tolist()}  diag {np.round(diagonal, 3).tolist()}")
    print("profiled 68% Fisher half-widths of exact, sqrt(diag(I_exact^-1)):",
          np.round(np.sqrt(np.diag(np.linalg.inv(exact))), 4).tolist())
    print("expected events L sigma(SM):", round(expected, 1))
    print("Intervals against exact (low, high; width ratio ± bootstrap error):")
    for method, levels in result["validation"]["intervals_against_exact"].items():
        for level, parameters in levels.items():
            for name, entry in parameters.items():
                print(f"  {method:10s} {level}% {name:18s} exact [{_f(entry, 'exact_low')}, {_f(entry, 'exact_high')}]"
                      f"  method [{_f(entry, 'low')}, {_f(entry, 'high')}]  width ratio {_f(entry, 'width_ratio')}"
                      f"  shift {_f(entry, 'shift')} half-widths")
    validation = result["validation"]
    for key, value in validation.items():
        if key.endswith("_log_r_mse"):
            print(f"{key} / exact log r variance: {value / validation['exact_log_r_variance']:.3f}")
        elif key.endswith("_score_mse"):
            ratio = np.array(value) / np.array(validation["exact_score_variance"])
            print(f"{key} / exact score variance: {np.round(ratio, 3).tolist()}")
    print("failed:", json.dumps(validation["failed"]))
    print("wall time per stage (s):", {key: round(value, 1) for key, value in times.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--directory", type=Path, default=None, help="keep the files here (default: temporary)")
    parser.add_argument("--events-per-chunk", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=40)
    arguments = parser.parse_args()
    if arguments.directory is None:
        with tempfile.TemporaryDirectory() as directory:
            report(*run(Path(directory), arguments.events_per_chunk, arguments.epochs))
    else:
        arguments.directory.mkdir(parents=True, exist_ok=True)
        report(*run(arguments.directory, arguments.events_per_chunk, arguments.epochs))


if __name__ == "__main__":
    main()
