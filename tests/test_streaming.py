"""Bounded memory: mining streamed from the event file equals mining in memory, and training
streams its sample from the file, learns as well as in memory, reproducibly and resumably."""

from __future__ import annotations

import copy
import hashlib
import io

import numpy as np
import pytest
import torch

from goldmine import mining, stages
from goldmine.exceptions import ConfigError
from goldmine.io import events, samples
from goldmine.ml import trainer
from goldmine.ml.estimators import evaluate_score, train_estimator
from goldmine.ml.models import ScoreModel


@pytest.fixture(scope="module")
def pools(analysis, monkeypatch_module):
    """The analysis's events as an in-memory pool and streamed from the file in blocks of one unit."""
    space = events.read_parameter_space(analysis.events)
    whole = events.read(analysis.events)
    # Blocks of one unit (8192 events): the file is read in 13 blocks rather than one.
    monkeypatch_module.setattr(mining, "_STEP", mining._UNIT)
    return mining.EventPool(space, whole.observations, whole.weights), mining.EventPool.from_file(analysis.events)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_streamed_mining_equals_mining_in_memory(pools):
    in_memory, streamed = pools
    assert len(streamed) == len(in_memory) > 10 * mining._UNIT
    space = in_memory.space
    np.testing.assert_array_equal(streamed.cross_section(space.benchmarks), in_memory.cross_section(space.benchmarks))
    for pool_samples in zip(*[
        (mining.mine_local_score(pool, np.zeros(2), 3000, np.random.default_rng(5)),
         mining.mine_ratio(pool, space.sample_uniform(40, np.random.default_rng(6)), np.zeros(2), 6000,
                           np.random.default_rng(7)))
        for pool in pools
    ]):
        first, second = pool_samples
        for field in samples.SAMPLE_FIELDS:  # bit for bit
            np.testing.assert_array_equal(getattr(first, field), getattr(second, field))


def test_drawn_events_follow_the_weights(pools):
    """Each event is drawn with probability w_e(θ)/σ(θ): the drawn fraction of the events with
    x₀ above its median at θ matches their share of σ(θ) within 4 binomial standard errors."""
    in_memory, streamed = pools
    theta = np.array([0.15, -0.1])
    (drawn,) = streamed.draw(theta[None], [20_000], np.random.default_rng(3))
    observations = in_memory.observations
    upper = observations[:, 0] > np.median(observations[:, 0])
    share = in_memory.weights(theta)[upper].sum() / in_memory.cross_section(theta)
    assert upper[drawn].mean() == pytest.approx(share, abs=4 * np.sqrt(share * (1 - share) / 20_000))


def test_mining_stage_streams_without_reading_the_events_whole(analysis, tmp_path):
    """The stage mines from the file: its samples equal those of an in-memory pool of the train part."""
    config = copy.deepcopy(analysis.config)
    config["mining"].update(n_thetas=20, samples={"local_score": 2000, "ratio": 4000})
    paths = stages.mine(config, analysis.events, tmp_path / "l.h5", tmp_path / "r.h5", tmp_path / "t.h5")
    train_part, _ = mining.split_indices(events.count(analysis.events), config["mining"]["test_fraction"])
    part = events.read(analysis.events, train_part.start, train_part.stop)
    pool = mining.EventPool(events.read_parameter_space(analysis.events), part.observations, part.weights)
    rng = np.random.default_rng(config["mining"]["seed"])
    expected = mining.mine_local_score(pool, np.zeros(2), config["mining"]["samples"]["local_score"], rng)
    np.testing.assert_array_equal(samples.read_training_sample(paths["local_score"]).t_xz, expected.t_xz)


# ----------------------------------------------------------------------------- streaming training

def toy_score_sample(n: int, rng: np.random.Generator) -> samples.TrainingSample:
    """The local-score toy of test_training: z ~ N(0, 1), x = z + N(0, 1), t(x,z|0) = z, so t(x|0) = x/2."""
    z = rng.normal(0, 1, (n, 1))
    zeros = np.zeros((n, 1))
    return samples.TrainingSample(x=z + rng.normal(0, 1, (n, 1)), theta0=zeros, theta1=zeros, y=zeros[:, 0],
                                  r_xz=np.ones(n), t_xz=z)


SETTINGS = dict(hidden=[16], activation="tanh", epochs=4, batch_size=256, learning_rate=0.01,
                validation_fraction=0.2, patience=4, seed=1)


@pytest.fixture(scope="module")
def toy_sample_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "score.h5"
    samples.write_training_sample(path, toy_score_sample(10_000, np.random.default_rng(4)), {})
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as goldmine trains (training.threads): sums in a fixed order, bit-reproducible."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _state_digest(model: torch.nn.Module) -> str:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def test_streamed_training_learns_as_well_as_in_memory_and_is_reproducible(toy_sample_file):
    """SALLY on the toy (t(x|0) = x/2 known), streamed in blocks of 1024 rows (8 blocks per
    epoch) and in memory: the mean squared error of t̂ against x/2 stays below 3% of Var(t) =
    0.5 (both reach about 0.5% in 4 epochs; the margin covers the different validation split
    and batch order), and a second streamed run gives the same bytes."""
    x = np.random.default_rng(99).normal(0, np.sqrt(2), (4000, 1))
    ranges = np.array([[-1.0, 1.0]])
    digests = []
    for streaming in (False, True, True):
        with samples.open_training_sample(toy_sample_file) as opened:
            sample = opened if streaming else samples.read_training_sample(toy_sample_file)
            model, history = train_estimator("sally", sample, ranges, SETTINGS, progress=False,
                                             streaming=streaming, block_rows=1024)
        mse = np.mean((evaluate_score(model, x) - x / 2) ** 2)
        assert mse < 0.03 * 0.5, (streaming, mse)
        digests.append(_state_digest(model))
    assert digests[1] == digests[2]


def test_streamed_training_resumes_to_the_same_model(toy_sample_file, tmp_path):
    """Killed in its third epoch (an exception from the loss), a streamed training resumes from
    its checkpoint to the model of an uninterrupted one, bit for bit."""

    def make(fail_at: int | None):
        calls = {"n": 0}

        def loss(model, batch):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise KeyboardInterrupt
            return ((model(batch["x"]) - batch["t_xz"]) ** 2).mean()

        return loss

    # An epoch: 32 training batches (8000 rows in blocks of 1024) and 2 validation blocks.
    digests = []
    with samples.open_training_sample(toy_sample_file) as sample:
        data = {"x": sample.x, "t_xz": sample.t_xz}
        options = dict(epochs=4, batch_size=256, learning_rate=0.003, validation_fraction=0.2, patience=4, seed=2,
                       progress=False, streaming=True, block_rows=1024)
        for fail_at, checkpoint in ((None, None), (2 * 34 + 10, tmp_path / "c"), (None, tmp_path / "c")):
            model = ScoreModel(1, 1, [16])
            model.set_scaling(sample.x, np.array([[-1.0, 1.0]]))
            try:
                trainer.train(model, make(fail_at), data, checkpoint=checkpoint, **options)
            except KeyboardInterrupt:
                assert checkpoint.exists()
                continue
            digests.append(_state_digest(model))
    assert digests[0] == digests[1]


def test_streaming_setting(tmp_path, toy_sample_file):
    assert stages._streams("auto", "sally", toy_sample_file) is False  # 10k rows, far below 2 GiB
    assert stages._streams(True, "sally", toy_sample_file) is True
    assert stages._streams("auto", "nde", toy_sample_file) is False
    with pytest.raises(ConfigError, match="'training.streaming': true, but nde cannot stream"):
        stages._streams(True, "nde", toy_sample_file)
