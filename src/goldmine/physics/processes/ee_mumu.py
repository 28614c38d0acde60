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

sin²θ_W can be a parameter too (``parameters=("sin2_theta_w",)``, alone or with the contact
terms), in the (α, m_Z, sin²θ_W) scheme: α, m_Z and Γ_Z stay fixed, sin²θ_W enters the Z
normalisation 1/(s_W² c_W²) and the couplings through sin²θ_eff = sin²θ_W + Δ, with the
radiative offset Δ = ``sin2_theta_eff`` − ``sin2_theta_w`` (2.8·10⁻⁴ by default) held fixed.
(In the on-shell definition sin²θ_W = 1 − m_W²/m_Z², varying it at fixed m_Z varies m_W, which
does not enter this process at Born level.) Its Standard Model value is ``sin2_theta_w``, so the
SM is the same process as without it. |A|² is a rational function of sin²θ_W: those weights do
not morph, and the score comes from finite differences (:mod:`goldmine.physics.finite_differences`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from goldmine.physics.objects import MUON_MASS
from goldmine.physics.processes.base import HardProcess

__all__ = ["EEMuMu", "GEV2_TO_PB"]

#: (ħc)² in GeV² pb: converts a cross section in GeV⁻² to pb.
GEV2_TO_PB = 0.3893794e9

_ELECTRON_MASS = 0.000511
_HELICITIES = ("LL", "RR", "LR", "RL")
#: (T3 of the left-handed, of the right-handed) charged lepton: g = T3 + sin²θ_eff (|Q| = 1).
_T3 = {"L": -0.5, "R": 0.0}


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
        parameters: the theory parameters, any of :attr:`PARAMETERS` (kept in that order).

    Example:
        >>> process = EEMuMu(sqrt_s=91.2)
        >>> round(float(process.cross_section([0.0, 0.0])) / 1000, 2)  # nb, at the Z pole
        2.01
        >>> weinberg = EEMuMu(sqrt_s=91.2, parameters=("sin2_theta_w",))
        >>> weinberg.morphs, weinberg.standard_model
        (False, (0.23122,))
        >>> float(weinberg.cross_section([0.23122])) == float(process.cross_section([0.0, 0.0]))
        True
    """

    sqrt_s: float = 200.0
    cutoff: float = 1000.0
    alpha_em: float = 0.0078125
    sin2_theta_w: float = 0.23122
    sin2_theta_eff: float = 0.2315
    z_mass: float = 91.1876
    z_width: float = 2.4952
    parameters: tuple[str, ...] = ("c_vv", "c_aa")

    name = "ee_mumu"
    #: every parameter this process can have, in the order θ vectors follow.
    PARAMETERS: ClassVar[tuple[str, ...]] = ("c_vv", "c_aa", "sin2_theta_w")
    #: |A|² is quadratic in each contact coefficient and in total.
    max_overall_power = 2

    def __post_init__(self) -> None:
        unknown = sorted(set(self.parameters) - set(self.PARAMETERS))
        if unknown or not self.parameters or len(set(self.parameters)) != len(self.parameters):
            raise ValueError(f"process 'ee_mumu' has the parameters {list(self.PARAMETERS)} (distinct, at least "
                             f"one), got {list(self.parameters)}")
        object.__setattr__(self, "parameters", tuple(name for name in self.PARAMETERS if name in self.parameters))

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return self.parameters

    @property
    def morphs(self) -> bool:
        """Whether |M|² is a polynomial in the parameters (no sin²θ_W among them)."""
        return "sin2_theta_w" not in self.parameters

    @property
    def max_powers(self) -> tuple[int, ...]:
        """The highest power of each parameter in |A|² (meaningful where :attr:`morphs`)."""
        return (2,) * len(self.parameters)

    @property
    def standard_model(self) -> tuple[float, ...]:
        """θ of the Standard Model: no contact terms, sin²θ_W of the couplings."""
        return tuple(self.sin2_theta_w if name == "sin2_theta_w" else 0.0 for name in self.parameters)

    @property
    def s(self) -> float:
        return self.sqrt_s**2

    def _parameter(self, theta: np.ndarray, name: str) -> np.ndarray | float:
        """One parameter's values from θ, its Standard Model value where θ does not hold it."""
        if name in self.parameters:
            return theta[..., self.parameters.index(name)]
        return self.sin2_theta_w if name == "sin2_theta_w" else 0.0

    def _check(self, theta) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        if theta.ndim == 0 or theta.shape[-1] != len(self.parameters):
            raise ValueError(f"theta must have shape ({len(self.parameters)},) or (n, {len(self.parameters)}) "
                             f"for the parameters {list(self.parameters)}, got {theta.shape}")
        return theta

    def helicity_amplitudes(self, theta: np.ndarray) -> np.ndarray:
        """Reduced amplitudes A_LL, A_RR, A_LR, A_RL.

        Args:
            theta: the parameters, shape (p,) or (n, p).

        Returns:
            complex array of shape (4,) or (n, 4), helicities in the order LL, RR, LR, RL.
        """
        return self._amplitudes_and_gradients(self._check(theta))[0]

    def _amplitudes_and_gradients(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A (shape (..., 4)) and ∂A/∂θ (shape (..., 4, p)), in closed form."""
        c_vv, c_aa = self._parameter(theta, "c_vv"), self._parameter(theta, "c_aa")
        x = np.asarray(self._parameter(theta, "sin2_theta_w"), dtype=float)
        s = self.s
        offset = self.sin2_theta_eff - self.sin2_theta_w
        sw2cw2 = x * (1.0 - x)
        propagator = s / (s - self.z_mass**2 + 1j * s * self.z_width / self.z_mass)
        contact = s / (4.0 * np.pi * self.alpha_em * self.cutoff**2)
        amplitudes, gradients = [], []
        for e_hel, mu_hel in _HELICITIES:
            g_e, g_mu = _T3[e_hel] + x + offset, _T3[mu_hel] + x + offset
            sign = 1.0 if e_hel == mu_hel else -1.0
            amplitudes.append(1.0 + g_e * g_mu / sw2cw2 * propagator + (c_vv + sign * c_aa) * contact)
            # d/dx of g_e g_mu / (x (1 - x)): both couplings move with x, and so does the normalisation.
            d_sin2 = ((g_e + g_mu) / sw2cw2 - g_e * g_mu * (1.0 - 2.0 * x) / sw2cw2**2) * propagator
            by_name = {"c_vv": contact, "c_aa": sign * contact, "sin2_theta_w": d_sin2}
            gradients.append(np.stack([np.broadcast_to(by_name[name], theta.shape[:-1]) for name in self.parameters],
                                      axis=-1))
        return np.stack(amplitudes, axis=-1), np.stack(gradients, axis=-2)

    def _angular_coefficients(self, theta: np.ndarray, gradient: bool = False):
        """Coefficients (pb) of (1 + cosθ)² and (1 − cosθ)² in dσ/dcosθ, and with ``gradient`` their
        gradients ∂/∂θ (shape (..., p)), from ∂|A|² = 2 Re(A* ∂A)."""
        amplitudes, amplitude_gradients = self._amplitudes_and_gradients(self._check(theta))
        norm = np.pi * self.alpha_em**2 / (8.0 * self.s) * GEV2_TO_PB
        amp2 = np.abs(amplitudes) ** 2
        coefficients = norm * (amp2[..., 0] + amp2[..., 1]), norm * (amp2[..., 2] + amp2[..., 3])
        if not gradient:
            return coefficients
        d_amp2 = 2.0 * np.real(np.conj(amplitudes)[..., None] * amplitude_gradients)
        return coefficients, (norm * (d_amp2[..., 0, :] + d_amp2[..., 1, :]),
                              norm * (d_amp2[..., 2, :] + d_amp2[..., 3, :]))

    def differential_cross_section(self, cos_theta: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dσ/dcosθ in pb.

        Args:
            cos_theta: cosine of the μ⁻ polar angle, shape (n_events,).
            theta: parameters, shape (p,) or (m, p).

        Returns:
            shape (n_events,) for one θ, (m, n_events) for m values of θ.
        """
        forward, backward = self._angular_coefficients(theta)
        cos_theta = np.asarray(cos_theta, dtype=float)
        forward, backward = np.asarray(forward)[..., None], np.asarray(backward)[..., None]
        return forward * (1.0 + cos_theta) ** 2 + backward * (1.0 - cos_theta) ** 2

    def differential_cross_section_gradient(self, cos_theta: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """∂(dσ/dcosθ)/∂θ in pb, in closed form (the analytic joint score is this over dσ/dcosθ).

        Args:
            cos_theta: cosine of the μ⁻ polar angle, shape (n_events,).
            theta: parameters, shape (p,).

        Returns:
            shape (n_events, p).

        Example:
            >>> process = EEMuMu(sqrt_s=91.2, parameters=("sin2_theta_w",))
            >>> step = 1e-6
            >>> numeric = (process.differential_cross_section([0.5], [0.23122 + step])
            ...            - process.differential_cross_section([0.5], [0.23122 - step])) / (2 * step)
            >>> bool(np.isclose(process.differential_cross_section_gradient([0.5], [0.23122])[0, 0], numeric[0]))
            True
        """
        _, (d_forward, d_backward) = self._angular_coefficients(np.asarray(theta, dtype=float).reshape(-1), True)
        cos_theta = np.asarray(cos_theta, dtype=float)[:, None]
        return d_forward * (1.0 + cos_theta) ** 2 + d_backward * (1.0 - cos_theta) ** 2

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """Total cross section in pb (each of (1 ± cosθ)² integrates to 8/3).

        Args:
            theta: parameters, shape (p,) or (m, p).

        Returns:
            σ(θ), a scalar or shape (m,).
        """
        forward, backward = self._angular_coefficients(theta)
        return 8.0 / 3.0 * (forward + backward)

    def cross_section_gradient(self, theta: np.ndarray) -> np.ndarray:
        """∂σ/∂θ in pb, in closed form, shape (p,) for θ of shape (p,)."""
        _, (d_forward, d_backward) = self._angular_coefficients(theta, True)
        return 8.0 / 3.0 * (d_forward + d_backward)

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
