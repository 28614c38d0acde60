"""Property-based fuzzing of the readers of user files: the LHE reader and the config loader.

On any malformed input the only exception allowed is goldmine's own (a ``GoldmineError``
subclass) naming the file, and a reader never returns fewer events than the file holds
without an error. Example counts are set so that the file takes about 7 s on the loaded
2-core machine (each example reads a 12-event file or validates one configuration, a few
milliseconds); hypothesis shrinks any failure it finds to a minimal input.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from goldmine import config  # noqa: E402
from goldmine.exceptions import ConfigError, LHEError  # noqa: E402
from goldmine.io import lhe  # noqa: E402

N_EVENTS = 12
WEIGHT_IDS = ("sm", "b1", "b2")
#: examples per LHE property: 100 for the mutations that hit many code paths (truncation, byte
#: corruption, numbers), 40 for the targeted ones (a few ms each). The config properties run
#: fewer (30, 6 for deep nesting): a validation takes about 50 ms. In all 600 examples, about
#: 7 s on the 2-core machine.
MANY, FEW = 100, 40
#: a NaN or an out-of-range number cast to an integer field would be silently wrong: numpy's
#: warning about it fails the test.
pytestmark = pytest.mark.filterwarnings("error:invalid value encountered in cast:RuntimeWarning")
FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _event(index: int) -> str:
    particles = "".join(
        f"{pdg} {status} 0 0 0 0 {0.1 * index:.3f} {1.5 + sign:.3f} {sign * 40.0:.3f} 45.0 0.0 0.0 9.0\n"
        for pdg, status, sign in ((11, -1, 1.0), (-11, -1, -1.0), (13, 1, 1.0), (-13, 1, -1.0)))
    weights = "".join(f"<wgt id='{name}'> {1.0 + 0.1 * k + 0.01 * index:.6e} </wgt>\n"
                      for k, name in enumerate(WEIGHT_IDS))
    return (f"<event>\n4 1 +1.0e+00 9.12e+01 7.8e-03 1.18e-01\n{particles}"
            f"<rwgt>\n{weights}</rwgt>\n</event>\n")


def _valid_text() -> str:
    weights = "".join(f"<weight id='{name}'> set param {k} </weight>\n" for k, name in enumerate(WEIGHT_IDS))
    return ("<LesHouchesEvents version=\"3.0\">\n<header>\n<initrwgt>\n<weightgroup name='mg_reweighting'>\n"
            f"{weights}</weightgroup>\n</initrwgt>\n</header>\n<init>\n11 -11 1.0e+02 1.0e+02 0 0 0 0 3 1\n"
            "2.0e+00 1.0e-02 1.0e+00 1\n</init>\n" + "".join(_event(i) for i in range(N_EVENTS))
            + "</LesHouchesEvents>\n")


VALID = _valid_text().encode()


def _read(path: Path) -> int | None:
    """The number of events read, or None when the reader raised its own error naming the file.

    Anything else (another exception, or an LHEError that does not name the file) fails the test.
    """
    try:
        return len(lhe.read(path))
    except LHEError as error:
        assert str(path) in str(error), f"the error does not name the file: {error}"
        return None


def _check(path: Path, data: bytes, expected: int | None = None) -> None:
    """Read ``data`` as ``path``: an error naming it, or every event (``expected``, default all)."""
    path.write_bytes(data)
    n = _read(path)
    if n is not None:
        assert n == (N_EVENTS if expected is None else expected), f"silent partial read: {n} events"


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "valid.lhe"
    path.write_bytes(VALID)
    return path


def test_the_base_file_reads_whole(valid_file):
    events = lhe.read(valid_file)
    assert len(events) == N_EVENTS and events.weight_ids == WEIGHT_IDS
    assert lhe.count(valid_file) == N_EVENTS


@settings(FUZZ, max_examples=MANY)
@given(offset=st.integers(0, len(VALID) - 1), compressed=st.booleans())
def test_a_truncated_file_is_an_error_never_fewer_events(tmp_path, offset, compressed):
    data = VALID[:offset]
    if compressed:
        data = gzip.compress(VALID, mtime=0)
        data = data[: offset * len(data) // len(VALID)]
    path = tmp_path / ("cut.lhe.gz" if compressed else "cut.lhe")
    path.write_bytes(data)
    n = _read(path)
    # Only the end of the closing tag may go without an error: every event is then read.
    complete = not compressed and b"</LesHouchesEvents" in data
    assert n is None or (complete and n == N_EVENTS), f"truncated at {offset}: {n} events without an error"


@settings(FUZZ, max_examples=MANY)
@given(position=st.integers(0, len(VALID) - 1), garbage=st.binary(min_size=1, max_size=8))
def test_overwritten_bytes_give_an_error_or_every_event(tmp_path, position, garbage):
    data = VALID[:position] + garbage + VALID[position + len(garbage):]
    # Bytes overwritten inside <header> (free text) or between tags may leave a valid file; bytes
    # that break an <event> tag may not drop that event silently.
    _check(tmp_path / "overwritten.lhe", data)


TAGS = (b"<event>", b"</event>", b"<rwgt>", b"</rwgt>", b"<wgt id='b1'>", b"</wgt>", b"<init>", b"</init>",
        b"<LesHouchesEvents", b"</LesHouchesEvents>")


@settings(FUZZ, max_examples=FEW)
@given(tag=st.sampled_from(TAGS), occurrence=st.integers(0, N_EVENTS - 1), edit=st.sampled_from(
    ["drop", "double", "rename", "delete"]))
def test_a_corrupted_tag_is_an_error_or_every_event(tmp_path, tag, occurrence, edit):
    starts = [match.start() for match in re.finditer(re.escape(tag), VALID)]
    start = starts[occurrence % len(starts)]
    replacement = {"drop": tag[:-2] + tag[-1:], "double": tag + tag, "rename": tag.replace(b"e", b"x", 1),
                   "delete": b""}[edit]
    _check(tmp_path / "tag.lhe", VALID[:start] + replacement + VALID[start + len(tag):])


@settings(FUZZ, max_examples=FEW)
@given(event=st.integers(0, N_EVENTS - 1), edit=st.sampled_from(["missing", "extra", "duplicate", "renamed"]))
def test_wrong_wgt_ids_in_an_event_are_an_error(tmp_path, event, edit):
    text = _valid_text()
    body = _event(event)
    line = f"<wgt id='b1'> {1.1 + 0.01 * event:.6e} </wgt>\n"
    changed = {"missing": body.replace(line, ""), "extra": body.replace(line, line + "<wgt id='b9'> 1.0 </wgt>\n"),
               "duplicate": body.replace(line, line + line), "renamed": body.replace("id='b1'", "id='b7'")}[edit]
    path = tmp_path / "ids.lhe"
    path.write_text(text.replace(body, changed, 1))
    with pytest.raises(LHEError, match=rf"{re.escape(str(path))}: event {event + 1}: "):
        lhe.read(path)


NUMBER = re.compile(rb"(?<![\w.+-])[+-]?\d+\.?\d*(?:[eE][+-]?\d+)?(?![\w.])")
EVENT_NUMBERS = [m for m in NUMBER.finditer(VALID) if VALID.index(b"</init>") < m.start()
                 and b"id='" not in VALID[m.start() - 4 : m.start()]]


@settings(FUZZ, max_examples=MANY)
@given(which=st.integers(0, len(EVENT_NUMBERS) - 1), token=st.one_of(
    st.sampled_from([b"nan", b"inf", b"-inf", b"1e400", b"-1e400", b"1e308", b"0x10", b"1,5", b"--1", b"1e",
                     b"", b"\x00", b"NaN", b"1d400", b"99999999999999999999999"]),
    st.text(alphabet="0123456789.eE+-dDx ", min_size=1, max_size=6).map(str.encode)))
def test_a_bad_number_is_an_error_never_a_silent_value(tmp_path, which, token):
    match = EVENT_NUMBERS[which]
    data = VALID[: match.start()] + token + VALID[match.end():]
    path = tmp_path / "number.lhe"
    path.write_bytes(data)
    try:
        events = lhe.read(path)
    except LHEError as error:
        assert str(path) in str(error)
        return
    # Read without an error: every event, and the numbers finite.
    assert len(events) == N_EVENTS
    import numpy as np

    assert np.isfinite(events.weights).all() and np.isfinite(events.weight).all()


@settings(FUZZ, max_examples=FEW)
@given(event=st.integers(0, N_EVENTS - 1), count=st.sampled_from([0, 1, 3, 5, 6, 40, -1, 10**12]))
def test_a_wrong_particle_count_is_an_error(tmp_path, event, count):
    body = _event(event)
    path = tmp_path / "count.lhe"
    path.write_text(_valid_text().replace(body, body.replace("<event>\n4 1", f"<event>\n{count} 1", 1), 1))
    with pytest.raises(LHEError, match=rf"{re.escape(str(path))}: event {event + 1}: "):
        lhe.read(path)


@settings(FUZZ, max_examples=FEW)
@given(data=st.one_of(st.binary(max_size=2000), st.just(b""), st.binary(max_size=200).map(
    lambda tail: VALID[:200] + tail)), compressed=st.booleans())
def test_random_bytes_are_an_error_naming_the_file(tmp_path, data, compressed):
    path = tmp_path / ("random.lhe.gz" if compressed else "random.lhe")
    path.write_bytes(gzip.compress(data, mtime=0) if compressed else data)
    assert _read(path) is None


@settings(FUZZ, max_examples=FEW)
@given(position=st.integers(10, 400), garbage=st.binary(min_size=1, max_size=4))
def test_corrupt_gzip_is_an_error_or_every_event(tmp_path, position, garbage):
    data = gzip.compress(VALID, mtime=0)
    position = position * (len(data) - 20) // 400
    corrupt = data[:position] + garbage + data[position + len(garbage):]
    try:
        decompressed = gzip.decompress(corrupt)
    except (OSError, EOFError, zlib.error):
        decompressed = None
    path = tmp_path / "corrupt.lhe.gz"
    path.write_bytes(corrupt)
    n = _read(path)
    # gzip's CRC catches nearly every change; one it misses must still give a valid LHE file.
    assert n is None or decompressed == VALID or n == N_EVENTS


# ----------------------------------------------------------------------------- the config loader

DEFAULT = yaml.safe_load(Path("config/config.yaml").read_text())
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=12))
KEYS = st.one_of(st.sampled_from(sorted({key for section in DEFAULT.values() if isinstance(section, dict)
                                         for key in section} | set(DEFAULT))), st.text(min_size=1, max_size=8))
STRUCTURES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)), max_leaves=20)


def _load(path: Path, *overlays: Path) -> dict | None:
    """The configuration, or None when the loader raised its ConfigError naming the files."""
    try:
        return config.load(path, *overlays)
    except ConfigError as error:
        assert str(overlays[-1] if overlays else path) in str(error), f"the error does not name the file: {error}"
        return None


@settings(FUZZ, max_examples=30)
@given(document=STRUCTURES)
def test_a_random_yaml_document_is_a_config_error(tmp_path, document):
    path = tmp_path / "random.yaml"
    path.write_text(yaml.safe_dump(document))
    assert _load(path) is None


@settings(FUZZ, max_examples=30)
@given(section=st.sampled_from(sorted(DEFAULT)), key=KEYS, value=STRUCTURES)
def test_a_random_overlay_is_valid_or_a_config_error(tmp_path, section, key, value):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(yaml.safe_dump({section: {key: value}}))
    loaded = _load(Path("config/config.yaml"), overlay)
    if loaded is not None:  # accepted: then it holds what was asked, and validates again
        assert config.validate(loaded) == loaded


@settings(FUZZ, max_examples=6)
@given(depth=st.sampled_from([60, 400, 3000]), kind=st.sampled_from(["[", "{a: "]),
       where=st.sampled_from(["top", "value"]))
def test_deep_nesting_is_a_config_error(tmp_path, depth, kind, where):
    closing = "]" if kind == "[" else "}"
    nested = kind * depth + "1" + closing * depth
    path = tmp_path / "deep.yaml"
    path.write_text(nested if where == "top" else f"process: {{sqrt_s: {nested}}}\n")
    assert _load(path) is None
    overlay = tmp_path / "deep-overlay.yaml"
    overlay.write_text(f"training: {{ratio: {{hidden: {nested}}}}}\n")
    assert _load(Path("config/config.yaml"), overlay) is None


@settings(FUZZ, max_examples=30)
@given(data=st.binary(max_size=300))
def test_random_bytes_as_a_config_are_a_config_error(tmp_path, data):
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    assert _load(path) is None
