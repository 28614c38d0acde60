"""One opener that says what a file is: the only place in goldmine that looks at a file's bytes.

goldmine's HDF5 files carry their kind (:data:`KINDS`) and format version as root attributes
(:func:`mark`); MadMiner's event and setup files are recognised by their groups; LHE (plain
or gzip) and Delphes ROOT files by their first bytes. Everything else is refused with a
sentence that says what the file is.

Example:
    >>> import tempfile, h5py
    >>> path = tempfile.mkdtemp() + "/x.h5"
    >>> with h5py.File(path, "w") as handle:
    ...     mark(handle, "samples")
    >>> open_events(path).kind, open_events(path).format
    ('samples', 'goldmine')
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import h5py

from goldmine.exceptions import EventFileError

__all__ = ["FORMAT_VERSION", "KINDS", "EventFile", "kind_names", "mark", "open_events"]

#: the kinds of HDF5 file goldmine writes.
KINDS = ("setup", "events", "particles", "samples")
#: the version of goldmine's HDF5 layouts; a file with a higher one comes from a newer goldmine.
FORMAT_VERSION = 1
_KIND = "goldmine_kind"
_VERSION = "goldmine_format_version"

#: what each kind of file holds that a reader can ask for.
_CONTENTS = {
    "lhe": ("init", "events", "weights"),
    "delphes": ("collections", "weights"),
    "setup": ("parameters", "benchmarks", "morphing"),
    "events": ("parameters", "benchmarks", "morphing", "observables", "events", "weights"),
    "particles": ("particles", "weights"),
    "samples": ("x", "theta0", "theta1", "y", "r_xz", "t_xz"),
}

#: each kind in words.
_NAMES = {"lhe": "an LHE file", "delphes": "a Delphes ROOT file", "setup": "a setup file", "events": "an event file",
          "particles": "a particle file", "samples": "a training-sample file"}
_FORMAT_NAMES = {"lhe": "", "lhe.gz": " (gzip)", "delphes-root": "", "goldmine": "goldmine", "madminer": "MadMiner"}


def kind_names(kinds: tuple[str, ...]) -> str:
    """File kinds in words.

    Example:
        >>> kind_names(("setup", "events"))
        'a setup file or an event file'
    """
    return " or ".join(_NAMES[kind] for kind in kinds)


@dataclass(frozen=True)
class EventFile:
    """What a file is.

    Args:
        path: the file.
        kind: ``lhe``, ``delphes``, or one of :data:`KINDS`.
        format: ``lhe``, ``lhe.gz``, ``delphes-root``, ``goldmine`` or ``madminer``.
        version: goldmine's format version (0 for the files of other programs).
        contents: what can be read from it.
    """

    path: Path
    kind: str
    format: str
    version: int
    contents: tuple[str, ...]

    @property
    def description(self) -> str:
        """What the file is, in words: "a goldmine setup file", "a MadMiner event file", "an LHE file (gzip)"."""
        name, format_name = _NAMES[self.kind], _FORMAT_NAMES[self.format]
        if self.format in ("goldmine", "madminer"):
            return f"a {format_name} {name.split(' ', 1)[1]}"
        return name + format_name


def mark(handle: h5py.File, kind: str) -> None:
    """Write the kind and the format version into an HDF5 file goldmine is writing."""
    if kind not in KINDS:
        raise ValueError(f"unknown file kind {kind!r}; kinds are {list(KINDS)}")
    handle.attrs[_KIND] = kind
    handle.attrs[_VERSION] = FORMAT_VERSION


def _hdf5(path: Path) -> EventFile:
    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise EventFileError(f"{path}: not a readable HDF5 file ({error})") from None
    with handle:
        kind, version = handle.attrs.get(_KIND), handle.attrs.get(_VERSION)
        groups = sorted(handle.keys())
        has_events = "samples" in handle and "weights" in handle["samples"]
    if kind is not None:
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        if kind not in KINDS or version is None:
            raise EventFileError(f"{path}: a goldmine file of unknown kind {kind!r} (kinds are {list(KINDS)})")
        if int(version) > FORMAT_VERSION:
            raise EventFileError(f"{path}: a goldmine {kind} file of format version {int(version)}, written by a "
                                 f"newer goldmine (this one reads version {FORMAT_VERSION})")
        return EventFile(path, kind, "goldmine", int(version), _CONTENTS[kind])
    if "parameters" in groups and "benchmarks" in groups:
        kind = "events" if has_events else "setup"
        return EventFile(path, kind, "madminer", 0, _CONTENTS[kind])
    raise EventFileError(f"{path}: an HDF5 file but neither goldmine's nor MadMiner's: top-level groups {groups}")


def _gzip_head(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as stream:
            return stream.read(4096)
    except (OSError, EOFError, zlib.error) as error:
        raise EventFileError(f"{path}: a gzip file that cannot be read ({error})") from None


def open_events(path: str | Path) -> EventFile:
    """Recognise an event file: LHE (plain or gzip), Delphes ROOT, goldmine HDF5 of each kind,
    or a MadMiner setup or event file.

    Args:
        path: the file.

    Returns:
        EventFile: its kind, format, version and what can be read from it.

    Raises:
        EventFileError: naming the file and saying what it is when goldmine cannot read it.
    """
    path = Path(path)
    if not path.is_file():
        raise EventFileError(f"{path}: file does not exist")
    with open(path, "rb") as stream:
        head = stream.read(4096)
    if h5py.is_hdf5(path):
        return _hdf5(path)
    if head.startswith(b"root"):
        return EventFile(path, "delphes", "delphes-root", 0, _CONTENTS["delphes"])
    if head.startswith(b"\x1f\x8b"):
        if b"<LesHouchesEvents" in _gzip_head(path):
            return EventFile(path, "lhe", "lhe.gz", 0, _CONTENTS["lhe"])
        raise EventFileError(f"{path}: a gzip file that does not hold Les Houches events")
    if b"<LesHouchesEvents" in head:
        return EventFile(path, "lhe", "lhe", 0, _CONTENTS["lhe"])
    if head.startswith(b"PK\x03\x04"):
        raise EventFileError(f"{path}: a zip archive (a torch model file?), not an event file")
    if head.lstrip().startswith((b"{", b"[")):
        raise EventFileError(f"{path}: a JSON document (model metadata or results?), not an event file")
    raise EventFileError(f"{path}: not an event file goldmine knows (LHE, Delphes ROOT, goldmine or MadMiner "
                         f"HDF5); it starts with {head[:16]!r}")
