"""The HDF5 event and setup files, in MadMiner 0.9.6's layout, read and written both ways.

Layout (what ``madminer.utils.interfaces.hdf5.load_madminer_settings`` and ``load_events`` read;
strings are ASCII, ``S256``):

- ``parameters/``: ``names``, ``lha_blocks``, ``lha_ids``, ``max_power``, ``val_ranges`` (n, 2) and
  ``transforms`` (Python expressions MadMiner evaluates; ``"None"`` for none).
- ``benchmarks/``: ``names``, ``values`` (n_benchmarks, n_parameters), ``is_nuisance`` and
  ``is_reference`` (0/1). goldmine marks ``sm`` as the reference.
- ``morphing/``: ``components`` (n_components, n_parameters) and ``morphing_matrix``
  (n_components, n_benchmarks): w(θ) = a(θ)ᵀ M w_benchmarks.
- ``finite_differences/`` (instead of ``morphing/``, for parameters that do not morph):
  ``base_benchmarks`` (the reference), ``shifted_benchmarks`` (per base benchmark, the benchmark
  at θ_ref + ε e_i of each parameter), ``epsilon`` and, goldmine's own,
  ``goldmine_backward_benchmarks`` (θ_ref − ε e_i) for central differences
  (:mod:`goldmine.physics.finite_differences`).
- ``observables/``: ``names``, ``definitions`` (expressions over the reconstructed event that
  MadMiner can evaluate, ``"None"`` for a Python function) and, goldmine's own,
  ``descriptions`` (human-readable).
- ``samples/``: ``observations`` (n, n_observables), ``weights`` (n, n_benchmarks, pb per
  event) and ``sampling_benchmarks`` (index of the benchmark each event was drawn at, -1 for
  background); goldmine's attribute ``generated_events`` (events generated before the
  detector, which weigh files in :func:`merge`).
- ``sample_summary/``: ``signal_events`` (events per sampling benchmark) and
  ``background_events``. Like MadMiner, a reader multiplies each stored weight by
  signal_events[s] / Σ signal_events for its sampling benchmark s (1 for background), so the
  weights of samples drawn at different benchmarks add up to one cross section. goldmine
  writes its weights divided by that factor, so both programs read the same event weights;
  for events drawn at one benchmark the factor is exactly 1.
- root attributes ``goldmine_kind`` (``setup`` or ``events``) and ``goldmine_format_version``
  (:mod:`goldmine.io.opener`).

Systematic variations (MadGraph's scale and PDF weights of an external sample) are written
as MadMiner records them: nuisance benchmarks (``is_nuisance`` 1, θ = 0) whose weight columns
follow the physics ones, ``systematics/{names,types,values,scales}`` and
``nuisance_parameters/{names,systematics,benchmark_positive,benchmark_negative}``
(:class:`Systematics`). Readers of events take the physics columns only (goldmine has no
nuisance parameters yet); :func:`merge` carries the variations through.
Files MadMiner writes are read too (of their ``finite_differences/``, the first base
benchmark); a setup with neither morphing nor finite differences is refused.
Datasets are chunked and compressed; files are written atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from goldmine.exceptions import EventFileError
from goldmine.io.atomic import atomic_output
from goldmine.io.opener import kind_names, mark, open_events
from goldmine.physics.finite_differences import FiniteDifferences
from goldmine.physics.morphing import Morphing
from goldmine.physics.parameters import SM_BENCHMARK, ParameterSpace

__all__ = [
    "NO_EXPRESSION",
    "Events",
    "Systematics",
    "count",
    "generated_events",
    "iterate",
    "merge",
    "read",
    "read_observable_definitions",
    "read_observable_descriptions",
    "read_observable_names",
    "read_parameter_space",
    "read_systematics",
    "reference_benchmark",
    "summary",
    "write",
    "write_parameter_space",
]

#: MadMiner's evaluable "nothing" (for transforms and for observables defined by a function).
NO_EXPRESSION = "None"
_CHUNK_ROWS = 16384
_OPTIONS = dict(compression="gzip", compression_opts=4, shuffle=True)


@dataclass(frozen=True)
class Events:
    """A block of events.

    Args:
        observations: shape (n, n_observables).
        weights: per-benchmark weights in pb, shape (n, n_benchmarks).
        sampling_benchmarks: index of the benchmark each event was drawn at (-1: background), shape (n,).
    """

    observations: np.ndarray
    weights: np.ndarray
    sampling_benchmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.observations)


@dataclass(frozen=True)
class Systematics:
    """Systematic variations in MadMiner's layout.

    Args:
        benchmarks: the nuisance benchmarks, one weight column each after the physics benchmarks.
        systematics: (name, type, value, scale) of each systematic; type "scale" or "pdf"; scale
            "mu", "mur", "muf", or None.
        nuisance_parameters: (name, systematic, benchmark_positive, benchmark_negative) of each
            nuisance parameter; a missing benchmark is None.
    """

    benchmarks: tuple[str, ...]
    systematics: tuple[tuple[str, str, str, str | None], ...]
    nuisance_parameters: tuple[tuple[str, str, str | None, str | None], ...] = ()


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.array([value.encode("ascii") for value in values], dtype="S256")


def _decode(values: np.ndarray) -> tuple[str, ...]:
    return tuple(value.decode("ascii") for value in np.ravel(values))


def _write_space(handle: h5py.File, space: ParameterSpace, nuisance_benchmarks: Sequence[str] = ()) -> None:
    n = space.n_parameters
    handle["parameters/names"] = _strings(space.names)
    handle["parameters/lha_blocks"] = _strings(["goldmine"] * n)
    handle["parameters/lha_ids"] = np.arange(1, n + 1, dtype=np.int64)
    handle["parameters/max_power"] = np.asarray(space.max_powers, dtype=np.int64)
    handle["parameters/val_ranges"] = np.asarray(space.ranges, dtype=float)
    handle["parameters/transforms"] = _strings([NO_EXPRESSION] * n)
    names = tuple(space.benchmark_names) + tuple(nuisance_benchmarks)
    handle["benchmarks/names"] = _strings(names)
    # MadMiner gives nuisance benchmarks θ = 0.
    handle["benchmarks/values"] = np.vstack([space.benchmarks, np.zeros((len(nuisance_benchmarks), n))])
    handle["benchmarks/is_nuisance"] = np.array([False] * len(space.benchmarks) + [True] * len(nuisance_benchmarks),
                                                dtype=np.int64)
    handle["benchmarks/is_reference"] = np.array([name == SM_BENCHMARK for name in names], dtype=np.int64)
    if space.morphing is not None:
        handle["morphing/components"] = space.morphing.components
        handle["morphing/morphing_matrix"] = space.morphing.matrix
    if space.finite_differences is not None:
        steps = space.finite_differences
        handle["finite_differences/base_benchmarks"] = _strings([steps.reference])
        handle["finite_differences/shifted_benchmarks"] = _strings(steps.forward).reshape(1, -1)
        handle["finite_differences/epsilon"] = steps.epsilon
        if steps.backward:
            handle["finite_differences/goldmine_backward_benchmarks"] = _strings(steps.backward).reshape(1, -1)


def write_parameter_space(path: str | Path, space: ParameterSpace) -> None:
    """Write the setup file: parameters, benchmarks and morphing (no events)."""
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        mark(handle, "setup")
        _write_space(handle, space)


def _open(path: str | Path, kinds: tuple[str, ...] = ("setup", "events")) -> h5py.File:
    """Open a setup or event file (goldmine's or MadMiner's) for reading.

    Raises:
        EventFileError: naming the file and what it is when it is of another kind.
    """
    described = open_events(path)
    if described.kind not in kinds:
        raise EventFileError(f"{path}: {described.description}, where {kind_names(kinds)} is needed")
    return h5py.File(path, "r")


@contextmanager
def _readable(path: str | Path, what: str) -> Iterator[None]:
    """Turn HDF5's read failures (a corrupt chunk or object header) into an error naming the file and ``what``."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        raise EventFileError(f"{path}: {what} cannot be read, the file is corrupt ({error})") from None


def _dataset(handle: h5py.File, key: str) -> h5py.Dataset:
    try:
        return handle[key]
    except KeyError:
        raise EventFileError(f"{handle.filename}: missing dataset {key!r}") from None


def _physical(handle: h5py.File) -> np.ndarray:
    """Which benchmarks are physics benchmarks (not MadMiner's nuisance benchmarks)."""
    n = _dataset(handle, "benchmarks/names").shape[0]
    if "benchmarks/is_nuisance" not in handle:
        return np.ones(n, dtype=bool)
    return ~np.asarray(handle["benchmarks/is_nuisance"][()], dtype=bool)


def _write_systematics(handle: h5py.File, systematics: Systematics) -> None:
    def text(value: str | None) -> str:
        return NO_EXPRESSION if value is None else value

    if systematics.systematics:
        for index, key in enumerate(("names", "types", "values", "scales")):
            handle[f"systematics/{key}"] = _strings([text(entry[index]) for entry in systematics.systematics])
    if systematics.nuisance_parameters:
        for index, key in enumerate(("names", "systematics", "benchmark_positive", "benchmark_negative")):
            handle[f"nuisance_parameters/{key}"] = _strings([text(p[index]) for p in systematics.nuisance_parameters])


def read_systematics(path: str | Path) -> Systematics | None:
    """The systematic variations of an event file (goldmine's or MadMiner's), or None when it has none.

    Example:
        >>> import tempfile, pathlib
        >>> from goldmine.physics.parameters import build_parameter_space
        >>> space = build_parameter_space(("c",), {"c": (-1, 1)}, (1,), 1, n_trials=5)
        >>> variations = Systematics(("mu_up", "mu_down"), (("mu", "scale", "0.5,2", "mu"),),
        ...                          (("mu_nuisance_param_0", "mu", "mu_up", "mu_down"),))
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.h5"
        >>> block = Events(np.zeros((1, 1)), np.array([[1.0, 2.0, 1.2, 0.8]]), np.zeros(1, dtype=int))
        >>> write(path, space, ["x"], ["x"], block, systematics=variations)
        1
        >>> read_systematics(path) == variations, read(path).weights.tolist()
        (True, [[1.0, 2.0]])
        >>> next(iterate(path, nuisance=True)).weights.tolist()
        [[1.0, 2.0, 1.2, 0.8]]
    """
    with _open(path) as handle:
        names = _decode(handle["benchmarks/names"][()])
        nuisance = tuple(name for name, keep in zip(names, _physical(handle)) if not keep)
        if "systematics/names" not in handle and not nuisance:
            return None

        def column(group: str, key: str) -> list[str | None]:
            return [None if value == NO_EXPRESSION else value for value in _decode(handle[f"{group}/{key}"][()])]

        # A MadMiner file may hold nuisance benchmarks without their systematics: keep the columns.
        systematics = () if "systematics/names" not in handle else tuple(zip(*(
            column("systematics", key) for key in ("names", "types", "values", "scales"))))
        parameters = () if "nuisance_parameters/names" not in handle else tuple(zip(*(
            column("nuisance_parameters", key)
            for key in ("names", "systematics", "benchmark_positive", "benchmark_negative"))))
    return Systematics(nuisance, systematics, parameters)


def read_parameter_space(path: str | Path) -> ParameterSpace:
    """Read parameters, (physics) benchmarks and morphing or finite differences from a setup or
    event file, goldmine's or MadMiner's.

    Raises:
        EventFileError: naming the file and the missing or inconsistent key, or the benchmarks
            when they do not determine the morphing (a singular morphing matrix).
    """
    with _open(path) as handle, _readable(path, "the parameters, benchmarks or morphing"):
        physical = _physical(handle)
        names = _decode(_dataset(handle, "parameters/names")[()])
        benchmarks = np.asarray(_dataset(handle, "benchmarks/values")[()], dtype=float)
        benchmark_names = _decode(_dataset(handle, "benchmarks/names")[()])
        ranges = np.asarray(_dataset(handle, "parameters/val_ranges")[()], dtype=float)
        max_powers = np.ravel(_dataset(handle, "parameters/max_power")[()])
        morphs = "morphing/components" in handle
        if morphs:
            components = _dataset(handle, "morphing/components")[()]
            matrix = _dataset(handle, "morphing/morphing_matrix")[()]
        elif "finite_differences/base_benchmarks" in handle:
            steps = _read_finite_differences(handle, names)
        else:
            raise EventFileError(f"{path}: neither morphing ('morphing/components') nor finite differences "
                                 f"('finite_differences/base_benchmarks'); goldmine needs one of them")
    if benchmarks.shape != (len(benchmark_names), len(names)):
        raise EventFileError(f"{path}: 'benchmarks/values' does not match the benchmark and parameter names")
    benchmarks = benchmarks[physical]
    kept_names = tuple(name for name, keep in zip(benchmark_names, physical) if keep)
    common = dict(names=names, ranges=ranges.reshape(len(names), 2), max_powers=tuple(int(p) for p in max_powers),
                  benchmark_names=kept_names, benchmarks=benchmarks)
    if not morphs:
        unknown = sorted({steps.reference, *steps.forward, *steps.backward} - set(kept_names))
        if unknown:
            raise EventFileError(f"{path}: the finite differences name the benchmarks {unknown}, which the file "
                                 f"lacks (its benchmarks: {list(kept_names)})")
        return ParameterSpace(**common, morphing=None, finite_differences=steps)
    if matrix.shape != (len(components), len(benchmarks)):
        raise EventFileError(f"{path}: 'morphing/morphing_matrix' has shape {matrix.shape}; goldmine needs one "
                             f"physics benchmark per morphing component ({len(components)}), not {len(benchmarks)}")
    try:
        Morphing.from_basis(components, benchmarks)
    except ValueError as error:
        raise EventFileError(f"{path}: the benchmarks {dict(zip(kept_names, benchmarks.tolist()))} do not span "
                             f"the morphing basis ({error})") from None
    return ParameterSpace(**common, morphing=Morphing(components=components, basis=benchmarks, matrix=matrix))


def _read_finite_differences(handle: h5py.File, names: tuple[str, ...]) -> FiniteDifferences:
    """The finite differences at the first base benchmark (MadMiner may list one per benchmark;
    goldmine takes scores at one reference)."""
    base = _decode(handle["finite_differences/base_benchmarks"][()])
    forward = np.asarray(_dataset(handle, "finite_differences/shifted_benchmarks")[()]).reshape(len(base), -1)
    backward = handle.get("finite_differences/goldmine_backward_benchmarks")
    if forward.shape[1] != len(names):
        raise EventFileError(f"{handle.filename}: 'finite_differences/shifted_benchmarks' has {forward.shape[1]} "
                             f"benchmarks per base benchmark, not one per parameter ({len(names)})")
    return FiniteDifferences(
        reference=base[0], epsilon=float(_dataset(handle, "finite_differences/epsilon")[()]),
        forward=_decode(forward[0]),
        backward=() if backward is None else _decode(np.asarray(backward[()]).reshape(len(base), -1)[0]),
    )


def reference_benchmark(path: str | Path) -> str | None:
    """The benchmark a setup or event file flags as the reference (``benchmarks/is_reference``), if any."""
    with _open(path) as handle:
        names = _decode(_dataset(handle, "benchmarks/names")[()])
        flags = np.asarray(handle["benchmarks/is_reference"][()], dtype=bool) if "benchmarks/is_reference" in handle \
            else np.zeros(len(names), dtype=bool)
    flagged = [name for name, flag in zip(names, flags) if flag]
    return flagged[0] if flagged else None


def read_observable_names(path: str | Path) -> tuple[str, ...]:
    """The observable names of an event file."""
    with _open(path, ("events",)) as handle:
        return _decode(_dataset(handle, "observables/names")[()])


def read_observable_definitions(path: str | Path) -> tuple[str, ...]:
    """The observable definitions of an event file: expressions, ``"None"`` for a function."""
    with _open(path, ("events",)) as handle:
        return _decode(_dataset(handle, "observables/definitions")[()])


def read_observable_descriptions(path: str | Path) -> tuple[str, ...]:
    """Human-readable descriptions of the observables (the definitions where a file has none, as MadMiner's)."""
    with _open(path, ("events",)) as handle:
        key = "observables/descriptions" if "observables/descriptions" in handle else "observables/definitions"
        return _decode(_dataset(handle, key)[()])


def count(path: str | Path) -> int:
    """The number of events in an event file."""
    with _open(path, ("events",)) as handle:
        return int(_dataset(handle, "samples/weights").shape[0])


def _check_finite(path: str | Path, events: Events, first_event: int) -> None:
    for name, values in (("weights", events.weights), ("observations", events.observations)):
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            event = first_event + int(np.argmax(bad))
            raise EventFileError(f"{path}: event {event} has a non-finite value in 'samples/{name}'")


def _sampling_factors(signal_events: np.ndarray) -> np.ndarray:
    """MadMiner's factor per sampling benchmark, N_b / Σ N, with a last entry 1 for background (index -1)."""
    signal_events = np.asarray(signal_events, dtype=float)
    total = signal_events.sum()
    factors = signal_events / total if total > 0 else np.ones_like(signal_events)
    return np.append(factors, 1.0)


def _rescale_to_sampling_factors(handle: h5py.File, signal_events: np.ndarray) -> None:
    """Divide the stored weights by MadMiner's sampling factors, block by block, so that a
    reader that multiplies by them gets the weights back."""
    if np.count_nonzero(signal_events) <= 1:
        return
    factors = _sampling_factors(signal_events)
    weights, sampling = handle["samples/weights"], handle["samples/sampling_benchmarks"]
    for begin in range(0, weights.shape[0], _CHUNK_ROWS):
        end = min(begin + _CHUNK_ROWS, weights.shape[0])
        weights[begin:end] = weights[begin:end] / factors[sampling[begin:end]][:, None]


def write(
    path: str | Path,
    space: ParameterSpace,
    observable_names: Sequence[str],
    observable_definitions: Sequence[str],
    blocks: Events | Sequence[Events] | Iterator[Events],
    generated_events: int | Callable[[], int] | None = None,
    observable_descriptions: Sequence[str] | None = None,
    systematics: Systematics | None = None,
) -> int:
    """Write an event file atomically, streaming the event blocks.

    Args:
        path: output file.
        space: the parameter space (written into the file).
        observable_names: one per column of the observations.
        observable_definitions: the expression of each observable (``"None"`` for a function).
        blocks: events, or an iterable of event blocks (for bounded memory); weights in pb.
        generated_events: number of generated events behind the file (before the detector);
            :func:`merge` weighs files by it. Defaults to the number of events written; a
            callable is called once the blocks are consumed (for streamed inputs).
        observable_descriptions: human-readable descriptions (default: the definitions).
        systematics: systematic variations; the blocks' weights then hold the nuisance
            benchmarks' columns after the physics ones.

    Returns:
        int: the number of events written.

    Raises:
        EventFileError: on non-finite weights or observations (naming the event); nothing is written.
    """
    if isinstance(blocks, Events):
        blocks = [blocks]
    nuisance_benchmarks = systematics.benchmarks if systematics is not None else ()
    n_observables, n_benchmarks = len(observable_names), len(space.benchmark_names) + len(nuisance_benchmarks)
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        mark(handle, "events")
        _write_space(handle, space, nuisance_benchmarks)
        if systematics is not None:
            _write_systematics(handle, systematics)
        handle["observables/names"] = _strings(observable_names)
        handle["observables/definitions"] = _strings(observable_definitions)
        handle["observables/descriptions"] = _strings(observable_descriptions or observable_definitions)
        observations = handle.create_dataset(
            "samples/observations", (0, n_observables), maxshape=(None, n_observables),
            chunks=(_CHUNK_ROWS, n_observables), dtype="f8", **_OPTIONS,
        )
        weights = handle.create_dataset(
            "samples/weights", (0, n_benchmarks), maxshape=(None, n_benchmarks),
            chunks=(_CHUNK_ROWS, n_benchmarks), dtype="f8", **_OPTIONS,
        )
        sampling = handle.create_dataset(
            "samples/sampling_benchmarks", (0,), maxshape=(None,), chunks=(_CHUNK_ROWS,), dtype="i8", **_OPTIONS
        )
        n = 0
        signal_events = np.zeros(len(space.benchmark_names), dtype=np.int64)
        for block in blocks:
            if block.weights.shape[1:] != (n_benchmarks,) or block.observations.shape[1:] != (n_observables,):
                raise EventFileError(
                    f"{path}: event block with {block.weights.shape[1]} weights and "
                    f"{block.observations.shape[1]} observables, expected {n_benchmarks} and {n_observables}"
                )
            _check_finite(path, block, n)
            ids = np.asarray(block.sampling_benchmarks, dtype=np.int64)
            signal_events += np.bincount(ids[ids >= 0], minlength=len(space.benchmark_names))
            m = n + len(block)
            for dataset, values in ((observations, block.observations), (weights, block.weights), (sampling, ids)):
                dataset.resize(m, axis=0)
                dataset[n:m] = values
            n = m
        _rescale_to_sampling_factors(handle, signal_events)
        handle["sample_summary/signal_events"] = signal_events
        handle["sample_summary/background_events"] = n - int(signal_events.sum())
        if callable(generated_events):
            generated_events = generated_events()
        handle["samples"].attrs["generated_events"] = n if generated_events is None else generated_events
    return n


def generated_events(path: str | Path) -> int:
    """Number of generated events behind an event file (attribute ``samples.generated_events``;
    the number of events for a file without it, as MadMiner's)."""
    with _open(path, ("events",)) as handle:
        return int(handle["samples"].attrs.get("generated_events", _dataset(handle, "samples/weights").shape[0]))


def iterate(path: str | Path, step_size: int = 200_000, start: int = 0, stop: int | None = None,
            nuisance: bool = False) -> Iterator[Events]:
    """Read events in blocks of at most ``step_size`` (bounded memory): the weights of the
    physics benchmarks (and, with ``nuisance``, those of the nuisance benchmarks after them),
    times MadMiner's sampling factors (see the module docstring).

    Raises:
        EventFileError: naming the file, and the event for non-finite values.
    """
    with _open(path, ("events",)) as handle:
        observations = _dataset(handle, "samples/observations")
        weights = _dataset(handle, "samples/weights")
        sampling = _dataset(handle, "samples/sampling_benchmarks")
        physical = _physical(handle)
        columns = np.arange(len(physical)) if nuisance else np.flatnonzero(physical)
        signal_events = handle["sample_summary/signal_events"][()] if "sample_summary/signal_events" in handle \
            else np.zeros(len(columns))
        factors = _sampling_factors(signal_events)
        n = observations.shape[0]
        if weights.shape[0] != n or sampling.shape[0] != n:
            raise EventFileError(f"{path}: 'samples/' datasets have different numbers of events")
        if weights.shape[1] < len(physical):
            raise EventFileError(f"{path}: 'samples/weights' has {weights.shape[1]} columns for "
                                 f"{len(physical)} benchmarks")
        stop = n if stop is None else min(stop, n)
        for begin in range(start, stop, step_size):
            end = min(begin + step_size, stop)
            with _readable(path, f"events {begin} to {end - 1}"):
                ids = np.asarray(sampling[begin:end], dtype=np.int64)
                block = Events(observations[begin:end], weights[begin:end][:, columns] * factors[ids][:, None], ids)
            _check_finite(path, block, begin)
            yield block


def read(path: str | Path, start: int = 0, stop: int | None = None) -> Events:
    """Read a range of events at once (see :func:`iterate`)."""
    blocks = list(iterate(path, start=start, stop=stop))
    if not blocks:
        n_observables = len(read_observable_names(path))
        n_benchmarks = len(read_parameter_space(path).benchmark_names)
        return Events(np.zeros((0, n_observables)), np.zeros((0, n_benchmarks)), np.zeros(0, dtype=np.int64))
    return Events(*(np.concatenate(arrays) for arrays in zip(*(
        (b.observations, b.weights, b.sampling_benchmarks) for b in blocks))))


def merge(inputs: Sequence[str | Path], output: str | Path, step_size: int = 200_000) -> int:
    """Concatenate event files that share parameters, benchmarks and observables.

    Each file's weights estimate the same cross sections, so file i is weighted by
    N_i / Σ N (N the generated events behind it): the merged weights still add up to σ.

    Returns:
        int: the number of events in the merged file.

    Raises:
        EventFileError: naming the first input whose setup differs from the first file's.
    """
    if not inputs:
        raise EventFileError(f"{output}: nothing to merge")
    space = read_parameter_space(inputs[0])
    names = read_observable_names(inputs[0])
    for path in inputs[1:]:
        other = read_parameter_space(path)
        if (other.names, other.benchmark_names) != (space.names, space.benchmark_names) or not np.allclose(
            other.benchmarks, space.benchmarks
        ):
            raise EventFileError(f"{path}: parameters or benchmarks differ from those of {inputs[0]}")
        if read_observable_names(path) != names:
            raise EventFileError(f"{path}: observables differ from those of {inputs[0]}")

    systematics = read_systematics(inputs[0])
    for path in inputs[1:]:
        if read_systematics(path) != systematics:
            raise EventFileError(f"{path}: systematics differ from those of {inputs[0]}")
    generated = np.array([generated_events(path) for path in inputs])

    def blocks() -> Iterator[Events]:
        for path, fraction in zip(inputs, generated / generated.sum()):
            for block in iterate(path, step_size=step_size, nuisance=True):
                yield Events(block.observations, block.weights * fraction, block.sampling_benchmarks)

    return write(output, space, names, read_observable_definitions(inputs[0]), blocks(),
                 generated_events=int(generated.sum()), observable_descriptions=read_observable_descriptions(inputs[0]),
                 systematics=systematics)


def _nuisance_cross_sections(path: str | Path) -> list[float]:
    """The cross section (sum of the weights, pb) at each nuisance benchmark."""
    with _open(path, ("events",)) as handle:
        n_physical = int(_physical(handle).sum())
    total = None
    for block in iterate(path, nuisance=True):
        sums = block.weights[:, n_physical:].sum(axis=0)
        total = sums if total is None else total + sums
    return [] if total is None else [float(value) for value in total]


def summary(path: str | Path) -> dict:
    """A JSON-ready summary of a setup or event file (goldmine's or MadMiner's): parameters,
    benchmarks, observables, events per sampling benchmark, cross sections.

    The cross section at each benchmark is the sum of its weights (pb).
    """
    kind = open_events(path).kind
    space = read_parameter_space(path)
    summary = {
        "file": str(path),
        "parameters": {name: list(map(float, r)) for name, r in zip(space.names, space.ranges)},
        "benchmarks": {
            name: dict(zip(space.names, map(float, values)))
            for name, values in zip(space.benchmark_names, space.benchmarks)
        },
        "reference_benchmark": reference_benchmark(path),
    }
    if space.morphing is not None:
        summary["morphing_components"] = space.morphing.components.tolist()
    else:
        steps = space.finite_differences
        summary["finite_differences"] = {"reference": steps.reference, "epsilon": steps.epsilon,
                                         "forward": list(steps.forward), "backward": list(steps.backward)}
    with h5py.File(path, "r") as handle:
        # A file with morphing that also holds finite differences (MadMiner's) is morphed.
        ignored = [group for group in ("nuisance_parameters", "systematics") if group in handle]
        if space.morphing is not None and "finite_differences" in handle:
            ignored.append("finite_differences")
        nuisance = [name for name, keep in zip(_decode(handle["benchmarks/names"][()]), _physical(handle)) if not keep]
    if nuisance:
        shown = nuisance if len(nuisance) <= 8 else f"[{nuisance[0]!r} … {nuisance[-1]!r}] ({len(nuisance)})"
        ignored.append(f"nuisance benchmarks {shown}")
    systematics = read_systematics(path)
    if ignored:
        summary["ignored"] = ignored
    if kind != "events":
        return summary
    cross_sections = np.zeros(len(space.benchmark_names))
    sampled = np.zeros(len(space.benchmark_names) + 1, dtype=np.int64)
    n_events = 0
    for block in iterate(path):
        cross_sections += block.weights.sum(axis=0)
        ids = np.where(block.sampling_benchmarks < 0, len(sampled) - 1, block.sampling_benchmarks)
        sampled += np.bincount(ids, minlength=len(sampled))
        n_events += len(block)
    names = read_observable_names(path)
    if systematics is not None:
        # The spread of σ over each systematic's variations, which inference does not use yet.
        by_name = dict(zip(systematics.benchmarks, _nuisance_cross_sections(path)))
        summary["systematics"] = {
            name: {"type": kind, "value": value, "scale": scale,
                   "cross_section_range_pb": [min(values), max(values)] if values else []}
            for name, kind, value, scale in systematics.systematics
            for values in [[by_name[b] for b in systematics.benchmarks if b.startswith(f"{name}_")]]
        }
    return dict(
        summary,
        observables=dict(zip(names, read_observable_descriptions(path))),
        events=n_events,
        events_per_sampling_benchmark={name: int(n) for name, n in zip(space.benchmark_names + ("background",), sampled)
                                       if n},
        cross_sections_pb=dict(zip(space.benchmark_names, map(float, cross_sections))),
    )
