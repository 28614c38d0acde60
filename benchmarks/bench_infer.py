"""Where the ``infer`` stage spends its time on learned ratios: θ points sent through each network, and CPU seconds.

Runs :func:`goldmine.inference.analysis.run_inference` on a run's test events with the given
models, counting every batch of (event, θ) pairs that reaches a network (the grid scan, the
bootstrap along the profile lines, the calibration closure, the log-r MSE), and prints the
stage's wall and CPU seconds, the θ points per part and the intervals against exact.

Usage:
    python benchmarks/bench_infer.py CONFIG TEST.h5 MODEL.pt [MODEL.pt ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import collections
import time
import traceback
from pathlib import Path

import torch

from goldmine import config as config_module
from goldmine.inference import analysis
from goldmine.inference.grid import analysis_grid
from goldmine.io import events
from goldmine.ml import estimators
from goldmine.ml.models import read_metadata

#: the functions of the stage whose network calls are told apart
_PARTS = {"learned_ratio": "scan", "bootstrap_methods": "bootstrap", "run_inference": "calibration and MSE"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("test")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--threads", type=int, default=1, help="torch threads, as training.threads")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    config = config_module.load(arguments.config)
    models: dict[str, list[Path]] = collections.defaultdict(list)
    for path in arguments.models:
        models[read_metadata(path)["method"]].append(Path(path))
    config["training"]["methods"] = list(models)
    pairs: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    chunks = estimators._log_ratio_chunks

    def counted(model, x, thetas, *args, **kwargs):
        names = [frame.name for frame in traceback.extract_stack()]
        part = next((_PARTS[name] for name in reversed(names) if name in _PARTS), "other")
        pairs[part][0] += len(thetas)
        pairs[part][1] += len(thetas) * len(x)
        return chunks(model, x, thetas, *args, **kwargs)

    estimators._log_ratio_chunks = counted
    start, start_cpu = time.perf_counter(), time.process_time()
    output = analysis.run_inference(config, arguments.test, models, progress=False)
    print(f"infer: {time.perf_counter() - start:.1f} s wall, {time.process_time() - start_cpu:.1f} CPU s")
    space, test = events.read_parameter_space(arguments.test), events.read(arguments.test)
    reference = analysis_grid(config, space).reference
    expected = config["inference"]["luminosity"] * float(space.morphing.morph(test.weights).total(reference))
    print(f"  {len(test.weights)} test events, N = Lσ(θ_ref) = {expected:.0f} expected events: "
          f"E_ref[log r̂] must be right to 1/(2N) = {0.5 / expected:.1e} for q to be right to 1")
    for part, (thetas, n) in pairs.items():
        print(f"  {part}: {thetas} θ, {n / 1e6:.2f} M (event, θ) pairs")
    for method in [*models, "exact"]:
        result = output["limits"]["methods"][method]
        print(f"  {method}: q exact below {result.get('q_exact_below')}; 68% CL "
              + ", ".join(f"{name} [{i['low']:.4f}, {i['high']:.4f}]" if i["low"] is not None and i["high"] is not None
                          else f"{name} open" for name, i in result["intervals"]["68"].items()))


if __name__ == "__main__":
    main()
