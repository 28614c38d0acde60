"""Detector cards: per-object efficiency and resolution as formulas, in the spirit of Delphes cards.

A card (YAML, in ``config/processes/detectors/``) gives, for each object type, formulas of the
true kinematics — ``p``, ``pt``, ``e``, ``eta``, ``theta``, ``cos_theta``, ``phi`` — for

- ``efficiency``: the probability that the object is reconstructed (acceptance included);
- ``momentum_resolution``: the relative Gaussian σ of |p| (muons, electrons) or of the energy
  (photons);
- ``angle_resolution``: the Gaussian σ of θ and φ in rad.

Formulas are :mod:`goldmine.detection.expressions`: arithmetic with comparisons (true = 1) and a few
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

vector.register_awkward()

from goldmine.detection import jets as jets_module
from goldmine.detection.detector import leading_muons, smear
from goldmine.detection.expressions import Expression, ExpressionError
from goldmine.physics.objects import MUON_MASS, ReconstructedMuons

__all__ = ["CardDetector", "Formula", "ObjectCard", "kinematics", "load_card"]

_VARIABLES = ("p", "pt", "e", "eta", "theta", "cos_theta", "phi")


class Formula:
    """A card formula: an :class:`~goldmine.detection.expressions.Expression` of the object kinematics.

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
    """Efficiency, resolutions and (for electrons and photons) isolation of one object type.

    ``isolation`` is the largest Σp_T of the other visible particles within ΔR < 0.4, relative to
    the object's p_T, for an isolated object (none: no requirement).
    """

    efficiency: Formula
    momentum_resolution: Formula
    angle_resolution: Formula
    isolation: float | None = None

    @classmethod
    def from_mapping(cls, entries: Mapping[str, Any]) -> ObjectCard:
        formulas = {key: Formula(str(entries[key])) for key in ("efficiency", "momentum_resolution",
                                                                "angle_resolution")}
        return cls(**formulas, isolation=entries.get("isolation"))


def kinematics(objects) -> dict[str, np.ndarray]:
    """The formula variables of some momenta."""
    return {"p": objects.p, "pt": objects.pt, "e": objects.E, "eta": objects.eta, "theta": objects.theta,
            "cos_theta": objects.costheta, "phi": objects.phi}


def _momenta(particles: ak.Array) -> ak.Array:
    return vector.zip({"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.energy})


def _relative_isolation(candidates: ak.Array, visible: ak.Array) -> ak.Array:
    """Σp_T of the visible particles within ΔR < 0.4 of each candidate (itself excluded) over its p_T."""
    candidate, other = ak.unzip(ak.cartesian([_momenta(candidates), _momenta(visible)], nested=True))
    distance = candidate.deltaR(other)
    near = (distance < 0.4) & (distance > 1e-9)
    return ak.sum(other.pt * near, axis=2) / _momenta(candidates).pt


@dataclass(frozen=True)
class CardDetector:
    """A detector described by a card.

    Muons (the leading μ⁻ and μ⁺ decide whether an event is accepted), and, when the card has
    them, electrons and photons (efficiency, smearing, isolation), jets (FastJet on the visible
    particles that are not isolated leptons or photons, then efficiency and smearing) and the
    missing transverse momentum (minus the sum of everything reconstructed).

    Args:
        name: the card's name.
        objects: object type ("muon", "electron", "photon", "jet") → its card.
        jets: the clustering settings of :func:`goldmine.detection.jets.cluster` (card key ``jet.clustering``).
        require_muon_pair: whether an event needs a μ⁻ and a μ⁺ (config key
            ``detector.require_muon_pair``); if not, an event without them keeps NaN muons and
            is accepted on its other objects (a dijet sample).
    """

    name: str
    objects: Mapping[str, ObjectCard]
    jets: Mapping[str, Any] | None = None
    require_muon_pair: bool = True

    def _reconstruct_objects(self, candidates: ak.Array, card: ObjectCard, mass: float,
                             rng: np.random.Generator, keep: ak.Array | None = None) -> ak.Array:
        """Efficiency and smearing of every candidate; returns jagged vector records (E-ordered)."""
        counts = ak.num(candidates)
        flat = ak.flatten(candidates)
        true = vector.array({"px": ak.to_numpy(flat.px), "py": ak.to_numpy(flat.py), "pz": ak.to_numpy(flat.pz),
                             "E": ak.to_numpy(flat.energy)})
        variables = kinematics(true)
        found = rng.random(len(true)) < card.efficiency(**variables)
        smeared = smear(true, card.angle_resolution(**variables), card.momentum_resolution(**variables), mass, rng)
        records = vector.zip({"px": smeared.px, "py": smeared.py, "pz": smeared.pz, "E": smeared.E})
        found = ak.unflatten(found, counts)
        if keep is not None:
            found = found & keep
        objects = ak.unflatten(records, counts)[found]
        return objects[ak.argsort(objects.E, axis=1, ascending=False)]

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Reconstruct the event: leading μ⁻ and μ⁺ with the card's formulas, and the other objects."""
        card = self.objects["muon"]
        muons = leading_muons(particles, first_event, required=self.require_muon_pair)
        n = len(particles)
        accepted = np.ones(n, dtype=bool)
        smeared = {}
        for name in ("mu_minus", "mu_plus"):
            variables = kinematics(muons[name])
            absent = np.isnan(muons[name].E)
            accepted &= absent | (rng.random(n) < card.efficiency(**variables))
            smeared[name] = smear(muons[name], card.angle_resolution(**variables),
                                  card.momentum_resolution(**variables), MUON_MASS, rng)
        if not set(self.objects) - {"muon"}:
            return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted)
        collections = self.reconstruct_collections(particles[accepted], rng)
        total_x = smeared["mu_minus"][accepted].px + smeared["mu_plus"][accepted].px
        total_y = smeared["mu_minus"][accepted].py + smeared["mu_plus"][accepted].py
        for objects in collections.values():
            total_x = total_x + ak.to_numpy(ak.sum(objects.px, axis=1))
            total_y = total_y + ak.to_numpy(ak.sum(objects.py, axis=1))
        missing = vector.array({"px": -total_x, "py": -total_y})
        return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted,
                                  collections, missing)

    def reconstruct_collections(self, particles: ak.Array, rng: np.random.Generator) -> dict[str, ak.Array]:
        """Electrons, photons and jets of every event, as the card describes them (no muon requirement).

        Returns:
            "electrons", "photons", "jets" (those the card has) → jagged vector records, most energetic first.
        """
        visible = jets_module.visible(particles[particles.status == 1])
        collections: dict[str, ak.Array] = {}
        isolated_mask = ak.zeros_like(visible.pdgid, dtype=bool)
        for kind, pdgid, mass in (("electron", 11, 0.000511), ("photon", 22, 0.0)):
            if kind not in self.objects:
                continue
            object_card = self.objects[kind]
            is_candidate = abs(visible.pdgid) == pdgid
            candidates = visible[is_candidate]
            isolated = None
            if object_card.isolation is not None:
                isolated = _relative_isolation(candidates, visible) < object_card.isolation
            # Candidates that count as objects of their own (the isolated ones, or all without an
            # isolation requirement) stay out of the jets.
            positions = ak.local_index(visible)[is_candidate]
            isolated_mask = isolated_mask | _mark(visible, positions if isolated is None else positions[isolated])
            collections[kind + "s"] = self._reconstruct_objects(candidates, object_card, mass, rng, isolated)
        if "jet" in self.objects and self.jets is not None:
            for_jets = visible[(abs(visible.pdgid) != 13) & ~isolated_mask]
            clustered = jets_module.cluster(for_jets, self.jets)
            as_particles = ak.zip({"px": clustered.px, "py": clustered.py, "pz": clustered.pz, "energy": clustered.E})
            collections["jets"] = self._reconstruct_objects(as_particles, self.objects["jet"], 0.0, rng)
        return collections


def _mark(array: ak.Array, positions: ak.Array) -> ak.Array:
    """A jagged boolean mask shaped like ``array``, true at the given positions of each event."""
    counts = ak.to_numpy(ak.num(array))
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.zeros(int(counts.sum()), dtype=bool)
    flat[ak.to_numpy(ak.flatten(positions + offsets))] = True
    return ak.unflatten(flat, counts)


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
        if kind not in ("muon", "electron", "photon", "jet"):
            raise ValueError(f"{path}: unknown object {kind!r}; a card has muon, electron, photon and jet")
        try:
            objects[kind] = ObjectCard.from_mapping(entries)
        except ExpressionError as error:
            raise ExpressionError(f"{path}: {kind}: {error}") from None
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: {kind}: needs efficiency, momentum_resolution and angle_resolution ({error})"
                             ) from None
    if "muon" not in objects:
        raise ValueError(f"{path}: the card has no muon entry")
    jets = document.get("jet", {}).get("clustering")
    return CardDetector(document.get("name", path.stem), objects, jets)
