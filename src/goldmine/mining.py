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

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from goldmine.exceptions import EventFileError
from goldmine.io.samples import SAMPLE_FIELDS, TrainingSample
from goldmine.physics.morphing import Morphed
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


#: rows per unit of work: every per-event computation runs on the same aligned units of rows,
#: whether the events sit in memory or stream from a file, so both give identical bytes.
_UNIT = 8192
#: rows read from an event file at a time (a multiple of :data:`_UNIT`).
_STEP = 32 * _UNIT


class EventPool:
    """Weighted events and their morphing: weights, cross sections and joint scores at any θ
    (without morphing: at the benchmarks, scores at the reference, by finite differences).

    The events sit in memory (the constructor) or stream from an event file in blocks
    (:meth:`from_file`, bounded memory: only the drawn events are ever held). Both run the
    same computations on the same aligned units of rows, so they give identical results.

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
        def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            yield observations, benchmark_weights

        self._setup(space, blocks, source)

    @classmethod
    def from_file(cls, path: str | Path, start: int = 0, stop: int | None = None) -> EventPool:
        """The events ``start`` to ``stop`` of an event file, streamed in blocks whenever they are used.

        Example:
            >>> import tempfile
            >>> from goldmine.io import events
            >>> from goldmine.physics.parameters import build_parameter_space
            >>> space = build_parameter_space(("c",), {"c": (-1, 1)}, (1,), 1, n_trials=5)
            >>> path = tempfile.mkdtemp() + "/events.h5"
            >>> block = events.Events(np.arange(3.0)[:, None], np.array([[1.0, 2.0]] * 3), np.zeros(3, int))
            >>> _ = events.write(path, space, ["x"], ["x"], block)
            >>> pool = EventPool.from_file(path, stop=2)
            >>> len(pool), float(pool.cross_section(space.benchmarks[0]))
            (2, 2.0)
        """
        from goldmine.io import events

        def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
            for block in events.iterate(path, step_size=_STEP, start=start, stop=stop):
                yield block.observations, block.weights

        pool = cls.__new__(cls)
        pool._setup(events.read_parameter_space(path), blocks, str(path))
        return pool

    def _setup(self, space: ParameterSpace, blocks: Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]],
               source: str) -> None:
        self.space = space
        self.source = source
        self._blocks = blocks
        totals, n, negative, first_negative = np.zeros(len(space.benchmarks)), 0, 0, None
        for first, _, weights in self._units():
            flagged = np.any(weights < 0, axis=1)
            if flagged.any() and first_negative is None:
                first_negative = first + int(np.argmax(flagged))
            negative += int(flagged.sum())
            # Summed unit by unit in order: the same bytes whatever the blocks.
            totals += weights.sum(axis=0)
            n += len(weights)
        self._n = n
        if negative:
            raise EventFileError(
                f"{source}: {_count(negative, n)} have a negative weight at some benchmark (first: event "
                f"{first_negative}); mining samples events with probability proportional to their weight "
                f"and cannot use negative weights: unweight the sample first"
            )
        self._total = space.evaluator(totals[None, :])

    def _units(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(index of the first event, observations, benchmark weights) of consecutive units of rows."""
        first = 0
        for observations, weights in self._blocks():
            for begin in range(0, len(weights), _UNIT):
                yield first + begin, observations[begin : begin + _UNIT], weights[begin : begin + _UNIT]
            first += len(weights)

    def __len__(self) -> int:
        return self._n

    @property
    def observations(self) -> np.ndarray:
        """All observations, shape (n_events, n_observables) (read whole from a file)."""
        return np.concatenate([observations for _, observations, _ in self._units()])

    def weights(self, theta: np.ndarray) -> np.ndarray:
        """w(z|θ) of every event, shape (n_events,) (read whole from a file)."""
        return np.concatenate([self.space.evaluator(weights)(theta) for _, _, weights in self._units()])

    def cross_section(self, theta: np.ndarray) -> np.ndarray:
        """σ(θ) = Σ w(z|θ), scalar for θ of shape (p,), shape (m,) for (m, p)."""
        return self._total(theta)[..., 0]

    def cross_section_gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇σ(θ), shape (p,)."""
        return self._total.gradient(theta)[..., 0, :]

    def take(self, indices: np.ndarray) -> tuple[np.ndarray, Morphed]:
        """The observations and the morphed weights of the events at ``indices`` (any order, repeats allowed)."""
        indices = np.asarray(indices, dtype=np.int64)
        wanted, inverse = np.unique(indices, return_inverse=True)
        observations, weights = [], []
        for first, unit_observations, unit_weights in self._units():
            low, high = np.searchsorted(wanted, [first, first + len(unit_weights)])
            local = wanted[low:high] - first
            observations.append(unit_observations[local])
            weights.append(unit_weights[local])
        if not observations:
            raise EventFileError(f"{self.source}: no events to take")
        observations, weights = np.concatenate(observations), np.concatenate(weights)
        return observations[inverse], self.space.evaluator(weights[inverse])

    def joint_score(self, theta: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """t(x,z|θ) of the events at ``indices``, shape (len(indices), p)."""
        return self._joint_score(theta, self.take(indices)[1])

    def log_joint_ratio(self, theta0: np.ndarray, theta1: np.ndarray, indices: np.ndarray) -> np.ndarray:
        """log r(x,z|θ₀,θ₁) of the events at ``indices``."""
        return self._log_joint_ratio(theta0, theta1, self.take(indices)[1])

    def _joint_score(self, theta: np.ndarray, events: Morphed) -> np.ndarray:
        rate_term = self.cross_section_gradient(theta) / self.cross_section(theta)
        return events.gradient(theta) / events(theta)[:, None] - rate_term

    def _log_joint_ratio(self, theta0: np.ndarray, theta1: np.ndarray, events: Morphed) -> np.ndarray:
        log_p0 = np.log(events(theta0)) - np.log(self.cross_section(theta0))
        log_p1 = np.log(events(theta1)) - np.log(self.cross_section(theta1))
        return log_p0 - log_p1

    def draw(self, thetas: np.ndarray, counts: Sequence[int], rng: np.random.Generator) -> list[np.ndarray]:
        """Indices of ``counts[k]`` events drawn with probability ∝ w(z|θ_k) (with replacement)
        for every θ_k, in one pass over the events.

        The uniform numbers are drawn θ by θ in order, so a θ's draws do not depend on the others'.

        Args:
            thetas: shape (m, p).
            counts: events to draw at each θ, length m.
            rng: random generator.

        Returns:
            list: one index array per θ, of length ``counts[k]``.

        Raises:
            EventFileError: if some weight at a θ is negative (θ outside the morphing's range of validity).
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        # The same θ (the reference of every ratio pair) is evaluated once.
        unique, column = np.unique(thetas, axis=0, return_inverse=True)
        column = column.ravel()
        targets = [rng.random(int(n)) * self.cross_section(theta) for theta, n in zip(thetas, counts)]
        order = [np.argsort(values, kind="stable") for values in targets]
        ordered = [values[o] for values, o in zip(targets, order)]
        found = [np.full(len(values), self._n - 1, dtype=np.int64) for values in targets]
        pending = np.zeros(len(thetas), dtype=np.int64)
        upcoming = np.array([values[0] if len(values) else np.inf for values in ordered])
        carry = np.zeros(len(unique))
        negative = np.zeros(len(unique), dtype=np.int64)
        for first, _, weights in self._units():
            unit_weights = self.space.evaluator(weights)(unique).T  # (rows, unique θ)
            negative += (unit_weights < 0).sum(axis=0)
            cumulative = np.cumsum(np.vstack([carry, unit_weights]), axis=0)[1:]
            carry = cumulative[-1]
            # Only the θ whose next target falls in this unit need a search.
            for k in np.flatnonzero(upcoming < carry[column]):
                values, low = ordered[k], pending[k]
                high = np.searchsorted(values, carry[column[k]], side="left")
                found[k][low:high] = first + np.searchsorted(cumulative[:, column[k]], values[low:high], side="right")
                pending[k] = high
                upcoming[k] = values[high] if high < len(values) else np.inf
        if negative.any():
            bad = int(np.argmax(negative > 0))
            raise EventFileError(f"{self.source}: {_count(int(negative[bad]), self._n)} have a negative weight at "
                                 f"theta={unique[bad].tolist()}: outside the morphing's range of validity")
        indices = []
        for values, o in zip(found, order):
            drawn = np.empty_like(values)
            drawn[o] = values.clip(max=self._n - 1)
            indices.append(drawn)
        return indices


def _count(flagged: int, n: int) -> str:
    """How many events are flagged, in words: "3 of 1000 events (0.30%)"."""
    return f"{flagged} of {n} events ({flagged / n:.2%})"


def mine_local_score(pool: EventPool, theta_ref: np.ndarray, n_samples: int,
                     rng: np.random.Generator) -> TrainingSample:
    """A SALLY/SALLINO sample: x ~ p(x|θ_ref) with the joint score t(x,z|θ_ref)."""
    (indices,) = pool.draw(np.atleast_2d(theta_ref), [n_samples], rng)
    observations, events = pool.take(indices)
    theta = np.tile(theta_ref, (n_samples, 1))
    return TrainingSample(
        x=observations,
        theta0=theta,
        theta1=theta,
        y=np.zeros(n_samples),
        r_xz=np.ones(n_samples),
        t_xz=pool._joint_score(theta_ref, events),
    )


def mine_ratio(
    pool: EventPool, thetas0: np.ndarray, theta1: np.ndarray, n_samples: int, rng: np.random.Generator
) -> TrainingSample:
    """A parameterised-ratio sample (CARL, ROLR, RASCAL, ALICE, ALICES, CASCAL).

    Half the samples are drawn at θ₀ (y = 0) and half at θ₁ (y = 1), each paired with
    its θ₀; every sample carries r(x,z|θ₀,θ₁) and t(x,z|θ₀). All draws take one pass over
    the events and the drawn events a second.

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
    pairs = [(theta0, label, theta_sampling, n) for theta0, n in zip(thetas0, per_theta) if n > 0
             for label, theta_sampling in ((0.0, theta0), (1.0, theta1))]
    drawn = pool.draw(np.array([pair[2] for pair in pairs]), [pair[3] for pair in pairs], rng)
    observations, events = pool.take(np.concatenate(drawn))
    parts: dict[str, list[np.ndarray]] = {field: [] for field in SAMPLE_FIELDS}
    first = 0
    for theta0, label, _, n in pairs:
        rows = events.take(slice(first, first + n))
        parts["x"].append(observations[first : first + n])
        parts["theta0"].append(np.tile(theta0, (n, 1)))
        parts["theta1"].append(np.tile(theta1, (n, 1)))
        parts["y"].append(np.full(n, label))
        parts["r_xz"].append(np.exp(pool._log_joint_ratio(theta0, theta1, rows)))
        parts["t_xz"].append(pool._joint_score(theta0, rows))
        first += n
    arrays = {field: np.concatenate(values) for field, values in parts.items()}
    order = rng.permutation(len(arrays["x"]))
    return TrainingSample(**{field: values[order] for field, values in arrays.items()})
