"""Gold mining: training samples augmented with the joint likelihood ratio and joint score.

For an event with latent state z and weights w(z|θ) ∝ dσ(z|θ) (from morphing),

    r(x,z|θ₀,θ₁) = [w(z|θ₀)/σ(θ₀)] / [w(z|θ₁)/σ(θ₁)],
    t(x,z|θ)     = ∇_θ w(z|θ)/w(z|θ) − ∇_θ σ(θ)/σ(θ),

(arXiv:1805.00013 eqs. 7-8; arXiv:1805.00020 section 3.1). Events are drawn from the
weighted pool with probability ∝ w(z|θ), so the samples follow p(x,z|θ).

Negative weights (NLO samples) are refused with an error that names their fraction: drawn
∝ |w|, each sample would have to carry the sign as a weight through every training loss,
and log r(x,z) of a negative-weight event is undefined; MadMiner instead drops them with a
warning, which biases the sample silently. Unweight them first, then mine.
"""

from __future__ import annotations

import numpy as np

from goldmine.exceptions import EventFileError
from goldmine.io.samples import SAMPLE_FIELDS, TrainingSample
from goldmine.physics.parameters import ParameterSpace

__all__ = ["EventPool", "mine_local_score", "mine_ratio", "split_indices"]


def split_indices(n_events: int, test_fraction: float) -> tuple[slice, slice]:
    """Train and test partitions of an event file: the last ``test_fraction`` of events is the test set.

    Example:
        >>> split_indices(10, 0.2)
        (slice(0, 8, None), slice(8, 10, None))
    """
    n_test = int(round(n_events * test_fraction))
    return slice(0, n_events - n_test), slice(n_events - n_test, n_events)


class EventPool:
    """Weighted events and their morphing: weights, cross sections and joint scores at any θ
    (without morphing: at the benchmarks, scores at the reference, by finite differences).

    Args:
        space: the parameter space.
        observations: shape (n_events, n_observables).
        benchmark_weights: shape (n_events, n_benchmarks).
        source: where the events come from, for messages (e.g. the event file).

    Raises:
        EventFileError: naming ``source`` and the fraction of events with a negative weight at
            some benchmark (see the module docstring).
    """

    def __init__(self, space: ParameterSpace, observations: np.ndarray, benchmark_weights: np.ndarray,
                 source: str = "events") -> None:
        self.space = space
        self.observations = observations
        self.source = source
        negative = np.any(benchmark_weights < 0, axis=1)
        if negative.any():
            raise EventFileError(
                f"{source}: {_fraction(negative)} have a negative weight at some benchmark (first: event "
                f"{int(np.argmax(negative))}); mining samples events with probability proportional to their weight "
                f"and cannot use negative weights: unweight the sample first"
            )
        self.morphed = space.evaluator(benchmark_weights)

    def __len__(self) -> int:
        return len(self.observations)

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """w(z|θ) of every event, shape (n_events,)."""
        return self.morphed(theta)

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(θ) = Σ w(z|θ), scalar for θ of shape (p,), shape (m,) for (m, p)."""
        return self.morphed.total(theta)

    def cross_section_gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇σ(θ), shape (p,)."""
        return self.morphed.total_gradient(theta)

    def joint_score(self, theta: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """t(x,z|θ) of the events at ``indices``, shape (len(indices), p)."""
        events = self.morphed.take(indices)
        rate_term = self.cross_section_gradient(theta) / self.cross_section(theta)
        return events.gradient(theta) / events(theta)[:, None] - rate_term

    def log_joint_ratio(self, theta0: np.ndarray, theta1: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """log r(x,z|θ₀,θ₁) of the events at ``indices``."""
        events = self.morphed.take(indices)
        log_p0 = np.log(events(theta0)) - np.log(self.cross_section(theta0))
        log_p1 = np.log(events(theta1)) - np.log(self.cross_section(theta1))
        return log_p0 - log_p1

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Indices of n events drawn with probability ∝ w(z|θ) (with replacement).

        Raises:
            EventFileError: if some weight at θ is negative (θ outside the morphing's range of validity).
        """
        weights = self.weights(theta)
        negative = weights < 0
        if negative.any():
            raise EventFileError(f"{self.source}: {_fraction(negative)} have a negative weight at "
                                 f"theta={np.asarray(theta).tolist()}: outside the morphing's range of validity")
        cumulative = np.cumsum(weights)
        return np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right").clip(max=len(weights) - 1)


def _fraction(flags: np.ndarray) -> str:
    """How many events are flagged, in words: "3 of 1000 events (0.30%)"."""
    return f"{int(flags.sum())} of {len(flags)} events ({flags.mean():.2%})"


def mine_local_score(pool: EventPool, theta_ref: np.ndarray, n_samples: int, rng: np.random.Generator) -> TrainingSample:
    """A SALLY/SALLINO sample: x ~ p(x|θ_ref) with the joint score t(x,z|θ_ref)."""
    indices = pool.sample(theta_ref, n_samples, rng)
    theta = np.tile(theta_ref, (n_samples, 1))
    return TrainingSample(
        x=pool.observations[indices],
        theta0=theta,
        theta1=theta,
        y=np.zeros(n_samples),
        r_xz=np.ones(n_samples),
        t_xz=pool.joint_score(theta_ref, indices),
    )


def mine_ratio(
    pool: EventPool, thetas0: np.ndarray, theta1: np.ndarray, n_samples: int, rng: np.random.Generator
) -> TrainingSample:
    """A parameterised-ratio sample (CARL, ROLR, RASCAL, ALICE, ALICES, CASCAL).

    Half the samples are drawn at θ₀ (y = 0) and half at θ₁ (y = 1), each paired with
    its θ₀; every sample carries r(x,z|θ₀,θ₁) and t(x,z|θ₀).

    Args:
        pool: the weighted events.
        thetas0: the θ₀ points, shape (n_thetas, p); each gets an equal share of samples.
        theta1: the reference hypothesis θ₁, shape (p,).
        n_samples: total number of samples.
        rng: random generator.
    """
    n_thetas = len(thetas0)
    per_theta = np.full(n_thetas, n_samples // (2 * n_thetas))
    per_theta[: (n_samples // 2) % n_thetas] += 1
    parts: dict[str, list[np.ndarray]] = {field: [] for field in SAMPLE_FIELDS}
    for theta0, n in zip(thetas0, per_theta):
        if n == 0:
            continue
        for label, theta_sampling in ((0.0, theta0), (1.0, theta1)):
            indices = pool.sample(theta_sampling, n, rng)
            parts["x"].append(pool.observations[indices])
            parts["theta0"].append(np.tile(theta0, (n, 1)))
            parts["theta1"].append(np.tile(theta1, (n, 1)))
            parts["y"].append(np.full(n, label))
            parts["r_xz"].append(np.exp(pool.log_joint_ratio(theta0, theta1, indices)))
            parts["t_xz"].append(pool.joint_score(theta0, indices))
    arrays = {field: np.concatenate(values) for field, values in parts.items()}
    order = rng.permutation(len(arrays["x"]))
    return TrainingSample(**{field: values[order] for field, values in arrays.items()})
