"""Fast, vectorised reading and writing of Les Houches Event files.

Les Houches Event files (LHEF, versions 1 to 3) are read plain or gzip-compressed
(decided by the gzip magic bytes, not the name) and written plain or gzip-compressed
(decided by a ``.gz`` suffix). MadGraph reweighting weights are supported: the
``<initrwgt>`` header block declares weight ids (inside weight groups) and every event
carries ``<rwgt><wgt id='...'> value </wgt>...</rwgt>``; the weights become the columns
of :attr:`LHEEvents.weights`, in ``<initrwgt>`` order, and every event must carry exactly
these ids in this order.

Reading is vectorised: the file is read in byte blocks, every block is cut at its last
complete ``</event>``, tags are located with numpy on the raw bytes, and all numbers of a
block (particle lines and ``<wgt>`` values) are parsed together by a numpy tokenizer that
needs no per-event Python loop; blocks after the first are parsed by two worker threads
(numpy releases the GIL). Only the numeric lines of an event (up to the first ``<`` or
``#``) and the ``<wgt>`` values are read; other event content (``<mgrwt>``, ``<scales>``,
LHEF 3 ``<weights>``, ``#`` comment lines) is ignored. Numbers are read to within an ulp
of :func:`float` (exactly, for up to 15 significant digits and exponents up to 22);
writing keeps 11 significant digits (``%.10e``).

Example:
    >>> import tempfile, pathlib
    >>> import awkward as ak, numpy as np
    >>> init = LHEInit((11, -11), (100.0, 100.0), 3, np.array([1.5]), np.array([0.1]),
    ...                np.array([1]), weight_ids=("sm", "bsm"))
    >>> particles = ak.Array([[{"pdgid": 11, "status": -1, "mother1": 0, "mother2": 0,
    ...     "color1": 0, "color2": 0, "px": 0.0, "py": 0.0, "pz": 100.0, "energy": 100.0,
    ...     "mass": 0.0, "lifetime": 0.0, "spin": 9.0}]])
    >>> events = LHEEvents(particles, weight=np.array([1.5]), scale=np.array([200.0]),
    ...     aqed=np.array([0.0078]), aqcd=np.array([0.118]), process_id=np.array([1]),
    ...     weights=np.array([[1.5, 2.5]]), weight_ids=("sm", "bsm"))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.lhe.gz"
    >>> write(path, init, events)
    >>> back = read(path)
    >>> len(back), back.weight_ids, back.weights.tolist(), back.particles.pdgid.tolist()
    (1, ('sm', 'bsm'), [[1.5, 2.5]], [[11]])
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import awkward as ak
import numpy as np

from goldmine.exceptions import LHEError
from goldmine.io.atomic import atomic_output

__all__ = [
    "LHEEvents",
    "LHEInit",
    "concatenate",
    "count",
    "iterate",
    "read",
    "read_init",
    "write",
]

_PARTICLE_FIELDS = (
    "pdgid", "status", "mother1", "mother2", "color1", "color2",
    "px", "py", "pz", "energy", "mass", "lifetime", "spin",
)
_INT_FIELDS = _PARTICLE_FIELDS[:6]
_EVENT_FIELDS = ("NUP", "IDPRUP", "XWGTUP", "SCALUP", "AQEDUP", "AQCDUP")

_READ_SIZE = 1 << 21  # bytes read per block; small blocks keep numpy temporaries in cache
_WRITE_EVENTS = 8192  # events formatted per write call
_THREADS = min(2, os.cpu_count() or 1)  # blocks parsed at once


@dataclass(frozen=True)
class LHEInit:
    """The run information of an LHE file: the ``<init>`` block, the weight ids and the header.

    Args:
        beam_ids: PDG ids of the two beams (IDBMUP).
        beam_energies: beam energies in GeV (EBMUP).
        weighting_strategy: IDWTUP (3 for unweighted events with weight XWGTUP).
        cross_sections: XSECUP per process, in pb.
        cross_section_errors: XERRUP per process, in pb.
        process_ids: LPRUP per process.
        weight_ids: ids of the ``<initrwgt>`` weights, in order (empty if none).
        header: free text inside ``<header>``. When writing, any ``<initrwgt>`` block in it
            is replaced by one built from ``weight_ids``; when reading, the raw text.
    """

    beam_ids: tuple[int, int]
    beam_energies: tuple[float, float]
    weighting_strategy: int
    cross_sections: np.ndarray
    cross_section_errors: np.ndarray
    process_ids: np.ndarray
    weight_ids: tuple[str, ...] = ()
    header: str = ""

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "beam_ids", tuple(int(b) for b in self.beam_ids))
        setattr_(self, "beam_energies", tuple(float(e) for e in self.beam_energies))
        setattr_(self, "weighting_strategy", int(self.weighting_strategy))
        setattr_(self, "cross_sections", np.atleast_1d(np.asarray(self.cross_sections, dtype=np.float64)))
        setattr_(self, "cross_section_errors", np.atleast_1d(np.asarray(self.cross_section_errors, dtype=np.float64)))
        setattr_(self, "process_ids", np.atleast_1d(np.asarray(self.process_ids, dtype=np.int64)))
        setattr_(self, "weight_ids", tuple(str(i) for i in self.weight_ids))
        if len(self.beam_ids) != 2 or len(self.beam_energies) != 2:
            raise ValueError("beam_ids and beam_energies need two entries each")
        n = len(self.process_ids)
        if len(self.cross_sections) != n or len(self.cross_section_errors) != n:
            raise ValueError("cross_sections, cross_section_errors and process_ids differ in length")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LHEInit):
            return NotImplemented
        return (
            self.beam_ids == other.beam_ids
            and self.beam_energies == other.beam_energies
            and self.weighting_strategy == other.weighting_strategy
            and np.array_equal(self.cross_sections, other.cross_sections)
            and np.array_equal(self.cross_section_errors, other.cross_section_errors)
            and np.array_equal(self.process_ids, other.process_ids)
            and self.weight_ids == other.weight_ids
            and self.header == other.header
        )


@dataclass(frozen=True)
class LHEEvents:
    """A block of events.

    Args:
        particles: jagged array, one list of particle records per event, with the integer
            fields ``pdgid, status, mother1, mother2, color1, color2`` and the float fields
            ``px, py, pz, energy, mass, lifetime, spin``.
        weight: XWGTUP, shape (n,).
        scale: SCALUP, shape (n,).
        aqed: AQEDUP, shape (n,).
        aqcd: AQCDUP, shape (n,).
        process_id: IDPRUP, shape (n,).
        weights: reweighting weights, shape (n, len(weight_ids)), columns in ``weight_ids``
            order; shape (n, 0) when there are none.
        weight_ids: the ids of the columns of ``weights``.
    """

    particles: ak.Array
    weight: np.ndarray
    scale: np.ndarray
    aqed: np.ndarray
    aqcd: np.ndarray
    process_id: np.ndarray
    weights: np.ndarray
    weight_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        setattr_ = object.__setattr__
        for name in ("weight", "scale", "aqed", "aqcd"):
            setattr_(self, name, np.asarray(getattr(self, name), dtype=np.float64))
        setattr_(self, "process_id", np.asarray(self.process_id, dtype=np.int64))
        setattr_(self, "weight_ids", tuple(str(i) for i in self.weight_ids))
        n = len(self.weight)
        weights = np.asarray(self.weights, dtype=np.float64)
        if weights.size == 0 and not self.weight_ids:
            weights = weights.reshape(n, 0)
        setattr_(self, "weights", weights)
        if not isinstance(self.particles, ak.Array):
            setattr_(self, "particles", ak.Array(self.particles))
        for name in ("weight", "scale", "aqed", "aqcd", "process_id"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"LHEEvents.{name} has shape {getattr(self, name).shape}, expected ({n},)")
        if weights.shape != (n, len(self.weight_ids)):
            raise ValueError(f"LHEEvents.weights has shape {weights.shape}, expected ({n}, {len(self.weight_ids)})")
        if len(self.particles) != n:
            raise ValueError(f"LHEEvents.particles has {len(self.particles)} events, expected {n}")

    def __len__(self) -> int:
        return len(self.weight)


# --------------------------------------------------------------------------- reading


# Translation for numpy's integer scanner (with '.' deleted): "-1.5e+02" -> " 15  02". Control
# characters become spaces; anything that cannot be in a number becomes '!' and sends the
# block to the token-by-token path (so does the Fortran exponent letter d).
_TO_INTEGERS = bytes(
    b if chr(b) in "0123456789" else 32 if b <= 32 or chr(b) in "eE+-" else ord("!") for b in range(256)
)
_INT64_MAX = np.iinfo(np.int64).max
with np.errstate(over="ignore"):
    _POW10 = 10.0 ** np.arange(701, dtype=np.float64)  # inf above 1e308, used as a divisor too
_FORTRAN_EXPONENT = bytes.maketrans(b"dD", b"ee")
_NUMBER_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eEdD][+-]?[0-9]+)?")

_HEADER_RE = re.compile(rb"<header\b[^>]*>(.*?)</header\s*>", re.S)
_INIT_RE = re.compile(rb"<init\b[^>]*>(.*?)</init\s*>", re.S)
_INIT_OPEN_RE = re.compile(rb"<init\b")
_EVENT_OPEN_RE = re.compile(rb"<event\b")
_INITRWGT_RE = re.compile(rb"<initrwgt\b[^>]*>(.*?)</initrwgt\s*>", re.S)
_WEIGHT_TAG_RE = re.compile(rb"<weight\b([^>]*)>")
_WGT_TAG_RE = re.compile(rb"<wgt\b([^>]*)>")
_ID_ATTR_RE = re.compile(rb"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>'"]+))""")
_INITRWGT_BLOCK_RE = re.compile(r"\s*<initrwgt\b.*?</initrwgt\s*>", re.S)
_NUMERIC_PREFIX_RE = re.compile(rb"[^<#]*")


class _CheckedGzip:
    """A gzip stream whose corrupt or truncated data raise :class:`LHEError` naming the file.

    gzip signals a truncated file with EOFError, which click would report as a bare "Aborted!".
    """

    def __init__(self, path: str | os.PathLike):
        self._name = os.fspath(path)
        self._stream = gzip.open(path, "rb")
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        try:
            block = self._stream.read(size)
        except (EOFError, OSError, zlib.error) as error:
            raise LHEError(f"{self._name}: the gzip data are corrupt or truncated after {self._position} "
                           f"decompressed bytes ({error})") from None
        self._position += len(block)
        return block

    def __enter__(self) -> _CheckedGzip:
        return self

    def __exit__(self, *exception) -> None:
        self._stream.close()


def _open(path: str | os.PathLike) -> BinaryIO | _CheckedGzip:
    """Open an LHE file for binary reading, gzip-decompressing it if it starts with the gzip magic bytes."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return _CheckedGzip(path)
    return open(path, "rb")


def _id_of(attributes: bytes) -> str | None:
    """The value of the ``id`` attribute in a tag's attribute text, or None."""
    match = _ID_ATTR_RE.search(attributes)
    if match is None:
        return None
    return next(g for g in match.groups() if g is not None).decode("utf-8", "replace")


def _read_preamble(stream: BinaryIO, name: str) -> tuple[bytes, bytes]:
    """Read up to and including ``</init>``; return (preamble, the bytes read beyond it)."""
    data = b""
    while True:
        end = data.find(b"</init>")
        if end >= 0:
            end += len(b"</init>")
            return data[:end], data[end:]
        if data and (b"<LesHouchesEvents" not in data or _EVENT_OPEN_RE.search(data)):
            break
        block = stream.read(_READ_SIZE)
        if not block:
            break
        data += block
    if b"<LesHouchesEvents" not in data:
        raise LHEError(f"{name}: not an LHE file (no <LesHouchesEvents> tag at its start)")
    if _INIT_OPEN_RE.search(data) is None:
        raise LHEError(f"{name}: <init>: missing (no <init> block before the events)")
    raise LHEError(f"{name}: <init>: not closed (no </init> before the events)")


def _first_event_weight_ids(stream: BinaryIO, buffer: bytes) -> tuple[str, ...]:
    """The ``<wgt>`` ids of the first event (read from ``buffer`` and, if needed, ``stream``)."""
    while b"</event>" not in buffer:
        block = stream.read(_READ_SIZE)
        if not block:
            return ()
        buffer += block
    event = buffer[: buffer.index(b"</event>")]
    return tuple(_id_of(attributes) or "" for attributes in _WGT_TAG_RE.findall(event))


def _parse_preamble(preamble: bytes, name: str) -> LHEInit:
    """Build the :class:`LHEInit` of a file from the text up to ``</init>``."""
    if b"<LesHouchesEvents" not in preamble:
        raise LHEError(f"{name}: not an LHE file (no <LesHouchesEvents> tag)")
    header_match = _HEADER_RE.search(preamble)
    header = header_match.group(1).decode("utf-8", "replace") if header_match else ""
    init_match = _INIT_RE.search(preamble, header_match.end() if header_match else 0)
    if init_match is None:
        raise LHEError(f"{name}: <init>: missing")
    numbers = _NUMERIC_PREFIX_RE.match(init_match.group(1)).group(0).split()
    try:
        values = [float(token.replace(b"d", b"e").replace(b"D", b"e")) for token in numbers]
    except ValueError as error:
        raise LHEError(f"{name}: <init>: not a number ({error})") from None
    if len(values) < 10:
        raise LHEError(f"{name}: <init>: expected at least 10 numbers in the first line, found {len(values)}")
    n_processes = int(values[9])
    if n_processes < 0 or len(values) != 10 + 4 * n_processes:
        raise LHEError(
            f"{name}: <init>: NPRUP = {n_processes} needs 10 + 4*NPRUP = {10 + 4 * n_processes} numbers, "
            f"found {len(values)}"
        )
    if not np.all(np.isfinite(values)):
        raise LHEError(f"{name}: <init>: non-finite number")
    processes = np.array(values[10:], dtype=np.float64).reshape(n_processes, 4)
    weight_ids: list[str] = []
    rwgt = _INITRWGT_RE.search(preamble)
    if rwgt is not None:
        for attributes in _WEIGHT_TAG_RE.findall(rwgt.group(1)):
            weight_id = _id_of(attributes)
            if weight_id is None:
                raise LHEError(f"{name}: <initrwgt>: a <weight> has no id")
            weight_ids.append(weight_id)
        if len(set(weight_ids)) != len(weight_ids):
            raise LHEError(f"{name}: <initrwgt>: duplicate weight ids")
    return LHEInit(
        beam_ids=(int(values[0]), int(values[1])),
        beam_energies=(values[2], values[3]),
        weighting_strategy=int(values[8]),
        cross_sections=processes[:, 0],
        cross_section_errors=processes[:, 1],
        process_ids=processes[:, 3].astype(np.int64),
        weight_ids=tuple(weight_ids),
        header=header,
    )


def read_init(path: str | os.PathLike) -> LHEInit:
    """Read the run information (``<init>``, ``<initrwgt>`` ids and ``<header>`` text) of an LHE file.

    Args:
        path: the LHE file, plain or gzip-compressed.

    Returns:
        The :class:`LHEInit`; ``header`` is the raw text inside ``<header>``.

    Raises:
        LHEError: no ``<LesHouchesEvents>`` tag, or a missing or malformed ``<init>`` block.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.lhe"
        >>> _ = path.write_text('<LesHouchesEvents version="1.0">\\n<init>\\n2212 2212 6500 6500 0 0 0 0 3 1\\n'
        ...                     '12.5 0.5 12.5 1\\n</init>\\n</LesHouchesEvents>\\n')
        >>> init = read_init(path)
        >>> init.beam_ids, float(init.cross_sections[0]), init.weight_ids
        ((2212, 2212), 12.5, ())
    """
    name = os.fspath(path)
    with _open(path) as stream:
        preamble, rest = _read_preamble(stream, name)
        init = _parse_preamble(preamble, name)
        if not init.weight_ids:  # no <initrwgt>: the ids of the first event's weights, if any
            init = replace(init, weight_ids=_first_event_weight_ids(stream, rest))
    return init


def _starts_with(data: np.ndarray, positions: np.ndarray, pattern: bytes) -> np.ndarray:
    """Mask of the positions in ``data`` at which ``pattern`` begins."""
    ok = positions + len(pattern) <= len(data)
    last = len(data) - 1
    for k, byte in enumerate(pattern):
        ok &= data[np.minimum(positions + k, last)] == byte
    return ok


def _name_ends(data: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Mask of the positions that end a tag name (``>`` or whitespace; False past the end)."""
    values = data[np.minimum(positions, len(data) - 1)]
    return (positions < len(data)) & ((values == ord(">")) | (values <= 32))


def _next(sorted_positions: np.ndarray, after: np.ndarray, end: int) -> np.ndarray:
    """For each position in ``after``, the first of ``sorted_positions`` at or after it (``end`` if none)."""
    index = np.searchsorted(sorted_positions, after)
    padded = np.append(sorted_positions, end)
    return padded[index]


def _tokenize(data: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse every whitespace-separated number in ``data`` (a uint8 array that begins and ends with a space).

    Numbers are ``[+-]digits[.digits][(e|E|d|D)[+-]digits]`` (either digit run of the
    mantissa may be empty, not both). The fast path deletes the dots, blanks signs and
    exponent letters and lets numpy's integer scanner read mantissa and exponent digits as
    integers; the signs, dot and exponent positions (found with numpy) give the sign and the
    power of ten. The result is
    correctly rounded for up to 15 significant digits and decimal exponents up to 22, and
    within an ulp otherwise. Anything unusual (malformed tokens, more than 18 digits) is
    re-read token by token with :func:`float`.

    Returns:
        (values, starts, ends, bad): float64 value, byte span and a "not a finite number"
        flag per token.
    """
    blank = data <= 32
    edges = np.flatnonzero(blank[1:] != blank[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    n_tokens = len(starts)
    if n_tokens == 0:
        empty = np.empty(0, dtype=np.int64)
        return np.empty(0), empty, empty, np.empty(0, dtype=bool)

    exp_at = np.flatnonzero((data | 32) == ord("e"))
    dot_at = np.flatnonzero(data == ord("."))
    exp_token = np.searchsorted(starts, exp_at, side="right") - 1
    irregular = bool(np.any(exp_token[1:] == exp_token[:-1]))
    has_exp = np.zeros(n_tokens, dtype=bool)
    has_exp[exp_token] = True
    n_fraction = np.zeros(n_tokens, dtype=np.int64)
    if len(dot_at) == len(exp_at) and np.all(dot_at < exp_at) and np.all(dot_at > starts[exp_token]):
        n_fraction[exp_token] = exp_at - dot_at - 1  # usual "d.ddde+dd": each dot before its token's exponent
    else:
        dot_token = np.searchsorted(starts, dot_at, side="right") - 1
        irregular = irregular or bool(np.any(dot_token[1:] == dot_token[:-1]))
        mantissa_end = ends.copy()
        mantissa_end[exp_token] = exp_at
        n_fraction[dot_token] = mantissa_end[dot_token] - dot_at - 1
        irregular = irregular or bool(np.any(n_fraction < 0))  # a dot in the exponent

    # Every sign must lead its token or follow an exponent letter; the digits are then read
    # as unsigned integers from a copy holding nothing but digits and spaces.
    raw = data.tobytes()
    lead = data[starts]
    negative = lead == ord("-")
    exp_sign = data[exp_at + 1]
    exp_negative = exp_sign == ord("-")
    n_signs = np.count_nonzero(negative | (lead == ord("+"))) + np.count_nonzero(exp_negative | (exp_sign == ord("+")))
    irregular = irregular or np.count_nonzero((data == ord("-")) | (data == ord("+"))) != n_signs
    pieces = np.empty(0, dtype=np.int64)
    expected = n_tokens + len(exp_at) + 1
    if not irregular:
        text = raw.translate(_TO_INTEGERS, b".")
        irregular = b"!" in text
    if not irregular:
        try:  # cannot stop early on digits and spaces; a malformed token gives a short count
            pieces = np.fromstring(text + b" 0", dtype=np.int64, sep=" ")  # the 0 catches a lost last piece
        except (DeprecationWarning, ValueError):  # pragma: no cover - defensive
            irregular = True
    if irregular or len(pieces) != expected:
        return _tokenize_slowly(data, starts, ends)

    exp_piece = exp_token + np.arange(1, len(exp_token) + 1)  # pieces: mantissa [exponent] per token, then 0
    is_mantissa = np.ones(len(pieces), dtype=bool)
    is_mantissa[exp_piece] = False
    is_mantissa[-1] = False
    mantissa = pieces[is_mantissa]
    saturated = mantissa == _INT64_MAX  # more than 18 digits
    power = -n_fraction
    exponent = pieces[exp_piece]
    power[exp_token] += np.where(exp_negative, -exponent, exponent)
    # Exact powers of ten up to 1e22 make this correctly rounded: one multiplication or division.
    highest, lowest = int(power.max()), int(power.min())
    if highest > 600 or lowest < -600:  # absurd exponents: let inf and 0 happen
        power = np.clip(power, -600, 600)
    values = mantissa.astype(np.float64)
    if highest > 0:
        values *= _POW10[np.maximum(power, 0)]
    if lowest < 0:
        down = np.maximum(-power, 0)
        if lowest < -308:  # below 1e-308: two steps, so that 1e308 stays finite
            values /= _POW10[np.minimum(down, 308)]
            down = np.maximum(down - 308, 0)
        values /= _POW10[down]
    values[negative] *= -1.0
    for i in np.flatnonzero(saturated):
        values[i] = float(data[starts[i] : ends[i]].tobytes().translate(_FORTRAN_EXPONENT))
    return values, starts, ends, ~np.isfinite(values)


def _tokenize_slowly(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Token-by-token version of :func:`_tokenize`, for blocks with malformed or unusual tokens."""
    values = np.full(len(starts), np.nan)
    for i, (start, end) in enumerate(zip(starts.tolist(), ends.tolist())):
        token = data[start:end].tobytes()
        if _NUMBER_RE.fullmatch(token):
            values[i] = float(token.translate(_FORTRAN_EXPONENT))
    return values, starts, ends, ~np.isfinite(values)


def _token_text(data: np.ndarray, start: int, end: int) -> str:
    """The text of one token, for messages."""
    return data[start:end].tobytes().decode("ascii", "replace")


def _describe_number(text: str) -> str:
    """Why ``text`` was refused: not a number at all, or not a finite one."""
    try:
        float(text.replace("d", "e").replace("D", "e"))
    except ValueError:
        return f"is not a number: {text!r}"
    return f"is not a finite number: {text!r}"


class _BlockError(Exception):
    """A problem in a block of events, at a block-relative (0-based) event index."""

    def __init__(self, event: int, message: str) -> None:
        super().__init__(event, message)
        self.event, self.message = int(event), message


class _Problems:
    """Collects (event index, message) pairs and raises the one of the earliest event."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []

    def add(self, event: int, message: str) -> None:
        self.found.append((int(event), message))

    def raise_first(self) -> None:
        if self.found:
            raise _BlockError(*min(self.found, key=lambda item: item[0]))


def _integral(values: np.ndarray) -> np.ndarray:
    """Which values are integers that int64 holds exactly (not NaN, ±inf, fractions or beyond 2⁵³)."""
    return (values == np.round(values)) & (np.abs(values) <= 2.0**53)


def _parse_block(
    block: bytes, weight_ids: tuple[str, ...], adopt_ids: bool = False
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Parse the complete events in ``block`` (which ends with ``</event>``).

    Args:
        block: bytes holding whole events (and possibly text between them).
        weight_ids: expected ``<wgt>`` ids per event, in order.
        adopt_ids: take the ids from the first event when ``weight_ids`` is empty.

    Returns:
        (columns, weight_ids): per-event and per-particle columns, and the weight ids used.

    Raises:
        _BlockError: malformed input, with the block-relative index of the first bad event.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    size = len(data)
    problems = _Problems()

    # Tags, located on the raw bytes.
    lt = np.flatnonzero(data == ord("<"))
    second = data[np.minimum(lt + 1, size - 1)]
    candidates = lt[second == ord("e")]
    opens = candidates[_starts_with(data, candidates, b"<event") & _name_ends(data, candidates + 6)]
    candidates = lt[second == ord("/")]
    closes = candidates[_starts_with(data, candidates, b"</event>")]
    candidates = lt[second == ord("w")]
    wgt = candidates[_starts_with(data, candidates, b"<wgt") & _name_ends(data, candidates + 4)]
    n = len(opens)
    paired = min(n, len(closes))
    in_order = closes[:paired] > opens[:paired]
    in_order[:-1] &= closes[: paired - 1] < opens[1:paired]
    if paired != n or paired != len(closes) or not in_order.all():
        wrong = int(np.flatnonzero(np.append(~in_order, True))[0])
        problems.add(wrong, "no closing </event> before the next <event> (or a </event> without <event>)")
        problems.raise_first()

    # Numeric regions: the event lines up to the first '<' or '#', and the <wgt> values.
    gt = np.flatnonzero(data == ord(">"))
    hashes = np.flatnonzero(data == ord("#"))
    numbers_start = _next(gt, opens, size) + 1
    numbers_end = np.minimum(_next(lt, numbers_start, size), _next(hashes, numbers_start, size))
    wgt_event = np.searchsorted(opens, wgt, side="right") - 1
    inside = (wgt_event >= 0) & (wgt < closes[np.maximum(wgt_event, 0)])
    wgt, wgt_event = wgt[inside], wgt_event[inside]
    wgt_tag_end = _next(gt, wgt, size)
    value_start = wgt_tag_end + 1
    value_end = _next(lt, value_start, size)
    unclosed = ~_starts_with(data, value_end, b"</wgt")
    if unclosed.any():
        problems.add(wgt_event[unclosed][0], "a <wgt> is not closed by </wgt>")
        problems.raise_first()

    # Gather the numeric regions, each with the byte before and after it as a separating
    # space (regions are at least two bytes apart), and parse all numbers at once.
    region_start = np.concatenate([numbers_start, value_start])
    region_end = np.concatenate([numbers_end, value_end])
    order = np.argsort(region_start, kind="stable")
    bounds = np.empty(2 * len(order) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, size
    bounds[1:-1:2] = region_start[order] - 1
    bounds[2:-1:2] = region_end[order] + 1
    numeric = data[np.repeat(np.arange(len(bounds) - 1) % 2 == 1, np.diff(bounds))]
    width = np.empty_like(region_start)
    width[order] = region_end[order] - region_start[order] + 2
    offset = np.empty_like(region_start)
    offset[order] = np.cumsum(width[order]) - width[order]
    numeric[offset] = numeric[offset + width - 1] = ord(" ")
    values, starts, ends, bad = _tokenize(numeric)

    region_first = np.searchsorted(starts, offset + 1)
    region_count = np.searchsorted(starts, offset + width - 1) - region_first
    first, value_first = region_first[:n], region_first[n:]
    count, value_count = region_count[:n], region_count[n:]

    # Weights: every event carries the declared ids, in order.
    n_weights_found = np.bincount(wgt_event, minlength=n)
    if adopt_ids and not weight_ids and len(wgt):
        weight_ids = tuple(
            _id_of(data[wgt[j] + 4 : wgt_tag_end[j]].tobytes()) or "" for j in range(int(n_weights_found[0]))
        )
    n_ids = len(weight_ids)
    wrong_count = np.flatnonzero(n_weights_found != n_ids)
    if len(wrong_count):
        i = wrong_count[0]
        problems.add(i, f"has {n_weights_found[i]} <wgt> weights, expected {n_ids} (the ids declared in <initrwgt>)")
        problems.raise_first()
    if n_ids:
        _check_weight_ids(data, wgt, wgt_tag_end, n, weight_ids, problems)

    # Numbers that are not numbers, or not finite.
    if bad.any():
        token = int(np.flatnonzero(bad)[0])
        text = _describe_number(_token_text(numeric, starts[token], ends[token]))
        owner = int(np.searchsorted(first, token, side="right") - 1)
        if owner >= 0 and token < first[owner] + count[owner]:
            local = token - first[owner]
            particle, field = divmod(local - 6, 13)
            what = _EVENT_FIELDS[local] if local < 6 else f"particle {particle + 1} {_PARTICLE_FIELDS[field]}"
            problems.add(owner, f"{what} {text}")
        else:
            j = int(np.searchsorted(value_first, token, side="right") - 1)
            problems.add(wgt_event[j], f"weight {weight_ids[j % n_ids]!r} {text}")
    wrong_values = np.flatnonzero(value_count != 1)
    if len(wrong_values):
        j = wrong_values[0]
        problems.add(wgt_event[j], f"weight {weight_ids[j % n_ids]!r} holds {value_count[j]} numbers, expected 1")
    problems.raise_first()

    # Event lines and particle lines.
    short = np.flatnonzero(count < 6)
    if len(short):
        problems.add(short[0], f"expected 6 numbers in the event line, found {count[short[0]]}")
        problems.raise_first()
    header = values[first[:, None] + np.arange(6)]
    n_particles = header[:, 0]
    with np.errstate(over="ignore"):  # an absurd NUP overflows to inf, which the check below reports
        expected = 6 + 13 * n_particles
    wrong = np.flatnonzero((count != expected) | (n_particles < 0) | (n_particles != np.round(n_particles)))
    if len(wrong):
        i = wrong[0]
        problems.add(i, f"NUP = {n_particles[i]:g} needs 6 + 13*NUP = {expected[i]:g} numbers, found {count[i]}")
        problems.raise_first()
    counts = n_particles.astype(np.int64)
    lengths = 13 * counts
    offsets = np.cumsum(lengths) - lengths
    index = np.arange(int(lengths.sum())) + np.repeat(first + 6 - offsets, lengths)
    table = values[index].reshape(-1, 13)
    columns: dict[str, np.ndarray] = {"counts": counts}
    for j, field in enumerate(_PARTICLE_FIELDS):
        column = np.ascontiguousarray(table[:, j])
        if field in _INT_FIELDS:
            integral = _integral(column)
            fractional = np.flatnonzero(~integral)
            if len(fractional):
                event = np.searchsorted(np.cumsum(counts), fractional[0], side="right")
                problems.add(event, f"particle {field} is not an integer: {column[fractional[0]]!r}")
                column = np.where(integral, column, 0)  # reported: only the cast must not fail first
            column = column.astype(np.int64)
        columns[field] = column
    process_id = header[:, 1]
    fractional = np.flatnonzero(~_integral(process_id))
    if len(fractional):
        problems.add(fractional[0], f"IDPRUP is not an integer: {process_id[fractional[0]]!r}")
    problems.raise_first()
    columns["process_id"] = process_id.astype(np.int64)
    for j, field in enumerate(("weight", "scale", "aqed", "aqcd"), start=2):
        columns[field] = np.ascontiguousarray(header[:, j])
    columns["weights"] = values[value_first].reshape(n, n_ids)
    return columns, weight_ids


def _check_weight_ids(
    data: np.ndarray, wgt: np.ndarray, tag_end: np.ndarray, n: int, weight_ids: tuple[str, ...], problems: _Problems
) -> None:
    """Check that the ``<wgt>`` tags of every event carry ``weight_ids`` in order."""
    k = len(weight_ids)
    length = tag_end - wgt
    reference = [data[wgt[j] : tag_end[j]].tobytes() for j in range(k)]
    for j, tag in enumerate(reference):
        if _id_of(tag[4:]) != weight_ids[j]:
            problems.add(0, f"<wgt> number {j + 1} has id {_id_of(tag[4:])!r}, expected {weight_ids[j]!r}")
            problems.raise_first()
    width = int(length.max())
    grid = np.zeros((k, width), dtype=np.uint8)
    for j, tag in enumerate(reference):
        grid[j, : len(tag)] = np.frombuffer(tag, np.uint8)
    offsets = np.arange(width)
    window = data[np.minimum(wgt[:, None] + offsets, len(data) - 1)]
    window[offsets >= length[:, None]] = 0
    same = (window.reshape(n, k, width) == grid).all(axis=2) & (length.reshape(n, k) == length[:k])
    for flat in np.flatnonzero(~same.ravel()):  # differently written tags: compare the ids themselves
        found = _id_of(data[wgt[flat] + 4 : tag_end[flat]].tobytes())
        if found != weight_ids[flat % k]:
            problems.add(
                flat // k,
                f"<wgt> number {flat % k + 1} has id {found!r}, expected {weight_ids[flat % k]!r}",
            )
            problems.raise_first()


def _empty_columns(n_ids: int) -> dict[str, np.ndarray]:
    """Columns of zero events with ``n_ids`` weights."""
    columns = {"counts": np.zeros(0, dtype=np.int64)}
    for field in _PARTICLE_FIELDS:
        columns[field] = np.zeros(0, dtype=np.int64 if field in _INT_FIELDS else np.float64)
    columns["process_id"] = np.zeros(0, dtype=np.int64)
    for field in ("weight", "scale", "aqed", "aqcd"):
        columns[field] = np.zeros(0)
    columns["weights"] = np.zeros((0, n_ids))
    return columns


def _concatenate_columns(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Columns of consecutive blocks joined into one."""
    if len(parts) == 1:
        return parts[0]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


def _slice_columns(columns: dict[str, np.ndarray], start: int, stop: int) -> dict[str, np.ndarray]:
    """Columns of the events ``start:stop`` (views, not copies)."""
    offsets = np.concatenate([[0], np.cumsum(columns["counts"])])
    first, last = offsets[start], offsets[stop]
    out = {}
    for key, column in columns.items():
        out[key] = column[first:last] if key in _PARTICLE_FIELDS else column[start:stop]
    return out


def _events_from_columns(columns: dict[str, np.ndarray], weight_ids: tuple[str, ...]) -> LHEEvents:
    """Wrap flat columns (per-event counts, particle and event columns) as :class:`LHEEvents`, without copying."""
    offsets = np.zeros(len(columns["counts"]) + 1, dtype=np.int64)
    np.cumsum(columns["counts"], out=offsets[1:])
    record = ak.contents.RecordArray(
        [ak.contents.NumpyArray(np.ascontiguousarray(columns[field])) for field in _PARTICLE_FIELDS],
        list(_PARTICLE_FIELDS),
        length=int(offsets[-1]),
    )
    particles = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), record))
    return LHEEvents(
        particles=particles,
        weight=columns["weight"],
        scale=columns["scale"],
        aqed=columns["aqed"],
        aqcd=columns["aqcd"],
        process_id=columns["process_id"],
        weights=columns["weights"],
        weight_ids=weight_ids,
    )


_Parsed = tuple[dict[str, np.ndarray], tuple[str, ...]]  # (columns, weight ids) of a block


def _complete_blocks(stream: BinaryIO, buffer: bytes, tail: list[bytes]) -> Iterator[bytes]:
    """Yield the rest of ``stream`` (after ``buffer``) in blocks that end with ``</event>``.

    What follows the last ``</event>`` is appended to ``tail`` when the stream is exhausted.
    """
    eof = False
    while not eof:
        block = stream.read(_READ_SIZE)
        eof = not block
        buffer += block
        cut = buffer.rfind(b"</event>")
        if cut >= 0:
            cut += len(b"</event>")
            yield buffer[:cut]
            buffer = buffer[cut:]
    tail.append(buffer)


def _parsed_blocks(blocks: Iterator[bytes], weight_ids: tuple[str, ...], name: str) -> Iterator[_Parsed]:
    """Parse blocks in order; after the first, a few at a time in worker threads (numpy releases the GIL)."""
    n_read = 0

    def result(parse: Callable[[], _Parsed]) -> _Parsed:
        nonlocal n_read
        try:
            columns, ids = parse()
        except _BlockError as error:
            raise LHEError(f"{name}: event {n_read + error.event + 1}: {error.message}") from None
        n_read += len(columns["counts"])
        return columns, ids

    first = next(blocks, None)
    if first is None:
        return
    columns, weight_ids = result(lambda: _parse_block(first, weight_ids, adopt_ids=not weight_ids))
    yield columns, weight_ids
    if _THREADS < 2:
        for block in blocks:
            yield result(lambda: _parse_block(block, weight_ids))
        return
    pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="goldmine-lhe")
    try:
        queue: deque[Future] = deque()
        for block in blocks:
            queue.append(pool.submit(_parse_block, block, weight_ids))
            if len(queue) > 2 * _THREADS:
                yield result(queue.popleft().result)
        while queue:
            yield result(queue.popleft().result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _iterate_columns(
    path: str | os.PathLike, step_size: int | None
) -> Iterator[tuple[dict[str, np.ndarray], tuple[str, ...]]]:
    """Yield (columns, weight ids) of at most ``step_size`` events (all at once if None)."""
    name = os.fspath(path)
    with _open(path) as stream:
        preamble, buffer = _read_preamble(stream, name)
        weight_ids = _parse_preamble(preamble, name).weight_ids
        tail: list[bytes] = []
        pending: list[dict[str, np.ndarray]] = []
        n_pending = n_read = 0
        for columns, weight_ids in _parsed_blocks(_complete_blocks(stream, buffer, tail), weight_ids, name):
            n_block = len(columns["counts"])
            n_read += n_block
            pending.append(columns)
            n_pending += n_block
            while step_size is not None and n_pending >= step_size:
                merged = _concatenate_columns(pending)
                yield _slice_columns(merged, 0, step_size), weight_ids
                n_pending -= step_size
                pending = [_slice_columns(merged, step_size, step_size + n_pending)] if n_pending else []
        if _EVENT_OPEN_RE.search(tail[0]):
            raise LHEError(f"{name}: event {n_read + 1}: truncated (no closing </event> before the end of the file)")
        if b"</LesHouchesEvents" not in tail[0]:
            where = f"event {n_read}: the file ends after it" if n_read else "<init>: the file ends after it"
            raise LHEError(f"{name}: {where} without </LesHouchesEvents> (truncated?)")
        if pending or step_size is None:
            merged = _concatenate_columns(pending) if pending else _empty_columns(len(weight_ids))
            yield merged, weight_ids


def iterate(path: str | os.PathLike, step_size: int = 100_000) -> Iterator[LHEEvents]:
    """Iterate over the events of an LHE file in chunks, with bounded memory.

    The file is read in byte blocks; each block is cut after its last complete
    ``</event>`` and parsed with vectorised numpy code.

    Args:
        path: the LHE file, plain or gzip-compressed.
        step_size: the most events per chunk (every chunk but the last has exactly this many).

    Returns:
        An iterator of :class:`LHEEvents`. An error in the file is raised when the iteration
        reaches it, possibly after earlier chunks were yielded.

    Raises:
        LHEError: malformed input; the message names the file and the 1-based event number.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "five.lhe"
        >>> event = "<event>\\n1 1 1.0 91.2 0.0078 0.118\\n13 1 0 0 0 0 1 2 3 4 0 0 9\\n</event>\\n"
        >>> _ = path.write_text('<LesHouchesEvents version="1.0">\\n<init>\\n11 -11 45 45 0 0 0 0 3 1\\n'
        ...                     '5.0 0.1 1.0 1\\n</init>\\n' + 5 * event + '</LesHouchesEvents>\\n')
        >>> [len(chunk) for chunk in iterate(path, step_size=2)]
        [2, 2, 1]
    """
    if step_size < 1:
        raise ValueError(f"step_size must be positive, got {step_size}")
    for columns, weight_ids in _iterate_columns(path, step_size):
        yield _events_from_columns(columns, weight_ids)


_EVENT_TAG_RE = re.compile(rb"<event[\s>]")


def count(path: str | os.PathLike) -> int:
    """The number of events of an LHE file (``<event>`` tags), without parsing them.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "two.lhe"
        >>> _ = path.write_text("<LesHouchesEvents>\\n<init>\\n</init>\\n<event>\\n</event>\\n<event>\\n</event>\\n")
        >>> count(path)
        2
    """
    total, tail = 0, b""
    with _open(path) as stream:
        while block := stream.read(_READ_SIZE):
            data = tail + block
            total += len(_EVENT_TAG_RE.findall(data))
            # A tag cut by the block boundary (at most 6 of its 7 bytes here) is counted with the next block.
            cut = data.rfind(b"<", max(len(data) - 6, 0))
            tail = data[cut:] if cut >= 0 else b""
    return total


def read(path: str | os.PathLike) -> LHEEvents:
    """Read all events of an LHE file.

    Args:
        path: the LHE file, plain or gzip-compressed.

    Returns:
        The events (the concatenation of :func:`iterate`). ``weight_ids`` are those of the
        ``<initrwgt>`` block, or, when there is none, those of the first event's ``<wgt>`` tags.

    Raises:
        LHEError: malformed input; the message names the file and the 1-based event number.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "one.lhe"
        >>> _ = path.write_text('<LesHouchesEvents version="3.0">\\n<header>\\n<initrwgt>\\n'
        ...     "<weightgroup name='x'>\\n<weight id='a'> </weight>\\n</weightgroup>\\n</initrwgt>\\n</header>\\n"
        ...     '<init>\\n11 -11 45 45 0 0 0 0 3 1\\n5.0 0.1 1.0 1\\n</init>\\n<event>\\n'
        ...     '1 1 +5.0e+00 91.2 0.0078 0.118\\n13 1 0 0 0 0 1. -2. .5 4 0 0 9\\n'
        ...     "<rwgt>\\n<wgt id='a'> 2.5e-1 </wgt>\\n</rwgt>\\n</event>\\n</LesHouchesEvents>\\n")
        >>> events = read(path)
        >>> events.particles.pz.tolist(), events.weights.tolist(), events.weight_ids
        ([[0.5]], [[0.25]], ('a',))
    """
    parts = list(_iterate_columns(path, None))
    weight_ids = parts[-1][1]
    return _events_from_columns(_concatenate_columns([p for p, _ in parts]), weight_ids)


def concatenate(chunks: Sequence[LHEEvents]) -> LHEEvents:
    """Concatenate blocks of events with the same weight ids.

    Args:
        chunks: one or more :class:`LHEEvents`.

    Returns:
        One :class:`LHEEvents` holding all events in order.

    Example:
        >>> import numpy as np, awkward as ak
        >>> def one(w):
        ...     return LHEEvents(ak.Array([[]]), np.array([w]), np.array([1.0]), np.array([0.0]),
        ...                      np.array([0.1]), np.array([1]), np.empty((1, 0)))
        >>> concatenate([one(1.0), one(2.0)]).weight.tolist()
        [1.0, 2.0]
    """
    chunks = list(chunks)
    if not chunks:
        raise ValueError("concatenate needs at least one LHEEvents")
    weight_ids = chunks[0].weight_ids
    for chunk in chunks[1:]:
        if chunk.weight_ids != weight_ids:
            raise ValueError(f"weight ids differ: {weight_ids} and {chunk.weight_ids}")
    if len(chunks) == 1:
        return chunks[0]
    return _events_from_columns(_concatenate_columns([_columns_of(c) for c in chunks]), weight_ids)


def _columns_of(events: LHEEvents) -> dict[str, np.ndarray]:
    """The flat columns of a block of events (the inverse of :func:`_events_from_columns`)."""
    particles = events.particles
    counts = np.asarray(ak.num(particles, axis=1), dtype=np.int64)
    missing = [f for f in _PARTICLE_FIELDS if f not in particles.fields]
    if missing and counts.sum() == 0:  # events without particles need no fields
        columns = _empty_columns(0)
    elif missing:
        raise ValueError(f"LHEEvents.particles lacks the fields {missing}")
    else:
        flat = ak.flatten(particles, axis=1)
        columns = {}
        for field in _PARTICLE_FIELDS:
            dtype = np.int64 if field in _INT_FIELDS else np.float64
            columns[field] = np.asarray(ak.to_numpy(flat[field]), dtype=dtype)
    columns["counts"] = counts
    columns["process_id"] = events.process_id
    for field in ("weight", "scale", "aqed", "aqcd"):
        columns[field] = getattr(events, field)
    columns["weights"] = events.weights
    return columns


# --------------------------------------------------------------------------- writing


_EVENT_LINE = "%d %d %.10e %.10e %.10e %.10e\n"
_PARTICLE_LINE = " %8d %2d %4d %4d %4d %4d %+.10e %+.10e %+.10e %.10e %.10e %.10e %.10e\n"
_BAD_ID = re.compile(r"""[\s'"<>&]""")


def _format_preamble(init: LHEInit) -> bytes:
    """The text from ``<LesHouchesEvents>`` to ``</init>``."""
    lines = ['<LesHouchesEvents version="3.0">', "<header>"]
    header = _INITRWGT_BLOCK_RE.sub("", init.header).strip("\n")
    if header:
        lines.append(header)
    if init.weight_ids:
        lines += ["<initrwgt>", "<weightgroup name='goldmine' combine='none'>"]
        lines += [f"<weight id='{weight_id}'> </weight>" for weight_id in init.weight_ids]
        lines += ["</weightgroup>", "</initrwgt>"]
    lines += ["</header>", "<init>"]
    n_processes = len(init.process_ids)
    lines.append(
        f"{init.beam_ids[0]} {init.beam_ids[1]} {init.beam_energies[0]:.10e} {init.beam_energies[1]:.10e} "
        f"0 0 0 0 {init.weighting_strategy} {n_processes}"
    )
    for xsec, error, process in zip(init.cross_sections, init.cross_section_errors, init.process_ids):
        lines.append(f"{xsec:.10e} {error:.10e} {xsec:.10e} {process}")
    lines.append("</init>\n")
    return "\n".join(lines).encode("utf-8")


def _event_template(n_particles: int, weight_ids: tuple[str, ...], cache: dict[int, str]) -> str:
    """The ``%`` format of one event with ``n_particles`` particles and the given weights."""
    template = cache.get(n_particles)
    if template is None:
        template = "<event>\n" + _EVENT_LINE + _PARTICLE_LINE * n_particles
        if weight_ids:
            template += "<rwgt>\n"
            template += "".join(f"<wgt id='{i.replace('%', '%%')}'> %.10e </wgt>\n" for i in weight_ids)
            template += "</rwgt>\n"
        template += "</event>\n"
        cache[n_particles] = template
    return template


def _format_events(
    columns: dict[str, np.ndarray], weight_ids: tuple[str, ...], cache: dict[int, str], base: int
) -> bytes:
    """Format a block of events as LHE text, with one ``%`` formatting call for the whole block.

    Args:
        columns: the block's columns (see :func:`_columns_of`).
        weight_ids: the ids of the weight columns.
        cache: event templates by number of particles, shared between blocks.
        base: number of events written before this block, for messages.

    Returns:
        The ASCII text of the events.
    """
    counts = columns["counts"]
    n, k = len(counts), len(weight_ids)
    sizes = 6 + 13 * counts + k
    offsets = np.cumsum(sizes) - sizes
    flat = np.empty(int(sizes.sum()), dtype=np.float64)
    header = np.column_stack(
        [counts, columns["process_id"], columns["weight"], columns["scale"], columns["aqed"], columns["aqcd"]]
    )
    flat[offsets[:, None] + np.arange(6)] = header
    event_of = np.repeat(np.arange(n), counts)
    particle_start = np.cumsum(counts) - counts
    local = np.arange(len(event_of)) - particle_start[event_of]
    table = np.column_stack([columns[field] for field in _PARTICLE_FIELDS]).astype(np.float64)
    flat[(offsets[event_of] + 6 + 13 * local)[:, None] + np.arange(13)] = table
    if k:
        flat[(offsets + 6 + 13 * counts)[:, None] + np.arange(k)] = columns["weights"]
    finite = np.isfinite(flat)
    if not finite.all():
        event = int(np.searchsorted(offsets, np.flatnonzero(~finite)[0], side="right") - 1)
        raise ValueError(f"event {base + event + 1} holds a non-finite number; LHE files must not")
    template = "".join([_event_template(c, weight_ids, cache) for c in counts.tolist()])
    return (template % tuple(flat.tolist())).encode("ascii")


def write(path: str | os.PathLike, init: LHEInit, events: LHEEvents | Iterable[LHEEvents]) -> None:
    """Write events to an LHE file, atomically.

    The file is written to a temporary file in the same directory and renamed to ``path``
    only when complete; on any error no file appears at ``path``. A ``.gz`` suffix gives a
    gzip-compressed file. Floats are written with 11 significant digits (``%.10e``), so
    reading the file back reproduces every value to a relative 1e-10.

    Args:
        path: the output file.
        init: the run information; ``init.weight_ids`` are written as ``<initrwgt>`` and
            ``init.header`` inside ``<header>`` (an ``<initrwgt>`` block in it is replaced).
            PDFGUP and PDFSUP are written as 0, XMAXUP as XSECUP.
        events: one :class:`LHEEvents` or an iterable of them (e.g. a generator), each with
            ``weight_ids == init.weight_ids``; ``<rwgt>`` blocks are written when there are weights.

    Raises:
        ValueError: weight ids that differ from ``init.weight_ids`` or cannot be written,
            missing particle fields, or non-finite numbers.

    Example:
        >>> import tempfile, pathlib, numpy as np, awkward as ak
        >>> init = LHEInit((2212, 2212), (6500.0, 6500.0), 3, [10.0], [0.5], [1])
        >>> events = LHEEvents(ak.Array([[]]), [10.0], [91.2], [0.0078], [0.118], [1], np.empty((1, 0)))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "empty-events.lhe"
        >>> write(path, init, events)
        >>> read_init(path).cross_sections.tolist(), len(read(path))
        ([10.0], 1)
    """
    chunks: Iterable[LHEEvents] = (events,) if isinstance(events, LHEEvents) else events
    for weight_id in init.weight_ids:
        if not weight_id or _BAD_ID.search(weight_id):
            raise ValueError(f"weight id {weight_id!r} cannot be written (empty, or has spaces, quotes, <, > or &)")
    path = Path(path)
    cache: dict[int, str] = {}
    with atomic_output(path) as temporary, open(temporary, "wb") as raw:
        # No name and no time in the gzip header (gzip.open would store the temporary file's
        # name and the clock): the same events give the same bytes.
        if path.name.endswith(".gz"):
            opened = gzip.GzipFile(filename="", mode="wb", compresslevel=3, fileobj=raw, mtime=0)
        else:
            opened = contextlib.nullcontext(raw)
        with opened as stream:
            stream.write(_format_preamble(init))
            written = 0
            for chunk in chunks:
                if chunk.weight_ids != init.weight_ids:
                    raise ValueError(f"events carry weight ids {chunk.weight_ids}, init declares {init.weight_ids}")
                columns = _columns_of(chunk)
                n = len(chunk)
                for start in range(0, n, _WRITE_EVENTS):
                    stop = min(start + _WRITE_EVENTS, n)
                    stream.write(_format_events(_slice_columns(columns, start, stop), init.weight_ids, cache, written))
                    written += stop - start
            stream.write(b"</LesHouchesEvents>\n")
