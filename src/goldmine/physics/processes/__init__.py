"""Embedded generators: analytic matrix elements, polynomial in the theory parameters."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from goldmine.physics.processes.base import HardProcess, Process
from goldmine.physics.processes.ee_mumu import EEMuMu
from goldmine.physics.processes.ee_ww import EEWW

__all__ = ["EEMuMu", "EEWW", "HardProcess", "Process", "get_process"]

_PROCESSES: dict[str, type[Process]] = {"ee_mumu": EEMuMu, "ee_ww": EEWW}


def get_process(process_config: Mapping[str, Any]) -> Process:
    """Build the embedded process described by the ``process`` section of the config.

    Example:
        >>> get_process({"name": "ee_mumu", "sqrt_s": 91.2}).sqrt_s
        91.2
        >>> get_process({"name": "ee_mumu", "parameters": {"sin2_theta_w": [0.22, 0.24]}}).parameter_names
        ('sin2_theta_w',)
        >>> get_process({"name": "ee_ww", "sqrt_s": 189.0, "cutoff": 1000.0, "couplings": {"w_width": 2.09}}).w_width
        2.09
    """
    name = process_config["name"]
    try:
        process_class = _PROCESSES[name]
    except KeyError:
        raise ValueError(f"unknown process {name!r}; embedded processes are {sorted(_PROCESSES)}") from None
    fields = {field.name for field in dataclasses.fields(process_class)}
    # The config schema fills in defaults of every process (ee_mumu's ``cutoff``): keep this one's.
    options = {key: process_config[key] for key in ("sqrt_s", "cutoff") if key in process_config and key in fields}
    if "parameters" in fields and "parameters" in process_config:
        options["parameters"] = tuple(process_config["parameters"])
    couplings = dict(process_config.get("couplings", {}))
    unknown = sorted(set(couplings) - fields)
    if unknown:
        allowed = sorted(fields - {"sqrt_s", "parameters"})
        raise ValueError(f"process {name!r} has no couplings {unknown}; it has {allowed}")
    return process_class(**options, **couplings)
