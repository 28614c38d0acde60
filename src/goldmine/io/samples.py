"""The training-sample file (design §3): x, theta0, theta1, y, r_xz, t_xz, plus provenance attributes
and the root attributes ``goldmine_kind`` (``samples``) and ``goldmine_format_version``.

One file per family of estimators: ``local_score`` (SALLY, SALLINO) and ``ratio`` (the
parameterised-ratio and density methods). Written by ``goldmine mine``, read by ``goldmine train``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from goldmine.exceptions import EventFileError
from goldmine.io.atomic import atomic_output
from goldmine.io.opener import mark, open_events

__all__ = ["SAMPLE_FIELDS", "TrainingSample", "open_training_sample", "read_training_sample", "sample_bytes",
           "write_training_sample"]

#: the arrays of a training sample.
SAMPLE_FIELDS = ("x", "theta0", "theta1", "y", "r_xz", "t_xz")


@dataclass(frozen=True)
class TrainingSample:
    """Arrays of one training sample (design §3): x, theta0, theta1, y, r_xz, t_xz."""

    x: np.ndarray
    theta0: np.ndarray
    theta1: np.ndarray
    y: np.ndarray
    r_xz: np.ndarray
    t_xz: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def write_training_sample(path: str | Path, sample: TrainingSample, provenance: Mapping[str, object]) -> None:
    """Write a training sample atomically; ``provenance`` goes into the file attributes."""
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        mark(handle, "samples")
        for field in SAMPLE_FIELDS:
            handle.create_dataset(field, data=getattr(sample, field), compression="gzip", shuffle=True)
        for key, value in provenance.items():
            handle.attrs[key] = value if isinstance(value, (int, float, str)) else str(value)


def _checked(path: str | Path) -> None:
    described = open_events(path)
    if described.kind != "samples":
        raise EventFileError(f"{path}: {described.description}, where a training-sample file is needed")


def _fields(handle: h5py.File) -> dict[str, h5py.Dataset]:
    missing = [field for field in SAMPLE_FIELDS if field not in handle]
    if missing:
        raise EventFileError(f"{handle.filename}: not a goldmine training sample, missing {missing}")
    return {field: handle[field] for field in SAMPLE_FIELDS}


def read_training_sample(path: str | Path) -> TrainingSample:
    """Read a training sample.

    Raises:
        EventFileError: naming the file and what it is when it is not a training sample, or the missing field.
    """
    _checked(path)
    with h5py.File(path, "r") as handle:
        return TrainingSample(**{field: dataset[()] for field, dataset in _fields(handle).items()})


@contextmanager
def open_training_sample(path: str | Path) -> Iterator[TrainingSample]:
    """A training sample whose fields are the file's ``h5py.Dataset`` objects, read only when
    sliced (for samples larger than memory); valid inside the ``with`` block.

    Raises:
        EventFileError: as :func:`read_training_sample`.

    Example:
        >>> import tempfile
        >>> path = tempfile.mkdtemp() + "/sample.h5"
        >>> write_training_sample(path, TrainingSample(*(np.zeros((5, 2)),) * 6), {})
        >>> with open_training_sample(path) as sample:
        ...     len(sample), sample.x[1:3].shape
        (5, (2, 2))
    """
    _checked(path)
    with h5py.File(path, "r") as handle:
        yield TrainingSample(**_fields(handle))


def sample_bytes(path: str | Path) -> int:
    """The size of a training sample's fields in memory as float32 (what in-memory training holds)."""
    _checked(path)
    with h5py.File(path, "r") as handle:
        return sum(4 * int(np.prod(dataset.shape)) for dataset in _fields(handle).values())
