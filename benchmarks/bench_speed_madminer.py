"""Training speed of goldmine against MadMiner 0.9.6, side by side, on the same data.

Mines SALLY and ALICES samples of the default analysis with goldmine, then trains both
methods with the same architecture (64, 64, tanh), batch size, number of epochs and
validation split in goldmine and in MadMiner 0.9.6. MadMiner is installed by this script
into its own virtual environment (benchmarks/output/madminer-venv, with the same torch).
Both run on one CPU thread (or the GPU, when --device cuda is given and one is present).
Reports samples per second of training, the ratio, and the loss of both trained networks on
the same held-out fifth of the samples, computed here in the same units (MSE of the score for
SALLY; cross entropy against s(x,z) plus the score MSE of θ₀ samples for ALICES).

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
from goldmine import stages
from goldmine.io import events, samples
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
train, test = {k[6:]: v for k, v in arrays.items() if k.startswith("train_")}, {k[5:]: v for k, v in arrays.items() if k.startswith("test_")}
common = dict(optimizer="adam", n_epochs=epochs, batch_size=batch_size, initial_lr=1e-3, final_lr=1e-5,
              validation_split=0.2, early_stopping=False, verbose="none", n_workers=workers)
start = time.perf_counter()
if method == "sally":
    estimator = ScoreEstimator(n_hidden=(64, 64), activation="tanh")
    estimator.train(method="sally", x=train["x"], t_xz=train["t_xz"], **common)
    seconds = time.perf_counter() - start
    prediction = {"t_hat": estimator.evaluate_score(test["x"])}
else:
    estimator = ParameterizedRatioEstimator(n_hidden=(64, 64), activation="tanh")
    estimator.train(method="alices", x=train["x"], y=train["y"][:, None], theta=train["theta0"],
                    r_xz=train["r_xz"][:, None], t_xz=train["t_xz"], alpha=alpha, **common)
    seconds = time.perf_counter() - start
    log_r, t_hat = estimator.evaluate_log_likelihood_ratio(x=test["x"], theta=test["theta0"],
                                                           test_all_combinations=False, evaluate_score=True)
    prediction = {"log_r_hat": np.ravel(log_r), "t_hat": t_hat}
print(json.dumps({"seconds": seconds, **{k: np.asarray(v).tolist() for k, v in prediction.items()}}))
"""


def _test_loss(method: str, test: dict[str, np.ndarray], log_r_hat: np.ndarray | None, t_hat: np.ndarray) -> float:
    """The method's loss on held-out samples, in the same units for both libraries."""
    if method == "sally":
        return float(np.mean((t_hat - test["t_xz"]) ** 2))
    s_hat = 1.0 / (1.0 + np.exp(np.clip(log_r_hat, -30, 30)))
    s_true = 1.0 / (1.0 + test["r_xz"])
    eps = 1e-12
    cross_entropy = -np.mean(s_true * np.log(s_hat + eps) + (1 - s_true) * np.log(1 - s_hat + eps))
    score = np.mean(((1 - test["y"])[:, None] * (t_hat - test["t_xz"])) ** 2)
    return float(cross_entropy + score)


def _goldmine_predictions(model, test: dict[str, np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    model = model.double().eval()
    x = torch.as_tensor(test["x"], dtype=torch.float64)
    if "theta0" not in test:
        with torch.no_grad():
            return None, model(x).numpy()
    log_r, t_hat = model.log_ratio_and_score(x, torch.as_tensor(test["theta0"], dtype=torch.float64))
    return log_r.detach().numpy(), t_hat.detach().numpy()


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
    outputs = [directory / f"{name}.h5" for name in ("local_score", "ratio", "test")]
    return stages.mine(config, directory / "events.h5", *outputs) | {"setup": setup}


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
            sample = samples.read_training_sample(paths[family])
            n_train = int(0.8 * len(sample))
            fields = ("x", "t_xz") if method == "sally" else ("x", "theta0", "y", "r_xz", "t_xz")
            train = {f: getattr(sample, f)[:n_train] for f in fields}
            test = {f: getattr(sample, f)[n_train:] for f in fields}
            settings = dict(hidden=[64, 64], activation="tanh", epochs=arguments.epochs,
                            batch_size=arguments.batch_size, learning_rate=1e-3, validation_fraction=0.2,
                            patience=arguments.epochs + 1, alpha=1.0, seed=0)
            train_sample = samples.TrainingSample(**{f: getattr(sample, f)[:n_train] for f in (
                "x", "theta0", "theta1", "y", "r_xz", "t_xz")})
            start = time.perf_counter()
            model, _ = train_estimator(method, train_sample, ranges, settings, progress=False,
                                       device=torch.device(arguments.device))
            goldmine_seconds = time.perf_counter() - start
            goldmine_loss = _test_loss(method, test, *_goldmine_predictions(model, test))
            data = directory / f"{method}.npz"
            np.savez(data, **{f"train_{k}": v for k, v in train.items()}, **{f"test_{k}": v for k, v in test.items()})
            output = subprocess.run(
                [str(python), "-c", _MADMINER_DRIVER, str(data), method, str(arguments.epochs),
                 str(arguments.batch_size), "1.0", str(arguments.workers)],
                check=True, capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"),
            )
            madminer = json.loads(output.stdout.strip().splitlines()[-1])
            log_r = np.array(madminer["log_r_hat"]) if "log_r_hat" in madminer else None
            madminer_loss = _test_loss(method, test, log_r, np.array(madminer["t_hat"]))
            n_trained = n_train * 0.8 * arguments.epochs
            rows.append((method, n_trained / goldmine_seconds, n_trained / madminer["seconds"], goldmine_loss,
                         madminer_loss))
    print(f"{'method':<8}{'goldmine samples/s':>20}{'MadMiner samples/s':>20}{'ratio':>8}"
          f"{'goldmine test loss':>20}{'MadMiner test loss':>20}")
    for method, ours, theirs, our_loss, their_loss in rows:
        print(f"{method:<8}{ours:>20.0f}{theirs:>20.0f}{ours / theirs:>8.1f}{our_loss:>20.5g}{their_loss:>20.5g}")


if __name__ == "__main__":
    sys.exit(main())
