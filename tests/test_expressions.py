"""The expression evaluator under hostile input: everything outside its grammar is refused with
ExpressionError, nothing runs, nothing hangs (property-based, hypothesis)."""

import string
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goldmine.detection.expressions import Expression
from goldmine.exceptions import ExpressionError

VARIABLES = ("pt", "eta", "mu")
ATTRIBUTES = ("pt", "mass")
# A hang would exceed hypothesis' per-example deadline (in ms) and fail the test.
FAST = settings(max_examples=300, deadline=500, suppress_health_check=[HealthCheck.too_slow])


def _expression(text: str) -> Expression:
    return Expression(text, VARIABLES, attributes=ATTRIBUTES)


@FAST
@given(st.text(alphabet=string.printable + "λ√\x00", max_size=200))
def test_any_text_is_an_expression_or_an_expression_error(text):
    try:
        _expression(text)
    except ExpressionError:
        pass


_ALLOWED_ATOMS = st.sampled_from(["pt", "eta", "1", "2.5", "0.95", "abs(eta)", "sqrt(pt)"])
_HOSTILE_ATOMS = st.sampled_from([
    "__import__('os')", "pt.__class__", "pt.__class__.__mro__", "eta.real", "open('/etc/passwd')",
    "exec('1')", "eval('1')", "globals()", "(lambda: 1)()", "[pt]", "pt[0]", "{1: 2}", "'text'", "b'x'",
    "pt if eta else mu", "(x for x in pt)", "mu.pt.__dict__", "getattr(pt, 'mass')", "sqrt(pt, key=1)",
    "pt := 1", "not pt", "pt and eta", "...", "1j", "True", "None", "f'{pt}'", "__builtins__", "os.system",
    "sqrt.__globals__", "mu.mass.__self__", "type(pt)",
])
_OPERATORS = st.sampled_from([" + ", " - ", " * ", " / ", " ** ", " < ", " & ", " | "])


@st.composite
def _combined(draw, hostile: bool):
    """An arithmetic expression of allowed atoms with, if ``hostile``, one forbidden construct inside."""
    atoms = draw(st.lists(_ALLOWED_ATOMS, min_size=1, max_size=6))
    if hostile:
        atoms.insert(draw(st.integers(0, len(atoms))), draw(_HOSTILE_ATOMS))
    text = atoms[0]
    for atom in atoms[1:]:
        text = f"({text}){draw(_OPERATORS)}{atom}"
    return text


@FAST
@given(_combined(hostile=True))
def test_a_forbidden_construct_anywhere_is_refused(text):
    with pytest.raises(ExpressionError, match="expression"):
        _expression(text)


@FAST
@given(_combined(hostile=False))
def test_allowed_expressions_evaluate_on_arrays(text):
    values = {"pt": np.array([10.0, 50.0]), "eta": np.array([-1.0, 2.0]), "mu": np.array([1.0, 2.0])}
    expression = _expression(text)
    with np.errstate(all="ignore"):
        try:
            result = np.broadcast_to(expression(**values), (2,))
        except ExpressionError as error:  # e.g. `&` of two floats: refused with a message, not a TypeError
            assert "cannot be evaluated" in str(error)
            return
    assert result.dtype.kind in "fbi"


def test_huge_powers_overflow_instead_of_hanging():
    """a ** b ** c with Python integers would run for hours inside one C call, which no signal
    interrupts: the check runs in a child process with a timeout."""
    program = (
        "import numpy as np\n"
        "from goldmine.detection.expressions import Expression\n"
        "rng = np.random.default_rng(0)\n"
        "a, b, c = rng.integers(2, 10**6, 200), rng.integers(100, 10**6, 200), rng.integers(100, 10**6, 200)\n"
        "for a, b, c in zip(a, b, c):\n"
        "    with np.errstate(over='ignore'):\n"
        "        assert np.isinf(Expression(f'{a} ** {b} ** {c}', [])())\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("text", ["(" * 5000 + "1" + ")" * 5000, "-" * 100_000 + "1", "abs(" * 60 + "1" + ")" * 60,
                                  "+".join(["pt"] * 1500), "1" * 3000])
def test_deep_nesting_and_huge_texts_are_refused(text):
    with pytest.raises(ExpressionError, match="expression"):
        _expression(text)


def test_no_code_runs_while_checking_or_evaluating():
    """A variable whose every attribute access and call is recorded: only allowed ones happen."""
    touched = []

    class Spy:
        def __getattr__(self, name):
            touched.append(name)
            return 1.0

    expression = Expression("mu.pt * 2", ["mu"], attributes=["pt"])
    assert expression(mu=Spy()) == 2.0 and touched == ["pt"]
    for text in ("mu.__class__", "mu.secret", "mu.pt.__add__(1)"):
        with pytest.raises(ExpressionError):
            Expression(text, ["mu"], attributes=["pt"])
    assert touched == ["pt"]
