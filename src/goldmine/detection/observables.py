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

from goldmine.detection import ww
from goldmine.detection.expressions import Expression
from goldmine.io.events import NO_EXPRESSION
from goldmine.physics.objects import ReconstructedMuons

__all__ = [
    "DEFINITIONS",
    "DESCRIPTIONS",
    "LABELS",
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
]

#: what an expression may use of the muons (vector's momentum properties and methods).
_OBJECTS = ("mu_minus", "mu_plus")
_COLLECTIONS = ("electrons", "photons", "jets")
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

#: built-in observable name → its definition, the expression stored in event files.
DEFINITIONS: dict[str, str] = {name: expression for name, (_, expression) in _BUILT_IN.items()}

#: built-in observable name → human-readable description.
DESCRIPTIONS: dict[str, str] = {name: description for name, (description, _) in _BUILT_IN.items()}

#: axis labels for plots.
LABELS: dict[str, str] = {
    "e_mu_minus": r"$E(\mu^-)$ [GeV]",
    "e_mu_plus": r"$E(\mu^+)$ [GeV]",
    "cos_theta_mu_minus": r"$\cos\theta(\mu^-)$",
    "cos_theta_mu_plus": r"$\cos\theta(\mu^+)$",
    "m_mumu": r"$m_{\mu\mu}$ [GeV]",
    "delta_phi": r"$|\Delta\phi_{\mu\mu}|$ [rad]",
    "cos_theta_star": r"$\cos\theta^*$",
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
    detector card; empty otherwise) with ``count(jets)`` and ``leading(jets, 0)``; ``missing``
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
        elif entry in ww.OBSERVABLES:  # of the semileptonic WW reconstruction: functions, not expressions
            description, function = ww.OBSERVABLES[entry]
            observables.append(Observable(entry, NO_EXPRESSION, function, description))
        else:
            raise KeyError(f"unknown observable {entry!r}; known observables are {sorted(_BUILT_IN)} and, "
                           f"with detector.semileptonic_ww, {sorted(ww.OBSERVABLES)}")
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


def _accepted_count(event) -> int:
    """The events of a reconstructed block (muons or a semileptonic WW selection): its accepted ones."""
    return int(np.count_nonzero(event.accepted))


def passes(cuts: Sequence[str], muons: ReconstructedMuons) -> np.ndarray:
    """Whether each event passes every cut (expressions over mu_minus and mu_plus)."""
    keep = np.ones(_accepted_count(muons), dtype=bool)
    for text in cuts:
        keep &= np.asarray(event_expression(text)(muons), dtype=float) > 0
    return keep


def efficiency(efficiencies: Sequence[str], muons: ReconstructedMuons) -> np.ndarray:
    """The product of the efficiency expressions for each event (1 without any)."""
    factor = np.ones(_accepted_count(muons))
    for text in efficiencies:
        factor = factor * np.asarray(event_expression(text)(muons), dtype=float)
    return factor
