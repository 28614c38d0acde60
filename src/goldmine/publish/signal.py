"""A goldmine signal in a published analysis: its yields in the published bins, as signal patches.

The configuration's ``reinterpret`` section maps goldmine's events onto the bins of a
published background-only workspace: for each published channel, one range of an observable
per bin (``null`` for a bin the signal does not reach). The yield of a bin at θ is the
luminosity times the morphed weights of the events in its range, the same morphing as every
other goldmine method. Each point θ of a grid becomes one patch that adds the signal to the
channels (scaled by the workspace's parameter of interest, with the luminosity uncertainty of
the other simulated samples and the signal's own Monte Carlo error as the channel's staterror),
and all of them one pyhf patchset whose ``values`` are θ: ``goldmine reinterpret`` turns it
into CLs per θ and the excluded region.

Example:
    >>> background = {"channels": [{"name": "SR", "samples": [{"name": "bkg", "data": [5.0, 2.0],
    ...     "modifiers": [{"name": "lumi", "type": "lumi", "data": None}]}]}],
    ...     "measurements": [{"name": "m", "config": {"poi": "mu_SIG", "parameters": []}}],
    ...     "observations": [{"name": "SR", "data": [5, 2]}], "version": "1.0.0"}
    >>> operations = signal_patch(background, {"SR": [1.5, 0.5]}, {"SR": [0.1, 0.05]})
    >>> [m["name"] for m in operations[0]["value"]["modifiers"]]
    ['mu_SIG', 'lumi', 'staterror_SR']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from goldmine.exceptions import ReinterpretError
from goldmine.physics.morphing import Morphing

__all__ = ["BinMap", "patchset", "signal_patch", "signal_yields"]

#: The name of the sample the patches add.
SAMPLE = "goldmine_signal"


class BinMap:
    """Published bins as ranges of one observable: channel → one (low, high) or None per bin.

    Args:
        channels: channel name → per bin ``[low, high]`` (low included) or ``None`` (no signal).

    Example:
        >>> bins = BinMap({"SR": [[0, 10], None, [10, 20]]})
        >>> bins.index(np.array([5.0, 15.0, 25.0])).tolist()
        [0, 2, -1]
    """

    def __init__(self, channels: Mapping[str, Sequence[Sequence[float] | None]]):
        self.channels = {name: [None if edges is None else (float(edges[0]), float(edges[1])) for edges in bins]
                         for name, bins in channels.items()}
        self.flat = [(name, k, edges) for name, bins in self.channels.items() for k, edges in enumerate(bins)]

    def index(self, values: np.ndarray) -> np.ndarray:
        """The flat published bin of each value (channels in order), -1 outside every range.

        A value inside the ranges of two bins (of two channels: the signal regions overlap) is
        a configuration error, since a patch would count its event twice.

        Raises:
            ReinterpretError: naming the two bins.
        """
        index = np.full(len(values), -1, dtype=np.int64)
        for flat, (name, k, edges) in enumerate(self.flat):
            if edges is None:
                continue
            inside = (values >= edges[0]) & (values < edges[1])
            if np.any(inside & (index >= 0)):
                other = self.flat[int(index[inside & (index >= 0)][0])]
                raise ReinterpretError(f"config key 'reinterpret.bins': bin {k} of {name!r} overlaps bin {other[1]} "
                                       f"of {other[0]!r}; an event would be counted twice")
            index[inside] = flat
        return index

    def by_channel(self, flat_values: np.ndarray) -> dict[str, list[float]]:
        """Per-channel lists from values per flat bin."""
        out: dict[str, list[float]] = {name: [] for name in self.channels}
        for (name, _, _), value in zip(self.flat, flat_values):
            out[name].append(float(value))
        return out


def signal_yields(values: np.ndarray, benchmark_weights: np.ndarray, morphing: Morphing, bins: BinMap,
                  luminosity: float, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected signal events per published bin, and their Monte Carlo error, at each θ.

    Args:
        values: the mapped observable of every event, shape (n,).
        benchmark_weights: per-benchmark weights in pb, shape (n, n_benchmarks).
        morphing: the morphing of the event file's benchmarks.
        bins: the published bins.
        luminosity: the published analysis's integrated luminosity in pb⁻¹.
        thetas: shape (m, p).

    Returns:
        Yields and errors (√Σw² × luminosity), each of shape (m, number of flat bins).

    Example:
        >>> from goldmine.physics.morphing import find_components
        >>> morphing = Morphing.from_basis(find_components((1,)), np.array([[0.0], [1.0]]))
        >>> weights = np.array([[1.0, 2.0], [1.0, 3.0]])  # w(θ) = 1 + θ and 1 + 2θ
        >>> yields, errors = signal_yields(np.array([0.5, 1.5]), weights, morphing, BinMap({"SR": [[0, 1], [1, 2]]}),
        ...                                10.0, np.array([[0.0], [1.0]]))
        >>> yields.tolist()
        [[10.0, 10.0], [20.0, 30.0]]
    """
    index = bins.index(np.asarray(values, dtype=float))
    inside = index >= 0
    per_event = np.atleast_2d(morphing.event_weights(benchmark_weights[inside], np.atleast_2d(thetas)))  # (m, n)
    n_bins = len(bins.flat)
    yields = np.stack([np.bincount(index[inside], weights=w, minlength=n_bins) for w in per_event])
    squares = np.stack([np.bincount(index[inside], weights=w**2, minlength=n_bins) for w in per_event])
    return luminosity * yields, luminosity * np.sqrt(squares)


def _lumi_modifiers(background: Mapping[str, Any]) -> list[dict]:
    names = sorted({modifier["name"] for channel in background["channels"] for sample in channel["samples"]
                    for modifier in sample["modifiers"] if modifier["type"] == "lumi"})
    return [{"name": name, "type": "lumi", "data": None} for name in names]


def signal_patch(background: Mapping[str, Any], yields: Mapping[str, Sequence[float]],
                 errors: Mapping[str, Sequence[float]] | None = None) -> list[dict]:
    """The JSON patch that adds the signal to a background-only workspace.

    Args:
        background: the background-only workspace specification.
        yields: channel → expected signal events per bin.
        errors: channel → their Monte Carlo errors, entered as the channel's ``staterror_<channel>``.

    Returns:
        One ``add`` operation per channel: the sample :data:`SAMPLE`, scaled by the
        measurement's parameter of interest, with the workspace's luminosity modifiers.

    Raises:
        ReinterpretError: a channel the workspace lacks, or yields whose number differs from its bins.
    """
    channels = {channel["name"]: k for k, channel in enumerate(background["channels"])}
    poi = background["measurements"][0]["config"]["poi"]
    lumi = _lumi_modifiers(background)
    operations = []
    for name, values in yields.items():
        if name not in channels:
            raise ReinterpretError(f"config key 'reinterpret.bins': the workspace has no channel {name!r}; "
                                   f"it has {sorted(channels)}")
        size = len(background["channels"][channels[name]]["samples"][0]["data"])
        if len(values) != size:
            raise ReinterpretError(f"config key 'reinterpret.bins.{name}': {len(values)} bins, the workspace's "
                                   f"channel has {size}")
        modifiers = [{"name": poi, "type": "normfactor", "data": None}, *lumi]
        if errors is not None:
            modifiers.append({"name": f"staterror_{name}", "type": "staterror", "data": list(map(float, errors[name]))})
        operations.append({"op": "add", "path": f"/channels/{channels[name]}/samples/-",
                           "value": {"name": SAMPLE, "data": list(map(float, values)), "modifiers": modifiers}})
    return operations


def patchset(background: Mapping[str, Any], bins: BinMap, thetas: np.ndarray, yields: np.ndarray,
             errors: np.ndarray, labels: Sequence[str], description: str, hepdata: str) -> dict:
    """A pyhf patchset: one signal patch per θ, named ``theta_<k>``, with ``values`` θ.

    Args:
        background: the background-only workspace specification (its digest identifies it).
        bins: the published bins.
        thetas: shape (m, p).
        yields: from :func:`signal_yields`, shape (m, number of flat bins).
        errors: their Monte Carlo errors, same shape.
        labels: the parameter names.
        description: the patchset's description.
        hepdata: the published analysis's HEPData record (``ins`` and seven digits).

    Returns:
        The patchset, valid under pyhf's schema.
    """
    import pyhf

    patches = [{"metadata": {"name": f"theta_{k}", "values": [float(v) for v in theta]},
                "patch": signal_patch(background, bins.by_channel(row), bins.by_channel(error))}
               for k, (theta, row, error) in enumerate(zip(thetas, yields, errors))]
    document = {"metadata": {"description": description, "digests": {"sha256": pyhf.utils.digest(background)},
                             "labels": list(labels), "references": {"hepdata": hepdata}},
                "patches": patches, "version": "1.0.0"}
    pyhf.PatchSet(document)  # validates against pyhf's schema
    return document
