"""The analysis configuration: loading, schema validation and defaults.

The schema (``config/schema.yaml``, shipped inside the package) is the single
description of every key. Validation fills in defaults (``name`` defaults to the
process name), loads the detector card, and fails with one message that names the
key, the value and what is allowed. Overlay files merge into a configuration as
Snakemake merges ``--configfile`` files into the workflow's ``configfile:`` (:func:`merge`).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from goldmine.exceptions import ConfigError, DetectorError, EventFileError
from goldmine.ml import METHODS, SCORE_METHODS

__all__ = ["NEEDS_MORPHING", "load", "merge", "schema", "validate"]


def schema() -> dict[str, Any]:
    """The JSON schema of the configuration, as a dict (a fresh copy)."""
    return copy.deepcopy(_parsed_schema())


@functools.cache
def _parsed_schema() -> dict[str, Any]:
    # Parsed once per process: YAML parsing was most of a validation's time.
    text = resources.files("goldmine").joinpath("schemas/config.schema.yaml").read_text()
    return _inline_references(yaml.safe_load(text))


def _inline_references(document: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref``s by their targets so that defaults inside them are seen."""
    definitions = document.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(document)


def _with_defaults(validator_class: type) -> type:
    """A validator class that writes schema defaults into the instance while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, subschema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, subschema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _describe(error: jsonschema.ValidationError) -> str:
    key = ".".join(str(part) for part in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unexpected = sorted(set(error.instance) - set(allowed))
        if allowed:
            return f"config key {key!r}: unknown key(s) {unexpected}; allowed keys are {allowed}"
    if error.validator == "enum":
        return f"config key {key!r}: {error.instance!r} is not allowed; allowed values are {error.validator_value}"
    if error.validator == "required":
        return f"config key {key!r}: {error.message}"
    return f"config key {key!r}: value {error.instance!r} is not allowed: {error.message}"


def _check_external(config: dict[str, Any]) -> None:
    """The external sample: a process of its own or an embedded one, benchmarks that span the
    morphing, one weight id per benchmark, and files that exist."""
    if "external" not in config:
        if config["process"]["name"] == "external":
            raise ConfigError("config key 'process.name': 'external' needs the section 'external' (the files, "
                              "their benchmarks and weight ids)")
        return
    from goldmine import external

    external.from_config(config)
    space = external.parameter_space(config)
    for key in ("generation.sampling_benchmark", "mining.reference_benchmark"):
        section, option = key.split(".")
        if config[section][option] not in space.benchmark_names:
            raise ConfigError(f"config key {key!r}: {config[section][option]!r} is not a benchmark of "
                              f"external.benchmarks ({list(space.benchmark_names)})")
    missing = [path for path in config["external"]["files"] if not Path(path).is_file()]
    if missing:
        raise ConfigError(f"config key 'external.files': {missing} do not exist (relative paths are read from "
                          f"{Path.cwd()})")
    from goldmine.io import open_events

    readable = ("lhe",) if config["shower"]["enabled"] else ("lhe", "delphes")
    for path in config["external"]["files"]:
        try:
            described = open_events(path)
        except EventFileError as error:
            raise ConfigError(f"config key 'external.files': {error}") from None
        if described.kind not in readable:
            raise ConfigError(f"config key 'external.files': {path} is {described.description}; "
                              + ("the shower reads LHE files" if config["shower"]["enabled"]
                                 else "an external sample is LHE or Delphes files"))


def _check_madgraph(config: dict[str, Any]) -> None:
    """A MadGraph process: its cards exist, and every parameter has a param-card entry the template holds."""
    from goldmine import madgraph

    if "cards" not in config["process"]:
        raise ConfigError("config key 'process.cards': process 'madgraph' needs the folder of its cards")
    folder = Path(config["process"]["cards"])
    missing = [card for card in madgraph.CARDS if not (folder / card).is_file()]
    if missing:
        raise ConfigError(f"config key 'process.cards': {folder} lacks {missing} (relative paths are read from "
                          f"{Path.cwd()})")
    entries = madgraph.lha_entries(config)
    madgraph.param_card((folder / "param_card.dat").read_text(), entries, dict.fromkeys(entries, 0.0),
                        str(folder / "param_card.dat"))
    madgraph.systematics_arguments(config["process"].get("systematics", {}))
    if (folder / "delphes_card.dat").is_file() and config["shower"]["enabled"]:
        raise ConfigError(f"config key 'shower.enabled': {folder} has a Delphes card, so Pythia 8 runs in MadGraph's "
                          "job and the detector stage reads Delphes's output; goldmine's shower must be off")


def _check_consistency(config: dict[str, Any]) -> None:
    _check_external(config)
    standard_model = dict.fromkeys(config["process"]["parameters"], 0.0)
    if config["process"]["name"] == "madgraph":
        _check_madgraph(config)
    elif config["process"]["name"] != "external":
        process = _process(config)
        # θ vectors follow the process's order, whatever the order in the file.
        config["process"]["parameters"] = {name: config["process"]["parameters"][name]
                                           for name in process.parameter_names}
        standard_model = dict(zip(process.parameter_names, process.standard_model))
        if not process.morphs:
            _check_without_morphing(config, process)
    for name, (low, high) in config["process"]["parameters"].items():
        if not low < high:
            raise ConfigError(f"config key 'process.parameters.{name}': range [{low}, {high}] must have low < high")
        if not low <= standard_model[name] <= high:
            raise ConfigError(f"config key 'process.parameters.{name}': range [{low}, {high}] must contain the "
                              f"Standard Model ({standard_model[name]})")
    from goldmine.detection.expressions import ExpressionError
    from goldmine.detection.observables import event_expression, resolve

    try:
        names = [observable.name for observable in resolve(config["observables"])]
        for text in config["cuts"] + config["efficiencies"]:
            event_expression(text)
    except (ExpressionError, ValueError) as error:
        raise ConfigError(f"config key 'observables', 'cuts' or 'efficiencies': {error}") from None
    missing = [name for name in config["inference"]["histogram"]["observables"] if name not in names]
    if missing:
        raise ConfigError(
            f"config key 'inference.histogram.observables': {missing} are not among the observables {names}"
        )
    for tilt_name, tilt in config["inference"]["systematics"]["tilts"].items():
        if tilt["observable"] not in names:
            raise ConfigError(f"config key 'inference.systematics.tilts.{tilt_name}.observable': "
                              f"{tilt['observable']!r} is not among the observables {names}")
    if "card" in config["detector"]:
        _check_card(config["detector"]["card"])
    _check_semileptonic_ww(config)
    from goldmine.detection.detector import MuonDetector

    try:
        MuonDetector.from_config(config["detector"])
    except DetectorError as error:
        raise ConfigError(f"config key 'detector.muon': {error}") from None
    if "design" in config:
        _check_design(config)


def _check_design(config: dict[str, Any]) -> None:
    """The design's range is an interval, its prior names the process's parameters, its process generates."""
    design = config["design"]
    low, high = design["range"]
    if not low < high:
        raise ConfigError(f"config key 'design.range': [{low}, {high}] must have low < high")
    if "external" in config:
        raise ConfigError("config key 'design': experiment design generates events at each setting; an external "
                          "sample cannot")
    widths = design["prior_width"]
    if isinstance(widths, dict) and sorted(widths) != sorted(config["process"]["parameters"]):
        raise ConfigError(f"config key 'design.prior_width': widths for {sorted(widths)}; the parameters are "
                          f"{list(config['process']['parameters'])}")


def _process(config: dict[str, Any]):
    """The embedded process, its parameters checked against those it has."""
    from goldmine.physics.processes import get_process

    process_config = config["process"]
    names = list(process_config["parameters"])
    try:
        process = get_process(process_config)
    except ValueError as error:
        raise ConfigError(f"config key 'process': {error}") from None
    if sorted(names) != sorted(process.parameter_names):  # a process whose parameters are fixed
        raise ConfigError(f"config key 'process.parameters': process {process_config['name']!r} has the "
                          f"parameters {list(process.parameter_names)}, got {names}")
    return process


#: the methods that need the likelihood ratio at any θ, hence morphing (all but the local-score
#: ones): they are refused for parameters that do not morph, whose scores are known at the reference only.
NEEDS_MORPHING = tuple(method for method in METHODS if method not in SCORE_METHODS)


def _check_without_morphing(config: dict[str, Any], process) -> None:
    """Parameters that do not morph: the local-score methods at the Standard Model only."""
    names = list(process.parameter_names)
    refused = [method for method in config["training"]["methods"] if method in NEEDS_MORPHING]
    if refused:
        raise ConfigError(
            f"config key 'training.methods': {refused} need morphing (the likelihood ratio at any θ), which "
            f"the parameters {names} do not allow (|M|² is not a polynomial in them); with them, only the "
            f"local-score methods {list(SCORE_METHODS)} work, at the reference point by finite differences. "
            f"Methods that need morphing: {list(NEEDS_MORPHING)}, the exact likelihood and the histograms "
            f"over the θ grid (goldmine infer)"
        )
    for key in ("generation.sampling_benchmark", "mining.reference_benchmark"):
        section, option = key.split(".")
        if config[section][option] != "sm":
            raise ConfigError(f"config key {key!r}: {config[section][option]!r}; without morphing (parameters "
                              f"{names}) events are drawn and scores taken at the reference benchmark 'sm'")


def _check_semileptonic_ww(config: dict[str, Any]) -> None:
    """The WW reconstruction runs on a detector card (its electron, muon and jet entries)."""
    if "semileptonic_ww" in config["detector"] and "card" not in config["detector"]:
        raise ConfigError("config key 'detector.semileptonic_ww' needs 'detector.card' (a card with electron, "
                          "muon and jet entries, e.g. config/processes/detectors/lep.yaml)")


def _check_card(path: str) -> None:
    """Load the detector card now, so that a missing file or a bad formula stops the analysis before any job."""
    from goldmine.detection.cards import load_card

    try:
        load_card(path)
    except OSError as error:
        raise ConfigError(f"config key 'detector.card': cannot read the card {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config key 'detector.card': {path} is not valid YAML: {error}") from None
    except (ValueError, AttributeError) as error:
        # ExpressionError (a bad formula) is a ValueError too; AttributeError: the card is no mapping.
        raise ConfigError(f"config key 'detector.card': {error}") from None


def validate(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a configuration and return a copy with every default filled in.

    Args:
        config: the parsed YAML configuration.

    Returns:
        dict: the configuration with defaults.

    Raises:
        ConfigError: naming the first offending key, its value and what is allowed.

    Example:
        >>> from goldmine import config
        >>> cfg = config.load("config/config.yaml")
        >>> cfg["name"], cfg["process"]["name"], cfg["inference"]["luminosity"] > 0
        ('ee_mumu', 'ee_mumu', True)
        >>> bad = dict(cfg, process=dict(cfg["process"], sqrt_s=-1))
        >>> config.validate(bad)
        Traceback (most recent call last):
        ...
        goldmine.exceptions.ConfigError: config key 'process.sqrt_s': value -1 is not allowed: -1 is less than or equal to the minimum of 0
    """
    instance = copy.deepcopy(dict(config))
    validator_class = _with_defaults(jsonschema.Draft202012Validator)
    errors = sorted(validator_class(schema()).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        raise ConfigError(_describe(errors[0]))
    instance.setdefault("name", instance["process"]["name"])
    _check_consistency(instance)
    return instance


#: mappings whose keys the user names: an overlay that has one replaces it whole (a parameter
#: or benchmark left over from the base would make another analysis). The workflow does the same
#: (workflow/rules/common.smk, which parses without goldmine).
NAMED_MAPPINGS = (("process", "parameters"), ("external", "benchmarks"), ("external", "weights"),
                  ("external", "systematics"))


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any], _path: tuple[str, ...] = ()) -> dict[str, Any]:
    """``overlay`` merged into a copy of ``base`` the way the workflow merges a ``--configfile``
    into config/config.yaml: Snakemake's ``snakemake.utils.update_config`` (mappings merge key
    by key, at any depth; anything else, a list or a number, replaces what was there), except
    that the mappings of :data:`NAMED_MAPPINGS` are replaced whole.

    Args:
        base: the configuration merged into (``config/config.yaml``).
        overlay: the partial configuration.

    Returns:
        dict: a new configuration; neither argument changes.

    Example:
        >>> merge({"process": {"sqrt_s": 200.0, "parameters": {"c_vv": [-1, 1], "c_aa": [-1, 1]}}, "a": [1, 2]},
        ...       {"process": {"sqrt_s": 91.2, "parameters": {"g": [-2, 2]}}, "a": [3]})
        {'process': {'sqrt_s': 91.2, 'parameters': {'g': [-2, 2]}}, 'a': [3]}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and (*_path, key) not in NAMED_MAPPINGS:
            below = merged.get(key)
            merged[key] = merge(below if isinstance(below, Mapping) else {}, value, (*_path, key))
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError(f"config file {path} nests collections too deeply to be a configuration") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return raw


def load(path: str | Path, *overlays: str | Path) -> dict[str, Any]:
    """Read a YAML configuration file, merge the ``overlays`` files into it in order (as
    ``snakemake --configfile`` does, see :func:`merge`) and validate it (see :func:`validate`).

    Args:
        path: the configuration (for the workflow: ``config/config.yaml``).
        overlays: partial configurations merged into it, later ones winning.

    Returns:
        dict: the configuration with defaults.

    Raises:
        ConfigError: naming the file(s), the offending key, its value and what is allowed.
    """
    paths = [Path(path), *map(Path, overlays)]
    raw: dict[str, Any] = {}
    for each in paths:
        raw = merge(raw, _read(each))
    try:
        return validate(raw)
    except ConfigError as error:
        raise ConfigError(f"{' + '.join(map(str, paths))}: {error}") from None
