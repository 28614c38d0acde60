"""The HDF5 event file, in MadMiner's layout.

Groups (design §3): ``parameters/{names,ranges,max_power,lha_blocks,lha_ids,transforms}``,
``benchmarks/{names,values,is_nuisance,is_reference}``,
``morphing/{components,morphing_matrix}``, ``observables/{names,definitions}``,
``samples/{observations,weights,sampling_benchmarks}`` (weights in pb per event, one
column per benchmark) and ``nuisance_parameters/`` (empty until systematics are mined).
Datasets are chunked and compressed; files are written atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from goldmine.exceptions import EventFileError
from goldmine.io.atomic import atomic_output
from goldmine.physics.morphing import Morphing
from goldmine.physics.parameters import ParameterSpace

__all__ = [
    "Events",
    "count",
    "generated_events",
    "is_hdf5",
    "iterate",
    "merge",
    "read",
    "read_observable_definitions",
    "read_observable_names",
    "read_parameter_space",
    "summary",
    "write",
    "write_parameter_space",
]

_CHUNK_ROWS = 16384
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class Events:
    """A block of events.

    Args:
        observations: shape (n, n_observables).
        weights: per-benchmark weights in pb, shape (n, n_benchmarks).
        sampling_benchmarks: index of the benchmark each event was drawn at, shape (n,).
    """

    observations: np.ndarray
    weights: np.ndarray
    sampling_benchmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.observations)


def is_hdf5(path: str | Path) -> bool:
    """Whether a file starts with the HDF5 signature."""
    with open(path, "rb") as handle:
        return handle.read(8) == _HDF5_SIGNATURE


def _strings(values: Sequence[str]) -> np.ndarray:
    return np.array([value.encode("ascii") for value in values], dtype="S256")


def _decode(values: np.ndarray) -> tuple[str, ...]:
    return tuple(value.decode("ascii") for value in values)


def _write_space(handle: h5py.File, space: ParameterSpace) -> None:
    n = space.n_parameters
    handle["parameters/names"] = _strings(space.names)
    handle["parameters/ranges"] = space.ranges
    handle["parameters/max_power"] = np.asarray(space.max_powers, dtype=np.int64)
    handle["parameters/lha_blocks"] = _strings(["goldmine"] * n)
    handle["parameters/lha_ids"] = np.arange(1, n + 1, dtype=np.int64)
    handle["parameters/transforms"] = _strings([""] * n)
    handle["benchmarks/names"] = _strings(space.benchmark_names)
    handle["benchmarks/values"] = space.benchmarks
    handle["benchmarks/is_nuisance"] = np.zeros(len(space.benchmarks), dtype=bool)
    handle["benchmarks/is_reference"] = np.array([name == "sm" for name in space.benchmark_names])
    handle["morphing/components"] = space.morphing.components
    handle["morphing/morphing_matrix"] = space.morphing.matrix
    handle.require_group("nuisance_parameters")


def write_parameter_space(path: str | Path, space: ParameterSpace) -> None:
    """Write the setup file: parameters, benchmarks and morphing (no events)."""
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        _write_space(handle, space)


def _open(path: str | Path) -> h5py.File:
    path = Path(path)
    if not path.exists():
        raise EventFileError(f"{path}: file does not exist")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise EventFileError(f"{path}: not a readable HDF5 file ({error})") from None


def _dataset(handle: h5py.File, key: str) -> h5py.Dataset:
    try:
        return handle[key]
    except KeyError:
        raise EventFileError(f"{handle.filename}: missing dataset {key!r}") from None


def read_parameter_space(path: str | Path) -> ParameterSpace:
    """Read parameters, benchmarks and morphing from a setup or event file.

    Raises:
        EventFileError: naming the file and the missing or inconsistent key.
    """
    with _open(path) as handle:
        components = _dataset(handle, "morphing/components")[()]
        benchmarks = _dataset(handle, "benchmarks/values")[()]
        space = ParameterSpace(
            names=_decode(_dataset(handle, "parameters/names")[()]),
            ranges=_dataset(handle, "parameters/ranges")[()],
            max_powers=tuple(int(p) for p in np.ravel(_dataset(handle, "parameters/max_power")[()])),
            benchmark_names=_decode(_dataset(handle, "benchmarks/names")[()]),
            benchmarks=benchmarks,
            morphing=Morphing(
                components=components, basis=benchmarks, matrix=_dataset(handle, "morphing/morphing_matrix")[()]
            ),
        )
    if space.benchmarks.shape != (len(space.benchmark_names), space.n_parameters):
        raise EventFileError(f"{path}: 'benchmarks/values' does not match the benchmark and parameter names")
    return space


def read_observable_names(path: str | Path) -> tuple[str, ...]:
    """The observable names of an event file."""
    with _open(path) as handle:
        return _decode(_dataset(handle, "observables/names")[()])


def read_observable_definitions(path: str | Path) -> tuple[str, ...]:
    """The observable definitions of an event file."""
    with _open(path) as handle:
        return _decode(_dataset(handle, "observables/definitions")[()])


def count(path: str | Path) -> int:
    """The number of events in an event file."""
    with _open(path) as handle:
        return int(_dataset(handle, "samples/weights").shape[0])


def _check_finite(path: str | Path, events: Events, first_event: int) -> None:
    for name, values in (("weights", events.weights), ("observations", events.observations)):
        bad = ~np.isfinite(values).all(axis=1)
        if bad.any():
            event = first_event + int(np.argmax(bad))
            raise EventFileError(f"{path}: event {event} has a non-finite value in 'samples/{name}'")


def write(
    path: str | Path,
    space: ParameterSpace,
    observable_names: Sequence[str],
    observable_definitions: Sequence[str],
    blocks: Events | Sequence[Events] | Iterator[Events],
    generated_events: int | Callable[[], int] | None = None,
) -> int:
    """Write an event file atomically, streaming the event blocks.

    Args:
        path: output file.
        space: the parameter space (written into the file).
        observable_names: one per column of the observations.
        observable_definitions: a human-readable definition of each observable.
        blocks: events, or an iterable of event blocks (for bounded memory).
        generated_events: number of generated events behind the file (before the detector);
            :func:`merge` weighs files by it. Defaults to the number of events written; a
            callable is called once the blocks are consumed (for streamed inputs).

    Returns:
        int: the number of events written.

    Raises:
        EventFileError: on non-finite weights or observations (naming the event); nothing is written.
    """
    if isinstance(blocks, Events):
        blocks = [blocks]
    n_observables, n_benchmarks = len(observable_names), len(space.benchmark_names)
    with atomic_output(path) as temporary, h5py.File(temporary, "w") as handle:
        _write_space(handle, space)
        handle["observables/names"] = _strings(observable_names)
        handle["observables/definitions"] = _strings(observable_definitions)
        options = dict(compression="gzip", compression_opts=4, shuffle=True)
        observations = handle.create_dataset(
            "samples/observations", (0, n_observables), maxshape=(None, n_observables),
            chunks=(_CHUNK_ROWS, n_observables), dtype="f8", **options,
        )
        weights = handle.create_dataset(
            "samples/weights", (0, n_benchmarks), maxshape=(None, n_benchmarks),
            chunks=(_CHUNK_ROWS, n_benchmarks), dtype="f8", **options,
        )
        sampling = handle.create_dataset(
            "samples/sampling_benchmarks", (0,), maxshape=(None,), chunks=(_CHUNK_ROWS,), dtype="i8", **options
        )
        n = 0
        for block in blocks:
            if block.weights.shape[1:] != (n_benchmarks,) or block.observations.shape[1:] != (n_observables,):
                raise EventFileError(
                    f"{path}: event block with {block.weights.shape[1]} weights and "
                    f"{block.observations.shape[1]} observables, expected {n_benchmarks} and {n_observables}"
                )
            _check_finite(path, block, n)
            m = n + len(block)
            for dataset, values in ((observations, block.observations), (weights, block.weights),
                                    (sampling, block.sampling_benchmarks)):
                dataset.resize(m, axis=0)
                dataset[n:m] = values
            n = m
        if callable(generated_events):
            generated_events = generated_events()
        handle["samples"].attrs["generated_events"] = n if generated_events is None else generated_events
    return n


def generated_events(path: str | Path) -> int:
    """Number of generated events behind an event file (attribute ``samples.generated_events``)."""
    with _open(path) as handle:
        return int(handle["samples"].attrs.get("generated_events", _dataset(handle, "samples/weights").shape[0]))


def iterate(path: str | Path, step_size: int = 200_000, start: int = 0, stop: int | None = None) -> Iterator[Events]:
    """Read events in blocks of at most ``step_size`` (bounded memory).

    Raises:
        EventFileError: naming the file, and the event for non-finite values.
    """
    with _open(path) as handle:
        observations = _dataset(handle, "samples/observations")
        weights = _dataset(handle, "samples/weights")
        sampling = _dataset(handle, "samples/sampling_benchmarks")
        n = observations.shape[0]
        if weights.shape[0] != n or sampling.shape[0] != n:
            raise EventFileError(f"{path}: 'samples/' datasets have different numbers of events")
        stop = n if stop is None else min(stop, n)
        for begin in range(start, stop, step_size):
            end = min(begin + step_size, stop)
            block = Events(observations[begin:end], weights[begin:end], sampling[begin:end])
            _check_finite(path, block, begin)
            yield block


def read(path: str | Path, start: int = 0, stop: int | None = None) -> Events:
    """Read a range of events at once (see :func:`iterate`)."""
    blocks = list(iterate(path, start=start, stop=stop))
    if not blocks:
        with _open(path) as handle:
            n_obs = _dataset(handle, "samples/observations").shape[1]
            n_b = _dataset(handle, "samples/weights").shape[1]
        return Events(np.zeros((0, n_obs)), np.zeros((0, n_b)), np.zeros(0, dtype=np.int64))
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
    definitions = read_observable_definitions(inputs[0])
    for path in inputs[1:]:
        other = read_parameter_space(path)
        if (other.names, other.benchmark_names) != (space.names, space.benchmark_names) or not np.allclose(
            other.benchmarks, space.benchmarks
        ):
            raise EventFileError(f"{path}: parameters or benchmarks differ from those of {inputs[0]}")
        if read_observable_names(path) != names:
            raise EventFileError(f"{path}: observables differ from those of {inputs[0]}")

    generated = np.array([generated_events(path) for path in inputs])

    def blocks() -> Iterator[Events]:
        for path, fraction in zip(inputs, generated / generated.sum()):
            for block in iterate(path, step_size=step_size):
                yield Events(block.observations, block.weights * fraction, block.sampling_benchmarks)

    return write(output, space, names, definitions, blocks(), generated_events=int(generated.sum()))


def summary(path: str | Path) -> dict:
    """A JSON-ready summary: parameters, benchmarks, observables, events, cross sections.

    The cross section at each benchmark is the sum of its weights (pb).
    """
    space = read_parameter_space(path)
    with _open(path) as handle:
        has_samples = "samples/weights" in handle
        names = _decode(handle["observables/names"][()]) if "observables/names" in handle else ()
    cross_sections = np.zeros(len(space.benchmark_names))
    n_events = 0
    if has_samples:
        for block in iterate(path):
            cross_sections += block.weights.sum(axis=0)
            n_events += len(block)
    return {
        "file": str(path),
        "parameters": {name: list(map(float, r)) for name, r in zip(space.names, space.ranges)},
        "benchmarks": {
            name: dict(zip(space.names, map(float, values)))
            for name, values in zip(space.benchmark_names, space.benchmarks)
        },
        "morphing_components": space.morphing.components.tolist(),
        "observables": list(names),
        "events": n_events,
        "cross_sections_pb": dict(zip(space.benchmark_names, map(float, cross_sections))) if has_samples else {},
    }
