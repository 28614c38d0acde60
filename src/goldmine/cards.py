"""Detector cards: per-object efficiency and resolution as formulas, in the spirit of Delphes cards.

A card (YAML, in ``config/processes/detectors/``) gives, for each object type, formulas of the
true kinematics — ``p``, ``pt``, ``e``, ``eta``, ``theta``, ``cos_theta``, ``phi`` — for

- ``efficiency``: the probability that the object is reconstructed (acceptance included);
- ``momentum_resolution``: the relative Gaussian σ of |p| (muons, electrons) or of the energy
  (photons);
- ``angle_resolution``: the Gaussian σ of θ and φ in rad.

Formulas are :mod:`goldmine.expressions`: arithmetic with comparisons (true = 1) and a few
numpy functions, parsed and checked once and evaluated on whole arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import vector
import yaml

from goldmine.detector import ReconstructedMuons, leading_muons, smear
from goldmine.expressions import Expression, ExpressionError

__all__ = ["CardDetector", "Formula", "ObjectCard", "kinematics", "load_card"]

_VARIABLES = ("p", "pt", "e", "eta", "theta", "cos_theta", "phi")
_MUON_MASS = 0.1056584


class Formula:
    """A card formula: an :class:`~goldmine.expressions.Expression` of the object kinematics.

    Example:
        >>> f = Formula("0.95 * (abs(eta) < 2.5) * (pt > 10)")
        >>> f(pt=np.array([5.0, 20.0, 20.0]), eta=np.array([0.0, 1.0, 3.0])).tolist()
        [0.0, 0.95, 0.0]
    """

    def __init__(self, text: str) -> None:
        self.text = str(text)
        self._expression = Expression(self.text, _VARIABLES)

    def __call__(self, **variables: np.ndarray) -> np.ndarray:
        size = max((np.size(v) for v in variables.values()), default=1)
        return np.broadcast_to(np.asarray(self._expression(**variables), dtype=float), (size,)).copy()


@dataclass(frozen=True)
class ObjectCard:
    """Efficiency and resolutions of one object type."""

    efficiency: Formula
    momentum_resolution: Formula
    angle_resolution: Formula

    @classmethod
    def from_mapping(cls, entries: Mapping[str, Any]) -> ObjectCard:
        return cls(**{key: Formula(str(entries[key])) for key in ("efficiency", "momentum_resolution",
                                                                  "angle_resolution")})


def kinematics(objects: vector.MomentumNumpy4D) -> dict[str, np.ndarray]:
    """The formula variables of some momenta."""
    return {"p": objects.p, "pt": objects.pt, "e": objects.E, "eta": objects.eta, "theta": objects.theta,
            "cos_theta": objects.costheta, "phi": objects.phi}


@dataclass(frozen=True)
class CardDetector:
    """A detector described by a card: muons are reconstructed with the card's formulas.

    Args:
        name: the card's name.
        objects: object type ("muon", "electron", "photon") → its card.
    """

    name: str
    objects: Mapping[str, ObjectCard]

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Leading μ⁻ and μ⁺: reconstructed with the card's efficiency, smeared with its resolutions."""
        card = self.objects["muon"]
        muons = leading_muons(particles, first_event)
        n = len(particles)
        accepted = np.ones(n, dtype=bool)
        smeared = {}
        for name in ("mu_minus", "mu_plus"):
            variables = kinematics(muons[name])
            accepted &= rng.random(n) < card.efficiency(**variables)
            smeared[name] = smear(muons[name], card.angle_resolution(**variables),
                                  card.momentum_resolution(**variables), _MUON_MASS, rng)
        return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted)


def load_card(path: str | Path) -> CardDetector:
    """Read a detector card.

    Raises:
        ExpressionError: naming the card, the object and the bad formula.
        ValueError: naming the card and the missing object or key.
    """
    path = Path(path)
    document = yaml.safe_load(path.read_text())
    objects = {}
    for kind, entries in document.items():
        if kind == "name":
            continue
        try:
            objects[kind] = ObjectCard.from_mapping(entries)
        except ExpressionError as error:
            raise ExpressionError(f"{path}: {kind}: {error}") from None
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: {kind}: needs efficiency, momentum_resolution and angle_resolution ({error})"
                             ) from None
    if "muon" not in objects:
        raise ValueError(f"{path}: the card has no muon entry")
    return CardDetector(document.get("name", path.stem), objects)
