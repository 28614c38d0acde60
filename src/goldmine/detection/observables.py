"""Observables, cuts and efficiencies of reconstructed dimuon events.

An observable is a built-in name (:data:`DEFINITIONS`) or, in the config, ``{name: expression}``
(or ``{name: {expression: ..., unit: GeV}}`` to give its unit) with an
:mod:`~goldmine.detection.expressions` expression over the reconstructed ``mu_minus`` and
``mu_plus`` (vector arrays: ``.pt``, ``.eta``, ``.E``, ``.costheta``, ``(mu_minus + mu_plus).mass``,
``mu_minus.deltaphi(mu_plus)`` …), the collections of a card detector (``count(jets)``,
``leading(photons, 0).E``) and ``missing.pt``, or a user function. The built-in observables are
such expressions too. Cuts are expressions that keep an event when true; efficiencies are
expressions that multiply its weights. Each observable's expression is stored in the event
file as its definition, as MadMiner does (``"None"`` for a function), beside a description that
ends in its unit, ``" [GeV]"``, where it has one (:func:`unit_of` reads it back for plots).

The built-in observables of semi-leptonic W pairs (:data:`WW_OBSERVABLES`: the five LEP angles of
:mod:`goldmine.physics.ww_angles` and the two W masses) are functions of the leading charged lepton
of the collection ``leptons`` (with its ``charge``), the leading one of ``neutrinos`` and the two
leading ``jets``, as :class:`~goldmine.detection.parton.PartonLevel` fills them; an event without
them gets NaN. Their stored definition is ``"None"``, as for any function.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

from goldmine.detection.expressions import Expression
from goldmine.io.events import NO_EXPRESSION
from goldmine.physics.objects import ReconstructedMuons
from goldmine.physics.ww_angles import ww_angles

__all__ = [
    "DEFINITIONS",
    "DESCRIPTIONS",
    "LABELS",
    "WW_OBSERVABLES",
    "Observable",
    "axis_label",
    "compute",
    "count",
    "efficiency",
    "event_expression",
    "leading",
    "passes",
    "resolve",
    "transverse_momentum_sum",
    "unit_of",
    "user_function",
    "ww_observable",
]

#: what an expression may use of the muons (vector's momentum properties and methods).
_OBJECTS = ("mu_minus", "mu_plus")
_COLLECTIONS = ("electrons", "photons", "jets", "leptons", "neutrinos")
_ATTRIBUTES = ("pt", "eta", "phi", "E", "p", "px", "py", "pz", "mass", "costheta", "theta", "rapidity",
               "deltaphi", "deltaR", "deltaeta", "dot")

_Function = Callable[[ReconstructedMuons], np.ndarray]


def transverse_momentum_sum(muons: ReconstructedMuons) -> np.ndarray:
    """p_T(μ⁻) + p_T(μ⁺): an example of a function observable."""
    return muons.mu_minus.pt + muons.mu_plus.pt


#: built-in observable name → (human-readable description ending in its unit, expression).
_BUILT_IN: dict[str, tuple[str, str]] = {
    "e_mu_minus": ("energy of the mu- [GeV]", "mu_minus.E"),
    "e_mu_plus": ("energy of the mu+ [GeV]", "mu_plus.E"),
    "cos_theta_mu_minus": ("cos of the mu- polar angle to the e- beam", "mu_minus.costheta"),
    "cos_theta_mu_plus": ("cos of the mu+ polar angle to the e- beam", "mu_plus.costheta"),
    "m_mumu": ("dimuon invariant mass [GeV]", "(mu_minus + mu_plus).mass"),
    "delta_phi": ("|phi(mu-) - phi(mu+)|, from 0 to pi [rad]", "abs(mu_minus.deltaphi(mu_plus))"),
    "cos_theta_star": ("(cos theta(mu-) - cos theta(mu+)) / 2", "0.5 * (mu_minus.costheta - mu_plus.costheta)"),
}

#: the built-in observables of ℓνqq̄ events (see the module docstring) → human-readable description.
WW_OBSERVABLES: dict[str, str] = {
    "cos_theta_w": "cos of the W- production angle to the e- beam",
    "cos_theta_l": "cos of the charged lepton's polar angle in its W's helicity frame",
    "phi_l": "azimuth of the charged lepton in its W's helicity frame (pi - phi for l+) [rad]",
    "cos_theta_j": "cos of a jet's polar angle in the hadronic W's helicity frame, folded onto [0, 1]",
    "phi_j": "azimuth of that jet in the hadronic W's helicity frame (pi - phi for l+) [rad]",
    "m_lnu": "invariant mass of the charged lepton and the neutrino [GeV]",
    "m_jj": "invariant mass of the two leading jets [GeV]",
}

#: built-in observable name → its definition, the expression stored in event files.
DEFINITIONS: dict[str, str] = ({name: expression for name, (_, expression) in _BUILT_IN.items()}
                               | dict.fromkeys(WW_OBSERVABLES, NO_EXPRESSION))

#: built-in observable name → human-readable description.
DESCRIPTIONS: dict[str, str] = {name: description for name, (description, _) in _BUILT_IN.items()} | WW_OBSERVABLES

#: axis labels for plots.
LABELS: dict[str, str] = {
    "e_mu_minus": r"$E(\mu^-)$ [GeV]",
    "e_mu_plus": r"$E(\mu^+)$ [GeV]",
    "cos_theta_mu_minus": r"$\cos\theta(\mu^-)$",
    "cos_theta_mu_plus": r"$\cos\theta(\mu^+)$",
    "m_mumu": r"$m_{\mu\mu}$ [GeV]",
    "delta_phi": r"$|\Delta\phi_{\mu\mu}|$ [rad]",
    "cos_theta_star": r"$\cos\theta^*$",
    "cos_theta_w": r"$\cos\Theta_{W^-}$",
    "cos_theta_l": r"$\cos\theta_\ell$",
    "phi_l": r"$\phi_\ell$ [rad]",
    "cos_theta_j": r"$\cos\theta_j$ (folded)",
    "phi_j": r"$\phi_j$ (folded) [rad]",
    "m_lnu": r"$m_{\ell\nu}$ [GeV]",
    "m_jj": r"$m_{jj}$ [GeV]",
}


@dataclass(frozen=True)
class Observable:
    """A named observable.

    Args:
        name: its name.
        definition: the expression that defines it (stored in event files, where MadMiner
            evaluates it), or ``"None"`` for a Python function, as MadMiner writes one.
        function: its function of the reconstructed event.
        description: human-readable description, ending in ``" [unit]"`` where it has a unit.
    """

    name: str
    definition: str
    function: Callable[[ReconstructedMuons], np.ndarray]
    description: str

    @property
    def unit(self) -> str:
        """Its unit ("" for a dimensionless observable)."""
        return unit_of(self.name, self.description)


_UNIT = re.compile(r" \[([^\[\]]+)\]$")


def unit_of(name: str, description: str = "") -> str:
    """The unit of an observable: a built-in one's, otherwise the one its description ends
    in, ``"... [GeV]"``; "" for a dimensionless one.

    Example:
        >>> unit_of("m_mumu"), unit_of("pt_sum", "mu_minus.pt + mu_plus.pt [GeV]"), unit_of("c", "mu_minus.costheta")
        ('GeV', 'GeV', '')
    """
    match = _UNIT.search(DESCRIPTIONS.get(name, description))
    return match.group(1) if match else ""


def axis_label(name: str, description: str = "") -> str:
    """The axis label of an observable: the typeset symbol of a built-in one, otherwise its
    name with its unit (:func:`unit_of`).

    Example:
        >>> axis_label("pt_sum", "mu_minus.pt + mu_plus.pt [GeV]"), axis_label("n_jets", "count(jets)")
        ('pt_sum [GeV]', 'n_jets')
    """
    if name in LABELS:
        return LABELS[name]
    unit = unit_of(name, description)
    return f"{name} [{unit}]" if unit else name


def count(collection: ak.Array) -> np.ndarray:
    """The number of objects of each event."""
    return ak.to_numpy(ak.num(collection)).astype(float)


def leading(collection: ak.Array, index: int) -> vector.MomentumNumpy4D:
    """The object at ``index`` (0: the most energetic) of each event; NaN where there is none."""
    padded = ak.pad_none(collection, int(index) + 1, axis=1)[:, int(index)]
    return vector.array({component: ak.to_numpy(ak.fill_none(getattr(padded, component), np.nan)).astype(float)
                         for component in ("px", "py", "pz", "E")})


def _empty_collection(n: int) -> ak.Array:
    empty = vector.zip({field: np.zeros(0) for field in ("px", "py", "pz", "E")})
    return ak.unflatten(empty, np.zeros(n, dtype=np.int64))


def event_expression(text: str) -> Callable[[ReconstructedMuons], np.ndarray]:
    """An expression over the reconstructed event, checked now, as a function of it.

    Names: ``mu_minus``, ``mu_plus``; the collections ``electrons``, ``photons``, ``jets`` (from a
    detector card), ``leptons`` and ``neutrinos`` (parton level, the semileptonic WW reconstruction;
    each empty otherwise) with ``count(jets)`` and ``leading(jets, 0)``; ``missing``
    (the missing transverse momentum: ``missing.pt``).
    """
    expression = Expression(text, _OBJECTS + _COLLECTIONS + ("missing",), _ATTRIBUTES,
                            {"count": count, "leading": leading})

    def evaluate(event: ReconstructedMuons) -> np.ndarray:
        n = len(event.mu_minus)
        collections = {name: event.collections.get(name, _empty_collection(n)) for name in _COLLECTIONS}
        missing = event.missing if event.missing is not None else vector.array({"px": np.zeros(n), "py": np.zeros(n)})
        return expression(mu_minus=event.mu_minus, mu_plus=event.mu_plus, missing=missing, **collections)

    return evaluate


def user_function(reference: str) -> Callable[[ReconstructedMuons], np.ndarray]:
    """A user's observable, ``"package.module:function"``: called with the reconstructed muons,
    it returns one value per event.

    Raises:
        ValueError: naming the reference when it cannot be imported or is not callable.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(f"observable function {reference!r} cannot be imported ({error})") from None
    if not callable(function):
        raise ValueError(f"observable function {reference!r} is not callable")
    return function


def _four_momenta(momenta: vector.MomentumNumpy4D) -> np.ndarray:
    return np.stack([momenta.E, momenta.px, momenta.py, momenta.pz], axis=1)


def ww_observable(name: str) -> _Function:
    """The function of the event record that computes one of :data:`WW_OBSERVABLES`.

    Example:
        >>> from goldmine.detection.parton import PartonLevel
        >>> particles = ak.Array([{"pdgid": [11, -12, 2, -1], "status": [1, 1, 1, 1],
        ...     "px": [0.0, 0.0, 40.0, -40.0], "py": [0.0, 0.0, 0.0, 0.0], "pz": [50.0, -30.0, -40.0, -40.0],
        ...     "energy": [50.0, 30.0, 56.568542, 56.568542]}])
        >>> event = PartonLevel().reconstruct(particles, np.random.default_rng(0))
        >>> [round(float(ww_observable(name)(event)[0]), 4) for name in ("cos_theta_w", "cos_theta_l", "m_jj")]
        [1.0, 1.0, 80.0]
    """
    if name not in WW_OBSERVABLES:
        raise KeyError(f"unknown W-pair observable {name!r}; known ones are {sorted(WW_OBSERVABLES)}")

    def evaluate(event: ReconstructedMuons) -> np.ndarray:
        return _ww_quantities(event)[name]

    return evaluate


# The last event record's W-pair observables: the seven observables of one block share one computation.
_LAST_WW: list[tuple[ReconstructedMuons, dict[str, np.ndarray]]] = []


def _ww_quantities(event: ReconstructedMuons) -> dict[str, np.ndarray]:
    """All of :data:`WW_OBSERVABLES` of an event record (NaN for events without the four objects)."""
    if _LAST_WW and _LAST_WW[0][0] is event:
        return _LAST_WW[0][1]
    n = len(event.mu_minus)
    leptons = event.collections.get("leptons", _empty_collection(n))
    lepton = leading(leptons, 0)
    neutrino = leading(event.collections.get("neutrinos", _empty_collection(n)), 0)
    jets = event.collections.get("jets", _empty_collection(n))
    first, second = leading(jets, 0), leading(jets, 1)
    charge = (ak.to_numpy(ak.fill_none(ak.firsts(leptons.charge), np.nan)).astype(float)
              if n and "charge" in leptons.fields else np.full(n, np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        angles = ww_angles(_four_momenta(lepton), _four_momenta(neutrino), _four_momenta(first),
                           _four_momenta(second), charge)
    quantities = {name: np.where(np.isnan(charge), np.nan, value) for name, value in angles.items()}
    quantities["m_lnu"], quantities["m_jj"] = (lepton + neutrino).mass, (first + second).mass
    _LAST_WW[:] = [(event, quantities)]
    return quantities


def _described(text: str, unit: str | None) -> str:
    return f"{text} [{unit}]" if unit else text


def resolve(entries: Sequence[str | Mapping[str, Any]]) -> list[Observable]:
    """Observables from the config: built-in names, ``{name: expression}``,
    ``{name: {expression: ..., unit: ...}}`` and ``{name: {function: "package.module:function"}}``
    (a unit allowed there too) entries. The unit ends the description.

    Raises:
        KeyError: naming an unknown built-in observable and the known ones.
        goldmine.exceptions.ExpressionError: naming a bad expression.

    Example:
        >>> [(o.name, o.unit) for o in resolve(["m_mumu", {"pt_mu_minus": "mu_minus.pt"},
        ...     {"pt_sum": {"expression": "mu_minus.pt + mu_plus.pt", "unit": "GeV"}},
        ...     {"pt": {"function": "goldmine.detection.observables:transverse_momentum_sum", "unit": "GeV"}}])]
        [('m_mumu', 'GeV'), ('pt_mu_minus', ''), ('pt_sum', 'GeV'), ('pt', 'GeV')]
    """
    observables = []
    for entry in entries:
        if isinstance(entry, Mapping):
            for name, definition in entry.items():
                if not isinstance(definition, Mapping):
                    definition = {"expression": definition}
                unit = definition.get("unit")
                if "function" in definition:
                    reference = definition["function"]
                    observables.append(Observable(name, NO_EXPRESSION, user_function(reference),
                                                  _described(f"function {reference}", unit)))
                else:
                    expression = definition["expression"]
                    observables.append(Observable(name, expression, event_expression(expression),
                                                  _described(expression, unit)))
        elif entry in _BUILT_IN:
            description, expression = _BUILT_IN[entry]
            observables.append(Observable(entry, expression, event_expression(expression), description))
        elif entry in WW_OBSERVABLES:
            observables.append(Observable(entry, NO_EXPRESSION, ww_observable(entry), WW_OBSERVABLES[entry]))
        else:
            raise KeyError(f"unknown observable {entry!r}; known observables are {sorted(DEFINITIONS)}")
    return observables


def compute(observables: Sequence[Observable | str], muons: ReconstructedMuons) -> np.ndarray:
    """Evaluate observables on reconstructed events.

    Args:
        observables: :class:`Observable` objects or built-in names.
        muons: reconstructed muons.

    Returns:
        array of shape (n_events, len(observables)).
    """
    resolved = [o if isinstance(o, Observable) else resolve([o])[0] for o in observables]
    return np.stack([np.asarray(o.function(muons), dtype=float) for o in resolved], axis=1)


def passes(cuts: Sequence[str], muons: ReconstructedMuons) -> np.ndarray:
    """Whether each event passes every cut (expressions over mu_minus and mu_plus)."""
    keep = np.ones(len(muons.mu_minus), dtype=bool)
    for text in cuts:
        keep &= np.asarray(event_expression(text)(muons), dtype=float) > 0
    return keep


def efficiency(efficiencies: Sequence[str], muons: ReconstructedMuons) -> np.ndarray:
    """The product of the efficiency expressions for each event (1 without any)."""
    factor = np.ones(len(muons.mu_minus))
    for text in efficiencies:
        factor = factor * np.asarray(event_expression(text)(muons), dtype=float)
    return factor
