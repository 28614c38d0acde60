"""Training speed of goldmine against MadMiner 0.9.6, side by side, on the same data.

Mines SALLY and ALICES samples of the default analysis with goldmine, then trains both
methods with the same architecture (64, 64, tanh), batch size, number of epochs and
validation split in goldmine and in MadMiner 0.9.6. MadMiner is installed by this script
into its own virtual environment (benchmarks/output/madminer-venv, with the same torch).
Both run on one CPU thread (or the GPU, when --device cuda is given and one is present).
Reports samples per second of training, the ratio, and the final validation losses
(the losses are the same functions in both: MSE for SALLY, cross entropy + α·score MSE for ALICES).

Usage:
    python benchmarks/bench_speed_madminer.py [--samples 200000] [--epochs 5] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np
import torch

from goldmine import config as config_module
from goldmine import events, mining, stages
from goldmine.ml.estimators import train_estimator

REPOSITORY = Path(__file__).resolve().parents[1]
MADMINER_VENV = REPOSITORY / "benchmarks" / "output" / "madminer-venv"

_MADMINER_DRIVER = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from madminer.ml import ParameterizedRatioEstimator, ScoreEstimator
data, method, epochs, batch_size, alpha, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
arrays = np.load(data)
common = dict(optimizer="adam", n_epochs=epochs, batch_size=batch_size, initial_lr=1e-3, final_lr=1e-5,
              validation_split=0.2, early_stopping=False, verbose="none", n_workers=workers)
start = time.perf_counter()
if method == "sally":
    estimator = ScoreEstimator(n_hidden=(64, 64), activation="tanh")
    result = estimator.train(method="sally", x=arrays["x"], t_xz=arrays["t_xz"], **common)
else:
    estimator = ParameterizedRatioEstimator(n_hidden=(64, 64), activation="tanh")
    result = estimator.train(method="alices", x=arrays["x"], y=arrays["y"][:, None], theta=arrays["theta0"],
                             r_xz=arrays["r_xz"][:, None], t_xz=arrays["t_xz"], alpha=alpha, **common)
seconds = time.perf_counter() - start
validation = [float(v) for v in np.ravel(result[1])] if result is not None else []
print(json.dumps({"seconds": seconds, "validation_loss": validation}))
"""


def ensure_madminer() -> Path:
    python = MADMINER_VENV / "bin" / "python"
    if not python.exists():
        print(f"installing MadMiner 0.9.6 into {MADMINER_VENV} ...", flush=True)
        venv.create(MADMINER_VENV, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "madminer==0.9.6", "torch==2.13.0",
                        "numpy<2"], check=True)
    return python


def mine_samples(n_samples: int, directory: Path) -> dict[str, Path]:
    config = copy.deepcopy(config_module.load(REPOSITORY / "config" / "config.yaml"))
    config["mining"]["samples"] = {"local_score": n_samples, "ratio": n_samples}
    config = config_module.validate(config)
    setup = directory / "setup.h5"
    stages.setup(config, setup)
    chunks = []
    for chunk in range(config["generation"]["chunks"]):
        stages.generate(config, setup, chunk, directory / f"{chunk}.lhe.gz")
        chunks.append(directory / f"{chunk}.h5")
        stages.detect(config, setup, directory / f"{chunk}.lhe.gz", chunk, chunks[-1])
    events.merge(chunks, directory / "events.h5")
    return stages.mine(config, directory / "events.h5", directory) | {"setup": setup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=0, help="MadMiner's DataLoader workers")
    parser.add_argument("--device", default="cpu")
    arguments = parser.parse_args()
    python = ensure_madminer()
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        directory = Path(directory)
        paths = mine_samples(arguments.samples, directory)
        ranges = events.read_parameter_space(paths["setup"]).ranges
        for method, family in (("sally", "local_score"), ("alices", "ratio")):
            sample = mining.read_training_sample(paths[family])
            settings = dict(hidden=[64, 64], activation="tanh", epochs=arguments.epochs,
                            batch_size=arguments.batch_size, learning_rate=1e-3, validation_fraction=0.2,
                            patience=arguments.epochs + 1, alpha=1.0, seed=0)
            start = time.perf_counter()
            _, history = train_estimator(method, sample, ranges, settings, progress=False,
                                         device=torch.device(arguments.device))
            goldmine_seconds = time.perf_counter() - start
            data = directory / f"{method}.npz"
            np.savez(data, x=sample.x, theta0=sample.theta0, y=sample.y, r_xz=sample.r_xz, t_xz=sample.t_xz)
            output = subprocess.run(
                [str(python), "-c", _MADMINER_DRIVER, str(data), method, str(arguments.epochs),
                 str(arguments.batch_size), "1.0", str(arguments.workers)],
                check=True, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
            )
            madminer = json.loads(output.stdout.strip().splitlines()[-1])
            n_trained = len(sample) * 0.8 * arguments.epochs
            rows.append((method, n_trained / goldmine_seconds, n_trained / madminer["seconds"],
                         history.validation_loss[-1], (madminer["validation_loss"] or [float("nan")])[-1]))
            print(f"{method} validation loss per epoch: goldmine {np.round(history.validation_loss, 5).tolist()}, "
                  f"MadMiner {np.round(madminer['validation_loss'], 5).tolist()}", flush=True)
    print(f"{'method':<8}{'goldmine samples/s':>20}{'MadMiner samples/s':>20}{'ratio':>8}"
          f"{'goldmine val. loss':>20}{'MadMiner val. loss':>20}")
    for method, ours, theirs, our_loss, their_loss in rows:
        print(f"{method:<8}{ours:>20.0f}{theirs:>20.0f}{ours / theirs:>8.1f}{our_loss:>20.5g}{their_loss:>20.5g}")


if __name__ == "__main__":
    sys.exit(main())
