"""MadGraph5_aMC@NLO as the generator: the cards and the command script of one seeded job.

A MadGraph process is a folder of cards (``process.cards``): ``proc_card.dat`` (the UFO model
import and the process), ``run_card.dat`` and a ``param_card.dat`` template (the model's own,
from ``output``), optionally ``pythia8_card.dat`` and ``delphes_card.dat`` (then Pythia 8 and
Delphes run after MadGraph). ``process.lha`` maps each parameter to its param-card entry
(block and id). For every job goldmine writes

- the param card at the sampling benchmark (the events are drawn there),
- the reweight card: one weight per benchmark, named after it, in MadGraph's reweight syntax
  (``launch --rwgt_name=<benchmark>`` followed by its ``set <block> <id> <value>`` lines), so
  the LHE weights carry the benchmarks as goldmine's readers expect them,
- the run card with the job's seed and event count, ``event_norm = sum`` (each job's weights
  add up to σ, as goldmine's merge expects), and the systematics settings as MadGraph parses
  them (``systematics_arguments`` a list of ``'--name=value'`` strings: MadMiner #523 wrote it
  malformed),
- an MG5 command script that answers every question of ``launch`` itself (switches, then the
  card paths, then ``done``): with stdin from /dev/null no prompt can wait (MadMiner #541 hung
  at the reweighting's card prompt).

Example:
    >>> template = "Block dim6\\n    1 1.000000e+03 # Lambda\\n    2 0.000000e+00 # cwww\\n"
    >>> print(param_card(template, {"cwww": ("dim6", 2)}, {"cwww": 0.5}), end="")
    Block dim6
        1 1.000000e+03 # Lambda
        2 5.000000e-01 # cwww
    >>> print(reweight_card({"cwww": ("dim6", 2)}, {"sm": {"cwww": 0.0}, "b1": {"cwww": 0.5}}), end="")
    # goldmine: one weight per benchmark, named after it
    change rwgt_dir rwgt
    launch --rwgt_name=sm
        set dim6 2 0.000000e+00
    launch --rwgt_name=b1
        set dim6 2 5.000000e-01
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from goldmine.exceptions import ConfigError

__all__ = ["CARDS", "OPTIONAL_CARDS", "command_script", "lha_entries", "param_card", "reweight_card", "run_card",
           "systematics_arguments", "write_cards"]

#: The cards a process folder must hold.
CARDS = ("proc_card.dat", "run_card.dat", "param_card.dat")
#: Cards that switch on a program after MadGraph when present: Pythia 8, then Delphes.
OPTIONAL_CARDS = ("pythia8_card.dat", "delphes_card.dat")
#: Names of the options the systematics module takes (MadGraph's `systematics` command).
_SYSTEMATICS_OPTIONS = {"mur", "muf", "alps", "dyn", "pdf", "together", "remove_wgts", "keep_wgts", "start_id",
                        "weight_format", "weight_info"}
_VALUE = re.compile(r"^[A-Za-z0-9_.,:+\-@]+$")


def _number(value: float) -> str:
    return f"{float(value):.6e}"


def lha_entries(config: Mapping[str, Any]) -> dict[str, tuple[str, int]]:
    """Parameter → (param-card block, id) from ``process.lha``, in the order of ``process.parameters``.

    Raises:
        ConfigError: naming the parameter whose entry is missing, or the entries given twice.

    Example:
        >>> lha_entries({"process": {"parameters": {"c": [-1, 1]}, "lha": {"c": {"block": "DIM6", "id": 2}}}})
        {'c': ('dim6', 2)}
    """
    process = config["process"]
    lha = process.get("lha", {})
    missing = [name for name in process["parameters"] if name not in lha]
    if missing:
        raise ConfigError(f"config key 'process.lha': no param-card entry (block, id) for the parameters {missing}")
    entries = {name: (str(lha[name]["block"]).lower(), int(lha[name]["id"])) for name in process["parameters"]}
    if len(set(entries.values())) != len(entries):
        raise ConfigError(f"config key 'process.lha': two parameters share one param-card entry ({entries})")
    return entries


def param_card(template: str, entries: Mapping[str, tuple[str, int]], point: Mapping[str, float],
               source: str = "param_card.dat") -> str:
    """The param card ``template`` with each parameter's entry set to its value at ``point``.

    Args:
        template: the text of a param card (SLHA blocks).
        entries: parameter → (block, id), blocks in lower case.
        point: parameter → value.
        source: the template's file name, for errors.

    Returns:
        The card, every other line unchanged.

    Raises:
        ConfigError: naming the template and the entry it lacks.
    """
    wanted = {entries[name]: value for name, value in point.items()}
    found = set()
    lines, block = [], None
    for line in template.splitlines(keepends=True):
        fields = line.split("#", 1)[0].split()
        if fields and fields[0].lower() == "block":
            block = fields[1].lower() if len(fields) > 1 else None
        elif fields and fields[0].lower() == "decay":
            block = None
        elif block is not None and len(fields) == 2 and fields[0].isdigit() and (block, int(fields[0])) in wanted:
            key = (block, int(fields[0]))
            start = line.index(fields[1], line.index(fields[0]) + len(fields[0]))
            line = line[:start] + _number(wanted[key]) + line[start + len(fields[1]):]
            found.add(key)
        lines.append(line)
    missing = sorted(set(wanted) - found)
    if missing:
        raise ConfigError(f"{source}: no entry {missing[0][1]} in block {missing[0][0]!r} (config key 'process.lha')")
    return "".join(lines)


def reweight_card(entries: Mapping[str, tuple[str, int]], benchmarks: Mapping[str, Mapping[str, float]],
                  rwgt_dir: str = "rwgt") -> str:
    """MadGraph's reweight card: one ``launch --rwgt_name=<benchmark>`` per benchmark, with its ``set`` lines.

    Args:
        entries: parameter → (block, id).
        benchmarks: benchmark name → parameter → value, in the order of the setup.
        rwgt_dir: where MadGraph keeps the compiled reweighting code (``change rwgt_dir``).
    """
    lines = ["# goldmine: one weight per benchmark, named after it", f"change rwgt_dir {rwgt_dir}"]
    for name, point in benchmarks.items():
        lines.append(f"launch --rwgt_name={name}")
        lines += [f"    set {entries[parameter][0]} {entries[parameter][1]} {_number(value)}"
                  for parameter, value in point.items()]
    return "\n".join(lines) + "\n"


def systematics_arguments(settings: Mapping[str, Any]) -> list[str]:
    """The run card's ``systematics_arguments``: one ``--name=value`` per option, lists joined by commas.

    Raises:
        ConfigError: naming an option the systematics module does not have, or a value that
            MadGraph would split or misread (spaces, quotes, brackets).

    Example:
        >>> systematics_arguments({"mur": [0.5, 1, 2], "muf": "0.5,1,2", "pdf": "errorset"})
        ['--mur=0.5,1,2', '--muf=0.5,1,2', '--pdf=errorset']
    """
    arguments = []
    for name, value in settings.items():
        if name not in _SYSTEMATICS_OPTIONS:
            raise ConfigError(f"config key 'process.systematics.{name}': MadGraph's systematics module has no "
                              f"option --{name}; it has {sorted(_SYSTEMATICS_OPTIONS)}")
        text = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) if isinstance(
            value, (list, tuple)) else str(value)
        if not _VALUE.match(text):
            raise ConfigError(f"config key 'process.systematics.{name}': {text!r} is not one word of letters, digits "
                              "and , . : + - _ @")
        arguments.append(f"--{name}={text}")
    return arguments


def run_card(template: str, seed: int, events: int, systematics: Sequence[str] = ()) -> str:
    """The run card ``template`` with the job's seed, event count, ``event_norm = sum`` and the systematics.

    Entries the template lacks are added at its end (MadGraph reads ``value = name`` lines
    wherever they are).

    Args:
        template: the text of a run card.
        seed: ``iseed`` (distinct per job: MadGraph would otherwise draw the same events).
        events: ``nevents``.
        systematics: ``systematics_arguments`` (:func:`systematics_arguments`); none switches
            the systematics module off.

    Example:
        >>> print(run_card("  10000 = nevents ! events\\n  0 = iseed\\n", 1003, 500, ["--mur=0.5,1,2"]), end="")
          500 = nevents ! events
          1003 = iseed
        # goldmine: entries the template lacked
          sum = event_norm
          True = use_syst
          systematics = systematics_program
          ['--mur=0.5,1,2'] = systematics_arguments
    """
    values = {"nevents": str(events), "iseed": str(seed), "event_norm": "sum",
              "use_syst": "True" if systematics else "False",
              "systematics_program": "systematics" if systematics else "none"}
    if systematics:
        values["systematics_arguments"] = "[" + ", ".join(f"'{argument}'" for argument in systematics) + "]"
    lines, seen = [], set()
    for line in template.splitlines(keepends=True):
        body, bang, comment = line.partition("!")
        if "=" in body and not body.lstrip().startswith("#"):
            value, _, key = body.rpartition("=")
            key = key.strip()
            if key in values:
                indent = value[:len(value) - len(value.lstrip())]
                line = f"{indent}{values[key]} = {key}" + (f" {bang}{comment}" if bang else "\n")
                seen.add(key)
        lines.append(line)
    missing = [key for key in values if key not in seen]
    if missing:
        lines.append("# goldmine: entries the template lacked\n")
        lines += [f"  {values[key]} = {key}\n" for key in missing]
    return "".join(lines)


def command_script(proc_card: str, process_dir: str, cards_dir: str, optional: Sequence[str] = ()) -> str:
    """The MG5 command script of one job: the process, its output, and ``launch`` with every answer given.

    Args:
        proc_card: the text of the process card (model import, definitions, ``generate``/``add process``);
            its own ``output`` and ``launch`` lines are dropped.
        process_dir: the folder MadGraph writes the process into.
        cards_dir: the folder of the job's cards.
        optional: the :data:`OPTIONAL_CARDS` present (they switch on Pythia 8 and Delphes).

    Example:
        >>> print(command_script("import model sm\\ngenerate e+ e- > mu+ mu-\\noutput x\\n", "proc", "cards"), end="")
        # goldmine: run as `mg5_aMC THIS_FILE < /dev/null`; every question of launch is answered here
        import model sm
        generate e+ e- > mu+ mu-
        output proc -f
        launch proc
        shower=OFF
        detector=OFF
        madspin=OFF
        reweight=ON
        done
        cards/run_card.dat
        cards/param_card.dat
        cards/reweight_card.dat
        done
    """
    kept = [line.rstrip() for line in proc_card.splitlines()
            if line.split("#", 1)[0].strip() and line.split()[0] not in ("output", "launch", "exit", "quit")]
    shower = "Pythia8" if "pythia8_card.dat" in optional else "OFF"
    detector = "Delphes" if "delphes_card.dat" in optional else "OFF"
    cards = ["run_card.dat", "param_card.dat", "reweight_card.dat", *[c for c in OPTIONAL_CARDS if c in optional]]
    lines = ["# goldmine: run as `mg5_aMC THIS_FILE < /dev/null`; every question of launch is answered here", *kept,
             f"output {process_dir} -f", f"launch {process_dir}", f"shower={shower}", f"detector={detector}",
             "madspin=OFF", "reweight=ON", "done", *[f"{cards_dir}/{card}" for card in cards], "done"]
    return "\n".join(lines) + "\n"


def write_cards(config: Mapping[str, Any], benchmarks: Mapping[str, Mapping[str, float]], chunk: int,
                output: str | Path) -> list[Path]:
    """Write the cards and the command script of generation job ``chunk`` into the folder ``output``.

    Args:
        config: the validated configuration (``process`` with ``cards`` and ``lha``, ``generation``).
        benchmarks: benchmark name → parameter → value, in the setup's order.
        chunk: the job's index: seed ``generation.seed + chunk``.
        output: the job's folder; MadGraph's process folder is ``output/process``.

    Returns:
        The files written, each atomically.

    Raises:
        ConfigError: naming a card the process folder lacks, or a param-card entry the template lacks.
    """
    from goldmine.io.atomic import atomic_output

    process, generation = config["process"], config["generation"]
    folder, output = Path(process["cards"]), Path(output)
    missing = [card for card in CARDS if not (folder / card).is_file()]
    if missing:
        raise ConfigError(f"config key 'process.cards': {folder} lacks {missing} (a MadGraph process needs {CARDS})")
    entries = lha_entries(config)
    sampling = generation["sampling_benchmark"]
    optional = [card for card in OPTIONAL_CARDS if (folder / card).is_file()]
    texts = {
        "param_card.dat": param_card((folder / "param_card.dat").read_text(), entries, benchmarks[sampling],
                                     str(folder / "param_card.dat")),
        "reweight_card.dat": reweight_card(entries, benchmarks),
        "run_card.dat": run_card((folder / "run_card.dat").read_text(), generation["seed"] + chunk,
                                 generation["events_per_chunk"], systematics_arguments(process.get("systematics", {}))),
        **{card: (folder / card).read_text() for card in optional},
        "run.mg5": command_script((folder / "proc_card.dat").read_text(), str(output / "process"), str(output),
                                  optional),
    }
    written = []
    for name, text in texts.items():
        with atomic_output(output / name) as temporary:
            temporary.write_text(text)
        written.append(output / name)
    return written
