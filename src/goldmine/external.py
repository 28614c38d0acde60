"""Events made elsewhere: LHE or Delphes files, and what each of their weights means.

The ``external`` section of the configuration replaces generation. It names the files, the
benchmarks they were made at (name → θ), which weight id of the files holds each benchmark,
and which weight ids are systematic variations (MadGraph's scale and PDF weights). Benchmarks
become the physics benchmarks of the setup (the morphing basis); variations become MadMiner's
nuisance benchmarks, never physics ones. For a Delphes file, whose ``Weight.Weight`` carries no
names, a weight id is the position of the weight in that branch ("0", "1", …).

Example:
    >>> config = {"process": {"parameters": {"c": [-1.0, 1.0]}},
    ...           "external": {"files": ["a.lhe"], "benchmarks": {"sm": {"c": 0.0}, "b1": {"c": 1.0}},
    ...                        "max_power": {"c": 1}, "weights": {"rwgt_1": "sm", "rwgt_2": "b1"},
    ...                        "systematics": {"mu": {"type": "scale", "weights": ["1005", "1009"]}}}}
    >>> sample = from_config(config)
    >>> sample.weight_ids, sample.nuisance_benchmarks
    (('rwgt_1', 'rwgt_2', '1005', '1009'), ('mu_1005', 'mu_1009'))
    >>> parameter_space(config).benchmark_names
    ('sm', 'b1')
    >>> sample.columns("a.lhe", ("1009", "rwgt_2", "1005", "rwgt_1")).tolist()
    [3, 1, 2, 0]
    >>> sample.columns("a.lhe", ("rwgt_1", "rwgt2", "1005", "1009"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    goldmine.exceptions.EventFileError: a.lhe: no weight with id 'rwgt_2' (benchmark 'b1' ... (nearest: 'rwgt2')
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from goldmine.exceptions import ConfigError, EventFileError
from goldmine.io.events import Systematics
from goldmine.physics.morphing import Morphing, find_components
from goldmine.physics.parameters import ParameterSpace

__all__ = ["ExternalSample", "Variation", "describe", "from_config", "parameter_space"]


@dataclass(frozen=True)
class Variation:
    """A systematic variation of the files' weights (MadMiner's ``systematics/`` entry).

    Args:
        name: the systematic's name.
        type: MadMiner's type, "scale" or "pdf".
        value: MadMiner's value (the scale factors, or the PDF set).
        scale: for a scale variation, which scale: "mu" (both), "mur" or "muf".
        weight_ids: the weight id of every variation; each becomes a nuisance benchmark ``<name>_<id>``.
        up: the weight id of the nuisance parameter's upward variation (MadMiner's benchmark_positive).
        down: the downward one (benchmark_negative).
    """

    name: str
    type: str
    value: str
    scale: str | None
    weight_ids: tuple[str, ...]
    up: str | None = None
    down: str | None = None

    def benchmark(self, weight_id: str | None) -> str | None:
        """The nuisance benchmark that holds a variation's weights."""
        return None if weight_id is None else f"{self.name}_{weight_id}"


@dataclass(frozen=True)
class ExternalSample:
    """The files of an external sample and the weight id of each benchmark and variation.

    Args:
        files: LHE (plain or gzip) or Delphes ROOT files, one detector job each.
        benchmark_ids: benchmark name → the weight id that holds its weights, in the setup's order.
        variations: the systematic variations.
        normalisation: "sum" when a file's weights add up to the cross section (goldmine's
            generator), "average" when they average to it (MadGraph's default ``event_norm``).
    """

    files: tuple[Path, ...]
    benchmark_ids: Mapping[str, str]
    variations: tuple[Variation, ...] = ()
    normalisation: str = "average"

    @property
    def weight_ids(self) -> tuple[str, ...]:
        """The weight ids of the physics benchmarks, then those of the variations (the event file's columns)."""
        return tuple(self.benchmark_ids.values()) + tuple(i for v in self.variations for i in v.weight_ids)

    @property
    def nuisance_benchmarks(self) -> tuple[str, ...]:
        return tuple(v.benchmark(i) for v in self.variations for i in v.weight_ids)

    def systematics(self) -> Systematics | None:
        """The nuisance setup the event file records, or None without variations."""
        if not self.variations:
            return None
        return Systematics(
            benchmarks=self.nuisance_benchmarks,
            systematics=tuple((v.name, v.type, v.value, v.scale) for v in self.variations),
            nuisance_parameters=tuple((f"{v.name}_nuisance_param_0", v.name, v.benchmark(v.up), v.benchmark(v.down))
                                      for v in self.variations if v.up is not None),
        )

    def columns(self, path: str | Path, file_ids: Sequence[str]) -> np.ndarray:
        """The column of each of :attr:`weight_ids` among a file's weights.

        Raises:
            EventFileError: naming the file, the first id it lacks, what that id stands for, the
                ids the file has and the nearest of them.
        """
        file_ids = [str(i) for i in file_ids]
        meaning = {i: f"benchmark {name!r} in external.weights" for name, i in self.benchmark_ids.items()}
        meaning |= {i: f"systematic {v.name!r} in external.systematics" for v in self.variations for i in v.weight_ids}
        for weight_id in self.weight_ids:
            if weight_id not in file_ids:
                nearest = difflib.get_close_matches(weight_id, file_ids, n=1)
                hint = f" (nearest: {nearest[0]!r})" if nearest else ""
                shown = file_ids if len(file_ids) <= 12 else file_ids[:12] + ["…"]
                raise EventFileError(f"{path}: no weight with id {weight_id!r} ({meaning[weight_id]}); the file's "
                                     f"weight ids are {shown if file_ids else 'none'}{hint}")
        return np.array([file_ids.index(i) for i in self.weight_ids], dtype=np.int64)


def _ids(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(value) for value in values)


def from_config(config: Mapping[str, Any]) -> ExternalSample:
    """The external sample of a validated configuration (its ``external`` section).

    Raises:
        ConfigError: naming the key when a benchmark has no weight id or two, or a weight id
            is both a benchmark and a variation.
    """
    section = config["external"]
    by_benchmark: dict[str, list[str]] = {name: [] for name in section["benchmarks"]}
    for weight_id, name in section["weights"].items():
        if name not in by_benchmark:
            raise ConfigError(f"config key 'external.weights.{weight_id}': {name!r} is not a benchmark of "
                              f"external.benchmarks ({list(by_benchmark)})")
        by_benchmark[name].append(str(weight_id))
    for name, ids in by_benchmark.items():
        if len(ids) != 1:
            raise ConfigError(f"config key 'external.weights': benchmark {name!r} needs exactly one weight id, "
                              f"got {ids}")
    variations = []
    for name, entry in section.get("systematics", {}).items():
        weight_ids = _ids(entry["weights"])
        for key in ("up", "down"):
            if key in entry and str(entry[key]) not in weight_ids:
                raise ConfigError(f"config key 'external.systematics.{name}.{key}': {str(entry[key])!r} is not "
                                  f"among its weights {list(weight_ids)}")
        clash = sorted(set(weight_ids) & {ids[0] for ids in by_benchmark.values()})
        if clash:
            raise ConfigError(f"config key 'external.systematics.{name}.weights': {clash} are benchmark weights "
                              "(external.weights); a variation is never a physics benchmark")
        variations.append(Variation(name, entry["type"], str(entry.get("value", ",".join(weight_ids))),
                                    entry.get("scale", "mu") if entry["type"] == "scale" else None, weight_ids,
                                    *(str(entry[key]) if key in entry else None for key in ("up", "down"))))
    return ExternalSample(tuple(Path(path) for path in section["files"]),
                          {name: ids[0] for name, ids in by_benchmark.items()}, tuple(variations),
                          section.get("normalisation", "average"))


def parameter_space(config: Mapping[str, Any]) -> ParameterSpace:
    """The parameter space of an external sample: its benchmarks are the morphing basis.

    The parameters and ranges are ``process.parameters``; ``external.max_power`` is the highest
    power of each in |M|² (default 2, dimension-six EFT), which fixes the morphing components;
    the benchmarks must be exactly as many as the components and span them.

    Raises:
        ConfigError: naming the key when a benchmark lacks a parameter, or the benchmarks are not
            as many as the morphing components or do not determine the morphing.
    """
    section = config["external"]
    names = tuple(config["process"]["parameters"])
    ranges = np.array([config["process"]["parameters"][name] for name in names], dtype=float)
    max_powers = tuple(int(section.get("max_power", {}).get(name, 2)) for name in names)
    benchmark_names = tuple(section["benchmarks"])
    points = []
    for name, point in section["benchmarks"].items():
        if sorted(point) != sorted(names):
            raise ConfigError(f"config key 'external.benchmarks.{name}': needs a value for each parameter "
                              f"{list(names)}, got {list(point)}")
        points.append([float(point[parameter]) for parameter in names])
    components = find_components(max_powers, max(max_powers))
    if len(points) != len(components):
        raise ConfigError(f"config key 'external.benchmarks': the morphing of {list(names)} with max_power "
                          f"{list(max_powers)} has {len(components)} components and needs as many benchmarks, "
                          f"got {len(points)}")
    try:
        morphing = Morphing.from_basis(components, np.array(points))
    except ValueError as error:
        raise ConfigError(f"config key 'external.benchmarks': they do not determine the morphing ({error})") from None
    return ParameterSpace(names, ranges, max_powers, benchmark_names, np.array(points), morphing)


def describe(config: Mapping[str, Any]) -> str:
    """What the workflow will read from the external sample, in a few lines (``goldmine check``)."""
    sample = from_config(config)
    lines = [f"external sample ({sample.normalisation} normalisation of the weights), no generation:"]
    lines += [f"  file {path}" for path in sample.files]
    lines += [f"  benchmark {name}: weight {weight_id!r}, theta = {config['external']['benchmarks'][name]}"
              for name, weight_id in sample.benchmark_ids.items()]
    for variation in sample.variations:
        ids = variation.weight_ids
        shown = repr(list(ids)) if len(ids) <= 8 else f"{ids[0]!r} … {ids[-1]!r} ({len(ids)})"
        ends = "".join(f", {key} {value!r}" for key, value in (("up", variation.up), ("down", variation.down)) if value)
        lines.append(f"  systematic {variation.name} ({variation.type}): weights {shown} as nuisance benchmarks{ends}")
    return "\n".join(lines)
