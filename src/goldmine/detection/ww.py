"""Reconstruction of semileptonic e⁺e⁻ → W⁺W⁻ → ℓνqq̄ events after the shower.

Per event, on the final-state particles of :mod:`goldmine.shower`:

1. **Lepton**: the e± or μ± candidates above ``lepton_min_energy`` whose cone of half-angle
   ``isolation_angle`` holds less than ``isolation_fraction`` of their energy in other visible
   particles. Exactly one isolated lepton is required; it passes the card's electron or muon
   efficiency and is smeared with its resolution. Its charge is the true one (LEP trackers
   measured the charge of a 20–70 GeV lepton essentially without error).
2. **Jets**: every other visible particle, clustered by the Durham algorithm exclusively into
   two jets (:func:`goldmine.detection.jets.cluster`), which pass the card's jet efficiency
   (its acceptance) and are smeared with its resolution, as massless jets.
3. **Neutrino with the W-mass constraint**: with √s known and no beam radiation, the missing
   four-momentum P − ℓ − j₁ − j₂ is the neutrino's, but jet energies are measured worst (the
   LEP-like card: σ(E)/E ≈ 0.6/√E + 5%, against 0.5% for the lepton and 0.02 rad for the jet
   directions). So, as the constrained kinematic fits of the LEP experiments did, the jet
   energies absorb the constraints: goldmine keeps the lepton and the jet directions and solves
   for the two jet-energy scale factors a₁, a₂ for which the neutrino ν = P − ℓ − a₁j₁ − a₂j₂ is
   massless and the leptonic W has the W mass, m(ℓν) = m_W (two equations, two unknowns: a
   zero-constraint solve, in closed form — see :func:`neutrino_with_w_mass`). Events without a
   solution with both scale factors in ``scale_range`` are rejected (the analogue of a cut on
   the fit probability).

The selected events fill the record :class:`goldmine.detection.parton.PartonLevel` fills at
parton level — collections ``leptons`` (one, with its ``charge``), ``neutrinos`` (one) and ``jets``
(the two rescaled jets, most energetic first), NaN muons — so the W-pair observables of
:mod:`goldmine.detection.observables` (the five LEP angles, ``m_jj``) read either the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
import vector

from goldmine.detection import jets as jets_module
from goldmine.detection.cards import CardDetector, kinematics
from goldmine.detection.detector import smear
from goldmine.exceptions import DetectorError
from goldmine.physics.objects import ReconstructedMuons

__all__ = ["SemileptonicWW", "neutrino_with_w_mass"]

_ELECTRON_MASS, _MUON_MASS = 0.000511, 0.1056584


def neutrino_with_w_mass(sqrt_s: float, lepton: vector.MomentumNumpy4D, jet_1: vector.MomentumNumpy4D,
                         jet_2: vector.MomentumNumpy4D, w_mass: float) -> tuple[np.ndarray, np.ndarray]:
    """Jet-energy scale factors (a₁, a₂) for which ν = P − ℓ − a₁j₁ − a₂j₂ is massless and m(ℓν) = m_W.

    With massless jets both conditions are bilinear in (a₁, a₂): their difference is linear,
    2a₁ ℓ·j₁ + 2a₂ ℓ·j₂ = s − m_W² − (P − ℓ)², which leaves one quadratic. Of its roots the one
    closest to (1, 1) is returned; NaN where there is no real root (mismeasured jets can leave
    the two conditions without a common solution).

    Args:
        sqrt_s: the collision energy in GeV (P = (√s, 0, 0, 0)).
        lepton: the measured lepton.
        jet_1: the measured jets, massless.
        jet_2: the measured jets, massless.
        w_mass: the mass of the leptonic W in GeV.

    Returns:
        a₁, a₂ per event.

    Example:
        Jets measured 10% high and 10% low, in an event whose "W" has 51.8 GeV:

        >>> make = lambda px, py, pz: vector.array({"px": [px], "py": [py], "pz": [pz], "M": [0.0]})
        >>> lepton, nu = make(30.0, 0.0, 0.0), make(0.0, 40.0, 20.0)
        >>> jet_1, jet_2 = make(-10.0, -35.0, 30.0), make(-20.0, -5.0, -50.0)
        >>> sqrt_s, w_mass = float((lepton + nu + jet_1 + jet_2).E[0]), float((lepton + nu).mass[0])
        >>> a1, a2 = neutrino_with_w_mass(sqrt_s, lepton, 1.1 * jet_1, 0.9 * jet_2, w_mass)
        >>> np.round([a1[0] * 1.1, a2[0] * 0.9], 6).tolist()
        [1.0, 1.0]

        Both roots solve the two conditions exactly; here the other one, (0.96, 1.03) × the true
        energies, is a few percent away: the nearer-to-(1, 1) rule picks the wrong one when the
        jets are mismeasured the other way round, an ambiguity of the constraints themselves.
    """
    s = sqrt_s**2

    def dot(a, b):
        return a.E * b.E - a.px * b.px - a.py * b.py - a.pz * b.pz

    q_squared = s - 2.0 * sqrt_s * lepton.E + lepton.mass**2  # (P − ℓ)²
    l1, l2 = dot(lepton, jet_1), dot(lepton, jet_2)
    d1, d2, c = sqrt_s * jet_1.E, sqrt_s * jet_2.E, dot(jet_1, jet_2)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha, beta = (s - w_mass**2 - q_squared) / (2.0 * l2), -l1 / l2  # a₂ = α + β a₁
        # m(ℓν)² = (P − a₁j₁ − a₂j₂)² = s − 2a₁d₁ − 2a₂d₂ + 2a₁a₂c = m_W², with a₂ = α + β a₁:
        quadratic, linear = 2.0 * c * beta, 2.0 * (c * alpha - d1 - d2 * beta)
        constant = s - w_mass**2 - 2.0 * d2 * alpha
        root = np.sqrt(linear**2 - 4.0 * quadratic * constant)
        roots = np.stack([(-linear + root) / (2.0 * quadratic), (-linear - root) / (2.0 * quadratic)])
    partners = alpha + beta * roots
    distance = (roots - 1.0) ** 2 + (partners - 1.0) ** 2
    choice = np.argmin(np.where(np.isnan(distance), np.inf, distance), axis=0)
    pick = np.arange(len(choice))
    return roots[choice, pick], partners[choice, pick]


def _where(condition: np.ndarray, if_true: vector.MomentumNumpy4D,
           if_false: vector.MomentumNumpy4D) -> vector.MomentumNumpy4D:
    return vector.array({component: np.where(condition, getattr(if_true, component), getattr(if_false, component))
                         for component in ("px", "py", "pz", "E")})


def _scaled(momenta: vector.MomentumNumpy4D, factor: np.ndarray) -> vector.MomentumNumpy4D:
    return vector.array({"px": momenta.px * factor, "py": momenta.py * factor, "pz": momenta.pz * factor,
                         "E": momenta.E * factor})


@dataclass(frozen=True)
class SemileptonicWW:
    """The semileptonic WW selection and reconstruction on a LEP-like detector card.

    Args:
        card: the detector card (its electron, muon and jet entries; ``jet.clustering`` must be Durham, two jets).
        sqrt_s: the collision energy in GeV.
        w_mass: the W mass of the constraint, GeV.
        lepton_min_energy: lepton candidates need more energy than this, GeV.
        isolation_angle: half-angle of the isolation cone around a lepton, rad.
        isolation_fraction: an isolated lepton has less than this fraction of its energy in the
            other visible particles within the cone.
        scale_range: the accepted range of both jet-energy scale factors of the fit.
        w_mass_constraint: whether to fit; if not, the neutrino is the missing four-momentum
            P − ℓ − j₁ − j₂ of the measured objects (for comparison).

    Raises:
        DetectorError: when the card lacks an electron, muon or jet entry or Durham two-jet clustering.
    """

    card: CardDetector
    sqrt_s: float
    w_mass: float = 80.385
    lepton_min_energy: float = 10.0
    isolation_angle: float = 0.175  # 10°
    isolation_fraction: float = 0.2
    scale_range: tuple[float, float] = (0.5, 2.0)
    w_mass_constraint: bool = True

    def __post_init__(self) -> None:
        missing = sorted({"electron", "muon", "jet"} - set(self.card.objects))
        if missing:
            raise DetectorError(f"detector card {self.card.name!r}: the WW reconstruction needs its {missing} entries")
        if dict(self.card.jets or {}) != {"algorithm": "durham", "n_jets": 2}:
            raise DetectorError(f"detector card {self.card.name!r}: the WW reconstruction needs "
                                f"jet.clustering {{algorithm: durham, n_jets: 2}}, not {self.card.jets}")

    @classmethod
    def from_config(cls, card: CardDetector, settings: Mapping[str, Any], sqrt_s: float) -> SemileptonicWW:
        """From the config's ``detector.semileptonic_ww`` settings (keys as the fields)."""
        options = dict(settings)
        if "scale_range" in options:
            options["scale_range"] = tuple(options["scale_range"])
        return cls(card, sqrt_s, **options)

    def _isolated_leptons(self, visible: ak.Array) -> ak.Array:
        """Per event, the positions in ``visible`` of the isolated lepton candidates."""
        flavour = abs(visible.pdgid)
        is_candidate = ((flavour == 11) | (flavour == 13)) & (visible.energy > self.lepton_min_energy)
        candidates = visible[is_candidate]

        def unit(records):
            norm = np.sqrt(records.px**2 + records.py**2 + records.pz**2)
            return records.px / norm, records.py / norm, records.pz / norm

        one, other = ak.unzip(ak.cartesian([candidates, visible], nested=True))
        (x1, y1, z1), (x2, y2, z2) = unit(one), unit(other)
        # The cone includes the candidate itself: its own energy is subtracted.
        cone = ak.sum(other.energy * (x1 * x2 + y1 * y2 + z1 * z2 > np.cos(self.isolation_angle)), axis=2)
        isolated = cone - candidates.energy < self.isolation_fraction * candidates.energy
        return ak.local_index(visible)[is_candidate][isolated]

    def reconstruct(self, particles: ak.Array, rng: np.random.Generator, first_event: int = 0) -> ReconstructedMuons:
        """Select and reconstruct the events of one block.

        Args:
            particles: showered final-state particles (fields pdgid, status, px, py, pz, energy), one list per event.
            rng: random generator for efficiencies and smearing.
            first_event: index of the first event (unused: no event is an error, only rejected).

        Returns:
            the accepted events: collections ``leptons`` (with ``charge``), ``neutrinos``, ``jets``;
            NaN muons; ``missing`` the neutrino's transverse momentum.
        """
        n = len(particles)
        visible = jets_module.visible(particles)
        isolated = self._isolated_leptons(visible)
        accepted = ak.to_numpy(ak.num(isolated)) == 1
        position = ak.to_numpy(ak.fill_none(ak.firsts(isolated), -1))
        record = ak.firsts(visible[ak.local_index(visible) == position])
        # Rejected events get a placeholder lepton, so that every array keeps one row per event.
        true_lepton = vector.array({component: ak.to_numpy(ak.fill_none(record[source], default)).astype(float)
                                    for component, source, default in (("px", "px", 0.0), ("py", "py", 0.0),
                                                                       ("pz", "pz", 1.0), ("E", "energy", 1.0))})
        pdgid = ak.to_numpy(ak.fill_none(record.pdgid, 11))
        is_muon = np.abs(pdgid) == 13
        variables = kinematics(true_lepton)
        muon_card, electron_card = self.card.objects["muon"], self.card.objects["electron"]
        efficiency = np.where(is_muon, muon_card.efficiency(**variables), electron_card.efficiency(**variables))
        accepted &= rng.random(n) < efficiency
        smeared = smear(true_lepton, np.where(is_muon, muon_card.angle_resolution(**variables),
                                              electron_card.angle_resolution(**variables)),
                        np.where(is_muon, muon_card.momentum_resolution(**variables),
                                 electron_card.momentum_resolution(**variables)), 0.0, rng)
        lepton = vector.array({"px": smeared.px, "py": smeared.py, "pz": smeared.pz,
                               "M": np.where(is_muon, _MUON_MASS, _ELECTRON_MASS)})

        # Everything visible but the lepton goes into the jets.
        hadrons = visible[ak.local_index(visible) != position]
        clustered = jets_module.cluster(hadrons, self.card.jets)
        accepted &= ak.to_numpy(ak.num(clustered)) == 2
        padded = ak.fill_none(ak.pad_none(clustered, 2, axis=1), {"px": 0.0, "py": 0.0, "pz": 1.0, "E": 1.0})
        jet_card = self.card.objects["jet"]
        measured = []
        for index in (0, 1):
            true_jet = vector.array({component: ak.to_numpy(padded[component][:, index]).astype(float)
                                     for component in ("px", "py", "pz", "E")})
            variables = kinematics(true_jet)
            accepted &= rng.random(n) < jet_card.efficiency(**variables)
            measured.append(smear(true_jet, jet_card.angle_resolution(**variables),
                                  jet_card.momentum_resolution(**variables), 0.0, rng))

        a1 = a2 = np.ones(n)
        if self.w_mass_constraint:
            a1, a2 = neutrino_with_w_mass(self.sqrt_s, lepton, measured[0], measured[1], self.w_mass)
            low, high = self.scale_range
            accepted &= (a1 > low) & (a1 < high) & (a2 > low) & (a2 < high)  # NaN compares False
        total = vector.array({"px": np.zeros(n), "py": np.zeros(n), "pz": np.zeros(n), "E": np.full(n, self.sqrt_s)})
        jet_1, jet_2 = _scaled(measured[0], a1), _scaled(measured[1], a2)
        neutrino = (total - lepton - jet_1 - jet_2)[accepted]
        first = jet_1.E >= jet_2.E
        leading, trailing = _where(first, jet_1, jet_2)[accepted], _where(first, jet_2, jet_1)[accepted]
        lepton, charge = lepton[accepted], -np.sign(pdgid[accepted]).astype(float)
        kept = int(accepted.sum())

        def one_each(momenta, **extra):
            return vector.zip({component: ak.unflatten(getattr(momenta, component), np.ones(kept, dtype=np.int64))
                               for component in ("px", "py", "pz", "E")}
                              | {name: ak.unflatten(values, np.ones(kept, dtype=np.int64))
                                 for name, values in extra.items()})

        jets = vector.zip({component: ak.unflatten(np.column_stack([getattr(leading, component),
                                                                    getattr(trailing, component)]).ravel(),
                                                   np.full(kept, 2, dtype=np.int64))
                           for component in ("px", "py", "pz", "E")})
        nothing = vector.array({"px": np.full(kept, np.nan), "py": np.full(kept, np.nan),
                                "pz": np.full(kept, np.nan), "E": np.full(kept, np.nan)})
        collections = {"leptons": one_each(lepton, charge=charge), "neutrinos": one_each(neutrino), "jets": jets}
        return ReconstructedMuons(nothing, nothing, accepted, collections,
                                  vector.array({"px": neutrino.px, "py": neutrino.py}))
