"""Reading Delphes ROOT output with uproot and awkward.

Delphes writes one tree, ``Delphes``, with one split branch per object collection:
``Muon.PT``, ``Muon.Eta``, ``Muon.Phi``, ``Muon.Charge`` (and ``Muon_size``), the same for
``Electron`` and ``Photon`` (``Photon.E``), ``Jet.PT/Eta/Phi/Mass/BTag``,
``MissingET.MET/Phi``, the nominal ``Event.Weight`` and, when the events came from an LHE
file with reweighting, the per-benchmark weights ``Weight.Weight`` in the order of the
LHE's ``<initrwgt>``. Objects are already reconstructed: the detector stage only selects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector

vector.register_awkward()

from goldmine.exceptions import DelphesError
from goldmine.physics.objects import MUON_MASS, ReconstructedMuons

__all__ = ["COLLECTIONS", "DelphesEvents", "count", "iterate", "muons", "present", "weight_count"]


#: collection → the fields goldmine reads.
COLLECTIONS = {
    "Electron": ("PT", "Eta", "Phi", "Charge"),
    "Muon": ("PT", "Eta", "Phi", "Charge"),
    "Photon": ("PT", "Eta", "Phi", "E"),
    "Jet": ("PT", "Eta", "Phi", "Mass", "BTag"),
    "MissingET": ("MET", "Phi"),
}


@dataclass(frozen=True)
class DelphesEvents:
    """A block of Delphes events: one jagged record array per collection and the weights.

    Args:
        objects: collection name → jagged records (fields of :data:`COLLECTIONS`, lower case).
        weights: per-benchmark weights, shape (n, n_weights) (from ``Weight.Weight``).
        first_event: index of the first event of the block in the file.
    """

    objects: dict[str, ak.Array]
    weights: np.ndarray
    first_event: int

    def __len__(self) -> int:
        return len(self.weights)


def _tree(path: str | Path):
    """The ``Delphes`` tree of a file.

    Raises:
        DelphesError: naming the file when it is not a ROOT file with a Delphes tree.
    """
    try:
        return uproot.open(path)["Delphes"]
    except (OSError, ValueError, KeyError) as error:
        raise DelphesError(f"{path}: not a Delphes file ({error})") from None


def count(path: str | Path) -> int:
    """The number of events of a Delphes file."""
    return int(_tree(path).num_entries)


def weight_count(path: str | Path) -> int:
    """The number of weights (``Weight.Weight``) of the first event; 0 for a file without events or weights."""
    tree = _tree(path)
    if "Weight.Weight" not in tree.keys() or tree.num_entries == 0:
        return 0
    return len(tree["Weight.Weight"].array(entry_stop=1, library="ak")[0])


def present(path: str | Path) -> tuple[str, ...]:
    """The collections of :data:`COLLECTIONS` a Delphes file holds (Muon must be among them)."""
    keys = set(_tree(path).keys())
    return tuple(name for name, fields in COLLECTIONS.items()
                 if all(f"{name}.{field}" in keys for field in fields)) or ("Muon",)


def iterate(path: str | Path, n_weights: int, step_size: int = 100_000,
            collections: Sequence[str] = tuple(COLLECTIONS)) -> Iterator[DelphesEvents]:
    """Read a Delphes file in blocks (bounded memory, uproot.iterate).

    Args:
        path: the ROOT file.
        n_weights: the number of weights each event must carry in ``Weight.Weight``.
        step_size: events per block.
        collections: the object collections to read.

    Raises:
        DelphesError: naming the file and the missing branch, or the first event whose number
            of weights differs from ``n_weights``.
    """
    path = Path(path)
    tree = _tree(path)
    branches = [f"{name}.{field}" for name in collections for field in COLLECTIONS[name]] + ["Weight.Weight"]
    missing = [branch for branch in branches if branch not in tree.keys()]
    if missing:
        raise DelphesError(f"{path}: missing Delphes branches {missing}")
    first = 0
    for arrays in tree.iterate(branches, step_size=step_size, library="ak"):
        counts = ak.to_numpy(ak.num(arrays["Weight.Weight"]))
        if np.any(counts != n_weights):
            bad = int(np.argmax(counts != n_weights))
            raise DelphesError(f"{path}: event {first + bad} has {counts[bad]} weights, expected {n_weights}")
        weights = ak.to_numpy(arrays["Weight.Weight"]).astype(float).reshape(len(arrays), n_weights)
        objects = {name: ak.zip({field.lower(): arrays[f"{name}.{field}"] for field in COLLECTIONS[name]})
                   for name in collections}
        yield DelphesEvents(objects, weights, first)
        first += len(arrays)


def _momenta(collection: ak.Array, mass: float | None) -> ak.Array:
    """Delphes objects as vector records, most energetic first."""
    if "e" in collection.fields:
        last = {"E": collection.e}
    else:
        last = {"mass": collection.mass if mass is None else ak.zeros_like(collection.pt) + mass}
    records = vector.zip({"pt": collection.pt, "eta": collection.eta, "phi": collection.phi, **last})
    return records[ak.argsort(records.E, axis=1, ascending=False)]


def muons(block: DelphesEvents) -> ReconstructedMuons:
    """The leading μ⁻ and μ⁺ of each event (events without both are not accepted), with the
    electrons, photons and jets of the block as collections and MissingET as the missing momentum."""
    collection = block.objects["Muon"]
    accepted = np.ones(len(block), dtype=bool)
    leading = {}
    for name, charge in (("mu_minus", -1), ("mu_plus", 1)):
        selected = collection[collection.charge == charge]
        accepted &= ak.to_numpy(ak.num(selected)) > 0
        leading[name] = selected[ak.argmax(selected.pt, axis=1, keepdims=True)]
    result = {}
    for name, selected in leading.items():
        first = ak.firsts(selected[accepted])
        result[name] = vector.array({"pt": ak.to_numpy(first.pt), "eta": ak.to_numpy(first.eta),
                                     "phi": ak.to_numpy(first.phi),
                                     "M": np.full(int(accepted.sum()), MUON_MASS)})
    collections = {}
    for name, kind, mass in (("electrons", "Electron", 0.000511), ("photons", "Photon", None),
                             ("jets", "Jet", None)):
        if kind in block.objects:
            collections[name] = _momenta(block.objects[kind][accepted], mass)
    missing = None
    if "MissingET" in block.objects:
        met = ak.firsts(block.objects["MissingET"][accepted])
        met_pt, met_phi = ak.to_numpy(ak.fill_none(met.met, 0.0)), ak.to_numpy(ak.fill_none(met.phi, 0.0))
        missing = vector.array({"px": met_pt * np.cos(met_phi), "py": met_pt * np.sin(met_phi)})
    return ReconstructedMuons(result["mu_minus"], result["mu_plus"], accepted, collections, missing)
