"""goldmine's histogram likelihood in HEPData form, and as a likelihood of the EFT parameters.

``goldmine infer`` writes the histogram likelihood as a pyhf workspace with one sample per
morphing component c (yields ν_{b,c}) scaled by a normfactor named after its monomial,
``morph_c_vv*c_aa`` (:mod:`goldmine.inference.histfactory`). From it:

- :func:`background_only`: the expectation at the reference point θ_ref (the Standard Model)
  as one background sample, ν_b(θ_ref) = Σ_c a_c(θ_ref) ν_{b,c}, with the systematics;
- :func:`signal_patchset`: per θ one patch adding the sample ν_b(θ) − ν_b(θ_ref) scaled by the
  POI ``mu``. At μ = 1 the patched model's expectation is ν_b(θ), and its systematics are
  those of goldmine's model: a normsys or lumi multiplies every sample alike, and a
  histosys's interpolation is linear in the variations, so summing the samples (with their
  variations) changes nothing. −2 log L of the patched workspace at μ = 1 is therefore
  goldmine's −2 log L(θ), nuisance parameters profiled alike (the BSM − SM difference is the
  construction that reproduces it; replacing the SM sample by the θ yields would leave no
  POI for a CLs test);
- the EFT likelihood itself is the morphing workspace: pyhf has no parameters that are
  functions of others (pyhf #850), so θ enters as the monomials a_c(θ) to which the fixed
  normfactors are set (:func:`monomial_parameters`), the nuisance parameters profiled by
  pyhf's own fit. docs/publish.md shows the pyhf-only code and why no normfactor/histosys
  combination makes θ itself a pyhf parameter.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf

from goldmine.exceptions import PublishError
from goldmine.inference.histfactory import CHANNEL, parse_component_name
from goldmine.physics.morphing import monomials

__all__ = ["POI", "background_only", "monomial_parameters", "patch_name", "signal_patchset"]

#: the signal strength of the patches' signal sample.
POI = "mu"

SIGNAL = "eft_signal"
BACKGROUND = "sm"


def _morphing(workspace: Mapping[str, Any], parameter_names: Sequence[str]) -> tuple[list[dict], np.ndarray]:
    """The morphing samples of the histogram channel and their components' exponents."""
    channels = [channel for channel in workspace.get("channels", []) if channel["name"] == CHANNEL]
    if len(channels) != 1:
        raise PublishError(f"not a goldmine histogram workspace: no channel {CHANNEL!r}")
    samples = channels[0]["samples"]
    exponents = []
    for sample in samples:
        names = [modifier["name"] for modifier in sample["modifiers"] if modifier["type"] == "normfactor"]
        if len(names) != 1 or not names[0].startswith("morph_"):
            raise PublishError(f"sample {sample['name']!r} has no morphing normfactor (morph_...)")
        try:
            exponents.append(parse_component_name(names[0], parameter_names))
        except ValueError:
            raise PublishError(f"normfactor {names[0]!r} names a parameter not in {list(parameter_names)}") from None
    return samples, np.array(exponents)


def _combined(samples: Sequence[dict], coefficients: np.ndarray, name: str, extra: Sequence[dict] = ()) -> dict:
    """Σ_c coefficient_c × sample_c as one sample, the systematics carried along (histosys summed)."""
    def total(values: Sequence[Sequence[float]]) -> list[float]:
        return (coefficients @ np.asarray(values, dtype=float)).tolist()

    modifiers = list(extra)
    for modifier in samples[0]["modifiers"]:
        if modifier["type"] == "normfactor":
            continue
        modifier = copy.deepcopy(modifier)
        if modifier["type"] == "histosys":
            data = [next(m["data"] for m in sample["modifiers"] if m["name"] == modifier["name"]) for sample in samples]
            modifier["data"] = {"hi_data": total([d["hi_data"] for d in data]),
                                "lo_data": total([d["lo_data"] for d in data])}
        modifiers.append(modifier)
    return {"name": name, "data": total([sample["data"] for sample in samples]), "modifiers": modifiers}


def _nuisance_parameters(workspace: Mapping[str, Any]) -> list[dict]:
    """The measurement's parameter settings other than the morphing normfactors (e.g. lumi's)."""
    parameters = workspace["measurements"][0]["config"]["parameters"]
    return [copy.deepcopy(p) for p in parameters if not p["name"].startswith("morph_")]


def background_only(workspace: Mapping[str, Any], parameter_names: Sequence[str], reference: Sequence[float]
                    ) -> dict[str, Any]:
    """The background-only workspace: the expectation at ``reference`` as background, Asimov data of it.

    Args:
        workspace: goldmine's histogram workspace (``histogram_workspace.json``).
        parameter_names: the EFT parameters.
        reference: θ_ref (the Standard Model).

    Returns:
        the workspace spec (valid under pyhf's schema; its POI ``mu`` is the patches').

    Example:
        >>> from goldmine.inference.histfactory import HistogramModel
        >>> model = HistogramModel(["c"], np.array([[0], [1], [2]]), np.array([[10.0, 10.0], [2.0, -2.0], [1.0, 1.0]]),
        ...                        observed=[10.0, 10.0])
        >>> spec = background_only(dict(model.workspace), ["c"], [0.0])
        >>> spec["channels"][0]["samples"][0]["data"], spec["observations"][0]["data"]
        ([10.0, 10.0], [10.0, 10.0])
    """
    samples, exponents = _morphing(workspace, parameter_names)
    coefficients = monomials(np.asarray(reference, dtype=float), exponents)
    background = _combined(samples, coefficients, BACKGROUND)
    spec = {
        "version": "1.0.0",
        "channels": [{"name": CHANNEL, "samples": [background]}],
        "observations": [{"name": CHANNEL, "data": list(background["data"])}],
        "measurements": [{"name": "eft", "config": {"poi": POI, "parameters": _nuisance_parameters(workspace)}}],
    }
    pyhf.Workspace(spec)  # validates against pyhf's schema
    return spec


def patch_name(index: int) -> str:
    """The name of the patch of the ``index``-th θ (patch names are ``[a-zA-Z0-9_]+``; θ is in ``values``).

    Example:
        >>> patch_name(7)
        'eft_000007'
    """
    return f"eft_{index:06d}"


def signal_patchset(workspace: Mapping[str, Any], parameter_names: Sequence[str], reference: Sequence[float],
                    thetas: np.ndarray, inspire: str = "ins0000000") -> dict[str, Any]:
    """A pyhf patchset for :func:`background_only`: one patch per θ adding ν(θ) − ν(θ_ref) times ``mu``.

    Args:
        workspace: goldmine's histogram workspace.
        parameter_names: the EFT parameters (the patchset's labels).
        reference: θ_ref.
        thetas: the points, shape (m, p) (each patch's ``values``).
        inspire: the analysis's INSPIRE record, ``ins`` and seven digits (pyhf's schema requires one).

    Returns:
        the patchset (valid under pyhf's schema, its digest that of the background-only workspace).

    Example:
        >>> from goldmine.inference.histfactory import HistogramModel
        >>> model = HistogramModel(["c"], np.array([[0], [1], [2]]), np.array([[10.0, 10.0], [2.0, -2.0], [1.0, 1.0]]),
        ...                        observed=[10.0, 10.0])
        >>> patchset = signal_patchset(dict(model.workspace), ["c"], [0.0], np.array([[1.0]]))
        >>> patch = patchset["patches"][0]
        >>> patch["metadata"], patch["patch"][0]["value"]["data"]
        ({'name': 'eft_000000', 'values': [1.0]}, [3.0, -1.0])
    """
    if not re.fullmatch(r"ins[0-9]{7}", inspire):
        raise PublishError(f"INSPIRE record {inspire!r}: pyhf's patchset schema wants 'ins' and seven digits")
    samples, exponents = _morphing(workspace, parameter_names)
    reference_coefficients = monomials(np.asarray(reference, dtype=float), exponents)
    mu = {"name": POI, "type": "normfactor", "data": None}
    patches = []
    for index, theta in enumerate(np.atleast_2d(thetas)):
        coefficients = monomials(np.asarray(theta, dtype=float), exponents) - reference_coefficients
        signal = _combined(samples, coefficients, SIGNAL, [mu])
        patches.append({"metadata": {"name": patch_name(index), "values": [float(v) for v in theta]},
                        "patch": [{"op": "add", "path": "/channels/0/samples/-", "value": signal}]})
    patchset = {
        "version": "1.0.0",
        "metadata": {
            "description": "goldmine histogram likelihood: one signal (BSM - SM expectation, POI mu) per EFT point",
            "digests": {"sha256": pyhf.utils.digest(background_only(workspace, parameter_names, reference))},
            "labels": list(parameter_names),
            "references": {"hepdata": inspire},
        },
        "patches": patches,
    }
    pyhf.PatchSet(patchset)  # validates against pyhf's schema
    return patchset


def monomial_parameters(model: pyhf.pdf.Model, parameter_names: Sequence[str], theta: Sequence[float]
                        ) -> dict[str, float]:
    """The morphing normfactors' values at θ, by name: how θ enters the published EFT workspace.

    Example:
        >>> from goldmine.inference.histfactory import HistogramModel
        >>> model = HistogramModel(["c"], np.array([[0], [1], [2]]), np.array([[10.0], [2.0], [1.0]]), observed=[10.0])
        >>> monomial_parameters(model.model, ["c"], [3.0])
        {'morph_1': 1.0, 'morph_c': 3.0, 'morph_c^2': 9.0}
    """
    names = [name for name in model.config.par_order if name.startswith("morph_")]
    exponents = np.array([parse_component_name(name, parameter_names) for name in names])
    return dict(zip(names, monomials(np.asarray(theta, dtype=float), exponents).tolist()))
