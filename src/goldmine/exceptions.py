"""Every error a user can cause, under one base class.

The command line turns a :class:`GoldmineError` into one line naming the file, key or
event; any other exception is a bug in goldmine and keeps its traceback. Each class is
also a :class:`ValueError`: the input, not the program, is wrong.

Example:
    >>> from goldmine.exceptions import GoldmineError, LHEError
    >>> issubclass(LHEError, GoldmineError)
    True
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DelphesError",
    "DetectorError",
    "EventFileError",
    "ExpressionError",
    "GoldmineError",
    "LHEError",
    "PublishError",
    "ReinterpretError",
    "ShowerError",
]


class GoldmineError(ValueError):
    """Bad input: a configuration, a file or an event that goldmine cannot use as it is."""


class ConfigError(GoldmineError):
    """The configuration does not satisfy the schema or is inconsistent (message names the key)."""


class ExpressionError(ConfigError):
    """An expression uses something it may not (message names the expression and the part)."""


class LHEError(GoldmineError):
    """Malformed LHE input.

    The message names the file, the 1-based event number (or the header element) and what is wrong.
    """


class EventFileError(GoldmineError):
    """A goldmine or MadMiner HDF5 file (setup, events, particles, samples) or a model file is missing,
    corrupt, of another kind, or inconsistent; the message names the file and the key."""


class DelphesError(GoldmineError):
    """A Delphes file lacks a branch or its weights do not match (message names the file)."""


class DetectorError(GoldmineError):
    """The input events cannot be reconstructed (message names the event)."""


class PublishError(GoldmineError):
    """A workspace or limits file cannot be published: not goldmine's histogram likelihood, or
    inconsistent with the limits (message names the file and what is wrong)."""


class ReinterpretError(GoldmineError):
    """A published likelihood cannot be reinterpreted: a workspace, JSON patch or patchset is missing,
    malformed or uses a feature goldmine does not implement (message names the file and patch)."""


class ShowerError(GoldmineError):
    """Pythia and the LHE file disagree, or Pythia cannot start (message names the file and event)."""
