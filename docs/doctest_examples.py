"""A Griffe extension for the documentation site: goldmine's docstrings head their doctests
``Example:`` (the pyhf and Sphinx convention); Griffe's Google parser reads only ``Examples:``
as a section of code, so the heading is renamed when the docstrings are loaded."""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class DoctestExamples(griffe.Extension):
    """Read every ``Example:`` section as an ``Examples:`` section (code, not prose)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
