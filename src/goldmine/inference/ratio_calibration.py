"""The calibration of a learned likelihood ratio on events drawn at θ_ref, independent of the test events
(``inference.ratio_calibration``, docs/ee_ww.md).

A true ratio r(x|θ, θ_ref) = p(x|θ)/p(x|θ_ref) has E_ref[r(x|θ)] = 1 at every θ and r(x|θ_ref) = 1; a
learned one need not. Two corrections, each a function of θ alone (the same for every event):

- the normalisation: log r̂(x|θ) − log Ê_cal[r̂(x|θ)/r̂(x|θ_ref)] over the calibration events, which
  removes any error of log r̂ that depends on θ only (a mis-normalised ratio; its slope at θ_ref is an
  estimator's mean score bias Ê_cal[t̂]);
- the control variate (θ − θ_ref)·(Ê_test[t̂] − Ê_cal[t̂]) of the estimator's own score t̂(x|θ_ref): zero in
  expectation, it removes the test sample's fluctuation as the estimator sees it (the shared control
  variate of :func:`~goldmine.inference.analysis.run_inference` is zero without an exact likelihood), and
  it replaces the shared one, which would remove that fluctuation a second time.

Together they leave q's linear term at θ_ref zero, as the exact likelihood's with its control variate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import logsumexp

from goldmine.exceptions import EventFileError
from goldmine.io.samples import open_training_sample

__all__ = ["RatioCalibration", "calibration_events"]


def calibration_events(path: str | Path, reference: np.ndarray, n_events: int) -> np.ndarray:
    """The first ``n_events`` observations of a ratio training sample drawn at θ₁ = θ_ref (``y = 1``).

    Those events follow p(x|θ_ref) and were mined from the training part of the events, so they are
    independent of the test events. The sample repeats an event where mining drew it twice, as any draw
    with replacement from weighted events does.

    Args:
        path: the ratio training sample (``goldmine mine``'s ``ratio.h5``).
        reference: θ_ref of the analysis.
        n_events: the most events to take.

    Returns:
        the observations, shape (≤ n_events, k).

    Raises:
        EventFileError: when the sample's θ₁ is not θ_ref, or it has no events at θ₁.

    Example:
        >>> import tempfile
        >>> from goldmine.io.samples import TrainingSample, write_training_sample
        >>> path = tempfile.mkdtemp() + "/ratio.h5"
        >>> y = np.array([0.0, 1.0, 1.0, 1.0])
        >>> write_training_sample(path, TrainingSample(np.arange(8.0).reshape(4, 2), np.zeros((4, 1)),
        ...                                            np.zeros((4, 1)), y, np.ones(4), np.zeros((4, 1))), {})
        >>> calibration_events(path, np.zeros(1), 2).tolist()
        [[2.0, 3.0], [4.0, 5.0]]
    """
    with open_training_sample(path) as sample:
        at_reference = np.flatnonzero(sample.y[()] == 1)
        if not len(at_reference):
            raise EventFileError(f"{path}: no events drawn at θ₁ (y = 1) to calibrate the learned ratios on")
        theta1 = np.unique(sample.theta1[()][at_reference], axis=0)
        if len(theta1) != 1 or not np.allclose(theta1[0], reference):
            raise EventFileError(f"{path}: the events at y = 1 are drawn at θ₁ = {theta1.tolist()}, "
                                 f"not at the analysis's reference point {np.asarray(reference).tolist()}")
        return sample.x[()][at_reference[:n_events]]


@dataclass(frozen=True)
class RatioCalibration:
    """The calibration of one learned ratio (an ensemble's members) on events drawn at θ_ref.

    Args:
        log_ratios: per ensemble member, θ of shape (m, p) → log r̂(x|θ, θ_ref) of every calibration
            event, shape (m, n) (e.g. a :class:`~goldmine.ml.estimators.LogRatioTable`).
        scores: the ensemble mean of t̂(x|θ_ref) = ∇θ log r̂ on the calibration events, shape (n, p).
        reference: θ_ref.

    Example:
        >>> x = np.array([-1.0, 0.0, 1.0])
        >>> # log r = θx + 0.2θ: the error 0.2θ, a score bias of 0.2, goes into the normaliser
        >>> biased = RatioCalibration([lambda t: t * x + 0.2 * t], x[:, None] + 0.2, np.zeros(1))
        >>> bool(np.allclose(biased.log_normaliser(np.array([[0.5]])), np.log(np.mean(np.exp(0.5 * x))) + 0.1))
        True
        >>> biased.mean_score.round(6).tolist(), biased.control(x[:, None] + 0.2, np.ones(3)).round(6).tolist()
        ([0.2], [0.0])
    """

    log_ratios: Sequence[Callable[[np.ndarray], np.ndarray]]
    scores: np.ndarray
    reference: np.ndarray
    # (member, θ) → its log normaliser: the scan, the bootstrap and the closure ask for the same θ again
    _normalisers: dict[tuple[int, bytes], float] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_events(self) -> int:
        """The number of calibration events."""
        return len(self.scores)

    @property
    def mean_score(self) -> np.ndarray:
        """Ê_cal[t̂(x|θ_ref)], shape (p,): zero for an unbiased estimator, up to the calibration's noise."""
        return self.scores.mean(axis=0)

    @property
    def mean_score_error(self) -> np.ndarray:
        """The standard error of :attr:`mean_score`, shape (p,)."""
        return self.scores.std(axis=0) / np.sqrt(self.n_events)

    def log_normaliser(self, thetas: np.ndarray, member: int | None = None) -> np.ndarray:
        """log Ê_cal[r̂(x|θ)/r̂(x|θ_ref)] at every θ, shape (m,): of one member, or (None) the members' mean,
        the normaliser of the ensemble mean of log r̂.

        The ratio is pinned to r̂(x|θ_ref) = 1 first (which a network is not): the normaliser's slope at
        θ_ref is then Ê_cal[t̂] exactly, so that with :meth:`control` the test events' mean score cancels.
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        members = range(len(self.log_ratios)) if member is None else [member]
        return np.mean([self._member(m, thetas) for m in members], axis=0)

    def _member(self, member: int, thetas: np.ndarray) -> np.ndarray:
        keys = [(member, theta.tobytes()) for theta in thetas]
        missing = [i for i, key in enumerate(keys) if key not in self._normalisers]
        if missing:
            log_ratio = self.log_ratios[member]
            pinned = log_ratio(self.reference[None])[0]
            values = logsumexp(log_ratio(thetas[missing]) - pinned, axis=1) - np.log(self.n_events)
            self._normalisers.update((keys[i], float(value)) for i, value in zip(missing, values))
        return np.array([self._normalisers[key] for key in keys])

    def control(self, test_scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The control variate Ê_test[t̂] − Ê_cal[t̂], shape (p,), from the test events' t̂(x|θ_ref), shape (n, p),
        and their weights at θ_ref."""
        return weights @ test_scores / weights.sum() - self.mean_score
