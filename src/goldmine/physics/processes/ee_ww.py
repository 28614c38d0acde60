"""e⁺e⁻ → W⁺W⁻ → ℓνqq̄ with anomalous triple gauge couplings, from helicity amplitudes.

Production e⁻(p₁,σ) e⁺(p₂,−σ) → W⁻(q₁,λ₁) W⁺(q₂,λ₂) through s-channel γ and Z and
t-channel ν_e exchange (the CC03 diagrams). The WWV vertex (V = γ, Z) is the general
C- and P-conserving one of Hagiwara, Peccei, Zeppenfeld and Hikasa, Nucl. Phys. B282
(1987) 253, eqs. (2.4)–(2.6): for V(P) → W⁻(q) W⁺(q̄), contracted with the W polarisations,

    Γ_V^{αβμ} = f₁ⱽ (q − q̄)^μ g^{αβ} − f₂ⱽ/m_W² (q − q̄)^μ P^α P^β + f₃ⱽ (P^α g^{μβ} − P^β g^{μα}),
    f₁ⱽ = g₁ⱽ + s λ_V / (2 m_W²),   f₂ⱽ = λ_V,   f₃ⱽ = g₁ⱽ + κ_V + λ_V,

with g_WWγ = e, g_WWZ = e cotθ_W. The theory parameters are the LEP ones (Δg₁ᶻ, Δκ_γ, λ_γ)
with g₁^γ = 1, Δκ_Z = Δg₁ᶻ − tan²θ_W Δκ_γ and λ_Z = λ_γ, so every amplitude is linear in θ
and |M|² quadratic: the weights morph exactly with ten components.

The production helicity amplitudes P(σ,λ₁,λ₂) are evaluated numerically from explicit
massless spinors and the W helicity vectors ε(q,λ); the decays W → f f̄′ from the
left-handed currents J = ū(f) γ P_L v(f̄′), D(λ) = ε(λ)·J, and the full amplitude is the
coherent sum M(σ) = Σ_{λ₁λ₂} P(σ,λ₁,λ₂) D₁(λ₁) D₂(λ₂) over the intermediate helicities
(full spin correlations). Fermions in the final state are massless; the CKM matrix is
taken diagonal (W⁺ → u d̄, c s̄) with colour factor 3 and no QCD correction.

Width: the W's are produced with masses m₁, m₂ distributed by Breit–Wigners with the
running width Γ(m) = Γ_W m/m_W between ``w_mass_min`` and √s − m_other, and the production
amplitude is evaluated at those masses. This is what Pythia 8's ``ffbar2WW`` does (its
phase space picks the masses from running-width Breit–Wigners in [mMin, √s − m_other] and
its cross section uses the picked masses), so the two agree without a reweighting; the
alternative, the full 2 → 4 amplitude with W propagators, differs only by O(Γ_W/m_W)
non-resonant terms that Pythia does not have either. The Z propagator has a fixed width,
as in Pythia's ffbar2WW. Off-shell W's break the SM gauge cancellation by O(Γ_W/m_W),
and the λ_V form factors above are the on-shell ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from goldmine.physics.processes.base import HardProcess
from goldmine.physics.processes.ee_mumu import GEV2_TO_PB

__all__ = ["EEWW"]

# Dirac matrices in the chiral basis (ψ = (ψ_L, ψ_R)), metric (+, −, −, −).
_PAULI = np.array([[[0, 1], [1, 0]], [[0, -1j], [1j, 0]], [[1, 0], [0, -1]]], dtype=complex)
_ZERO, _ONE = np.zeros((2, 2)), np.eye(2)
_GAMMA = np.array([np.block([[_ZERO, _ONE], [_ONE, _ZERO]])]
                  + [np.block([[_ZERO, sigma], [-sigma, _ZERO]]) for sigma in _PAULI])
_METRIC = np.array([1.0, -1.0, -1.0, -1.0])
# σ̄^α = (1, −σ⃗): the left-handed current ψ_L† σ̄^α ψ_L′.
_SIGMA_BAR = np.concatenate([np.eye(2, dtype=complex)[None], -_PAULI])

#: Columns of a phase-space point.
COLUMNS = ("m_w_minus", "m_w_plus", "cos_theta", "phi", "cos_theta_minus", "phi_minus",
           "cos_theta_plus", "phi_plus", "leptonic_w_plus", "muon", "charm")
_N_CHANNELS = 8  # 2 charge assignments × 2 lepton flavours × 2 quark doublets
_COLOUR = 3.0
# The t-channel enters with the opposite sign to the s-channel in this vertex convention:
# with it the SM amplitudes of longitudinal W's cancel at high energy (tested).
_T_CHANNEL_SIGN = -1.0
# Gauss–Legendre nodes per mass segment (three per W) and in cosΘ: σ to 2·10⁻⁴ (checked against 96 × 48)
_MASS_NODES, _COS_NODES = 32, 24
_BLOCK = 50_000
_TAIL = 0.1  # fraction of W masses drawn flat in log m² (far off-shell tails dominate above LEP2)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minkowski product over the last axis (no complex conjugation)."""
    return a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1] - a[..., 2] * b[..., 2] - a[..., 3] * b[..., 3]


def _chi_minus(direction: np.ndarray) -> np.ndarray:
    """Two-spinor of helicity −1/2 along unit vectors, shape (n, 2); phase convention free."""
    x, y, z = direction[..., 0], direction[..., 1], direction[..., 2]
    # (−e^{−iφ} sin θ/2, cos θ/2), times e^{iφ} in the backward hemisphere to stay regular at θ = π.
    north = np.sqrt(2.0 * (1.0 + np.maximum(z, 0.0)))
    south = np.sqrt(2.0 * (1.0 - np.minimum(z, 0.0)))
    forward = np.stack([-(x - 1j * y) / north, 0.5 * north + 0j], axis=-1)
    backward = np.stack([-0.5 * south + 0j, (x + 1j * y) / south], axis=-1)
    return np.where((z >= 0.0)[..., None], forward, backward)


def _left_current(fermion: np.ndarray, antifermion: np.ndarray) -> np.ndarray:
    """ū_L(k) γ^α v(k′) for massless momenta (n, 4): 2√(E E′) χ₋(k)† σ̄^α χ₋(k′), shape (n, 4)."""
    chi_f = _chi_minus(fermion[:, 1:] / fermion[:, :1])
    chi_a = _chi_minus(antifermion[:, 1:] / antifermion[:, :1])
    current = np.einsum("ni,aij,nj->na", chi_f.conj(), _SIGMA_BAR, chi_a)
    return 2.0 * np.sqrt(fermion[:, :1] * antifermion[:, :1]) * current


def _polarisations(energy, momentum, direction_frame, mass) -> np.ndarray:
    """Helicity vectors ε(λ = +1, 0, −1) of a vector boson, shape (n, 3, 4).

    ``direction_frame`` is (n̂, ê₁, ê₂), a right-handed orthonormal frame with n̂ along the momentum.
    """
    n_hat, e1, e2 = direction_frame
    zero = np.zeros((len(energy), 1))
    transverse = [np.concatenate([zero, (-sign * e1 - 1j * e2) / np.sqrt(2.0)], axis=1) for sign in (1.0, -1.0)]
    longitudinal = np.concatenate([momentum[:, None], energy[:, None] * n_hat], axis=1) / mass[:, None]
    return np.stack([transverse[0], longitudinal + 0j, transverse[1]], axis=1)


def _frame(cos_theta: np.ndarray, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vector n̂(θ, φ) and the two unit vectors ê_θ, ê_φ completing a right-handed frame."""
    sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
    n_hat = np.stack([sin_theta * np.cos(phi), sin_theta * np.sin(phi), cos_theta], axis=1)
    e_theta = np.stack([cos_theta * np.cos(phi), cos_theta * np.sin(phi), -sin_theta], axis=1)
    e_phi = np.stack([-np.sin(phi), np.cos(phi), np.zeros_like(phi)], axis=1)
    return n_hat, e_theta, e_phi


def _boost(rest: np.ndarray, parent: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Boost four-vectors from the rest frame of ``parent`` (lab four-momentum, mass) to the lab."""
    p_dot_k = np.sum(parent[:, 1:] * rest[:, 1:], axis=1)
    energy = (parent[:, 0] * rest[:, 0] + p_dot_k) / mass
    factor = (rest[:, 0] + p_dot_k / (parent[:, 0] + mass)) / mass
    return np.column_stack([energy, rest[:, 1:] + factor[:, None] * parent[:, 1:]])


def _kallen(a, b, c):
    return (a - b - c) ** 2 - 4.0 * b * c


@dataclass(frozen=True)
class EEWW:
    """The e⁺e⁻ → W⁺W⁻ → ℓνqq̄ process (ℓ = e, μ; qq̄′ = ud̄, cs̄) with anomalous TGCs.

    Args:
        sqrt_s: centre-of-mass energy in GeV.
        alpha_em: the electromagnetic coupling (also in the W partial widths).
        sin2_theta_w: sin²θ_W in the couplings g = e/s_W, g_WWZ = e c_W/s_W and Δκ_Z.
        sin2_theta_eff: effective sin²θ in the vector coupling of the electron to the Z.
        w_mass: the W mass in GeV.
        w_width: the total W width in GeV (the branching fractions are the leading-order
            partial widths divided by it).
        z_mass: the Z mass in GeV.
        z_width: the Z width in GeV.
        w_mass_min: the lowest W mass generated, GeV.

    Example:
        >>> process = EEWW(sqrt_s=189.0)
        >>> round(float(process.production_cross_section([0, 0, 0])), 1)  # pb, all W decays
        18.2
    """

    sqrt_s: float = 200.0
    alpha_em: float = 0.0078125
    sin2_theta_w: float = 0.2312
    sin2_theta_eff: float = 0.2312
    w_mass: float = 80.385
    w_width: float = 2.085
    z_mass: float = 91.1876
    z_width: float = 2.4952
    w_mass_min: float = 10.0

    name = "ee_ww"
    parameter_names = ("delta_g1z", "delta_kappa_gamma", "lambda_gamma")
    #: Each amplitude is linear in θ, so |M|² is quadratic.
    max_powers = (2, 2, 2)
    max_overall_power = 2

    @property
    def s(self) -> float:
        return self.sqrt_s**2

    @property
    def lepton_branching_fraction(self) -> float:
        """BR(W → ℓν) for one lepton flavour: Γ = α m_W / (12 s_W²) over the total width."""
        return self.alpha_em * self.w_mass / (12.0 * self.sin2_theta_w) / self.w_width

    @property
    def semileptonic_fraction(self) -> float:
        """Fraction of W pairs decaying to ℓνqq̄ here: 2 charges × 2 leptons × 2 doublets × 3 colours."""
        return 24.0 * self.lepton_branching_fraction**2

    # --- couplings and amplitudes ---------------------------------------------------------------

    def _form_factors(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """f₁, f₂, f₃ for V = γ, Z from the LEP parameters, each of shape (m,) for θ (m, 3)."""
        delta_g1z, delta_kappa_gamma, lambda_gamma = theta[:, 0], theta[:, 1], theta[:, 2]
        tan2 = self.sin2_theta_w / (1.0 - self.sin2_theta_w)
        g1 = {"gamma": np.ones_like(delta_g1z), "z": 1.0 + delta_g1z}
        kappa = {"gamma": 1.0 + delta_kappa_gamma, "z": 1.0 + delta_g1z - tan2 * delta_kappa_gamma}
        factors = {}
        for boson in ("gamma", "z"):
            factors[boson] = (
                g1[boson] + self.s * lambda_gamma / (2.0 * self.w_mass**2),
                lambda_gamma,
                g1[boson] + kappa[boson] + lambda_gamma,
            )
        return factors

    def _s_channel_couplings(self) -> dict[str, np.ndarray]:
        """g_e^V(σ) g_WWV / (s − m_V² + i m_V Γ_V) in units of e², σ = (L, R)."""
        s, sw2 = self.s, self.sin2_theta_w
        cw2 = 1.0 - sw2
        z_propagator = 1.0 / (s - self.z_mass**2 + 1j * self.z_mass * self.z_width)
        z_electron = np.array([-0.5 + self.sin2_theta_eff, self.sin2_theta_eff]) / np.sqrt(sw2 * cw2)
        return {"gamma": np.full(2, -1.0 / s + 0j), "z": z_electron * np.sqrt(cw2 / sw2) * z_propagator}

    @cached_property
    def _beam_spinors(self) -> dict[str, np.ndarray]:
        """Constant beam structures: currents v̄ γ^ρ u for σ = L, R and v̄ γ^β γ^κ γ^α P_L u."""
        energy = 0.5 * self.sqrt_s
        root = np.sqrt(2.0 * energy)
        u = {"L": root * np.array([0, 1, 0, 0], dtype=complex), "R": root * np.array([0, 0, 1, 0], dtype=complex)}
        # e⁺ along −z with helicity ∓1/2 opposite to the e⁻.
        v = {"L": root * np.array([-1, 0, 0, 0], dtype=complex), "R": root * np.array([0, 0, 0, 1], dtype=complex)}
        bar = {key: spinor.conj() @ _GAMMA[0] for key, spinor in v.items()}
        currents = np.array([np.einsum("i,aij,j->a", bar[h], _GAMMA, u[h]) for h in ("L", "R")])
        triple = np.einsum("i,bij,kjl,alm,m->bka", bar["L"], _GAMMA, _GAMMA, _GAMMA, u["L"])
        return {"currents": currents, "triple": triple}

    def _kinematics(self, points: np.ndarray) -> dict[str, np.ndarray]:
        """W and decay-product four-momenta and W helicity vectors of each phase-space point."""
        m1, m2 = points[:, 0], points[:, 1]
        sqrt_s = self.sqrt_s
        momentum = np.sqrt(np.maximum(_kallen(self.s, m1**2, m2**2), 0.0)) / (2.0 * sqrt_s)
        e1 = (self.s + m1**2 - m2**2) / (2.0 * sqrt_s)
        e2 = sqrt_s - e1
        n_hat, e_theta, e_phi = _frame(points[:, 2], points[:, 3])
        w_minus = np.column_stack([e1, momentum[:, None] * n_hat])
        w_plus = np.column_stack([e2, -momentum[:, None] * n_hat])
        # The W⁺ frame (−n̂, ê_θ, −ê_φ) is right-handed too.
        eps_minus = _polarisations(e1, momentum, (n_hat, e_theta, e_phi), m1)
        eps_plus = _polarisations(e2, momentum, (-n_hat, e_theta, -e_phi), m2)

        def decay(parent, mass, frame, cos_theta, phi):
            """Momenta of the particle at (θ*, φ*) in the helicity frame, and of its partner."""
            sin_theta = np.sqrt(np.clip(1.0 - cos_theta**2, 0.0, None))
            axis, x_axis, y_axis = frame
            direction = (cos_theta[:, None] * axis + (sin_theta * np.cos(phi))[:, None] * x_axis
                         + (sin_theta * np.sin(phi))[:, None] * y_axis)
            half = 0.5 * mass[:, None]
            first = _boost(np.column_stack([half[:, 0], half * direction]), parent, mass)
            second = _boost(np.column_stack([half[:, 0], -half * direction]), parent, mass)
            return first, second

        # W⁻: angles of its fermion (ℓ⁻ or d); W⁺: angles of its antifermion (ℓ⁺ or d̄).
        fermion_minus, antifermion_minus = decay(w_minus, m1, (n_hat, e_theta, e_phi), points[:, 4], points[:, 5])
        antifermion_plus, fermion_plus = decay(w_plus, m2, (-n_hat, e_theta, -e_phi), points[:, 6], points[:, 7])
        return {
            "w_minus": w_minus, "w_plus": w_plus, "eps_minus": eps_minus, "eps_plus": eps_plus,
            "fermion_minus": fermion_minus, "antifermion_minus": antifermion_minus,
            "fermion_plus": fermion_plus, "antifermion_plus": antifermion_plus,
        }

    def production_amplitudes(self, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Helicity amplitudes P(σ, λ₁, λ₂) of e⁺e⁻ → W⁻W⁺ in units of e² (the decay columns are ignored).

        Args:
            points: phase-space points, shape (n, 11).
            theta: parameters, shape (m, 3).

        Returns:
            complex array (m, n, 2, 3, 3): σ = (e⁻_L, e⁻_R), λ = (+, 0, −) of W⁻ and W⁺.
        """
        return self._production(self._kinematics(points), theta)

    def _production(self, kinematics: dict[str, np.ndarray], theta: np.ndarray) -> np.ndarray:
        q1, q2 = kinematics["w_minus"], kinematics["w_plus"]
        eps1, eps2 = kinematics["eps_minus"].conj(), kinematics["eps_plus"].conj()
        beams = self._beam_spinors
        currents = beams["currents"]  # (2, 4)
        total = np.zeros(4)
        total[0] = self.sqrt_s
        difference = q1 - q2
        p_eps1, p_eps2 = _dot(total, eps1), _dot(total, eps2)  # (n, 3)
        j_difference = np.einsum("sa,na->ns", currents * _METRIC, difference)  # (n, 2)
        j_eps1 = np.einsum("sa,nla->nsl", currents * _METRIC, eps1)
        j_eps2 = np.einsum("sa,nla->nsl", currents * _METRIC, eps2)
        eps_eps = np.einsum("nla,nka->nlk", eps1 * _METRIC, eps2)
        structures = (
            j_difference[:, :, None, None] * eps_eps[:, None],
            -j_difference[:, :, None, None] * (p_eps1[:, :, None] * p_eps2[:, None, :])[:, None] / self.w_mass**2,
            p_eps1[:, None, :, None] * j_eps2[:, :, None, :] - p_eps2[:, None, None, :] * j_eps1[:, :, :, None],
        )
        couplings = self._s_channel_couplings()
        factors = self._form_factors(theta)
        s_channel = 0.0
        for i, structure in enumerate(structures):
            # Σ_V f_i^V(θ) g_e^V(σ) g_WWV / (s − m_V²), shape (m, 2)
            weight = sum(np.asarray(factors[boson][i], dtype=complex)[:, None] * couplings[boson][None, :]
                         for boson in ("gamma", "z"))
            s_channel = s_channel + weight[:, None, :, None, None] * structure[None]
        # t channel, e⁻_L only: v̄ ε̸₂* (p̸₁ − q̸₁) ε̸₁* P_L u / t with g²/2 = e²/(2 s_W²).
        exchanged = -q1.copy()
        exchanged[:, 0] += 0.5 * self.sqrt_s
        exchanged[:, 3] += 0.5 * self.sqrt_s
        t = _dot(exchanged, exchanged)
        propagated = np.einsum("bka,nk->nba", beams["triple"], exchanged * _METRIC)
        t_channel = np.einsum("nba,nlb,nja->njl", propagated, eps2 * _METRIC, eps1 * _METRIC, optimize=True)
        t_channel *= _T_CHANNEL_SIGN / (2.0 * self.sin2_theta_w) / t[:, None, None]
        amplitudes = np.broadcast_to(s_channel, (len(theta), len(q1), 2, 3, 3)).copy()
        amplitudes[:, :, 0] += t_channel[None]
        return amplitudes

    @staticmethod
    def _decay_amplitudes(kinematics: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """D(λ) = ε(λ)·J for the W⁻ and W⁺ decays, each (n, 3); J = ū_L(f) γ v(f̄′)."""
        current_minus = _left_current(kinematics["fermion_minus"], kinematics["antifermion_minus"])
        current_plus = _left_current(kinematics["fermion_plus"], kinematics["antifermion_plus"])
        d_minus = np.einsum("nla,na->nl", kinematics["eps_minus"] * _METRIC, current_minus)
        d_plus = np.einsum("nla,na->nl", kinematics["eps_plus"] * _METRIC, current_plus)
        return d_minus, d_plus

    def _running_width(self, mass: np.ndarray) -> np.ndarray:
        return self.w_width * mass / self.w_mass

    def _breit_wigner(self, mass: np.ndarray) -> np.ndarray:
        """(1/π) m Γ(m) / ((m² − m_W²)² + m² Γ(m)²), per unit m²."""
        width = mass * self._running_width(mass)
        return width / np.pi / ((mass**2 - self.w_mass**2) ** 2 + width**2)

    # --- the generator's interface -------------------------------------------------------------

    def amplitude_components(self, points: np.ndarray) -> np.ndarray:
        """The full amplitudes M(σ) at θ = 0 and their derivatives in each parameter.

        Args:
            points: phase-space points, shape (n, 11) (columns :data:`COLUMNS`).

        Returns:
            complex array (4, n, 2): M = c₀ + Σᵢ θᵢ cᵢ exactly, normalised so that
            Σ_σ |M(σ)|² is dσ per unit of the phase-space variables in pb.
        """
        components = self._amplitudes(points, np.vstack([np.zeros(3), np.eye(3)]))
        components[1:] -= components[0]
        return components

    def _amplitudes(self, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """M(σ) = Σ_{λ₁λ₂} P(σ,λ₁,λ₂) D₋(λ₁) D₊(λ₂) × couplings, propagators and phase space: (m, n, 2)."""
        kinematics = self._kinematics(points)
        production = self._production(kinematics, theta)
        d_minus, d_plus = self._decay_amplitudes(kinematics)
        amplitudes = np.einsum("mnslk,nl,nk->mns", production, d_minus, d_plus)
        m1, m2 = points[:, 0], points[:, 1]
        propagators = ((m1**2 - self.w_mass**2 + 1j * m1 * self._running_width(m1))
                       * (m2**2 - self.w_mass**2 + 1j * m2 * self._running_width(m2)))
        e2 = 4.0 * np.pi * self.alpha_em
        g_w2 = e2 / (2.0 * self.sin2_theta_w)  # (g/√2)² per decay vertex
        # dσ = 1/(2s) · 1/4 Σ|M|² · dΦ₄, dΦ₄ = λ^½/(32π² s) dΩ · Π (dm²/2π) dΩ*/(32π²).
        phase_space = (np.sqrt(np.maximum(_kallen(self.s, m1**2, m2**2), 0.0)) / (32.0 * np.pi**2 * self.s)
                       / (2.0 * np.pi) ** 2 / (32.0 * np.pi**2) ** 2)
        norm = np.sqrt(_COLOUR * GEV2_TO_PB * phase_space / (8.0 * self.s)) * e2 * g_w2 / propagators
        return amplitudes * norm[None, :, None]

    def phase_space_density(self, points: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """dσ(z|θ) in pb per unit of (m₁², m₂², cosΘ, φ, cosθ₋*, φ₋*, cosθ₊*, φ₊*) for one channel.

        Args:
            points: phase-space points, shape (n, 11).
            theta: parameters, shape (3,) or (m, 3).

        Returns:
            shape (n,) for one θ, (m, n) for m values.
        """
        # Blocks of events bound the memory (≈ 1 kB per event for the amplitude components).
        blocks = [self._density(self.amplitude_components(points[start:start + _BLOCK]), theta)
                  for start in range(0, len(points), _BLOCK)]
        return np.concatenate(blocks, axis=-1) if blocks else self._density(self.amplitude_components(points), theta)

    @staticmethod
    def _density(components: np.ndarray, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        coefficients = np.concatenate([np.ones(theta.shape[:-1] + (1,)), theta], axis=-1)
        amplitudes = np.tensordot(coefficients, components, axes=([-1], [0]))
        return np.sum(np.abs(amplitudes) ** 2, axis=-1)

    # --- cross sections -------------------------------------------------------------------------

    @property
    def _production_matrix(self) -> np.ndarray:
        """S of :meth:`_quadrature`, shared by equal processes: the quadrature takes ≈ 1 s, and each
        stage (generation, the exact likelihood) builds its own process from the config."""
        return _shared_production_matrix(self)

    def _quadrature(self) -> np.ndarray:
        """S with σ_WW(θ) = aᵀ S a, a = (1, θ): Gauss–Legendre quadrature in m₁, m₂ and cosΘ."""
        nodes, weights = np.polynomial.legendre.leggauss(_MASS_NODES)
        cos_nodes, cos_weights = np.polynomial.legendre.leggauss(_COS_NODES)
        matrix = np.zeros((4, 4))
        m_min, mass, width = self.w_mass_min, self.w_mass, self.w_width
        basis = np.vstack([np.zeros(3), np.eye(3)])
        # The peak m_W ± 10 Γ_W with m² = M² + MΓ tan ρ (flat in ρ under the Breit–Wigner), the tails
        # (where the off-shell amplitude can grow with √s) with nodes flat in log m².
        peak_low, peak_high = (mass - 10.0 * width) ** 2, (mass + 10.0 * width) ** 2

        def tan_mapped(low_m2, high_m2):
            low = np.arctan((low_m2 - mass**2) / (mass * width))
            high = np.arctan((high_m2 - mass**2) / (mass * width))
            rho = 0.5 * (high - low)[..., None] * (nodes + 1.0) + low[..., None]
            m2 = mass**2 + mass * width * np.tan(rho)
            return m2, 0.5 * (high - low)[..., None] * weights * mass * width / np.cos(rho) ** 2

        def log_mapped(low_m2, high_m2):
            span = np.log(high_m2 / low_m2)
            m2 = low_m2[..., None] * np.exp(0.5 * span[..., None] * (nodes + 1.0))
            return m2, 0.5 * span[..., None] * weights * m2

        def mapped(upper):
            """Masses and dm² weights on [m_min, upper]; segments beyond ``upper`` get zero length."""
            upper2 = np.asarray(upper) ** 2
            pieces = [
                log_mapped(np.minimum(m_min**2, upper2), np.minimum(peak_low, upper2)),
                tan_mapped(np.minimum(peak_low, upper2), np.minimum(peak_high, upper2)),
                log_mapped(np.minimum(peak_high, upper2), upper2),
            ]
            m2 = np.concatenate([piece[0] for piece in pieces], axis=-1)
            return np.sqrt(m2), np.concatenate([piece[1] for piece in pieces], axis=-1)

        m1, w1 = mapped(np.array(self.sqrt_s - m_min))
        for mass1, weight1 in zip(m1, w1):
            mass2, weight2 = mapped(np.array(self.sqrt_s - mass1))
            energy = (self.s + mass1**2 - mass2**2) / (2.0 * self.sqrt_s)
            momentum = np.sqrt(np.maximum(_kallen(self.s, mass1**2, mass2**2), 0.0)) / (2.0 * self.sqrt_s)
            # cosΘ nodes flat in log(b − cosΘ): the t-channel pole 1/t, t = −√s |p| (b − cosΘ).
            b = (energy - mass1**2 / self.sqrt_s) / np.maximum(momentum, 1e-300)
            log_low, log_high = np.log(b - 1.0), np.log(b + 1.0)
            x = 0.5 * (log_high - log_low)[:, None] * (cos_nodes + 1.0) + log_low[:, None]
            cos_theta = b[:, None] - np.exp(x)
            cos_weight = 0.5 * (log_high - log_low)[:, None] * cos_weights * np.exp(x)
            n = cos_theta.size
            points = np.zeros((n, len(COLUMNS)))
            points[:, 0] = mass1
            points[:, 1] = np.repeat(mass2, cos_theta.shape[1])
            points[:, 2] = np.clip(cos_theta.ravel(), -1.0, 1.0)
            production = self.production_amplitudes(points, basis)
            production[1:] -= production[0]
            lam = _kallen(self.s, points[:, 0] ** 2, points[:, 1] ** 2)
            # dσ = 1/(2s) · 1/4 Σ|P|² e⁴ · λ^½/(32π² s) · 2π dcosΘ, times the two Breit–Wigners.
            jacobian = (np.sqrt(np.maximum(lam, 0.0)) / (32.0 * np.pi**2 * self.s) * 2.0 * np.pi / (8.0 * self.s)
                        * (4.0 * np.pi * self.alpha_em) ** 2 * GEV2_TO_PB)
            weight = (weight1 * self._breit_wigner(mass1) * (weight2 * self._breit_wigner(mass2))[:, None]
                      * cos_weight).ravel() * jacobian
            flat = production.reshape(4, n, -1)
            matrix += np.real(np.einsum("in,anx,bnx->ab", weight[None], flat.conj(), flat))
        return 0.5 * (matrix + matrix.T)

    def production_cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(e⁺e⁻ → W⁺W⁻) in pb, all decays, with the W masses integrated over the Breit–Wigners.

        Args:
            theta: parameters, shape (3,) or (m, 3).

        Returns:
            a scalar or shape (m,).
        """
        theta = np.asarray(theta, dtype=float)
        coefficients = np.concatenate([np.ones(theta.shape[:-1] + (1,)), theta], axis=-1)
        return np.einsum("...a,ab,...b->...", coefficients, self._production_matrix, coefficients)

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(e⁺e⁻ → W⁺W⁻ → ℓνqq̄) in pb, ℓ = e, μ, both charges: σ_WW times the semileptonic fraction.

        Args:
            theta: parameters, shape (3,) or (m, 3).

        Returns:
            a scalar or shape (m,).
        """
        return self.semileptonic_fraction * self.production_cross_section(theta)

    # --- sampling ---------------------------------------------------------------------------------

    def _candidates(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Phase-space points from the envelope density g and g itself (same variables as the density)."""
        mass, width, m_min = self.w_mass, self.w_width, self.w_mass_min
        points = np.empty((n, len(COLUMNS)))

        def breit_wigner_masses(upper):
            """Mostly tan-mapped Breit–Wigner, with a tail flat in log m² for the far off-shell W's."""
            low = np.arctan((m_min**2 - mass**2) / (mass * width))
            high = np.arctan((upper**2 - mass**2) / (mass * width))
            log_span = np.log(upper**2 / m_min**2)
            m2 = np.where(rng.random(n) < _TAIL, m_min**2 * np.exp(log_span * rng.random(n)),
                          mass**2 + mass * width * np.tan(rng.uniform(low, high)))
            density = ((1.0 - _TAIL) * mass * width / ((m2 - mass**2) ** 2 + (mass * width) ** 2) / (high - low)
                       + _TAIL / (m2 * log_span))
            return np.sqrt(m2), density

        points[:, 0], density1 = breit_wigner_masses(np.full(n, self.sqrt_s - m_min))
        points[:, 1], density2 = breit_wigner_masses(self.sqrt_s - points[:, 0])
        energy = (self.s + points[:, 0] ** 2 - points[:, 1] ** 2) / (2.0 * self.sqrt_s)
        momentum = np.sqrt(np.maximum(_kallen(self.s, points[:, 0] ** 2, points[:, 1] ** 2), 1e-300)) / (
            2.0 * self.sqrt_s)
        # cosΘ: half flat, half ∝ 1/(b − cosΘ), the t-channel pole (t = −√s |p| (b − cosΘ)).
        b = (energy - points[:, 0] ** 2 / self.sqrt_s) / momentum
        span = np.log((b + 1.0) / (b - 1.0))
        pole = b - (b - 1.0) * np.exp(span * rng.random(n))
        cos_theta = np.where(rng.random(n) < 0.5, rng.uniform(-1.0, 1.0, n), pole)
        points[:, 2] = np.clip(cos_theta, -1.0, 1.0)
        density_cos = 0.25 + 0.5 / ((b - points[:, 2]) * span)
        points[:, 3] = rng.uniform(-np.pi, np.pi, n)
        # Decay angles: half flat, half (3/8)(1 + cosθ*)², the mostly left-handed W's (V−A) sending
        # the ℓ⁻/d forward of the W⁻ and the ℓ⁺/d̄ forward of the W⁺.
        density_decays = 1.0
        for column in (4, 6):
            forward = 2.0 * np.cbrt(rng.random(n)) - 1.0
            points[:, column] = np.where(rng.random(n) < 0.5, rng.uniform(-1.0, 1.0, n), forward)
            density_decays = density_decays * (0.25 + 0.1875 * (1.0 + points[:, column]) ** 2) / (2.0 * np.pi)
            points[:, column + 1] = rng.uniform(-np.pi, np.pi, n)
        points[:, 8:] = rng.integers(0, 2, (n, 3))
        # dm₁² dm₂² dcosΘ dφ dΩ₋ dΩ₊ and 1/8 per discrete channel.
        density = density1 * density2 * density_cos / (2.0 * np.pi) * density_decays / _N_CHANNELS
        return points, density

    def sample_phase_space(self, n: int, theta: np.ndarray, rng: np.random.Generator,
                           batch_size: int = 100_000) -> np.ndarray:
        """Draw n unweighted events from dσ(z|θ): envelope candidates, accept–reject per batch.

        Each batch of candidates is unweighted against its own largest weight f/g, so the
        accepted events follow dσ exactly up to the (tiny) chance that a batch misses the
        region of the largest weights.

        Args:
            n: number of events.
            theta: parameters, shape (3,).
            rng: random generator.
            batch_size: candidates per batch.

        Returns:
            phase-space points, shape (n, 11).
        """
        theta = np.asarray(theta, dtype=float)[None]
        accepted, count = [], 0
        while count < n:
            points, envelope = self._candidates(batch_size, rng)
            weights = np.sum(np.abs(self._amplitudes(points, theta)[0]) ** 2, axis=-1) / envelope
            keep = rng.random(batch_size) * weights.max() < weights
            accepted.append(points[keep])
            count += int(keep.sum())
        return np.concatenate(accepted)[:n]

    # --- event record -----------------------------------------------------------------------------

    def hard_process(self, points: np.ndarray) -> HardProcess:
        """LHE record: e⁻ e⁺ → W⁻ W⁺, W⁻ → f f̄′, W⁺ → f′ f̄ (quarks colour-connected to each other)."""
        n = len(points)
        kinematics = self._kinematics(points)
        leptonic_plus = points[:, 8].astype(bool)
        lepton = np.where(points[:, 9].astype(bool), 13, 11)
        up = np.where(points[:, 10].astype(bool), 4, 2)
        down = up - 1
        # W⁻ daughters (fermion, antifermion): ℓ⁻ ν̄ or d ū; W⁺ daughters: ν ℓ⁺ or u d̄.
        minus = np.where(leptonic_plus[:, None], np.column_stack([down, -up]), np.column_stack([lepton, -lepton - 1]))
        plus = np.where(leptonic_plus[:, None], np.column_stack([lepton + 1, -lepton]), np.column_stack([up, -down]))
        pdgid = np.column_stack([np.full(n, 11), np.full(n, -11), np.full(n, -24), np.full(n, 24), minus, plus])
        color1 = np.zeros((n, 8), dtype=np.int64)
        color2 = np.zeros((n, 8), dtype=np.int64)
        color1[:, 4] = np.where(leptonic_plus, 501, 0)
        color2[:, 5] = np.where(leptonic_plus, 501, 0)
        color1[:, 6] = np.where(leptonic_plus, 0, 501)
        color2[:, 7] = np.where(leptonic_plus, 0, 501)
        half = 0.5 * self.sqrt_s
        beam = np.tile([half, 0.0, 0.0, half], (n, 1))
        momenta = np.stack([beam, beam * [1.0, 1.0, 1.0, -1.0], kinematics["w_minus"], kinematics["w_plus"],
                            kinematics["fermion_minus"], kinematics["antifermion_minus"],
                            kinematics["fermion_plus"], kinematics["antifermion_plus"]], axis=1)
        mass = np.zeros((n, 8))
        mass[:, 2], mass[:, 3] = points[:, 0], points[:, 1]
        return HardProcess(
            pdgid=pdgid, status=np.array([-1, -1, 2, 2, 1, 1, 1, 1]),
            mother1=np.array([0, 0, 1, 1, 3, 3, 4, 4]), mother2=np.array([0, 0, 2, 2, 3, 3, 4, 4]),
            color1=color1, color2=color2, momenta=momenta, mass=mass,
        )


@lru_cache(maxsize=16)
def _shared_production_matrix(process: EEWW) -> np.ndarray:
    """The quadrature of σ_WW once per distinct process (a frozen dataclass: equal fields, equal hash)."""
    return process._quadrature()
