"""Safe expressions from configuration files: detector-card formulas, observables and cuts.

An expression is Python syntax restricted to numbers, the allowed variables, arithmetic,
comparisons (``&``/``|`` to combine them), a few numpy functions and — where allowed —
attributes and methods of the variables (e.g. ``(mu_minus + mu_plus).mass`` or
``mu_minus.deltaphi(mu_plus)`` on vector arrays). It is parsed and checked once, and then
evaluated on whole arrays; nothing else can run. Powers are taken in float64, so a huge
exponent overflows to inf instead of growing a Python integer without end, and the text's
length and nesting are bounded, so a hostile expression is refused instead of exhausting the
parser's stack.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from goldmine.exceptions import ExpressionError

__all__ = ["Expression", "FUNCTIONS"]

#: functions an expression may call.
FUNCTIONS = {"abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log, "cos": np.cos, "sin": np.sin,
             "arccos": np.arccos, "minimum": np.minimum, "maximum": np.maximum, "where": np.where}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: np.float_power, ast.BitAnd: operator.and_, ast.BitOr: operator.or_}
#: the longest expression text and the deepest nesting accepted.
_MAX_LENGTH = 2000
_MAX_DEPTH = 50
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


class Expression:
    """A checked expression over named variables.

    Args:
        text: the expression.
        variables: names it may use.
        attributes: attributes (or methods) of the variables it may use.
        functions: functions it may call besides :data:`FUNCTIONS`.

    Example:
        >>> Expression("0.95 * (abs(eta) < 2.5)", ["eta"])(eta=np.array([0.0, 3.0])).tolist()
        [0.95, 0.0]
        >>> Expression("x.real", ["x"])
        Traceback (most recent call last):
        ...
        goldmine.exceptions.ExpressionError: expression 'x.real': 'x.real' is not allowed (attributes: [])
    """

    def __init__(self, text: str, variables: Iterable[str], attributes: Iterable[str] = (),
                 functions: Mapping[str, Callable] | None = None) -> None:
        self.text = str(text)
        self.variables = tuple(variables)
        self.attributes = frozenset(attributes)
        self.functions = {**FUNCTIONS, **(functions or {})}
        if len(self.text) > _MAX_LENGTH:
            raise ExpressionError(f"expression {self.text[:40]!r}…: longer than {_MAX_LENGTH} characters")
        try:
            self._tree = ast.parse(self.text, mode="eval").body
        except SyntaxError as error:
            raise ExpressionError(f"expression {self.text!r}: {error.msg}") from None
        except (ValueError, MemoryError, RecursionError) as error:  # null bytes; nesting beyond the parser
            raise ExpressionError(f"expression {self.text[:40]!r}: cannot be parsed ({type(error).__name__})") from None
        self._check(self._tree)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def _refuse(self, node: ast.AST, why: str = "") -> None:
        raise ExpressionError(f"expression {self.text!r}: {ast.unparse(node)!r} is not allowed{why}")

    def _check(self, node: ast.AST, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:
            raise ExpressionError(f"expression {self.text[:40]!r}: nested deeper than {_MAX_DEPTH} levels")
        depth += 1
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                self._refuse(node)
        elif isinstance(node, ast.Name):
            if node.id not in self.variables:
                raise ExpressionError(f"expression {self.text!r}: unknown name {node.id!r}; names are "
                                      f"{list(self.variables)}")
        elif isinstance(node, ast.Attribute):
            if node.attr not in self.attributes:
                self._refuse(node, f" (attributes: {sorted(self.attributes)})")
            self._check(node.value, depth)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            self._check(node.left, depth)
            self._check(node.right, depth)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            self._check(node.operand, depth)
        elif isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            for child in [node.left, *node.comparators]:
                self._check(child, depth)
        elif isinstance(node, ast.Call) and not node.keywords:
            if isinstance(node.func, ast.Name) and node.func.id in self.functions:
                pass
            elif isinstance(node.func, ast.Attribute) and node.func.attr in self.attributes:
                self._check(node.func.value, depth)
            else:
                self._refuse(node, f" (functions: {sorted(self.functions)})")
            for argument in node.args:
                self._check(argument, depth)
        else:
            self._refuse(node)

    def __call__(self, **values: object) -> object:
        """Evaluate on arrays (the variables by name).

        Raises:
            ExpressionError: when the values do not support an operation (e.g. ``&`` of two floats).
        """
        try:
            return self._evaluate(self._tree, values)
        except (TypeError, ValueError) as error:
            raise ExpressionError(f"expression {self.text!r}: cannot be evaluated ({error})") from None

    def _evaluate(self, node: ast.AST, values: Mapping[str, object]):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return values[node.id]
        if isinstance(node, ast.Attribute):
            return getattr(self._evaluate(node.value, values), node.attr)
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._evaluate(node.left, values), self._evaluate(node.right, values))
        if isinstance(node, ast.UnaryOp):
            value = self._evaluate(node.operand, values)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Compare):
            left, result = self._evaluate(node.left, values), True
            for op, comparator in zip(node.ops, node.comparators):
                right = self._evaluate(comparator, values)
                result = result & _COMPARE[type(op)](left, right)
                left = right
            return np.asarray(result, dtype=float)
        arguments = [self._evaluate(argument, values) for argument in node.args]
        if isinstance(node.func, ast.Name):
            return self.functions[node.func.id](*arguments)
        return getattr(self._evaluate(node.func.value, values), node.func.attr)(*arguments)
