"""What the generator needs from an embedded process: the ``Process`` protocol and the hard-process record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np

__all__ = ["HardProcess", "Process"]


@dataclass(frozen=True)
class HardProcess:
    """The particles of n events with k particles each, in the order of the LHE event record.

    Args:
        pdgid: PDG ids, shape (n, k).
        status: LHE status codes (−1 incoming, 2 intermediate resonance, 1 final), shape (k,).
        mother1: first mother (1-based, 0 for none), shape (k,).
        mother2: second mother, shape (k,).
        color1: colour line, shape (n, k) (0 for none).
        color2: anticolour line, shape (n, k).
        momenta: four-momenta (E, px, py, pz) in GeV, shape (n, k, 4).
        mass: generated masses in GeV, shape (n, k).
    """

    pdgid: np.ndarray
    status: np.ndarray
    mother1: np.ndarray
    mother2: np.ndarray
    color1: np.ndarray
    color2: np.ndarray
    momenta: np.ndarray
    mass: np.ndarray


class Process(Protocol):
    """An embedded process with an analytic |M|² in the theory parameters θ.

    A phase-space point is one row of a float array; its columns are the process's own
    variables (angles, masses, channel labels), opaque to the generator. Where |M|² is a
    polynomial in θ (``morphs``) its weights morph; otherwise the setup has finite-difference
    benchmarks around the Standard Model point ``standard_model``.
    """

    name: ClassVar[str]
    parameter_names: tuple[str, ...]
    max_powers: tuple[int, ...]
    max_overall_power: ClassVar[int]
    morphs: bool
    standard_model: tuple[float, ...]
    sqrt_s: float
    alpha_em: float

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(θ) in pb, a scalar for θ of shape (p,), shape (m,) for (m, p)."""

    def sample_phase_space(self, n: int, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """n phase-space points drawn unweighted from dσ(z|θ), shape (n, d)."""

    def phase_space_density(self, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dσ(z|θ) per unit of the phase-space variables: shape (n,) for one θ, (m, n) for m."""

    def hard_process(self, points: np.ndarray) -> HardProcess:
        """The LHE particle record of each phase-space point."""
