"""Detector cards: per-object efficiency and resolution as formulas, in the spirit of Delphes cards.

A card (YAML, in ``config/processes/detectors/``) gives, for each object type, formulas of the
true kinematics — ``p``, ``pt``, ``e``, ``eta``, ``theta``, ``cos_theta``, ``phi`` — for

- ``efficiency``: the probability that the object is reconstructed (acceptance included);
- ``momentum_resolution``: the relative Gaussian σ of |p| (muons, electrons) or of the energy
  (photons);
- ``angle_resolution``: the Gaussian σ of θ and φ in rad.

Formulas are arithmetic with comparisons (true = 1) and ``abs``, ``sqrt``, ``exp``, ``log``,
``minimum``, ``maximum``, ``where``; they are parsed once and evaluated on whole arrays.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import vector
import yaml

from goldmine.detector import ReconstructedMuons, leading_muons, smear

__all__ = ["CardDetector", "Formula", "FormulaError", "ObjectCard", "kinematics", "load_card"]

_VARIABLES = ("p", "pt", "e", "eta", "theta", "cos_theta", "phi")
_FUNCTIONS = {"abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "minimum": np.minimum,
              "maximum": np.maximum, "where": np.where}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}
_MUON_MASS = 0.1056584


class FormulaError(ValueError):
    """A card formula uses something a formula may not (message names the formula)."""


@dataclass(frozen=True)
class Formula:
    """A formula of the object kinematics, checked when built.

    Example:
        >>> f = Formula("0.95 * (abs(eta) < 2.5) * (pt > 10)")
        >>> f(pt=np.array([5.0, 20.0, 20.0]), eta=np.array([0.0, 1.0, 3.0])).tolist()
        [0.0, 0.95, 0.0]
    """

    text: str

    def __post_init__(self) -> None:
        try:
            tree = ast.parse(str(self.text), mode="eval")
        except SyntaxError as error:
            raise FormulaError(f"formula {self.text!r}: {error.msg}") from None
        self._check(tree.body)
        object.__setattr__(self, "_tree", tree.body)

    def _check(self, node: ast.AST) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return
        if isinstance(node, ast.Name):
            if node.id not in _VARIABLES:
                raise FormulaError(f"formula {self.text!r}: unknown variable {node.id!r}; variables are "
                                   f"{list(_VARIABLES)}")
            return
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left), self._check(node.right)
            return
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand)
            return
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            for child in [node.left, *node.comparators]:
                self._check(child)
            return
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS
                and not node.keywords):
            for argument in node.args:
                self._check(argument)
            return
        raise FormulaError(f"formula {self.text!r}: {ast.unparse(node)!r} is not allowed (arithmetic, comparisons "
                           f"and {sorted(_FUNCTIONS)} only)")

    def __call__(self, **variables: np.ndarray) -> np.ndarray:
        size = max((np.size(v) for v in variables.values()), default=1)
        return np.broadcast_to(np.asarray(self._evaluate(self._tree, variables), dtype=float), (size,)).copy()

    def _evaluate(self, node: ast.AST, variables: Mapping[str, np.ndarray]):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return variables[node.id]
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._evaluate(node.left, variables), self._evaluate(node.right, variables))
        if isinstance(node, ast.UnaryOp):
            value = self._evaluate(node.operand, variables)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Compare):
            left, result = self._evaluate(node.left, variables), True
            for op, comparator in zip(node.ops, node.comparators):
                right = self._evaluate(comparator, variables)
                result = result & _COMPARE[type(op)](left, right)
                left = right
            return np.asarray(result, dtype=float)
        return _FUNCTIONS[node.func.id](*(self._evaluate(argument, variables) for argument in node.args))


@dataclass(frozen=True)
class ObjectCard:
    """Efficiency and resolutions of one object type."""

    efficiency: Formula
    momentum_resolution: Formula
    angle_resolution: Formula

    @classmethod
    def from_mapping(cls, entries: Mapping[str, Any]) -> ObjectCard:
        return cls(**{key: Formula(str(entries[key])) for key in ("efficiency", "momentum_resolution",
                                                                  "angle_resolution")})


def kinematics(objects: vector.MomentumNumpy4D) -> dict[str, np.ndarray]:
    """The formula variables of some momenta."""
    return {"p": objects.p, "pt": objects.pt, "e": objects.E, "eta": objects.eta, "theta": objects.theta,
            "cos_theta": objects.costheta, "phi": objects.phi}


@dataclass(frozen=True)
class CardDetector:
    """A detector described by a card: muons are reconstructed with the card's formulas.

    Args:
        name: the card's name.
        objects: object type ("muon", "electron", "photon") → its card.
    """

    name: str
    objects: Mapping[str, ObjectCard]

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Leading μ⁻ and μ⁺: reconstructed with the card's efficiency, smeared with its resolutions."""
        card = self.objects["muon"]
        muons = leading_muons(particles, first_event)
        n = len(particles)
        accepted = np.ones(n, dtype=bool)
        smeared = {}
        for name in ("mu_minus", "mu_plus"):
            variables = kinematics(muons[name])
            accepted &= rng.random(n) < card.efficiency(**variables)
            smeared[name] = smear(muons[name], card.angle_resolution(**variables),
                                  card.momentum_resolution(**variables), _MUON_MASS, rng)
        return ReconstructedMuons(smeared["mu_minus"][accepted], smeared["mu_plus"][accepted], accepted)


def load_card(path: str | Path) -> CardDetector:
    """Read a detector card.

    Raises:
        FormulaError: naming the card, the object and the bad formula.
        ValueError: naming the card and the missing object or key.
    """
    path = Path(path)
    document = yaml.safe_load(path.read_text())
    objects = {}
    for kind, entries in document.items():
        if kind == "name":
            continue
        try:
            objects[kind] = ObjectCard.from_mapping(entries)
        except FormulaError as error:
            raise FormulaError(f"{path}: {kind}: {error}") from None
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: {kind}: needs efficiency, momentum_resolution and angle_resolution ({error})"
                             ) from None
    if "muon" not in objects:
        raise ValueError(f"{path}: the card has no muon entry")
    return CardDetector(document.get("name", path.stem), objects)
