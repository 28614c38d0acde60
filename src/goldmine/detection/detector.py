"""A parametrised muon detector: acceptance, efficiency, Gaussian smearing and charge misidentification.

Acceptance and efficiency act on the true muon direction (as the efficiency
formulas of a Delphes card act on the generated particle): either one efficiency
inside |cos θ| < cos_theta_max, or an efficiency per bin of the true |cos θ| (an
acceptance with structure, e.g. a crack). The polar angle θ, the azimuth φ and the
momentum |p| are then smeared with Gaussians. A smeared polar angle outside [0, π]
is folded back onto the sphere (θ → −θ or 2π − θ, φ → φ + π), so the density of the
measured θ is a sum of three Gaussian images. Last, each muon's measured charge is
wrong with a fixed probability: an event with a same-sign pair is rejected, one
where both charges flip has μ⁻ and μ⁺ swapped. The exact likelihood in
:mod:`goldmine.inference.exact` includes all of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

from goldmine.exceptions import DetectorError
from goldmine.physics.objects import MUON_MASS, ReconstructedMuons

__all__ = ["MuonDetector", "leading_muons", "smear"]

def smear(objects: vector.MomentumNumpy4D, angle_resolution: float | np.ndarray,
          momentum_resolution: float | np.ndarray, mass: float, rng: np.random.Generator) -> vector.MomentumNumpy4D:
    """Gaussian smearing of θ and φ (σ in rad) and of |p| (relative σ), θ folded back onto [0, π].

    Args:
        objects: true momenta.
        angle_resolution: σ of θ and φ, a number or one per object.
        momentum_resolution: relative σ of |p|, a number or one per object.
        mass: the mass given to the smeared objects.
        rng: random generator (three normal draws per object, in a fixed order).
    """
    n = len(objects)
    theta = objects.theta + angle_resolution * rng.standard_normal(n)
    phi = objects.phi + angle_resolution * rng.standard_normal(n)
    below, above = theta < 0.0, theta > np.pi
    theta = np.where(below, -theta, np.where(above, 2.0 * np.pi - theta, theta))
    phi = np.where(below | above, phi + np.pi, phi)
    momentum = np.abs(objects.p * (1.0 + momentum_resolution * rng.standard_normal(n)))
    return vector.array({
        "px": momentum * np.sin(theta) * np.cos(phi),
        "py": momentum * np.sin(theta) * np.sin(phi),
        "pz": momentum * np.cos(theta),
        "M": np.full(n, mass),
    })


def leading_muons(particles: ak.Array, first_event: int = 0,
                  required: bool = True) -> dict[str, vector.MomentumNumpy4D]:
    """The most energetic final-state μ⁻ and μ⁺ of each event (a showered event can hold muon
    pairs from photon splitting), as {"mu_minus": …, "mu_plus": …}.

    Args:
        particles: final-state and other particles, one list per event.
        first_event: index of the first event, for error messages.
        required: whether every event must hold both; if not, a missing muon is NaN.

    Raises:
        DetectorError: naming the first event without a final-state μ⁻ or μ⁺ (when required).
    """
    final = particles[particles.status == 1]
    muons = {}
    for name, pdgid in (("mu_minus", 13), ("mu_plus", -13)):
        selected = final[final.pdgid == pdgid]
        counts = ak.to_numpy(ak.num(selected))
        if required and np.any(counts == 0):
            bad = int(np.argmax(counts == 0))
            raise DetectorError(f"event {first_event + bad}: no final-state {name.replace('_', ' ')}")
        leading = ak.firsts(selected[ak.argmax(selected.energy, axis=1, keepdims=True)])
        muons[name] = vector.array(
            {field: ak.to_numpy(ak.fill_none(leading[source], np.nan)).astype(float)
             for field, source in (("px", "px"), ("py", "py"), ("pz", "pz"), ("E", "energy"))}
        )
    return muons


@dataclass(frozen=True)
class MuonDetector:
    """Muon efficiency, acceptance, resolutions and charge misidentification.

    Args:
        efficiency: probability to reconstruct a muon inside the acceptance.
        cos_theta_max: acceptance |cos θ_true| < cos_theta_max.
        angle_resolution: Gaussian σ of θ and φ in rad.
        momentum_resolution: relative Gaussian σ of |p|.
        charge_misid: probability, per muon, that its measured charge is wrong, in [0, 0.5).
        acceptance_edges: increasing bin edges in the true |cos θ|, within [0, 1]; when given,
            ``acceptance_efficiencies`` (one per bin) replace efficiency and cos_theta_max, and
            the efficiency is zero outside the bins.
        acceptance_efficiencies: the efficiency in each bin of ``acceptance_edges``.

    Raises:
        DetectorError: naming the setting that is out of range.

    Example:
        >>> detector = MuonDetector.from_config({"muon": {"angle_resolution": 0.01}})
        >>> detector.angle_resolution, detector.efficiency
        (0.01, 0.95)
        >>> crack = MuonDetector.from_config({"muon": {"acceptance": {"abs_cos_theta": [0.0, 0.1, 0.6],
        ...                                                           "efficiency": [0.5, 0.9]}}})
        >>> crack.efficiency_of(np.array([0.05, -0.3, 0.7])).tolist()
        [0.5, 0.9, 0.0]
    """

    efficiency: float = 0.95
    cos_theta_max: float = 0.95
    angle_resolution: float = 0.03
    momentum_resolution: float = 0.02
    charge_misid: float = 0.0
    acceptance_edges: tuple[float, ...] | None = None
    acceptance_efficiencies: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.charge_misid < 0.5:
            raise DetectorError(f"muon charge_misid {self.charge_misid} is not in [0, 0.5)")
        if (self.acceptance_edges is None) != (self.acceptance_efficiencies is None):
            raise DetectorError("muon acceptance needs both its |cos θ| edges and one efficiency per bin")
        if self.acceptance_edges is None:
            return
        edges, efficiencies = np.asarray(self.acceptance_edges), np.asarray(self.acceptance_efficiencies)
        if len(edges) < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0 or edges[-1] > 1:
            raise DetectorError(f"muon acceptance edges {list(self.acceptance_edges)} must increase within [0, 1]")
        if (len(efficiencies) != len(edges) - 1 or np.any((efficiencies < 0) | (efficiencies > 1))
                or not np.any(efficiencies > 0)):
            raise DetectorError(f"muon acceptance efficiencies {list(self.acceptance_efficiencies)} must be one "
                                f"per bin of the edges {list(self.acceptance_edges)}, each in [0, 1], "
                                "not all zero")

    @classmethod
    def from_config(cls, detector_config: Mapping[str, Any]) -> MuonDetector:
        """The detector of the config section ``detector``: its ``muon`` settings, where an
        ``acceptance`` ({abs_cos_theta: edges, efficiency: per bin}) replaces efficiency and cos_theta_max.

        Raises:
            DetectorError: naming the setting that is out of range.
        """
        settings = dict(detector_config.get("muon", {}))
        acceptance = settings.pop("acceptance", None)
        if acceptance is None:
            return cls(**settings)
        settings = {key: value for key, value in settings.items() if key not in ("efficiency", "cos_theta_max")}
        return cls(**settings, acceptance_edges=tuple(acceptance["abs_cos_theta"]),
                   acceptance_efficiencies=tuple(acceptance["efficiency"]))

    @property
    def acceptance_bins(self) -> tuple[np.ndarray, np.ndarray]:
        """(edges in the true |cos θ|, efficiency per bin); zero efficiency outside the edges."""
        if self.acceptance_edges is None:
            return np.array([0.0, self.cos_theta_max]), np.array([self.efficiency])
        return np.array(self.acceptance_edges, dtype=float), np.array(self.acceptance_efficiencies, dtype=float)

    def efficiency_of(self, cos_theta_true: np.ndarray) -> np.ndarray:
        """Probability that a muon with this true cos θ is reconstructed."""
        edges, efficiencies = self.acceptance_bins
        index = np.searchsorted(edges, np.abs(cos_theta_true), side="right") - 1
        inside = (index >= 0) & (index < len(efficiencies))
        return np.where(inside, efficiencies[np.clip(index, 0, len(efficiencies) - 1)], 0.0)

    def _smear(self, muons: vector.MomentumNumpy4D, rng: np.random.Generator) -> vector.MomentumNumpy4D:
        return smear(muons, self.angle_resolution, self.momentum_resolution, MUON_MASS, rng)

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Reconstruct the leading final-state μ⁻ and μ⁺ of each event.

        Args:
            particles: LHE particles (fields pdgid, status, px, py, pz, energy), one list per event.
            rng: random generator for efficiencies, smearing and charge misidentification.
            first_event: index of the first event, for error messages.

        Returns:
            ReconstructedMuons of the accepted events.

        Raises:
            DetectorError: if an event holds no final-state μ⁻ or no μ⁺.
        """
        muons = leading_muons(particles, first_event)
        n = len(particles)
        accepted = np.ones(n, dtype=bool)
        for name in ("mu_minus", "mu_plus"):
            accepted &= rng.random(n) < self.efficiency_of(muons[name].costheta)
        smeared = {name: self._smear(muons[name], rng) for name in ("mu_minus", "mu_plus")}
        if self.charge_misid > 0:
            # Drawn last, and only when asked for, so a detector without misidentification
            # consumes the random stream exactly as before.
            flipped = {name: rng.random(n) < self.charge_misid for name in ("mu_minus", "mu_plus")}
            accepted &= flipped["mu_minus"] == flipped["mu_plus"]
            swapped = flipped["mu_minus"] & flipped["mu_plus"]
            smeared = {"mu_minus": _where(swapped, smeared["mu_plus"], smeared["mu_minus"]),
                       "mu_plus": _where(swapped, smeared["mu_minus"], smeared["mu_plus"])}
        return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted)


def _where(condition: np.ndarray, if_true: vector.MomentumNumpy4D,
           if_false: vector.MomentumNumpy4D) -> vector.MomentumNumpy4D:
    """Per event, the momentum of ``if_true`` where ``condition`` holds, else that of ``if_false``."""
    return vector.array({field: np.where(condition, getattr(if_true, field), getattr(if_false, field))
                         for field in ("px", "py", "pz", "M")})
