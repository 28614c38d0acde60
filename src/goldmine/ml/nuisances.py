"""Per-nuisance ratio networks: the learned shape variations of the systematics.

A shape variation multiplies each simulated event's weight by f_up(x, z) at +1σ and
f_down(x, z) at −1σ of its nuisance parameter (MadGraph's scale or PDF weights over the
nominal one, or a synthetic tilt). What a likelihood of the observables needs is the ratio of
the varied to the nominal differential rate,

    g(x) = dσ_up(x) / dσ_nom(x) = E_nom[f_up | x],

which the per-event factor estimates without bias but with the noise of the latent z: the
same regression that makes ROLR's and RASCAL's networks converge to r(x) from r(x, z). One
small network per nuisance parameter learns log ĝ_up(x) and log ĝ_down(x) at the reference
point by the weighted squared error Σ_e w_e (ĝ(x_e) − f_e)², as in the per-nuisance ratio
networks of ATLAS's neural simulation-based inference (arXiv:2412.01600). Profiled in q,
ĝ replaces the per-event factors (:func:`goldmine.inference.methods.profiled_unbinned_q`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from goldmine.ml.models import _mlp, _Standardised, read_metadata, save_model
from goldmine.ml.trainer import TRAINING_SETTINGS, TrainingHistory, train

__all__ = [
    "NUISANCE_METHOD",
    "NuisanceRatioModel",
    "evaluate_nuisance_ratios",
    "load_nuisance_model",
    "save_nuisance_model",
    "train_nuisance_ratios",
]

#: the ``method`` of a nuisance model's metadata.
NUISANCE_METHOD = "nuisance_ratios"


class NuisanceRatioModel(_Standardised):
    """One network per nuisance parameter: x → (log ĝ_up(x), log ĝ_down(x)).

    Args:
        n_observables: the number of observables.
        names: the nuisance parameters' names, one network each.
        hidden: hidden layer widths.
        activation: tanh, relu or silu.

    Example:
        >>> model = NuisanceRatioModel(2, ["scale", "pdf"], hidden=[8])
        >>> tuple(model(torch.zeros(5, 2)).shape)  # events, nuisance parameters, (up, down)
        (5, 2, 2)
    """

    def __init__(self, n_observables: int, names: Sequence[str], hidden: Sequence[int] = (64, 64),
                 activation: str = "tanh") -> None:
        super().__init__(n_observables, 0)
        self.names = tuple(names)
        self.networks = nn.ModuleList(_mlp(n_observables, hidden, 2, activation) for _ in self.names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        standardised = self._x(x)
        return torch.stack([network(standardised) for network in self.networks], dim=1)


def train_nuisance_ratios(x: np.ndarray, weights: np.ndarray, factors: Mapping[str, tuple[np.ndarray, np.ndarray]],
                          settings: Mapping[str, Any], checkpoint: str | Path | None = None, progress: bool = True,
                          device: torch.device | None = None) -> tuple[NuisanceRatioModel, TrainingHistory]:
    """Train the networks of every shape variation on weighted events at the reference point.

    Args:
        x: observations, shape (n, d).
        weights: the events' weights at the reference point, shape (n,).
        factors: nuisance name → (f_up, f_down), per-event weight factors, each shape (n,).
        settings: network and training settings (``training.nuisance`` of the config).
        checkpoint: training-state file to resume from and update each epoch.
        progress: show a progress bar.
        device: where to train (CUDA when present, by default).

    Returns:
        (model, history).
    """
    model = NuisanceRatioModel(x.shape[1], list(factors), settings["hidden"], settings["activation"])
    model.set_scaling(x, np.zeros((0, 2)))
    targets = np.stack([np.column_stack(pair) for pair in factors.values()], axis=1)
    # weights of mean one: the loss keeps the scale of a plain squared error whatever the cross section
    relative = np.asarray(weights, dtype=float) / np.mean(weights)

    def loss(model: NuisanceRatioModel, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        squared = (torch.exp(model(batch["x"])) - batch["f"]) ** 2
        return (batch["w"] * squared.sum(dim=(1, 2))).mean()

    history = train(model, loss, {"x": x, "w": relative, "f": targets}, checkpoint=checkpoint, progress=progress,
                    device=device, **{key: settings[key] for key in TRAINING_SETTINGS})
    return model, history


def evaluate_nuisance_ratios(model: NuisanceRatioModel, x: np.ndarray, batch_size: int = 65536
                             ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """ĝ_up(x) and ĝ_down(x) of every nuisance parameter.

    Returns:
        nuisance name → (up, down), each shape (n,).

    Example:
        >>> ratios = evaluate_nuisance_ratios(NuisanceRatioModel(1, ["s"], hidden=[4]), np.zeros((3, 1)))
        >>> [part.shape for part in ratios["s"]]
        [(3,), (3,)]
    """
    model = model.double().eval()
    device = next(model.parameters()).device
    ratios = np.ones((len(x), len(model.names), 2))
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.as_tensor(x[start : start + batch_size], dtype=torch.float64, device=device)
            ratios[start : start + batch_size] = torch.exp(model(batch)).cpu().numpy()
    return {name: (ratios[:, k, 0], ratios[:, k, 1]) for k, name in enumerate(model.names)}


def save_nuisance_model(path: str | Path, model: NuisanceRatioModel, settings: Mapping[str, Any],
                        observable_names: Sequence[str], reference: np.ndarray, history: TrainingHistory) -> None:
    """Write the model (state_dict) and its metadata (.json beside it), atomically."""
    save_model(path, model, {
        "method": NUISANCE_METHOD,
        "nuisance_parameters": list(model.names),
        "hidden": list(settings["hidden"]),
        "activation": settings["activation"],
        "observables": list(observable_names),
        "reference": np.asarray(reference).tolist(),
        "training": {key: settings[key] for key in TRAINING_SETTINGS},
        "history": history.as_dict(),
        "torch": torch.__version__,
    })


def load_nuisance_model(path: str | Path) -> tuple[NuisanceRatioModel, dict[str, Any]]:
    """Read a model written by :func:`save_nuisance_model`; returns (model in eval mode, metadata).

    Raises:
        EventFileError: when ``path`` has no metadata beside it or holds another kind of model.
    """
    from goldmine.exceptions import EventFileError

    try:
        metadata = read_metadata(path)
    except (OSError, ValueError) as error:
        raise EventFileError(f"{path}: no readable model metadata beside it ({error})") from None
    if metadata.get("method") != NUISANCE_METHOD:
        raise EventFileError(f"{path}: a model of {metadata.get('method')!r}, not of the nuisance parameters "
                             f"(goldmine train-nuisances)")
    model = NuisanceRatioModel(len(metadata["observables"]), metadata["nuisance_parameters"], metadata["hidden"],
                               metadata["activation"])
    model.load_state_dict(torch.load(path, weights_only=True))
    model.double()
    model.eval()
    return model, metadata
