"""Reinterpretation of a published likelihood: CLs of every signal patch, in parallel.

A published pyhf likelihood is a background-only workspace plus one patch per signal
point, either a JSON-patch file (as on HEPData) or a member of a pyhf patchset. Patch
references are strings: ``FILE`` (a JSON patch, or every member of a patchset) or
``FILE:NAME`` (one member of a patchset).
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import jsonpatch
from threadpoolctl import threadpool_limits

from goldmine.exceptions import ReinterpretError

__all__ = ["Patch", "load_patches", "merge_results", "read_json", "masses", "reinterpret", "reinterpret_many",
           "reinterpret_one"]


@dataclass(frozen=True)
class Patch:
    """One signal point.

    Attributes:
        name: the patch's name (a JSON-patch file's stem without ``patch.``, or the member's name).
        operations: the JSON-patch operations.
        values: the signal point's coordinates (patchset metadata ``values``), if given.
    """

    name: str
    operations: list
    values: tuple[float, ...] | None = None


def read_json(path: Path):
    """Parse a JSON file; a missing or malformed file is a :class:`ReinterpretError` naming it."""
    try:
        return json.loads(path.read_text())
    except OSError as error:
        raise ReinterpretError(f"{path}: cannot read ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise ReinterpretError(f"{path}: not JSON ({error})") from None


def _split_reference(reference: str) -> tuple[Path, str | None]:
    path = Path(reference)
    if path.exists() or ":" not in reference:
        return path, None
    file, _, member = reference.rpartition(":")
    return Path(file), member


def load_patches(references: Sequence[str]) -> list[Patch]:
    """Read patches from JSON-patch files and patchsets.

    Args:
        references: ``FILE`` (JSON patch, or all members of a patchset) or ``FILE:NAME``.

    Returns:
        The patches in the order given.

    Raises:
        ReinterpretError: a missing file, a file that is neither, or an unknown member (the
            message lists the members).

    Example:
        >>> import json, tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> operations = [{"op": "add", "path": "/x", "value": 1}]
        >>> _ = (folder / "patch.sbottom_600_180_50.json").write_text(json.dumps(operations))
        >>> [p.name for p in load_patches([str(folder / "patch.sbottom_600_180_50.json")])]
        ['sbottom_600_180_50']
    """
    patches: list[Patch] = []
    for reference in references:
        path, member = _split_reference(reference)
        if not path.is_file():
            raise ReinterpretError(f"{path}: no such patch file")
        content = read_json(path)
        if isinstance(content, list):
            if member is not None:
                raise ReinterpretError(f"{path}: a JSON patch, not a patchset; it has no member {member!r}")
            name = path.name.removesuffix(".json").removeprefix("patch.")
            patches.append(Patch(name, content))
            continue
        if not (isinstance(content, dict) and isinstance(content.get("patches"), list)):
            raise ReinterpretError(f"{path}: neither a JSON patch (a list of operations) nor a pyhf patchset")
        members = [Patch(p["metadata"]["name"], p["patch"], tuple(p["metadata"].get("values", ())) or None)
                   for p in content["patches"]]
        if member is None:
            patches.extend(members)
            continue
        chosen = [p for p in members if p.name == member]
        if not chosen:
            names = ", ".join(p.name for p in members[:10]) + (" …" if len(members) > 10 else "")
            raise ReinterpretError(f"{path}: patchset has no patch {member!r}; it has {names}")
        patches.extend(chosen)
    return patches


def merge_results(blocks: Sequence[dict[str, dict]], sources: Sequence[str] | None = None) -> dict[str, dict]:
    """One result of the blocks of a patchset, each reinterpreted on its own (a job per block).

    Args:
        blocks: results of :func:`reinterpret` (or ``goldmine reinterpret -o``), in order.
        sources: each block's file, for errors.

    Returns:
        Every block's results, keyed by patch name, in the order of the blocks.

    Raises:
        ReinterpretError: a patch name in two blocks (naming both).

    Example:
        >>> merge_results([{"a": {"CLs_obs": 0.1}}, {"b": {"CLs_obs": 0.2}}])
        {'a': {'CLs_obs': 0.1}, 'b': {'CLs_obs': 0.2}}
    """
    sources = list(sources or (f"block {k}" for k in range(len(blocks))))
    merged: dict[str, dict] = {}
    origin: dict[str, str] = {}
    for source, block in zip(sources, blocks):
        for name, result in block.items():
            if name in merged:
                raise ReinterpretError(f"{source}: patch {name!r} is also in {origin[name]}")
            merged[name], origin[name] = result, source
    return merged


def masses(patch: Patch) -> tuple[float, ...]:
    """The signal point's coordinates: patchset ``values``, else the numbers in the name.

    Example:
        >>> masses(Patch("sbottom_1000_131_1", []))
        (1000.0, 131.0, 1.0)
    """
    if patch.values:
        return tuple(float(v) for v in patch.values)
    return tuple(float(v) for v in re.findall(r"(?<![A-Za-z])\d+(?:\.\d+)?", patch.name))


_WORKER: dict = {}


def _start_worker(backgrounds: list[dict]) -> None:
    _WORKER["backgrounds"] = backgrounds


def reinterpret_one(background: dict, patch: Patch, limits: bool = False) -> dict:
    """CLs (and optionally upper limits on μ) of one patch applied to ``background``.

    Args:
        background: the background-only workspace specification.
        patch: the signal patch.
        limits: also compute the observed and expected upper limits on μ.

    Returns:
        ``{"CLs_obs", "CLs_exp", "status", "qmu", "qmu_A", "spread", "masses"}`` (+ ``"upper_limit"``);
        ``CLs_obs``/``CLs_exp`` are ``None`` when ``status`` is ``"no_sensitivity"``.
    """
    import pyhf

    from goldmine.publish.fits import hypotest, upper_limit
    from goldmine.publish.likelihood import build_likelihood

    try:
        # a pickle round trip copies the workspace ~10× faster than the patch's own deepcopy
        spec = jsonpatch.apply_patch(pickle.loads(pickle.dumps(background)), patch.operations, in_place=True)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise ReinterpretError(
            f"patch {patch.name!r} does not apply to the background-only workspace: {error}") from None
    workspace = pyhf.Workspace(spec, validate=False)
    if workspace.get_measurement()["config"]["poi"] not in {name for name, _ in workspace.modifiers}:
        # the patch leaves no signal (RegionB sbottom_1500_1495_60 removes the channel it is in)
        out = {"CLs_obs": None, "CLs_exp": None, "status": "no_sensitivity", "qmu": 0.0, "qmu_A": 0.0,
               "spread": 0.0, "masses": list(masses(patch))}
        if limits:
            out["upper_limit"] = {"obs": None, "exp": [None] * 5}
        return out
    # SLSQP's small BLAS calls on OpenBLAS's thread pool cost ~10× their arithmetic in
    # synchronisation, and far more on a loaded machine; the parallelism is the patches'
    with threadpool_limits(limits=1, user_api="blas"):
        likelihood = build_likelihood(workspace)
        result = hypotest(likelihood, 1.0)
        out = {"CLs_obs": result.cls_obs, "CLs_exp": result.cls_exp, "status": result.status,
               "qmu": result.qmu, "qmu_A": result.qmu_asimov, "spread": result.spread,
               "masses": list(masses(patch))}
        if limits:
            out["upper_limit"] = upper_limit(likelihood)
    return out


def _run(task: tuple[int, Patch], limits: bool) -> tuple[int, str, dict]:
    job, patch = task
    return job, patch.name, reinterpret_one(_WORKER["backgrounds"][job], patch, limits)


def reinterpret(background: dict, patches: Sequence[Patch], workers: int | None = None, limits: bool = False,
                progress: bool = True) -> dict[str, dict]:
    """Results of :func:`reinterpret_one` for every patch, over ``workers`` processes.

    Args:
        background: the background-only workspace specification.
        patches: the signal patches (unique names).
        workers: processes (default: the CPUs this process may use); 1 runs in this process.
        limits: also compute upper limits on μ.
        progress: show a progress bar on stderr.

    Returns:
        Results keyed by patch name, in the order of ``patches``.
    """
    return reinterpret_many([(background, patches)], workers, limits, progress)[0]


def reinterpret_many(jobs: Sequence[tuple[dict, Sequence[Patch]]], workers: int | None = None, limits: bool = False,
                     progress: bool = True) -> list[dict[str, dict]]:
    """:func:`reinterpret` of several likelihoods (e.g. the signal regions of an analysis) in one pool.

    One pool imports JAX and compiles each likelihood shape once per worker for all jobs,
    instead of once per job.

    Args:
        jobs: (background-only workspace specification, its signal patches with unique names).
        workers: processes (default: the CPUs this process may use); 1 runs in this process.
        limits: also compute upper limits on μ.
        progress: show a progress bar on stderr.

    Returns:
        For each job, results keyed by patch name, in the order of its patches.
    """
    from tqdm import tqdm

    for _, patches in jobs:
        names = [p.name for p in patches]
        if len(set(names)) != len(names):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            raise ReinterpretError(f"patch names must be unique; repeated: {', '.join(duplicates)}")
    backgrounds = [background for background, _ in jobs]
    tasks = [(job, patch) for job, (_, patches) in enumerate(jobs) for patch in patches]
    workers = workers or len(os.sched_getaffinity(0))
    bar = tqdm(total=len(tasks), unit="patch", disable=not progress, desc="reinterpret")
    results: list[dict[str, dict]] = [{} for _ in jobs]
    if workers == 1:
        _start_worker(backgrounds)
        outcomes = map(_run, tasks, [limits] * len(tasks))
        for job, name, result in outcomes:
            results[job][name] = result
            bar.update()
    else:
        # spawn, not fork: JAX is multithreaded and must start fresh in each worker
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_start_worker,
                                 initargs=(backgrounds,)) as pool:
            chunksize = _chunk(len(tasks), workers)
            for job, name, result in pool.map(_run, tasks, [limits] * len(tasks), chunksize=chunksize):
                results[job][name] = result
                bar.update()
    bar.close()
    return [{p.name: results[job][p.name] for p in patches} for job, (_, patches) in enumerate(jobs)]


def _chunk(n: int, workers: int) -> int:
    """Patches per task: large enough to amortise the hand-over, small enough to balance the load."""
    return max(1, min(8, n // (4 * workers)))

