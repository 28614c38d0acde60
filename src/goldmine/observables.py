"""Observables of reconstructed dimuon events, by name.

Each observable has a definition (stored in the event file, as MadMiner does) and
a function of the reconstructed muons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from goldmine.detector import ReconstructedMuons

__all__ = ["DEFINITIONS", "LABELS", "compute"]

_Function = Callable[[ReconstructedMuons], np.ndarray]


def _delta_phi(muons: ReconstructedMuons) -> np.ndarray:
    return np.abs(muons.mu_minus.deltaphi(muons.mu_plus))


_OBSERVABLES: dict[str, tuple[str, _Function]] = {
    "e_mu_minus": ("energy of the mu- [GeV]", lambda m: m.mu_minus.E),
    "e_mu_plus": ("energy of the mu+ [GeV]", lambda m: m.mu_plus.E),
    "cos_theta_mu_minus": ("cos of the mu- polar angle to the e- beam", lambda m: m.mu_minus.costheta),
    "cos_theta_mu_plus": ("cos of the mu+ polar angle to the e- beam", lambda m: m.mu_plus.costheta),
    "m_mumu": ("dimuon invariant mass [GeV]", lambda m: (m.mu_minus + m.mu_plus).mass),
    "delta_phi": ("|phi(mu-) - phi(mu+)| in [0, pi]", _delta_phi),
    "cos_theta_star": (
        "(cos theta(mu-) - cos theta(mu+)) / 2",
        lambda m: 0.5 * (m.mu_minus.costheta - m.mu_plus.costheta),
    ),
}

#: observable name → human-readable definition.
DEFINITIONS: dict[str, str] = {name: definition for name, (definition, _) in _OBSERVABLES.items()}

#: axis labels for plots.
LABELS: dict[str, str] = {
    "e_mu_minus": r"$E(\mu^-)$ [GeV]",
    "e_mu_plus": r"$E(\mu^+)$ [GeV]",
    "cos_theta_mu_minus": r"$\cos\theta(\mu^-)$",
    "cos_theta_mu_plus": r"$\cos\theta(\mu^+)$",
    "m_mumu": r"$m_{\mu\mu}$ [GeV]",
    "delta_phi": r"$|\Delta\phi_{\mu\mu}|$",
    "cos_theta_star": r"$\cos\theta^*$",
}


def compute(names: Sequence[str], muons: ReconstructedMuons) -> np.ndarray:
    """Evaluate observables on reconstructed events.

    Args:
        names: observable names (see :data:`DEFINITIONS`).
        muons: reconstructed muons.

    Returns:
        array of shape (n_events, len(names)).

    Raises:
        KeyError: naming an unknown observable and the known ones.
    """
    columns = []
    for name in names:
        if name not in _OBSERVABLES:
            raise KeyError(f"unknown observable {name!r}; known observables are {sorted(_OBSERVABLES)}")
        columns.append(np.asarray(_OBSERVABLES[name][1](muons), dtype=float))
    return np.stack(columns, axis=1)
