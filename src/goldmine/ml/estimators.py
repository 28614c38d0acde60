"""The estimators: local score (SALLY, SALLINO) and parameterised ratio (CARL … ALICES, CASCAL).

:func:`train_estimator` takes a gold-mined :class:`~goldmine.io.samples.TrainingSample` and
the network settings of the config and returns the trained model and its history;
``evaluate_*`` apply a model to observations in batches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from goldmine.io.samples import TrainingSample
from goldmine.ml import DENSITY_METHODS, METHODS, MORPHING_AWARE_PREFIX, RATIO_METHODS, SCORE_METHODS, family_of
from goldmine.ml.losses import RATIO_LOSSES, density_loss, local_score_loss, ratio_loss
from goldmine.ml.models import DensityModel, MorphingAwareRatioModel, RatioModel, ScoreModel
from goldmine.ml.trainer import BLOCK_ROWS, TRAINING_SETTINGS, TrainingHistory, train

__all__ = [
    "LogRatioTable",
    "evaluate_log_ratio",
    "evaluate_ratio_score",
    "evaluate_score",
    "mean_log_ratio",
    "model_metadata",
    "train_estimator",
]


def model_metadata(method: str, model: torch.nn.Module, settings: Mapping[str, Any], parameter_names: Sequence[str],
                   parameter_ranges: np.ndarray, observable_names: Sequence[str],
                   history: TrainingHistory, reference: np.ndarray) -> dict[str, Any]:
    """The JSON metadata saved beside a model's state_dict (with what rebuilds the network)."""
    extra: dict[str, Any] = {}
    if isinstance(model, DensityModel):
        extra = {"transforms": settings["transforms"]}
    elif isinstance(model, MorphingAwareRatioModel):
        extra = {"n_components": int(model.components.shape[0]), "reference_index": model.reference_index}
    return extra | {
        "method": method,
        "hidden": list(settings["hidden"]),
        "activation": settings["activation"],
        "parameters": list(parameter_names),
        "parameter_ranges": np.asarray(parameter_ranges).tolist(),
        "observables": list(observable_names),
        "reference": np.asarray(reference).tolist(),
        "training": {key: settings[key] for key in TRAINING_SETTINGS + ("alpha",) if key in settings},
        "history": history.as_dict(),
        "torch": torch.__version__,
    }


def train_estimator(method: str, sample: TrainingSample, parameter_ranges: np.ndarray,
                    settings: Mapping[str, Any], checkpoint: str | Path | None = None,
                    progress: bool = True, morphing: Mapping[str, Any] | None = None,
                    device: torch.device | None = None, streaming: bool = False,
                    block_rows: int = BLOCK_ROWS,
                    ) -> tuple[ScoreModel | RatioModel | MorphingAwareRatioModel | DensityModel, TrainingHistory]:
    """Train one estimator.

    Args:
        method: a local-score method (SALLY, SALLINO: regress t(x,z|θ_ref) on x,
            arXiv:1805.00020 eq. 31), a parameterised-ratio method or a density method
            (NDE, SCANDAL); see :mod:`goldmine.ml.losses`.
        sample: the training sample of the method's family.
        parameter_ranges: shape (p, 2), for the θ input scaling.
        settings: network and training settings (``training.<family>`` of the config).
        checkpoint: training-state file to resume from and update each epoch.
        progress: show a progress bar.
        morphing: for the morphing-aware methods: "components", "matrix",
            "benchmark_cross_sections" and "reference_index" (the benchmark θ_ref).
        device: where to train (CUDA when present, by default).
        streaming: the sample's fields are array-likes read in blocks (the datasets of an open
            sample file, :func:`goldmine.io.samples.open_training_sample`), not arrays; see
            :func:`goldmine.ml.trainer.train`. Not for the density methods, which train on the
            part of the sample drawn at θ₀.
        block_rows: rows per block when streaming.

    Returns:
        (model, history).
    """
    options = {key: settings[key] for key in TRAINING_SETTINGS}
    if method in SCORE_METHODS:
        model = ScoreModel(sample.x.shape[1], sample.t_xz.shape[1], settings["hidden"], settings["activation"])
        model.set_scaling(sample.x, parameter_ranges)

        def loss(model: ScoreModel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            return local_score_loss(model(batch["x"]), batch["t_xz"])

        data = {"x": sample.x, "t_xz": sample.t_xz}
    elif family_of(method) == "ratio":
        if method in RATIO_METHODS:
            model = RatioModel(sample.x.shape[1], sample.theta0.shape[1], settings["hidden"], settings["activation"])
        else:
            if morphing is None:
                raise ValueError(f"{method} needs the morphing of the parameter space")
            model = MorphingAwareRatioModel(sample.x.shape[1], sample.theta0.shape[1], settings["hidden"],
                                            settings["activation"], len(morphing["components"]),
                                            morphing["reference_index"])
            model.set_morphing(morphing["components"], morphing["matrix"], morphing["benchmark_cross_sections"])
        model.set_scaling(sample.x, parameter_ranges)
        needs_score = RATIO_LOSSES[method.removeprefix(MORPHING_AWARE_PREFIX)].score
        alpha = settings["alpha"]

        def loss(model: RatioModel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            if needs_score:
                log_r, t_hat = model.log_ratio_and_score(batch["x"], batch["theta0"], create_graph=model.training)
            else:
                log_r, t_hat = model(batch["x"], batch["theta0"]), None
            return ratio_loss(method, log_r, t_hat, batch["y"], batch["r_xz"], batch["t_xz"], alpha)

        data = {"x": sample.x, "theta0": sample.theta0, "y": sample.y, "r_xz": sample.r_xz, "t_xz": sample.t_xz}
    elif method in DENSITY_METHODS:
        if streaming:
            raise ValueError(f"{method} cannot stream its sample (it trains on the samples drawn at theta0)")
        model = DensityModel(sample.x.shape[1], sample.theta0.shape[1], settings["hidden"], settings["activation"],
                             settings["transforms"])
        model.set_scaling(sample.x, parameter_ranges)
        model.reference.copy_(torch.as_tensor(sample.theta1[0]))
        alpha = settings["alpha"]

        def loss(model: DensityModel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
            if method == "nde":
                return density_loss(method, model.log_likelihood(batch["x"], batch["theta0"]), None, batch["t_xz"],
                                    alpha)
            with torch.enable_grad():
                theta = batch["theta0"].detach().requires_grad_(True)
                log_p = model.log_likelihood(batch["x"], theta)
                (t_hat,) = torch.autograd.grad(log_p.sum(), theta, create_graph=model.training)
            return density_loss(method, log_p, t_hat, batch["t_xz"], alpha)

        drawn_at_theta0 = sample.y == 0
        data = {"x": sample.x[drawn_at_theta0], "theta0": sample.theta0[drawn_at_theta0],
                "t_xz": sample.t_xz[drawn_at_theta0]}
    else:
        raise ValueError(f"unknown method {method!r}; methods are {list(METHODS)}")
    history = train(model, loss, data, checkpoint=checkpoint, progress=progress, device=device, streaming=streaming,
                    block_rows=block_rows, **options)
    return model, history


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def evaluate_score(model: ScoreModel, x: np.ndarray, batch_size: int = 65536) -> np.ndarray:
    """t̂(x), shape (n, p)."""
    model = model.double().eval()
    device = _device_of(model)
    with torch.no_grad():
        parts = [model(torch.as_tensor(x[i : i + batch_size], dtype=torch.float64, device=device)).cpu().numpy()
                 for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def evaluate_log_ratio(model: RatioModel | MorphingAwareRatioModel | DensityModel, x: np.ndarray,
                       thetas: np.ndarray, elements_per_batch: int = 2**24,
                       dtype: torch.dtype = torch.float32) -> np.ndarray:
    """log r̂(x|θ₀, θ_ref) for every θ₀ in ``thetas`` (shape (m, p)) and event: shape (m, n).

    Evaluated by default in float32 (the precision the network was trained in) for speed.
    """
    return np.concatenate([chunk.double().cpu().numpy() for chunk in
                           _log_ratio_chunks(model, x, np.atleast_2d(thetas), elements_per_batch, dtype)])


def evaluate_ratio_score(model: RatioModel, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """t̂(x|θ) = ∇_θ log r̂(x|θ, θ_ref) of a ratio model, shape (n, p)."""
    model = model.double().eval()
    device = _device_of(model)
    x_tensor = torch.as_tensor(x, dtype=torch.float64, device=device)
    theta_tensor = torch.as_tensor(np.asarray(theta, dtype=float), device=device).expand(len(x), -1)
    _, score = model.log_ratio_and_score(x_tensor, theta_tensor)
    return score.cpu().numpy()


def mean_log_ratio(model: RatioModel | MorphingAwareRatioModel | DensityModel, x: np.ndarray, weights: np.ndarray,
                   thetas: np.ndarray, elements_per_batch: int = 2**24) -> np.ndarray:
    """Σ_e w_e log r̂(x_e|θ, θ_ref) / Σ_e w_e for every θ in ``thetas`` (shape (m, p)): shape (m,).

    The scan of the learned likelihood ratio over a grid, n_events × m network calls, is the
    cost of the inference stage; the events are reduced with their weights (in float64) as
    they come, so that memory stays at about ``elements_per_batch`` floats.
    """
    weights = torch.as_tensor(np.asarray(weights) / np.sum(weights), dtype=torch.float64)
    with torch.inference_mode():
        means = [chunk.double().cpu() @ weights
                 for chunk in _log_ratio_chunks(model, x, np.atleast_2d(thetas), elements_per_batch)]
    return torch.cat(means).numpy()


class LogRatioTable:
    """log r̂(x_e|θ, θ_ref) of one model on fixed events, each θ evaluated once however often it is asked for.

    The ``infer`` stage asks for the same θ several times: the scan's passes, the bootstrap
    along the profile lines (grid points the scan has mostly evaluated), the calibration. A
    flow pays per (event, θ) pair, so every repeat costs as much as the first call. The table
    keeps each θ's per-event row (float32, as evaluated) up to ``max_bytes``, dropping the
    oldest beyond, and each θ's weighted mean for good; a flow's log p̂(x|θ_ref) is computed once.

    Args:
        model: the ratio or density model.
        x: the events, shape (n, k).
        max_bytes: memory for the per-event rows.
        elements_per_batch: as :func:`evaluate_log_ratio`.

    Example:
        >>> model = RatioModel(1, 1, [4], "tanh")
        >>> table = LogRatioTable(model, np.linspace(-1, 1, 5)[:, None])
        >>> rows = table(np.array([[0.5], [0.1]]))
        >>> bool(np.all(table(np.array([[0.1]])) == rows[1])), table.evaluated
        (True, 2)
    """

    def __init__(self, model: RatioModel | MorphingAwareRatioModel | DensityModel, x: np.ndarray,
                 max_bytes: int = 2**28, elements_per_batch: int = 2**24) -> None:
        self.model, self.x = model, x
        self.max_rows = max(1, max_bytes // (4 * max(1, len(x))))
        self.elements_per_batch = elements_per_batch
        self._rows: dict[bytes, np.ndarray] = {}
        self._means: dict[tuple[bytes, bytes], float] = {}
        self._reference: torch.Tensor | None = None
        #: θ points sent through the model so far.
        self.evaluated = 0

    def __call__(self, thetas: np.ndarray) -> np.ndarray:
        """log r̂ of every event at every θ, shape (m, n), float64."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        keys = [theta.tobytes() for theta in thetas]
        missing = list(dict.fromkeys(key for key in keys if key not in self._rows))
        if missing:
            rows = self._evaluate(np.array([np.frombuffer(key) for key in missing]))
            for key, row in zip(missing, rows):
                self._rows[key] = row
        values = np.stack([self._rows[key] for key in keys]).astype(np.float64)
        while len(self._rows) > self.max_rows:  # oldest first: dicts keep insertion order
            del self._rows[next(iter(self._rows))]
        return values

    def mean(self, thetas: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Σ_e w_e log r̂(x_e|θ) / Σ_e w_e at every θ, shape (m,) (as :func:`mean_log_ratio`)."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        weights = np.asarray(weights, dtype=float)
        weights_key = weights.tobytes()
        keys = [(theta.tobytes(), weights_key) for theta in thetas]
        missing = [i for i, key in enumerate(keys) if key not in self._means]
        if missing:
            means = self(thetas[missing]) @ (weights / weights.sum())
            for i, value in zip(missing, means):
                self._means[keys[i]] = float(value)
        return np.array([self._means[key] for key in keys])

    def _evaluate(self, thetas: np.ndarray) -> np.ndarray:
        self.evaluated += len(thetas)
        if isinstance(self.model, DensityModel) and self._reference is None:
            model = self.model.float().eval()
            with torch.inference_mode():
                self._reference = _flow_on_pairs(model, torch.as_tensor(self.x, dtype=torch.float32,
                                                                        device=_device_of(model)),
                                                 model.reference.float()[None])
        return np.concatenate([chunk.cpu().numpy() for chunk in _log_ratio_chunks(
            self.model, self.x, thetas, self.elements_per_batch, reference=self._reference)])


def _hidden_layers_on_slabs(layers: torch.nn.Sequential, first_layer: torch.Tensor, shift: torch.Tensor,
                            slab_rows: int = 8192) -> torch.Tensor:
    """``layers(first_layer + shift)`` for all rows, without autograd, in cache-sized slabs of rows.

    A grid scan applies the same small network to n_events × n_θ inputs. Slabs of a few
    thousand rows keep each layer's input in the CPU cache and reuse preallocated buffers
    (fresh tensors of tens of MB per call cost page faults); tanh comes from numpy, whose
    SIMD float32 tanh runs about six times faster than torch's on these CPUs (1.3 and 0.2
    billion values per second, measured here). Together 2.7× faster than whole-array calls.

    Args:
        layers: the network after its first linear layer (activations and linear layers).
        first_layer: the first layer's output without the θ part, shape (n, width).
        shift: the θ part of the first layer, shape (width,).

    Returns:
        the network's output, shape (n, n_outputs).
    """
    n = len(first_layer)
    linear = [layer for layer in layers if isinstance(layer, torch.nn.Linear)]
    output = torch.empty(n, linear[-1].out_features, dtype=first_layer.dtype, device=first_layer.device)
    # One buffer per layer input: a matrix product must not write into its own input.
    buffers = [torch.empty(min(slab_rows, n), width, dtype=first_layer.dtype, device=first_layer.device)
               for width in [first_layer.shape[1]] + [layer.out_features for layer in linear[:-1]]]
    for start in range(0, n, slab_rows):
        rows = min(slab_rows, n - start)
        values = torch.add(first_layer[start : start + rows], shift, out=buffers[0][:rows])
        for layer in layers:
            if isinstance(layer, torch.nn.Linear):
                index = linear.index(layer) + 1
                target = output[start : start + rows] if index == len(linear) else buffers[index][:rows]
                values = torch.addmm(layer.bias, values, layer.weight.T, out=target)
            elif isinstance(layer, torch.nn.Tanh) and values.device.type == "cpu":
                array = values.numpy()
                np.tanh(array, out=array)
            else:
                values = layer(values)
    return output


def _log_ratio_chunks(model: RatioModel | MorphingAwareRatioModel | DensityModel, x: np.ndarray, thetas: np.ndarray,
                      elements_per_batch: int, dtype: torch.dtype = torch.float32,
                      reference: torch.Tensor | None = None) -> Iterator[torch.Tensor]:
    """log r̂(x|θ, θ_ref) of all events for a few θ at a time, shape (k, n) per chunk, in ``dtype``.

    Without autograd, and where the θ dependence is simple, the work that depends on x
    alone is done once: the x columns of a ratio network's first layer, a morphing-aware
    network entirely, a flow's log p̂(x|θ_ref) (or ``reference``, that already computed in ``dtype``).
    """
    model = model.to(dtype).eval()
    device = _device_of(model)
    x_tensor = torch.as_tensor(x, dtype=dtype, device=device)
    theta_tensor = torch.as_tensor(thetas, dtype=dtype, device=device)
    chunk = max(1, elements_per_batch // len(x_tensor))
    with torch.inference_mode():
        if isinstance(model, MorphingAwareRatioModel):
            ratios = model.benchmark_ratios(x_tensor).double()
            for start in range(0, len(theta_tensor), chunk):
                coefficients = model.coefficients(theta_tensor[start : start + chunk].double())
                yield torch.log(torch.clamp(coefficients @ ratios.T, min=1e-6)).to(dtype)
        elif isinstance(model, RatioModel):
            first, rest = model.network[0], model.network[1:]
            n_x = x_tensor.shape[1]
            x_part = torch.addmm(first.bias, model._x(x_tensor), first.weight[:, :n_x].T)
            theta_part = model._theta(theta_tensor) @ first.weight[:, n_x:].T
            for shift in theta_part:
                yield _hidden_layers_on_slabs(rest, x_part, shift).T
        else:
            if reference is None:
                reference = _flow_on_pairs(model, x_tensor, model.reference.to(dtype)[None])
            for start in range(0, len(theta_tensor), chunk):
                yield _flow_on_pairs(model, x_tensor, theta_tensor[start : start + chunk]) - reference


def _flow_on_pairs(model: DensityModel, x: torch.Tensor, thetas: torch.Tensor, slab_pairs: int = 8192) -> torch.Tensor:
    """log p̂(x_e|θ_k) of every event and θ, shape (k, n): the grid batched, not θ by θ.

    A flow's cost is per (event, θ) pair (its spline parameters depend on both), so all
    pairs go through it in slabs of ``slab_pairs``, across θ boundaries: slabs of a few
    thousand pairs keep the flow's intermediate arrays in the CPU cache (2.1× faster per
    pair than slabs of 262144, measured here), and a short event list costs no extra calls.
    """
    n = len(x)
    log_p = torch.empty(len(thetas) * n, dtype=x.dtype, device=x.device)
    for start in range(0, len(log_p), slab_pairs):
        pairs = torch.arange(start, min(start + slab_pairs, len(log_p)), device=x.device)
        log_p[start : start + len(pairs)] = model.log_likelihood(x[pairs % n], thetas[pairs // n])
    return log_p.view(len(thetas), n)
