"""Reconstructed objects: the event record that detectors and readers fill and observables read.

It sits below both :mod:`goldmine.detection` (which makes it) and :mod:`goldmine.io`
(whose Delphes reader fills it from a ROOT file), so neither depends on the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import awkward as ak
import numpy as np
import vector

__all__ = ["MUON_MASS", "ReconstructedMuons"]

#: the muon mass in GeV (PDG), given to reconstructed muons.
MUON_MASS = 0.1056584


@dataclass(frozen=True)
class ReconstructedMuons:
    """The reconstructed μ⁻ and μ⁺ of accepted events and which input events they came from.

    A card detector also fills ``collections`` (jagged vector arrays of the accepted events:
    "electrons", "photons", "jets") and ``missing`` (the missing transverse momentum).
    """

    mu_minus: vector.MomentumNumpy4D
    mu_plus: vector.MomentumNumpy4D
    accepted: np.ndarray  # boolean mask over the input events
    collections: Mapping[str, ak.Array] = field(default_factory=dict)
    missing: vector.MomentumNumpy2D | None = None
