"""Gold mining: joint ratio and joint score of the augmented samples."""

import numpy as np
import pytest

from goldmine import mining
from goldmine.exceptions import EventFileError
from goldmine.io import events, samples


@pytest.fixture(scope="module")
def pool(analysis):
    space = events.read_parameter_space(analysis.events)
    sample = events.read(analysis.events)
    return mining.EventPool(space, sample.observations, sample.weights)


def test_joint_score_is_the_gradient_of_the_log_joint_density(pool):
    theta = np.array([0.05, -0.1])
    indices = np.arange(0, len(pool), 97)
    step = 1e-6
    finite = np.stack([
        (pool.log_joint_ratio(theta + step * e, theta, indices) - pool.log_joint_ratio(theta - step * e, theta, indices))
        / (2 * step) for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(pool.joint_score(theta, indices), finite, rtol=1e-5, atol=1e-7)


def test_local_score_sample_has_zero_mean_score(pool):
    sample = mining.mine_local_score(pool, np.zeros(2), 50_000, np.random.default_rng(1))
    error = sample.t_xz.std(axis=0) / np.sqrt(len(sample))
    assert np.all(np.abs(sample.t_xz.mean(axis=0)) < 4 * error)


def test_ratio_sample_joint_ratio_averages_to_one_under_the_reference(pool):
    """E_{θ₁}[r(x,z|θ₀,θ₁)] = 1 and E_{θ₀}[1/r(x,z|θ₀,θ₁)] = 1."""
    rng = np.random.default_rng(2)
    thetas0 = pool.space.sample_uniform(20, rng)
    sample = mining.mine_ratio(pool, thetas0, np.zeros(2), 40_000, rng)
    reference, numerator = sample.y == 1, sample.y == 0
    assert reference.sum() == numerator.sum() == 20_000
    for values in (sample.r_xz[reference], 1 / sample.r_xz[numerator]):
        assert values.mean() == pytest.approx(1.0, abs=4 * values.std() / np.sqrt(len(values)))


def test_mining_is_deterministic_for_a_seed(pool):
    first = mining.mine_ratio(pool, np.array([[0.1, 0.1]]), np.zeros(2), 1000, np.random.default_rng(9))
    second = mining.mine_ratio(pool, np.array([[0.1, 0.1]]), np.zeros(2), 1000, np.random.default_rng(9))
    for field in ("x", "theta0", "y", "r_xz", "t_xz"):
        np.testing.assert_array_equal(getattr(first, field), getattr(second, field))


def test_training_sample_round_trip(tmp_path, pool, analysis):
    sample = mining.mine_local_score(pool, np.zeros(2), 100, np.random.default_rng(3))
    path = tmp_path / "sally.h5"
    samples.write_training_sample(path, sample, {"method": "sally"})
    again = samples.read_training_sample(path)
    np.testing.assert_array_equal(again.t_xz, sample.t_xz)
    import h5py

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["x"] = np.zeros(3)
    with pytest.raises(EventFileError, match=r"other.h5: an HDF5 file but neither goldmine's nor MadMiner's"):
        samples.read_training_sample(other)
    with pytest.raises(EventFileError, match="a goldmine event file, where a training-sample file is needed"):
        samples.read_training_sample(analysis.events)
