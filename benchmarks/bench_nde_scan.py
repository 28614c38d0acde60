"""Speed of an NDE/SCANDAL grid scan: the batched evaluation against the point-by-point one.

E_ref[log r̂(x|θ, θ_ref)] over the test events is the cost of the learned-ratio limits. The
point-by-point scan calls the flow once per θ on all events, log p̂(x|θ) and log p̂(x|θ_ref)
each time (``DensityModel.forward``, events in slabs of 262144); the batched one
(:func:`goldmine.ml.estimators.mean_log_ratio`) computes log p̂(x|θ_ref) once and sends the
grid's (event, θ) pairs through the flow in cache-sized slabs. Both on one CPU thread in
float32, as the ``infer`` stage runs them, on the same θ points. Without arguments, a flow of
the default architecture (untrained: the cost does not depend on the weights) on 80000 events.

Usage:
    python benchmarks/bench_nde_scan.py [MODEL.pt TEST.h5] [--points 8]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from goldmine.io import events
from goldmine.ml.estimators import mean_log_ratio
from goldmine.ml.models import DensityModel, load_model


def point_by_point(model, x: np.ndarray, weights: np.ndarray, thetas: np.ndarray, slab: int = 262144) -> np.ndarray:
    model = model.float().eval()
    x_tensor = torch.as_tensor(x, dtype=torch.float32)
    weights = torch.as_tensor(weights / weights.sum(), dtype=torch.float64)
    means = []
    with torch.inference_mode():
        for theta in torch.as_tensor(thetas, dtype=torch.float32):
            log_r = torch.cat([model(x_tensor[i : i + slab], theta.expand(len(x_tensor[i : i + slab]), -1))
                               for i in range(0, len(x_tensor), slab)])
            means.append(float(log_r.double() @ weights))
    return np.array(means)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="a trained NDE or SCANDAL model (.pt)")
    parser.add_argument("test", nargs="?", help="its test events (samples/test.h5)")
    parser.add_argument("--points", type=int, default=8, help="θ points of the scan timed")
    arguments = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    if arguments.model:
        model, metadata = load_model(arguments.model)
        space = events.read_parameter_space(arguments.test)
        test = events.read(arguments.test)
        x, weights = test.observations, space.morphing.morph(test.weights)(np.asarray(metadata["reference"]))
        ranges = space.ranges
    else:
        model = DensityModel(6, 2, [64, 64], "relu", transforms=3)
        x, weights, ranges = rng.normal(size=(80_000, 6)), np.ones(80_000), np.array([[-0.2, 0.2], [-0.2, 0.2]])
    thetas = rng.uniform(*np.asarray(ranges).T, (arguments.points, len(ranges)))
    timings, results = {}, {}
    for name, scan in (("point by point", point_by_point), ("batched", mean_log_ratio)):
        # CPU seconds of this one thread: a busy machine stretches the wall clock, not these.
        start, start_cpu = time.perf_counter(), time.process_time()
        results[name] = scan(model, x, weights, thetas)
        timings[name] = time.process_time() - start_cpu
        print(f"{name:>15}: {timings[name]:7.2f} CPU s ({time.perf_counter() - start:.2f} s wall) for "
              f"{len(thetas)} θ × {len(x)} events, {timings[name] / len(thetas):.2f} CPU s per θ")
    difference = np.max(np.abs(results["batched"] - results["point by point"]))
    print(f"speed-up {timings['point by point'] / timings['batched']:.2f}×; largest difference of "
          f"E_ref[log r̂] {difference:.2g}")


if __name__ == "__main__":
    main()
