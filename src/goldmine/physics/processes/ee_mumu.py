"""e⁺e⁻ → γ*/Z → μ⁺μ⁻ at Born level with four-lepton contact interactions.

The theory parameters are the Wilson coefficients of two dimension-six operators
with the scale Λ fixed (default 1 TeV),

    L ⊃ (c_vv / Λ²) (ē γ^μ e)(μ̄ γ_μ μ) + (c_aa / Λ²) (ē γ^μ γ⁵ e)(μ̄ γ_μ γ⁵ μ),

so for chiral currents the contact couplings are η_LL = η_RR = c_vv + c_aa and
η_LR = η_RL = c_vv − c_aa (Eichten, Lane, Peskin, Phys. Rev. Lett. 50 (1983) 811).
With massless fermions the reduced helicity amplitudes are

    A_ij = Q_e Q_μ + g_i g_j / (s_W² c_W²) · s / (s − m_Z² + i s Γ_Z/m_Z) + η_ij s / (4πα Λ²)

(g_L = −1/2 + sin²θ_eff, g_R = sin²θ_eff; running-width Breit–Wigner as in Pythia 8) and

    dσ/dcosθ = πα² / (8s) · [(|A_LL|² + |A_RR|²)(1 + cosθ)² + (|A_LR|² + |A_RL|²)(1 − cosθ)²],

θ the angle between the incoming e⁻ and the outgoing μ⁻. |A|² is quadratic in
(c_vv, c_aa), so the event weights morph exactly with six components.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goldmine.physics.objects import MUON_MASS
from goldmine.physics.processes.base import HardProcess

__all__ = ["EEMuMu", "GEV2_TO_PB"]

#: (ħc)² in GeV² pb: converts a cross section in GeV⁻² to pb.
GEV2_TO_PB = 0.3893794e9

_ELECTRON_MASS = 0.000511
_HELICITIES = ("LL", "RR", "LR", "RL")


@dataclass(frozen=True)
class EEMuMu:
    """The ee → μμ process with contact interactions.

    Args:
        sqrt_s: centre-of-mass energy in GeV.
        cutoff: the new-physics scale Λ in GeV.
        alpha_em: the electromagnetic coupling at the scale √s.
        sin2_theta_w: sin²θ_W in the Z normalisation 1/(s_W² c_W²).
        sin2_theta_eff: effective sin²θ in the vector couplings of the leptons.
        z_mass: the Z mass in GeV.
        z_width: the Z width in GeV.

    Example:
        >>> process = EEMuMu(sqrt_s=91.2)
        >>> round(float(process.cross_section([0.0, 0.0])) / 1000, 2)  # nb, at the Z pole
        2.01
    """

    sqrt_s: float = 200.0
    cutoff: float = 1000.0
    alpha_em: float = 0.0078125
    sin2_theta_w: float = 0.23122
    sin2_theta_eff: float = 0.2315
    z_mass: float = 91.1876
    z_width: float = 2.4952

    name = "ee_mumu"
    parameter_names = ("c_vv", "c_aa")
    #: |A|² is quadratic in each coefficient and in total.
    max_powers = (2, 2)
    max_overall_power = 2

    @property
    def s(self) -> float:
        return self.sqrt_s**2

    def helicity_amplitudes(self, theta: np.ndarray) -> np.ndarray:
        """Reduced amplitudes A_LL, A_RR, A_LR, A_RL.

        Args:
            theta: parameters (c_vv, c_aa), shape (2,) or (n, 2).

        Returns:
            complex array of shape (4,) or (n, 4), helicities in the order LL, RR, LR, RL.
        """
        theta = np.asarray(theta, dtype=float)
        c_vv, c_aa = theta[..., 0], theta[..., 1]
        s = self.s
        g = {"L": -0.5 + self.sin2_theta_eff, "R": self.sin2_theta_eff}
        sw2cw2 = self.sin2_theta_w * (1.0 - self.sin2_theta_w)
        propagator = s / (s - self.z_mass**2 + 1j * s * self.z_width / self.z_mass)
        contact = s / (4.0 * np.pi * self.alpha_em * self.cutoff**2)
        amplitudes = []
        for e_hel, mu_hel in _HELICITIES:
            eta = c_vv + c_aa if e_hel == mu_hel else c_vv - c_aa
            amplitudes.append(1.0 + g[e_hel] * g[mu_hel] / sw2cw2 * propagator + eta * contact)
        return np.stack(amplitudes, axis=-1)

    def _angular_coefficients(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (pb) of (1 + cosθ)² and (1 − cosθ)² in dσ/dcosθ."""
        amp2 = np.abs(self.helicity_amplitudes(theta)) ** 2
        norm = np.pi * self.alpha_em**2 / (8.0 * self.s) * GEV2_TO_PB
        return norm * (amp2[..., 0] + amp2[..., 1]), norm * (amp2[..., 2] + amp2[..., 3])

    def differential_cross_section(self, cos_theta: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dσ/dcosθ in pb.

        Args:
            cos_theta: cosine of the μ⁻ polar angle, shape (n_events,).
            theta: parameters, shape (2,) or (m, 2).

        Returns:
            shape (n_events,) for one θ, (m, n_events) for m values of θ.
        """
        forward, backward = self._angular_coefficients(theta)
        cos_theta = np.asarray(cos_theta, dtype=float)
        forward, backward = np.asarray(forward)[..., None], np.asarray(backward)[..., None]
        return forward * (1.0 + cos_theta) ** 2 + backward * (1.0 - cos_theta) ** 2

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """Total cross section in pb (each of (1 ± cosθ)² integrates to 8/3).

        Args:
            theta: parameters, shape (2,) or (m, 2).

        Returns:
            σ(θ), a scalar or shape (m,).
        """
        forward, backward = self._angular_coefficients(theta)
        return 8.0 / 3.0 * (forward + backward)

    def forward_backward_asymmetry(self, theta: np.ndarray) -> np.ndarray:
        """A_FB = (σ_F − σ_B)/(σ_F + σ_B) = 3/4 (F − B)/(F + B)."""
        forward, backward = self._angular_coefficients(theta)
        return 0.75 * (forward - backward) / (forward + backward)

    def sample_cos_theta(self, n: int, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Draw cosθ exactly from dσ/dcosθ at θ (a mixture of two inverse-CDF draws).

        (1 + c)² normalised on [−1, 1] has the CDF (1 + c)³/8, so c = 2u^{1/3} − 1.
        """
        forward, backward = self._angular_coefficients(theta)
        take_forward = rng.random(n) < forward / (forward + backward)
        cos_theta = 2.0 * np.cbrt(rng.random(n)) - 1.0
        return np.where(take_forward, cos_theta, -cos_theta)

    def momenta(self, cos_theta: np.ndarray, phi: np.ndarray) -> dict[str, np.ndarray]:
        """Four-momenta (E, px, py, pz) of e⁻, e⁺, μ⁻, μ⁺ in the centre-of-mass frame.

        The e⁻ beam travels along +z.

        Returns:
            dict particle name → array of shape (n, 4), plus the particle masses under "masses".
        """
        n = len(cos_theta)
        energy = 0.5 * self.sqrt_s
        p_e = np.sqrt(energy**2 - _ELECTRON_MASS**2)
        p_mu = np.sqrt(energy**2 - MUON_MASS**2)
        sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
        direction = np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)
        beam = np.tile([energy, 0.0, 0.0, p_e], (n, 1))
        mu_minus = np.column_stack([np.full(n, energy), p_mu * direction])
        mu_plus = np.column_stack([np.full(n, energy), -p_mu * direction])
        return {
            "e-": beam,
            "e+": beam * [1.0, 1.0, 1.0, -1.0],
            "mu-": mu_minus,
            "mu+": mu_plus,
        }

    def particle_masses(self) -> dict[str, float]:
        return {"e-": _ELECTRON_MASS, "e+": _ELECTRON_MASS, "mu-": MUON_MASS, "mu+": MUON_MASS}

    # --- the generator's interface (goldmine.physics.processes.Process) ---------------------------
    # A phase-space point is (cosθ, φ) of the μ⁻.

    def sample_phase_space(self, n: int, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """n points (cosθ, φ) drawn from dσ(z|θ), shape (n, 2)."""
        cos_theta = self.sample_cos_theta(n, theta, rng)
        return np.column_stack([cos_theta, rng.uniform(-np.pi, np.pi, n)])

    def phase_space_density(self, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dσ/dcosθ in pb (flat in φ): shape (n,) for one θ, (m, n) for m values."""
        return self.differential_cross_section(points[:, 0], theta)

    def hard_process(self, points: np.ndarray) -> HardProcess:
        """LHE record e⁻ e⁺ → μ⁻ μ⁺."""
        n = len(points)
        momenta = self.momenta(points[:, 0], points[:, 1])
        masses = self.particle_masses()
        names = ("e-", "e+", "mu-", "mu+")
        return HardProcess(
            pdgid=np.tile([11, -11, 13, -13], (n, 1)),
            status=np.array([-1, -1, 1, 1]),
            mother1=np.array([0, 0, 1, 1]),
            mother2=np.array([0, 0, 2, 2]),
            color1=np.zeros((n, 4), dtype=np.int64),
            color2=np.zeros((n, 4), dtype=np.int64),
            momenta=np.stack([momenta[name] for name in names], axis=1),
            mass=np.tile([masses[name] for name in names], (n, 1)),
        )
