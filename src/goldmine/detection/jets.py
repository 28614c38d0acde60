"""Jet clustering with FastJet (the scikit-hep ``fastjet`` package), on awkward arrays of particles.

Hadron colliders: anti-kT, kT or Cambridge/Aachen with a radius R, inclusive jets above a
p_T threshold. e⁺e⁻: the Durham (ee-kT) algorithm, exclusive to N jets — run as FastJet's
e⁺e⁻ generalised kT with p = 1 and R = π, whose distance d_ij = min(E_i², E_j²)(1 − cos θ_ij)
is Durham's up to a constant factor, so the clustering sequence is the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import awkward as ak
import fastjet
import numpy as np

__all__ = ["INVISIBLE", "cluster", "visible"]

#: neutrinos: never clustered.
INVISIBLE = (12, 14, 16)

_HADRON_COLLIDER = {"antikt": fastjet.antikt_algorithm, "kt": fastjet.kt_algorithm,
                    "cambridge": fastjet.cambridge_algorithm}


def visible(particles: ak.Array, exclude: tuple[int, ...] = ()) -> ak.Array:
    """Final-state particles that a calorimeter sees: no neutrinos, no ``exclude`` (|pdgid|)."""
    absolute = abs(particles.pdgid)
    mask = particles.status == 1
    for pdgid in INVISIBLE + tuple(exclude):
        mask = mask & (absolute != pdgid)
    return particles[mask]


def cluster(particles: ak.Array, settings: Mapping[str, Any]) -> ak.Array:
    """Cluster each event's particles into jets, sorted by decreasing p_T (hadron colliders) or energy (e⁺e⁻).

    Args:
        particles: jagged records with px, py, pz, energy (e.g. :func:`visible` particles).
        settings: ``algorithm`` ("antikt", "kt", "cambridge" with ``radius`` and ``min_pt``; or
            "durham" with ``n_jets``, clustering to n jets or fewer when an event has fewer particles).

    Returns:
        jagged records px, py, pz, E of the jets.

    Example:
        >>> event = ak.Array([[{"px": 30.0, "py": 0.0, "pz": 5.0, "energy": 30.5},
        ...                    {"px": 20.0, "py": 1.0, "pz": 4.0, "energy": 20.5},
        ...                    {"px": -50.0, "py": 0.0, "pz": 0.0, "energy": 50.0}]])
        >>> jets = cluster(event, {"algorithm": "antikt", "radius": 0.4, "min_pt": 10.0})
        >>> np.round(ak.to_list(jets.px), 1).tolist()
        [[50.0, -50.0]]
    """
    inputs = ak.zip({"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.energy})
    algorithm = settings["algorithm"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # fastjet's notes on exclusive e+e- jets
        if algorithm == "durham":
            definition = fastjet.JetDefinition(fastjet.ee_genkt_algorithm, np.pi, 1.0)
            # At most n_jets: an event with fewer particles keeps what it has.
            jets = fastjet.ClusterSequence(inputs, definition).exclusive_jets_up_to(settings["n_jets"])
            order = ak.argsort(jets.E, axis=1, ascending=False)
        elif algorithm in _HADRON_COLLIDER:
            definition = fastjet.JetDefinition(_HADRON_COLLIDER[algorithm], settings["radius"])
            jets = fastjet.ClusterSequence(inputs, definition).inclusive_jets(min_pt=settings.get("min_pt", 0.0))
            order = ak.argsort(jets.px**2 + jets.py**2, axis=1, ascending=False)
        else:
            raise ValueError(f"unknown jet algorithm {algorithm!r}; use antikt, kt, cambridge or durham")
    jets = jets[order]
    return ak.zip({"px": jets.px, "py": jets.py, "pz": jets.pz, "E": jets.E})
