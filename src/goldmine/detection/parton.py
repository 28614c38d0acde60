"""The parton-level "detector": observables on the true final-state particles.

Every event is kept and nothing is smeared, so the observables are functions of the hard
process's momenta, where an exact likelihood can be written down (for ``ee_ww``,
:class:`goldmine.inference.exact_ww.ExactWW`). The record it fills is the one card detectors
fill: the leading true μ⁻ and μ⁺ (NaN where absent), and the collections ``leptons`` (charged
e and μ, with their ``charge``), ``neutrinos`` and ``jets`` (the quarks and gluons, which are the
jets at parton level), each most energetic first; ``missing`` is the neutrinos' transverse
momentum.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np
import vector

from goldmine.detection.detector import leading_muons
from goldmine.physics.objects import ReconstructedMuons

__all__ = ["PartonLevel"]

vector.register_awkward()

_CHARGED_LEPTONS = (11, 13)
_NEUTRINOS = (12, 14, 16)
_PARTONS = (1, 2, 3, 4, 5, 21)


def _collection(final: ak.Array, pdgids: tuple[int, ...], charge: bool = False) -> ak.Array:
    """The final-state particles with these |PDG ids| as vector records, most energetic first."""
    selected = final[_is_any(final.pdgid, pdgids)]
    fields = {"px": selected.px, "py": selected.py, "pz": selected.pz, "E": selected.energy}
    if charge:
        # a negative PDG id is the antilepton: ℓ⁺
        fields["charge"] = ak.where(selected.pdgid > 0, -1.0, 1.0)
    records = vector.zip(fields)
    return records[ak.argsort(records.E, axis=1, ascending=False)]


def _is_any(pdgid: ak.Array, pdgids: tuple[int, ...]) -> ak.Array:
    """Whether each particle's |PDG id| is one of ``pdgids`` (jagged, like ``pdgid``)."""
    absolute = abs(pdgid)
    mask = absolute == pdgids[0]
    for value in pdgids[1:]:
        mask = mask | (absolute == value)
    return mask


@dataclass(frozen=True)
class PartonLevel:
    """Observables on the true final state: no acceptance, efficiency or smearing.

    Example:
        >>> import awkward as ak
        >>> particles = ak.Array([{"pdgid": [11, -12, 2, -1], "status": [1, 1, 1, 1],
        ...     "px": [10.0, -10.0, 30.0, -30.0], "py": [0.0, 0.0, 5.0, -5.0], "pz": [40.0, -20.0, 0.0, 5.0],
        ...     "energy": [41.2, 22.4, 30.4, 30.8]}])
        >>> event = PartonLevel().reconstruct(particles, np.random.default_rng(0))
        >>> event.collections["leptons"].charge.tolist(), ak.num(event.collections["jets"]).tolist()
        ([[-1.0]], [2])
    """

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """The true final state of every event (``rng`` is unused: nothing is random here).

        Args:
            particles: LHE or shower particles (fields pdgid, status, px, py, pz, energy), one list per event.
            rng: unused; the detectors' common signature.
            first_event: unused; the detectors' common signature.

        Returns:
            ReconstructedMuons of all events, with the collections of the module docstring.
        """
        final = particles[particles.status == 1]
        muons = leading_muons(particles, first_event, required=False)
        neutrinos = _collection(final, _NEUTRINOS)
        collections = {"leptons": _collection(final, _CHARGED_LEPTONS, charge=True), "neutrinos": neutrinos,
                       "jets": _collection(final, _PARTONS)}
        missing = vector.array({"px": ak.to_numpy(ak.sum(neutrinos.px, axis=1)).astype(float),
                                "py": ak.to_numpy(ak.sum(neutrinos.py, axis=1)).astype(float)})
        return ReconstructedMuons(muons["mu_minus"], muons["mu_plus"], np.ones(len(particles), dtype=bool),
                                  collections, missing)
