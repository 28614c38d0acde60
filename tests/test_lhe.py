"""Tests of goldmine.io.lhe: real MadGraph files, round trips, chunked reading and malformed input."""

from __future__ import annotations

import dataclasses
import gzip
import re
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from goldmine.exceptions import LHEError
from goldmine.io import lhe

SCALE_VARIATIONS = "lhe/madgraph-lhef3-scale-variations.lhe"
PP_TO_JJ = "lhe/madgraph5-3.5.8-pp_to_jj.lhe.gz"
FIELDS = ("pdgid", "status", "mother1", "mother2", "color1", "color2",
          "px", "py", "pz", "energy", "mass", "lifetime", "spin")


# ----------------------------------------------------------------------------- helpers


def _real(shared_data: Path, name: str) -> Path:
    path = shared_data / name
    if not path.is_file():
        pytest.skip(f"{path} not found in the shared data folder")
    return path


def _text(path: Path) -> str:
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return (gzip.open(path, "rt") if gzipped else open(path)).read()


def _reference(path: Path) -> list[dict]:
    """A slow, independent reading of every event with str.split and float."""
    events = []
    for body in re.findall(r"<event\b[^>]*>(.*?)</event>", _text(path), re.S):
        lines = body.strip().splitlines()
        head = lines[0].split()
        n_particles = int(head[0])
        rows = [[float(x) for x in line.split()] for line in lines[1 : 1 + n_particles]]
        weights = re.findall(r"<wgt id=['\"]([^'\"]*)['\"]>\s*(\S+)\s*</wgt>", body)
        events.append({
            "head": [float(x) for x in head],
            "particles": np.array(rows).reshape(n_particles, 13),
            "weight_ids": tuple(i for i, _ in weights),
            "weights": [float(v) for _, v in weights],
        })
    return events


def _assert_events_equal(actual: lhe.LHEEvents, expected: lhe.LHEEvents, rtol: float = 0.0) -> None:
    assert len(actual) == len(expected)
    assert actual.weight_ids == expected.weight_ids
    for name in ("weight", "scale", "aqed", "aqcd", "weights"):
        np.testing.assert_allclose(getattr(actual, name), getattr(expected, name), rtol=rtol, atol=0)
    np.testing.assert_array_equal(actual.process_id, expected.process_id)
    np.testing.assert_array_equal(ak.num(actual.particles), ak.num(expected.particles))
    for field in FIELDS:
        got = ak.to_numpy(ak.flatten(actual.particles[field]))
        want = ak.to_numpy(ak.flatten(expected.particles[field]))
        if field in FIELDS[:6]:
            assert got.dtype.kind == "i"
            np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=0)


def _assert_momentum_conserved(events: lhe.LHEEvents, rtol: float) -> None:
    """Σ p(incoming, status -1) = Σ p(final, status 1) for every event."""
    particles = events.particles
    incoming, final = particles.status == -1, particles.status == 1
    scale = ak.to_numpy(ak.sum(particles.energy[incoming], axis=1))
    assert np.all(scale > 0)
    for component in ("px", "py", "pz", "energy"):
        momentum = particles[component]
        balance = ak.to_numpy(ak.sum(momentum[incoming], axis=1) - ak.sum(momentum[final], axis=1))
        assert np.all(np.abs(balance) <= rtol * scale), component


def _synthetic(
    n_events: int, weight_ids: tuple[str, ...], seed: int = 0, min_particles: int = 0
) -> tuple[lhe.LHEInit, lhe.LHEEvents]:
    """Events with up to 5 particles and numbers spanning many orders of magnitude."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(min_particles, 6, n_events)
    n = int(counts.sum())
    columns = {field: rng.integers(-600, 600, n) for field in FIELDS[:6]}
    for field in FIELDS[6:]:
        columns[field] = rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, n)
    columns["lifetime"][::3] = 0.0
    columns["spin"][::2] = 9.0
    columns["px"][::5] = -0.0
    particles = ak.unflatten(ak.zip(columns, depth_limit=1), counts)
    init = lhe.LHEInit((2212, -2212), (6500.0, 7000.5), 3, np.array([1.5e-3, 2.5]), np.array([1e-5, 0.1]),
                       np.array([7, 11]), weight_ids, header="<goldmine seed='1'/>")
    events = lhe.LHEEvents(
        particles=particles,
        weight=rng.lognormal(size=n_events) * rng.choice([-1, 1], n_events),
        scale=rng.uniform(10, 1000, n_events),
        aqed=np.full(n_events, 1 / 137.035999),
        aqcd=rng.uniform(0.1, 0.2, n_events),
        process_id=rng.choice([7, 11], n_events),
        weights=rng.normal(size=(n_events, len(weight_ids))) * 1e-7,
        weight_ids=weight_ids,
    )
    return init, events


# ----------------------------------------------------------------------------- real MadGraph files


def test_lhef3_scale_variation_file(shared_data):
    path = _real(shared_data, SCALE_VARIATIONS)
    init = lhe.read_init(path)
    assert init.beam_ids == (2212, 2212)
    assert init.beam_energies == (4000.0, 4000.0)
    assert init.weighting_strategy == -4
    np.testing.assert_array_equal(init.cross_sections, [50.109086])
    np.testing.assert_array_equal(init.cross_section_errors, [0.089185414])
    np.testing.assert_array_equal(init.process_ids, [66])
    assert init.weight_ids == tuple(str(i) for i in range(1001, 1010))  # declared twice in this file: once
    assert "<MG5ProcCard>" in init.header

    events = lhe.read(path)
    reference = _reference(path)
    assert len(events) == len(reference) == 59
    assert events.weights.shape == (59, 9) and events.weight_ids == init.weight_ids
    # First event, against the raw text ("-.93544317E+03", "0.14137688E+03", ...).
    first = events.particles[0]
    assert first.pdgid.tolist() == [5, 2, 24, 5, 1]
    assert first.status.tolist() == [-1, -1, 1, 1, 1]
    assert first.color1.tolist() == [501, 502, 0, 501, 502]
    assert first.pz[1] == -935.44317 and first.energy[1] == 935.44323 and first.mass[2] == 80.398
    assert (events.weight[0], events.scale[0], events.aqcd[0]) == (50.109093, 141.37688, 0.12114027)
    assert events.process_id[0] == 66
    assert events.weights[0].tolist() == [50.109, 45.746, 52.581] * 3
    # Last event.
    last = events.particles[-1]
    assert last.pdgid.tolist() == [-1, 5, 24, 5, -2] and last.color2.tolist() == [501, 0, 0, 0, 501]
    assert last.px[2] == -15.557538 and last.pz[0] == 404.07181
    assert events.weights[-1].tolist() == [50.109, 42.770, 55.733] * 3
    # Every number of every event.
    for i, event in enumerate(reference):
        assert [events.weight[i], events.scale[i], events.aqed[i], events.aqcd[i]] == event["head"][2:]
        table = np.column_stack([ak.to_numpy(events.particles[i][f]) for f in FIELDS])
        np.testing.assert_array_equal(table, event["particles"])
        assert event["weight_ids"] == init.weight_ids
        assert events.weights[i].tolist() == event["weights"]
    # Physics: 8-digit numbers conserve four-momentum to ~1e-7 (the top in event 3 has status 2).
    _assert_momentum_conserved(events, rtol=1e-6)


def test_madgraph_pp_to_jj_file(shared_data):
    path = _real(shared_data, PP_TO_JJ)
    init = lhe.read_init(path)
    assert init.beam_ids == (2212, 2212) and init.beam_energies == (6500.0, 6500.0)
    np.testing.assert_array_equal(init.cross_sections, [6.996707e08])
    np.testing.assert_array_equal(init.cross_section_errors, [4.219275e06])
    assert init.weight_ids == tuple(str(i) for i in range(1, 146))

    events = lhe.read(path)
    assert len(events) == 1000
    assert events.weights.shape == (1000, 145)
    first = events.particles[0]
    assert first.pdgid.tolist() == [21, 21, 21, 21]
    assert first.color1.tolist() == [503, 504, 503, 504] and first.color2.tolist() == [501, 502, 502, 501]
    assert first.pz.tolist()[:2] == [67.766956178, -9.5871608589]
    assert first.px[2] == 23.145962266 and first.py[3] == 7.6819854216 and first.spin[0] == 1.0
    assert (events.scale[0], events.aqed[0], events.aqcd[0]) == (24.387470, 7.546771e-03, 1.669959e-01)
    assert events.weights[0, :3].tolist() == [7.5079318e08, 6.9967067e08, 6.9967067e08]
    assert events.weights[-1, -3:].tolist() == [6.9890319e08, 7.3138004e08, 6.8589487e08]
    reference = _reference(path)
    for i in (0, 1, 499, 998, 999):
        np.testing.assert_array_equal(
            np.column_stack([ak.to_numpy(events.particles[i][f]) for f in FIELDS]), reference[i]["particles"])
        assert events.weights[i].tolist() == reference[i]["weights"]
    assert all(event["weight_ids"] == init.weight_ids for event in reference)
    # Physics: unweighted events each carry the cross section, and conserve four-momentum.
    assert abs(events.weight.mean() / init.cross_sections[0] - 1) < 1e-6
    _assert_momentum_conserved(events, rtol=1e-9)
    final = events.particles[events.particles.status == 1]
    mass_squared = final.energy**2 - final.px**2 - final.py**2 - final.pz**2
    assert ak.all(abs(mass_squared) <= 1e-8 * final.energy**2)  # massless gluons and quarks


def test_real_file_round_trip_and_chunks(shared_data, tmp_path, monkeypatch):
    path = _real(shared_data, PP_TO_JJ)
    init, events = lhe.read_init(path), lhe.read(path)
    copy = tmp_path / "copy.lhe.gz"
    lhe.write(copy, init, events)
    _assert_events_equal(lhe.read(copy), events, rtol=1e-9)
    header = lhe.read_init(copy).header
    assert header.count("<initrwgt>") == 1 and "<MGGenerationInfo>" in header
    # Small chunks, and byte blocks smaller than one event (about 6 kB here).
    chunks = list(lhe.iterate(path, step_size=333))
    assert [len(c) for c in chunks] == [333, 333, 333, 1]
    _assert_events_equal(lhe.concatenate(chunks), events)
    monkeypatch.setattr(lhe, "_READ_SIZE", 2500)
    _assert_events_equal(lhe.concatenate(list(lhe.iterate(path, step_size=7))), events)


# ----------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", ["events.lhe", "events.lhe.gz"])
def test_write_read_round_trip(tmp_path, name):
    init, events = _synthetic(400, ("sm", "theta_1", "c-2"))
    path = tmp_path / name
    lhe.write(path, init, events)
    with open(path, "rb") as handle:
        assert (handle.read(2) == b"\x1f\x8b") == name.endswith(".gz")
    back = lhe.read(path)
    _assert_events_equal(back, events, rtol=1e-9)
    assert np.signbit(ak.to_numpy(ak.flatten(back.particles.px))[0])  # -0.0 stays -0.0
    read_init = lhe.read_init(path)
    assert read_init.weight_ids == init.weight_ids
    assert (read_init.beam_ids, read_init.beam_energies, read_init.weighting_strategy) == (
        init.beam_ids, init.beam_energies, init.weighting_strategy)
    np.testing.assert_allclose(read_init.cross_sections, init.cross_sections, rtol=1e-10)
    np.testing.assert_array_equal(read_init.process_ids, init.process_ids)
    assert init.header in read_init.header


def test_iterate_matches_read_and_writes_from_a_generator(tmp_path, monkeypatch):
    init, events = _synthetic(1000, ("a", "b"))
    path = tmp_path / "chunked.lhe"
    lhe.write(path, init, (_slice(events, start, start + 128) for start in range(0, 1000, 128)))
    whole = lhe.read(path)
    _assert_events_equal(whole, events, rtol=1e-9)
    monkeypatch.setattr(lhe, "_READ_SIZE", 4096)
    chunks = list(lhe.iterate(path, step_size=97))
    assert [len(c) for c in chunks] == [97] * 10 + [30]
    _assert_events_equal(lhe.concatenate(chunks), whole)
    monkeypatch.setattr(lhe, "_THREADS", 1)
    _assert_events_equal(lhe.read(path), whole)
    with pytest.raises(ValueError):
        next(lhe.iterate(path, step_size=0))


def _slice(events: lhe.LHEEvents, start: int, stop: int) -> lhe.LHEEvents:
    return lhe.LHEEvents(events.particles[start:stop], events.weight[start:stop], events.scale[start:stop],
                         events.aqed[start:stop], events.aqcd[start:stop], events.process_id[start:stop],
                         events.weights[start:stop], events.weight_ids)


def test_lhef1_without_weights_and_unusual_number_formats(tmp_path):
    path = tmp_path / "v1.lhe"
    path.write_bytes(
        b'<LesHouchesEvents version="1.0">\r\n<!-- a comment -->\r\n<init>\r\n'
        b"11 -11 1.04D+02 104. 0 0 0 0 3 1\r\n 1.5 .25 2 9\r\n</init>\r\n"
        b"<event>\r\n 2 9 1.5D-01 91.1876 .0078 0.118\r\n"
        b" 13 1 0 0 0 0 +1.5 -.5 5. 1.0E1 1.05658D-01 0 9\r\n"
        b" -13 1 0 0 0 0 -1.5 +.5 -5.e0 10 0.105658 0 9\r\n# a comment line\r\n</event>\r\n"
        b"<event>\r\n0 9 2 91 0.0078 0.118\r\n</event>\r\n</LesHouchesEvents>\r\n"
    )
    init = lhe.read_init(path)
    assert init.beam_energies == (104.0, 104.0) and init.weight_ids == () and init.header == ""
    events = lhe.read(path)
    assert len(events) == 2 and events.weights.shape == (2, 0) and events.weight_ids == ()
    assert events.weight.tolist() == [0.15, 2.0]
    assert ak.num(events.particles).tolist() == [2, 0]
    assert events.particles.px.tolist() == [[1.5, -1.5], []]
    assert events.particles.py.tolist() == [[-0.5, 0.5], []]
    assert events.particles.pz.tolist() == [[5.0, -5.0], []]
    assert events.particles.mass.tolist() == [[0.105658, 0.105658], []]
    copy = tmp_path / "copy.lhe"
    lhe.write(copy, init, events)
    _assert_events_equal(lhe.read(copy), events, rtol=1e-10)


@pytest.mark.parametrize("fortran", [False, True], ids=["numpy-path", "token-path"])
def test_numbers_in_any_format_read_like_float(tmp_path, fortran):
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(size=300) * 10.0 ** rng.integers(-40, 40, 300), [0.0, -0.0, 1e-300, 7e307]])
    formats = ["%.10e", "%+.16e", "%.3E", "%g", "%.8f", "%.17g", "%+.7e", "%.1e", "%.15e"]
    tokens = [formats[i % len(formats)] % v for i, v in enumerate(values)]
    if fortran:  # Fortran exponents send the block to the token-by-token path
        tokens[1::7] = [t.upper().replace("E", "D") for t in tokens[1::7]]
    tokens[2::11] = [t.replace("0.", ".", 1) if t.startswith(("0.", "-0.")) else t for t in tokens[2::11]]
    tokens[3::13] = ["%.25f" % v for v in values[3::13]]  # more digits than an int64 holds
    lines = "\n".join(" 13 1 0 0 0 0 " + " ".join(tokens[i : i + 7]) for i in range(0, len(tokens) - 6, 7))
    n = lines.count("\n") + 1
    path = tmp_path / "formats.lhe"
    path.write_text(f"<LesHouchesEvents>\n<init>\n1 1 1 1 0 0 0 0 3 1\n1 0 1 1\n</init>\n<event>\n"
                    f"{n} 1 1 1 1 1\n{lines}\n</event>\n</LesHouchesEvents>\n")
    table = np.column_stack([ak.to_numpy(lhe.read(path).particles[0][f]) for f in FIELDS[6:]]).ravel()
    expected = np.array([float(t.replace("D", "E")) for t in tokens[: 7 * n]])
    np.testing.assert_allclose(table, expected, rtol=3e-16, atol=0)
    assert np.array_equal(np.signbit(table), np.signbit(expected))


def test_weight_ids_come_from_the_first_event_without_initrwgt(tmp_path):
    event = ("<event>\n1 1 1.0 91.2 0.0078 0.118\n13 1 0 0 0 0 1 2 3 4 0 0 9\n"
             "<rwgt>\n<wgt id=\"x\">2.0</wgt>\n<wgt id=y> -3 </wgt>\n</rwgt>\n</event>\n")
    path = tmp_path / "no-initrwgt.lhe"
    path.write_text("<LesHouchesEvents>\n<init>\n11 -11 45 45 0 0 0 0 3 1\n1 0 1 1\n</init>\n"
                    + 3 * event + "</LesHouchesEvents>\n")
    events = lhe.read(path)
    assert events.weight_ids == ("x", "y") and events.weights.tolist() == [[2.0, -3.0]] * 3
    assert lhe.read_init(path).weight_ids == ("x", "y")


# ----------------------------------------------------------------------------- malformed input


@pytest.fixture(scope="module")
def good_text(tmp_path_factory) -> str:
    """A valid file of 300 events (1 to 5 particles, weights 'w1' and 'w2'), as text."""
    init, events = _synthetic(300, ("w1", "w2"), seed=3, min_particles=1)
    path = tmp_path_factory.mktemp("lhe") / "good.lhe"
    lhe.write(path, init, events)
    return path.read_text()


def _edit_event(text: str, number: int, edit) -> str:
    """Apply ``edit`` to the body of the event ``number`` (1-based)."""
    parts = text.split("<event>")
    parts[number] = edit(parts[number])
    return "<event>".join(parts)


def _edit_number(body: str, line: int, column: int, new: str | None) -> str:
    """Replace (or with None, remove) one number of an event's line (1: the event line, 2: the first particle)."""
    lines = body.split("\n")
    fields = lines[line].split()
    if new is None:
        del fields[column]
    else:
        fields[column] = new
    lines[line] = " ".join(fields)
    return "\n".join(lines)


BAD_INPUTS = {
    "truncated event": (lambda t: t[: t.index("</event>", t.index("<event>", t.index("<event>") + 1) + 1) - 30],
                        "event 2", "truncated"),
    "no closing tag": (lambda t: t.replace("</LesHouchesEvents>", ""), "event 300", "</LesHouchesEvents>"),
    "non-numeric": (lambda t: _edit_event(t, 250, lambda b: _edit_number(b, 2, 7, "abc")), "event 250", "'abc'"),
    "misplaced sign": (lambda t: _edit_event(t, 7, lambda b: _edit_number(b, 1, 3, "1-2")), "event 7", "'1-2'"),
    "missing number": (lambda t: _edit_event(t, 42, lambda b: _edit_number(b, 2, 12, None)), "event 42",
                       "numbers, found"),
    "extra number": (lambda t: _edit_event(t, 43, lambda b: b.replace("<rwgt>", "1.5\n<rwgt>")), "event 43",
                     "numbers, found"),
    "nan event weight": (lambda t: _edit_event(t, 3, lambda b: _edit_number(b, 1, 2, "nan")), "event 3", "XWGTUP"),
    "inf reweight": (lambda t: _edit_event(t, 299, lambda b: re.sub(r"(<wgt id='w2'>)[^<]*", r"\1 -inf ", b)),
                     "event 299", "'w2'"),
    "wrong weight id": (lambda t: _edit_event(t, 120, lambda b: b.replace("id='w2'", "id='w3'")),
                        "event 120", "'w3'"),
    "missing rwgt": (lambda t: _edit_event(t, 200, lambda b: re.sub(r"<rwgt>.*</rwgt>\n", "", b, flags=re.S)),
                     "event 200", "0 <wgt>"),
    "unclosed event": (lambda t: _edit_event(t, 5, lambda b: b.replace("</event>", "", 1)), "event 5",
                       "closing"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("reader", ["read", "iterate"])
def test_bad_input_names_file_and_event(tmp_path, monkeypatch, good_text, case, reader):
    edit, where, what = BAD_INPUTS[case]
    path = tmp_path / f"bad-{case.replace(' ', '-')}.lhe"
    path.write_text(edit(good_text))
    monkeypatch.setattr(lhe, "_READ_SIZE", 8192)  # many blocks: the event number must still be global
    with pytest.raises(LHEError) as error:
        if reader == "read":
            lhe.read(path)
        else:
            for _ in lhe.iterate(path, step_size=50):
                pass
    message = str(error.value)
    assert path.name in message and f"{where}:" in message and what in message, message


def test_bad_header_and_init(tmp_path):
    cases = {
        "no-init.lhe": ("<LesHouchesEvents>\n<header></header>\n<event>\n</event>\n</LesHouchesEvents>\n", "<init>"),
        "short-init.lhe": ("<LesHouchesEvents>\n<init>\n11 -11 45 45 0 0 0 0 3 2\n1 0 1 1\n</init>\n"
                           "</LesHouchesEvents>\n", "<init>: NPRUP = 2"),
        "not-lhe.lhe": ("hello\n", "not an LHE file"),
        "open-init.lhe": ("<LesHouchesEvents>\n<init>\n11 -11 45 45 0 0 0 0 3 1\n1 0 1 1\n<event>\n</event>\n",
                          "<init>: not closed"),
    }
    for name, (text, what) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(LHEError, match=re.escape(name) + ".*" + re.escape(what)):
            lhe.read_init(path)
        with pytest.raises(LHEError, match=re.escape(name)):
            lhe.read(path)


def test_gzip_is_recognised_by_content(tmp_path):
    init, events = _synthetic(20, ())
    path = tmp_path / "compressed.lhe.gz"
    lhe.write(path, init, events)
    renamed = path.rename(tmp_path / "compressed.lhe")
    _assert_events_equal(lhe.read(renamed), events, rtol=1e-9)


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_gzip_names_the_file_everywhere(tmp_path, damage):
    """A cut or corrupted .lhe.gz gives one LHEError naming the file (gzip raised EOFError: "Aborted!")."""
    from click.testing import CliRunner

    from goldmine.cli import main

    init, events = _synthetic(3000, ("a", "b"))
    path = tmp_path / "damaged.lhe.gz"
    lhe.write(path, init, events)
    data = bytearray(path.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)
    path.write_bytes(bytes(data))
    for reader in (lambda: list(lhe.iterate(path, step_size=500)), lambda: lhe.read(path)):
        with pytest.raises(LHEError, match=r"damaged\.lhe\.gz: the gzip data are corrupt or truncated"):
            reader()
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 1
    assert "damaged.lhe.gz: the gzip data are corrupt or truncated" in result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output


# ----------------------------------------------------------------------------- atomic writing


def test_failed_write_leaves_no_file(tmp_path):
    init, events = _synthetic(100, ("a",))

    def chunks_then_failure():
        yield _slice(events, 0, 50)
        raise RuntimeError("generator died")

    path = tmp_path / "out.lhe.gz"
    with pytest.raises(RuntimeError, match="generator died"):
        lhe.write(path, init, chunks_then_failure())
    assert list(tmp_path.iterdir()) == []

    weights = events.weights.copy()
    weights[4, 0] = np.nan
    with pytest.raises(ValueError, match="event 5"):
        lhe.write(path, init, dataclasses.replace(events, weights=weights))
    with pytest.raises(ValueError, match="weight ids"):
        lhe.write(path, init, lhe.LHEEvents(events.particles, events.weight, events.scale, events.aqed,
                                            events.aqcd, events.process_id, events.weights, ("b",)))
    assert list(tmp_path.iterdir()) == []

    lhe.write(path, init, events)  # an existing file survives a failed rewrite
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        lhe.write(path, init, chunks_then_failure())
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_concatenate_checks_weight_ids():
    _, a = _synthetic(3, ("x",))
    _, b = _synthetic(4, ("y",))
    with pytest.raises(ValueError, match="weight ids differ"):
        lhe.concatenate([a, b])
    with pytest.raises(ValueError):
        lhe.concatenate([])
    joined = lhe.concatenate([a, a])
    assert len(joined) == 6 and joined.weights.shape == (6, 1)
