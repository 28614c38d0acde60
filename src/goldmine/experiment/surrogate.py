"""The Gaussian-process surrogate of the EIG over an experiment variable, and its proposals.

BoTorch (Balandat et al. 2020, arXiv:1910.06403) is the model: a GP with the evaluations'
Monte-Carlo variances as fixed, known noise (``SingleTaskGP`` with ``train_Yvar``), fitted by
maximum marginal likelihood, and the q-batch log noisy expected improvement (Ament et al.
2023, arXiv:2310.20708), whose q points a round evaluates in parallel. Noisy expected
improvement, rather than UCB, because the best EIG so far is itself only known to its MC
error. Settings live in [low, high] and are scaled to [0, 1] for the model; EIGs are
standardised by the model's outcome transform. Everything runs in float64 with fixed seeds
(the QMC sampler's, the optimiser's restarts'), so the same history gives the same proposal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Surrogate", "fit_surrogate", "initial_settings", "propose"]

#: the acquisition optimiser's candidate starts (Sobol points, scored first), the restarts kept from them,
#: and the QMC samples of the posterior: ample for one variable, where the acquisition has few optima.
_RAW_SAMPLES, _RESTARTS, _QMC_SAMPLES = 128, 4, 128


def initial_settings(n: int, bounds: tuple[float, float], seed: int) -> list[float]:
    """The first round: ``n`` settings of a scrambled Sobol sequence over the range (space-filling, seeded).

    Example:
        >>> settings = initial_settings(4, (60.0, 250.0), seed=0)
        >>> len(settings), all(60.0 <= x <= 250.0 for x in settings)
        (4, True)
    """
    import torch

    engine = torch.quasirandom.SobolEngine(1, scramble=True, seed=seed)
    unit = engine.draw(n, dtype=torch.float64).numpy().ravel()
    low, high = bounds
    return [float(low + (high - low) * u) for u in unit]


@dataclass(frozen=True)
class Surrogate:
    """A fitted GP over one experiment variable in [low, high]."""

    model: object
    bounds: tuple[float, float]

    def _unit(self, settings: np.ndarray):
        import torch

        low, high = self.bounds
        return torch.as_tensor((np.asarray(settings, dtype=float) - low) / (high - low),
                               dtype=torch.float64).reshape(-1, 1)

    def posterior(self, settings: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the latent EIG (without the evaluations' noise) at ``settings``."""
        import torch

        with torch.no_grad():
            posterior = self.model.posterior(self._unit(settings))
            mean = posterior.mean.squeeze(-1).numpy()
            std = posterior.variance.clamp_min(0.0).sqrt().squeeze(-1).numpy()
        return mean.copy(), std.copy()


def fit_surrogate(settings: Sequence[float], eigs: Sequence[float], errors: Sequence[float],
                  bounds: tuple[float, float]) -> Surrogate:
    """Fit the GP to evaluated settings with their EIGs and MC errors (known noise).

    Args:
        settings: the evaluated values of the experiment variable.
        eigs: their EIGs.
        errors: their MC errors; floored at 10⁻³ of the EIGs' spread, GPyTorch's own floor of the
            standardised noise variance (10⁻⁶), which keeps the kernel matrix invertible.
        bounds: (low, high) of the variable.
    """
    import torch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from gpytorch.mlls import ExactMarginalLogLikelihood

    low, high = bounds
    x = torch.as_tensor((np.asarray(settings, dtype=float) - low) / (high - low), dtype=torch.float64).reshape(-1, 1)
    y = torch.as_tensor(np.asarray(eigs, dtype=float), dtype=torch.float64).reshape(-1, 1)
    spread = float(y.std()) if len(y) > 1 and float(y.std()) > 0 else 1.0
    variance = torch.as_tensor(np.maximum(np.square(errors), (1e-3 * spread) ** 2),
                               dtype=torch.float64).reshape(-1, 1)
    model = SingleTaskGP(x, y, train_Yvar=variance, outcome_transform=Standardize(m=1))
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return Surrogate(model, (float(low), float(high)))


def propose(surrogate: Surrogate, q: int, seed: int) -> list[float]:
    """The next ``q`` settings, jointly maximising the q-batch log noisy expected improvement.

    Args:
        surrogate: the GP fitted to every evaluation so far.
        q: settings to evaluate in parallel in the next round.
        seed: of the QMC sampler and the optimiser's random restarts.

    Returns:
        list: q settings in [low, high].
    """
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.optim import optimize_acqf
    from botorch.sampling import SobolQMCNormalSampler

    torch.manual_seed(seed)
    model = surrogate.model
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([_QMC_SAMPLES]), seed=seed)
    acquisition = qLogNoisyExpectedImprovement(model, model.train_inputs[0], sampler=sampler)
    unit_box = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    candidates, _ = optimize_acqf(acquisition, unit_box, q=q, num_restarts=_RESTARTS, raw_samples=_RAW_SAMPLES,
                                  options={"seed": seed})
    low, high = surrogate.bounds
    return [float(low + (high - low) * u) for u in candidates.detach().numpy().ravel()]
