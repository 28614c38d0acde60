"""The five LEP angles of a semi-leptonic W⁺W⁻ → ℓνqq̄ event.

The frames are those of Hagiwara, Peccei, Zeppenfeld and Hikasa, Nucl. Phys. B282 (1987)
253 (section 3), as the LEP experiments used them for the triple-gauge-coupling fits (e.g.
L3, Phys. Lett. B586 (2004) 151, hep-ex/0402036; OPAL, Eur. Phys. J. C33 (2004) 463):

- the e⁺e⁻ centre-of-mass frame has the e⁻ beam along +z; Θ is the polar angle of the W⁻
  (reconstructed as ℓ⁻ν̄ or as the quark pair, whichever the lepton charge makes the W⁻);
- each W's helicity frame is its rest frame reached by a boost along its flight direction,
  with z′ along that direction, y′ along p(e⁻) × p(W) (normal to the production plane) and
  x′ = y′ × z′: the same rule for the W⁻ and the W⁺;
- θ_ℓ, φ_ℓ are the polar and azimuthal angles of the charged lepton in its W's frame, and
  θ_j, φ_j those of one quark in the hadronic W's frame. A quark jet cannot be told from an
  antiquark jet, so (θ_j, φ_j) and the other jet's (π − θ_j, φ_j + π) are one measurement:
  the angles are folded onto cos θ_j ≥ 0.

Both lepton charges share one distribution (CP, which the C- and P-conserving couplings
respect): with the frames above CP maps (cos Θ, cos θ, φ) of the ℓ⁻ events onto
(cos Θ, cos θ, π − φ) of the ℓ⁺ events, so the azimuths of ℓ⁺ events (lepton and jet) are
reported as π − φ. Events of either charge can then be pooled, as at LEP.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ANGLE_NAMES", "ww_angles"]

#: the names of the angles, in the order :func:`ww_angles` returns them.
ANGLE_NAMES = ("cos_theta_w", "cos_theta_l", "phi_l", "cos_theta_j", "phi_j")


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _helicity_axes(parent: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x′, y′, z′) of the helicity frame of bosons with lab four-momenta ``parent`` (n, 4)."""
    z_axis = _unit(parent[:, 1:])
    normal = np.cross(np.array([0.0, 0.0, 1.0]), z_axis)
    length = np.linalg.norm(normal, axis=-1, keepdims=True)
    # Along the beam the production plane is undefined (a set of measure zero): take y′ = ŷ.
    y_axis = np.where(length > 1e-12, normal / np.where(length > 0, length, 1.0), [0.0, 1.0, 0.0])
    return np.cross(y_axis, z_axis), y_axis, z_axis


def _rest_frame_direction(daughter: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Momentum (n, 3) of ``daughter`` in the rest frame of ``parent``, reached by a boost along the parent's flight."""
    mass = np.sqrt(np.maximum(parent[:, 0] ** 2 - np.sum(parent[:, 1:] ** 2, axis=1), 0.0))
    p_dot_k = np.sum(parent[:, 1:] * daughter[:, 1:], axis=1)
    factor = (p_dot_k / (parent[:, 0] + mass) - daughter[:, 0]) / mass
    return daughter[:, 1:] + factor[:, None] * parent[:, 1:]


def _decay_angles(daughter: np.ndarray, parent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x_axis, y_axis, z_axis = _helicity_axes(parent)
    direction = _unit(_rest_frame_direction(daughter, parent))
    cos_theta = np.clip(np.sum(direction * z_axis, axis=1), -1.0, 1.0)
    return cos_theta, np.arctan2(np.sum(direction * y_axis, axis=1), np.sum(direction * x_axis, axis=1))


def _wrap(phi: np.ndarray) -> np.ndarray:
    """An angle in (−π, π]."""
    return np.pi - np.mod(np.pi - phi, 2.0 * np.pi)


def ww_angles(lepton: np.ndarray, neutrino: np.ndarray, quark_a: np.ndarray, quark_b: np.ndarray,
              lepton_charge: np.ndarray) -> dict[str, np.ndarray]:
    """The production angle and the lepton's and the (folded) quark's decay angles of ℓνqq̄ events.

    Frames and folding as in the module docstring: HPZH helicity frames, e⁻ beam along +z,
    quark angles folded onto cos θ_j ≥ 0, azimuths of ℓ⁺ events reported as π − φ (CP).

    Args:
        lepton: the charged lepton's four-momenta (E, px, py, pz) in the e⁺e⁻ rest frame, shape (n, 4).
        neutrino: the neutrino's four-momenta, shape (n, 4).
        quark_a: one quark's (or jet's) four-momenta, shape (n, 4).
        quark_b: the other one's, shape (n, 4); which is which does not matter.
        lepton_charge: the charged lepton's charge (its sign is used), shape (n,).

    Returns:
        {name: shape (n,)} for the names :data:`ANGLE_NAMES`: ``cos_theta_w`` (cos Θ of the W⁻
        to the e⁻ beam), ``cos_theta_l``, ``phi_l`` (in (−π, π]), ``cos_theta_j`` (in [0, 1]),
        ``phi_j`` (in (−π, π]).

    Example:
        A W⁻ flying at 90° along +x with its lepton along its flight, and a W⁺ along −x whose
        quark flies along +y in its rest frame (there y′ = p(e⁻) × p(W⁺) points along −y):

        >>> p, e = 60.0, 100.0  # W momentum and energy; massless decay products
        >>> lepton = np.array([[(e + p) / 2, (e + p) / 2, 0, 0]])
        >>> neutrino = np.array([[(e - p) / 2, (p - e) / 2, 0, 0]])
        >>> k = np.sqrt((e**2 - p**2) / 4)  # the decay momentum in the W rest frame
        >>> quark_a = np.array([[e / 2, -p / 2, k, 0]])
        >>> quark_b = np.array([[e / 2, -p / 2, -k, 0]])
        >>> angles = ww_angles(lepton, neutrino, quark_a, quark_b, np.array([-1]))
        >>> {name: round(float(value[0]), 6) + 0.0 for name, value in angles.items()}
        {'cos_theta_w': 0.0, 'cos_theta_l': 1.0, 'phi_l': 0.0, 'cos_theta_j': 0.0, 'phi_j': -1.570796}
    """
    lepton, neutrino, quark_a, quark_b = (np.atleast_2d(np.asarray(v, dtype=float))
                                          for v in (lepton, neutrino, quark_a, quark_b))
    positive = np.asarray(lepton_charge) > 0
    leptonic, hadronic = lepton + neutrino, quark_a + quark_b
    w_minus = np.where(positive[:, None], hadronic, leptonic)
    cos_theta_l, phi_l = _decay_angles(lepton, leptonic)
    cos_theta_j, phi_j = _decay_angles(quark_a, hadronic)
    backward = cos_theta_j < 0.0
    cos_theta_j = np.abs(cos_theta_j)
    phi_j = np.where(backward, phi_j + np.pi, phi_j)
    phi_l, phi_j = (_wrap(np.where(positive, np.pi - phi, phi)) for phi in (phi_l, phi_j))
    return {
        "cos_theta_w": w_minus[:, 3] / np.linalg.norm(w_minus[:, 1:], axis=1),
        "cos_theta_l": cos_theta_l,
        "phi_l": phi_l,
        "cos_theta_j": cos_theta_j,
        "phi_j": phi_j,
    }
