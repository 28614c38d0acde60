"""Networks of the estimators, with their input standardisation and their files.

A model is saved as a torch ``state_dict`` (``.pt``) plus JSON metadata (``.json``):
method, architecture, parameter names and ranges, observable names (design §3.4).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zuko
from torch import nn
from zuko.flows.autoregressive import MaskedAutoregressiveTransform
from zuko.transforms import MonotonicRQSTransform

from goldmine.io.atomic import atomic_output
from goldmine.ml import DENSITY_METHODS, MORPHING_AWARE_PREFIX, SCORE_METHODS

__all__ = [
    "DensityModel",
    "MorphingAwareRatioModel",
    "RatioModel",
    "ScoreModel",
    "load_model",
    "model_class",
    "read_metadata",
    "save_model",
]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "silu": nn.SiLU}


def _mlp(n_inputs: int, hidden: Sequence[int], n_outputs: int, activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_inputs, width), _ACTIVATIONS[activation]()]
        n_inputs = width
    layers.append(nn.Linear(n_inputs, n_outputs))
    return nn.Sequential(*layers)


def _moments(x, block_rows: int = 2**18) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the columns of x; read in blocks (two passes) unless x is an array."""
    if isinstance(x, np.ndarray):
        return x.mean(axis=0), x.std(axis=0)
    n = len(x)
    mean = sum(np.asarray(x[i : i + block_rows], dtype=float).sum(axis=0) for i in range(0, n, block_rows)) / n
    variance = sum(((np.asarray(x[i : i + block_rows], dtype=float) - mean) ** 2).sum(axis=0)
                   for i in range(0, n, block_rows)) / n
    return mean, np.sqrt(variance)


class _Standardised(nn.Module):
    """Holds the input scaling as buffers, so that it travels with the state_dict."""

    def __init__(self, n_observables: int, n_parameters: int) -> None:
        super().__init__()
        self.register_buffer("x_mean", torch.zeros(n_observables, dtype=torch.float64))
        self.register_buffer("x_scale", torch.ones(n_observables, dtype=torch.float64))
        self.register_buffer("theta_center", torch.zeros(n_parameters, dtype=torch.float64))
        self.register_buffer("theta_scale", torch.ones(n_parameters, dtype=torch.float64))

    def set_scaling(self, x: np.ndarray, theta_ranges: np.ndarray) -> None:
        """Standardise x to zero mean and unit variance, θ to [-1, 1] over its range.

        Args:
            x: the observations, an array or (a streamed sample) an array-like read in blocks.
            theta_ranges: shape (p, 2).
        """
        mean, std = _moments(x)
        self.x_mean.copy_(torch.as_tensor(mean))
        self.x_scale.copy_(torch.as_tensor(np.where(std > 0, std, 1.0)))
        ranges = np.asarray(theta_ranges, dtype=float)
        self.theta_center.copy_(torch.as_tensor(ranges.mean(axis=1)))
        self.theta_scale.copy_(torch.as_tensor(0.5 * (ranges[:, 1] - ranges[:, 0])))

    def _x(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.x_mean.to(x.dtype)) / self.x_scale.to(x.dtype)

    def _theta(self, theta: torch.Tensor) -> torch.Tensor:
        return (theta - self.theta_center.to(theta.dtype)) / self.theta_scale.to(theta.dtype)


class ScoreModel(_Standardised):
    """SALLY and SALLINO: x → t̂(x|θ_ref), the score at a reference point."""

    def __init__(self, n_observables: int, n_parameters: int, hidden: Sequence[int] = (64, 64),
                 activation: str = "tanh") -> None:
        super().__init__(n_observables, n_parameters)
        self.network = _mlp(n_observables, hidden, n_parameters, activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The output is in units of the standardised θ; undo it so that t̂ is ∇_θ log p.
        return self.network(self._x(x)) / self.theta_scale.to(x.dtype)


class _LogRatio(_Standardised):
    """A model whose forward(x, θ₀) is log r̂(x|θ₀, θ_ref); its score comes from autograd."""

    def log_ratio_and_score(self, x: torch.Tensor, theta0: torch.Tensor,
                            create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """log r̂ and the estimated score t̂(x|θ₀) = ∇_θ₀ log r̂."""
        with torch.enable_grad():
            theta0 = theta0.detach().requires_grad_(True)
            log_r = self(x, theta0)
            (score,) = torch.autograd.grad(log_r.sum(), theta0, create_graph=create_graph)
        return log_r, score


class RatioModel(_LogRatio):
    """The parameterised-ratio family: (x, θ₀) → log r̂(x|θ₀, θ₁) for a fixed reference θ₁."""

    def __init__(self, n_observables: int, n_parameters: int, hidden: Sequence[int] = (64, 64),
                 activation: str = "tanh") -> None:
        super().__init__(n_observables, n_parameters)
        self.network = _mlp(n_observables + n_parameters, hidden, 1, activation)

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        return self.network(torch.cat([self._x(x), self._theta(theta0)], dim=1)).squeeze(1)


class MorphingAwareRatioModel(_LogRatio):
    """A ratio estimator whose θ dependence is exact by morphing (arXiv:1907.10621, section on
    morphing-aware estimators).

    The network predicts, for each benchmark b, log r̂_b(x) = log p̂(x|θ_b)/p̂(x|θ_ref) (zero
    for the reference benchmark). As dσ(x|θ) = Σ_b ω_b(θ) σ_b p(x|θ_b),

        r̂(x|θ, θ_ref) = Σ_b ω_b(θ) σ_b/σ(θ) · r̂_b(x),   σ(θ) = Σ_b ω_b(θ) σ_b,

    with the morphing weights ω_b(θ) and the benchmark cross sections σ_b (after cuts).
    The sum can turn negative where the network is poor; it is clamped at 10⁻⁶. There are
    as many benchmarks as morphing components.
    """

    def __init__(self, n_observables: int, n_parameters: int, hidden: Sequence[int] = (64, 64),
                 activation: str = "tanh", n_components: int = 1, reference_index: int = 0) -> None:
        super().__init__(n_observables, n_parameters)
        self.reference_index = reference_index
        self.register_buffer("components", torch.zeros(n_components, n_parameters, dtype=torch.float64))
        self.register_buffer("morphing_matrix", torch.eye(n_components, dtype=torch.float64))
        self.register_buffer("benchmark_cross_sections", torch.ones(n_components, dtype=torch.float64))
        self.network = _mlp(n_observables, hidden, n_components, activation)

    def set_morphing(self, components: np.ndarray, matrix: np.ndarray, benchmark_cross_sections: np.ndarray) -> None:
        """The morphing (components, W = matrix @ benchmark weights) and σ_b of each benchmark."""
        self.components.copy_(torch.as_tensor(components, dtype=torch.float64))
        self.morphing_matrix.copy_(torch.as_tensor(matrix, dtype=torch.float64))
        self.benchmark_cross_sections.copy_(torch.as_tensor(benchmark_cross_sections, dtype=torch.float64))

    def benchmark_ratios(self, x: torch.Tensor) -> torch.Tensor:
        """r̂_b(x) of every benchmark, shape (n, n_benchmarks): the only part that depends on x."""
        log_r_benchmarks = self.network(self._x(x))
        return torch.exp(log_r_benchmarks - log_r_benchmarks[:, self.reference_index : self.reference_index + 1])

    def coefficients(self, theta0: torch.Tensor) -> torch.Tensor:
        """ω_b(θ) σ_b / σ(θ), shape (m, n_benchmarks): the only part that depends on θ."""
        components = self.components.to(theta0.dtype)
        # Torch's own monomials (not goldmine.physics.morphing.monomials): autograd needs ∂/∂θ of them.
        monomials = torch.prod(theta0[:, None, :] ** components[None, :, :], dim=2)
        weighted = (monomials @ self.morphing_matrix.to(theta0.dtype)) * self.benchmark_cross_sections.to(theta0.dtype)
        return weighted / weighted.sum(dim=1, keepdim=True)

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        ratio = (self.coefficients(theta0) * self.benchmark_ratios(x)).sum(dim=1)
        return torch.log(torch.clamp(ratio, min=1e-6))


class _Spline(MonotonicRQSTransform):
    """zuko's monotonic rational-quadratic spline, with the softmax over its bins written as exp / sum.

    torch's CPU softmax over the last axis of 8 bins takes half of a flow's evaluation time
    (7.3 ms for 8192 events × 6 features, against 1.3 ms for exp / sum, measured here on
    one thread). The squashing of zuko's spline bounds the logits by |log slope| / 2 ≈ 3.5,
    so exp cannot overflow and needs no maximum subtracted. The bins, knots and slopes are
    those of :class:`zuko.transforms.MonotonicRQSTransform` to float rounding (tested).
    """

    def __init__(self, widths: torch.Tensor, heights: torch.Tensor, derivatives: torch.Tensor, bound: float = 5.0,
                 slope: float = 1e-3) -> None:
        super(MonotonicRQSTransform, self).__init__()
        inverse_log_slope = 1 / math.log(slope)
        knots = []
        for logits in (widths, heights):
            bins = torch.exp(logits / (1 + torch.abs(logits * (2 * inverse_log_slope))))
            cumulative = torch.cumsum(bins, dim=-1) * (1 / bins.sum(dim=-1, keepdim=True))
            knots.append(bound * torch.nn.functional.pad(2 * cumulative - 1, (1, 0), value=-1.0))
        self.horizontal, self.vertical = knots
        derivatives = derivatives / (1 + torch.abs(derivatives * inverse_log_slope))
        self.derivatives = torch.exp(torch.nn.functional.pad(derivatives, (1, 1), value=0))


class DensityModel(_LogRatio):
    """NDE and SCANDAL: a conditional neural spline flow p̂(x|θ) (zuko), Durkan et al. arXiv:1906.04032.

    ``forward(x, θ₀)`` returns log p̂(x|θ₀) − log p̂(x|θ_ref), so a density model plugs into
    everything that uses a ratio model.
    """

    def __init__(self, n_observables: int, n_parameters: int, hidden: Sequence[int] = (64, 64),
                 activation: str = "tanh", transforms: int = 3) -> None:
        super().__init__(n_observables, n_parameters)
        self.register_buffer("reference", torch.zeros(n_parameters, dtype=torch.float64))
        self.flow = zuko.flows.NSF(features=n_observables, context=n_parameters, transforms=transforms,
                                   hidden_features=list(hidden), activation=_ACTIVATIONS[activation])
        for transform in self.flow.transform.transforms:
            if isinstance(transform, MaskedAutoregressiveTransform):
                transform.univariate = _Spline

    def log_likelihood(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        """log p̂(x|θ), including the Jacobian of the input standardisation."""
        log_jacobian = torch.log(self.x_scale.to(x.dtype)).sum()
        return self.flow(self._theta(theta)).log_prob(self._x(x)) - log_jacobian

    def forward(self, x: torch.Tensor, theta0: torch.Tensor) -> torch.Tensor:
        reference = self.reference.to(x.dtype).expand(len(x), -1)
        return self.log_likelihood(x, theta0) - self.log_likelihood(x, reference)


def model_class(method: str) -> type[ScoreModel | RatioModel | MorphingAwareRatioModel | DensityModel]:
    """The network class of a method."""
    if method in SCORE_METHODS:
        return ScoreModel
    if method in DENSITY_METHODS:
        return DensityModel
    if method.startswith(MORPHING_AWARE_PREFIX):
        return MorphingAwareRatioModel
    return RatioModel


def save_model(path: str | Path, model: nn.Module, metadata: Mapping[str, Any]) -> None:
    """Write ``path`` (state_dict) and ``path`` with suffix .json (metadata), atomically."""
    path = Path(path)
    # Saved through a file object: given a path, torch names the archive's folder after the
    # (temporary, random) file name, and the same weights would give different bytes.
    with atomic_output(path) as temporary, open(temporary, "wb") as stream:
        torch.save(model.state_dict(), stream)
    with atomic_output(path.with_suffix(".json")) as temporary:
        temporary.write_text(json.dumps(dict(metadata), indent=2, sort_keys=True))


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a model written by :func:`save_model` (method, member, architecture, history)."""
    return json.loads(Path(path).with_suffix(".json").read_text())


def load_model(path: str | Path) -> tuple[nn.Module, dict[str, Any]]:
    """Read a model written by :func:`save_model`; returns (model in eval mode, metadata)."""
    path = Path(path)
    metadata = read_metadata(path)
    options = {key: metadata[key] for key in ("transforms", "n_components", "reference_index") if key in metadata}
    model = model_class(metadata["method"])(
        len(metadata["observables"]), len(metadata["parameters"]), metadata["hidden"], metadata["activation"],
        **options,
    )
    model.load_state_dict(torch.load(path, weights_only=True))
    model.double()
    model.eval()
    return model, metadata
