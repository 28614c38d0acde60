"""A parametrised muon detector: acceptance, efficiency and Gaussian smearing.

Acceptance and efficiency act on the true muon direction (as the efficiency
formulas of a Delphes card act on the generated particle); the polar angle θ, the
azimuth φ and the momentum |p| are then smeared with Gaussians. A smeared polar
angle outside [0, π] is folded back onto the sphere (θ → −θ or 2π − θ, φ → φ + π),
so the density of the measured θ is a sum of three Gaussian images — the exact
likelihood in :mod:`goldmine.inference.exact` uses exactly this.
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
    """Muon efficiency, acceptance and resolutions.

    Args:
        efficiency: probability to reconstruct a muon inside the acceptance.
        cos_theta_max: acceptance |cos θ_true| < cos_theta_max.
        angle_resolution: Gaussian σ of θ and φ in rad.
        momentum_resolution: relative Gaussian σ of |p|.

    Example:
        >>> detector = MuonDetector.from_config({"muon": {"angle_resolution": 0.01}})
        >>> detector.angle_resolution, detector.efficiency
        (0.01, 0.95)
    """

    efficiency: float = 0.95
    cos_theta_max: float = 0.95
    angle_resolution: float = 0.03
    momentum_resolution: float = 0.02

    @classmethod
    def from_config(cls, detector_config: Mapping[str, Any]) -> MuonDetector:
        return cls(**detector_config.get("muon", {}))

    def efficiency_of(self, cos_theta_true: np.ndarray) -> np.ndarray:
        """Probability that a muon with this true cos θ is reconstructed."""
        return np.where(np.abs(cos_theta_true) < self.cos_theta_max, self.efficiency, 0.0)

    def _smear(self, muons: vector.MomentumNumpy4D, rng: np.random.Generator) -> vector.MomentumNumpy4D:
        return smear(muons, self.angle_resolution, self.momentum_resolution, MUON_MASS, rng)

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Reconstruct the leading final-state μ⁻ and μ⁺ of each event.

        Args:
            particles: LHE particles (fields pdgid, status, px, py, pz, energy), one list per event.
            rng: random generator for efficiencies and smearing.
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
        return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted)
