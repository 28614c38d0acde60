"""Training loop: tensors kept on the device, shuffled mini-batches, early stopping, checkpoints.

No per-sample Python loop and no DataLoader: the whole sample sits in one tensor per
field on the device and batches are slices of a seeded permutation, so a fixed seed
gives the same model bit for bit on CPU. A sample larger than memory is streamed instead
(``streaming``): its fields stay in the HDF5 file, each epoch visits the blocks of the
training part in a seeded random order and shuffles the rows within each block, so memory
holds one block, and a fixed seed still gives the same model bit for bit. With a checkpoint file, the full training
state (weights, optimiser, schedule, random generator, history) is written atomically
after every epoch and a killed training resumes where it stopped, to the same model.
A checkpoint is resumed only when it was made by the same training: the same network,
hyperparameters and data (a fingerprint of all three is stored in it); otherwise, or when
it cannot be read safely (``torch.load(weights_only=True)``: a checkpoint holds tensors and
plain values, never code), training starts afresh and says why. On CUDA the forward pass
runs in bfloat16 autocast (mixed precision).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from goldmine.io.atomic import atomic_output

__all__ = ["BLOCK_ROWS", "TRAINING_SETTINGS", "TrainingHistory", "choose_device", "train"]

#: rows read from the sample file at a time when streaming (rounded down to whole batches).
BLOCK_ROWS = 2**18
#: the keys of a config's network section that are :func:`train`'s keyword arguments.
TRAINING_SETTINGS = ("epochs", "batch_size", "learning_rate", "validation_fraction", "patience", "seed")

log = logging.getLogger(__name__)

LossFunction = Callable[[nn.Module, Mapping[str, torch.Tensor]], torch.Tensor]
#: a field of the sample: an array, or (streaming) anything sliced like one, e.g. an ``h5py.Dataset``.
Field = np.ndarray | Sequence


@dataclass
class TrainingHistory:
    """Loss per epoch on the training and validation parts, and the epoch kept."""

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def choose_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def train(
    model: nn.Module,
    loss_function: LossFunction,
    data: Mapping[str, np.ndarray],
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    validation_fraction: float,
    patience: int,
    seed: int,
    device: torch.device | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    streaming: bool = False,
    block_rows: int = BLOCK_ROWS,
) -> TrainingHistory:
    """Train ``model`` with Adam; keep the weights of the epoch with the lowest validation loss.

    Args:
        model: the network (moved to ``device`` and float32).
        loss_function: (model, batch of tensors) → scalar loss.
        data: field name → array, all with the same first dimension (with ``streaming``:
            array-likes read by slices, e.g. the datasets of an open HDF5 sample file).
        epochs: maximum number of epochs.
        batch_size: samples per step.
        learning_rate: Adam's step size (decays by cosine annealing to 1% over the epochs).
        validation_fraction: share of the samples held out for early stopping.
        patience: epochs without improvement before stopping.
        seed: seeds the split, the shuffling and the initial weights.
        device: where to train; :func:`choose_device` by default.
        checkpoint: file for the training state; resumed from when it exists.
        progress: show a progress bar.
        streaming: read the data block by block instead of holding it (see the module
            docstring); the first ``validation_fraction`` of the rows is then the validation
            part (mining shuffles its samples), and the training differs from the in-memory one.
        block_rows: rows per block when streaming.

    Returns:
        TrainingHistory.
    """
    device = device or choose_device()
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            module.reset_parameters()
    model.to(device=device, dtype=torch.float32)

    n = len(next(iter(data.values())))
    n_validation = max(1, int(round(n * validation_fraction)))
    n_train = n - n_validation
    if streaming:
        block_rows = max(1, block_rows // batch_size) * batch_size  # whole batches, but for the last block
        train_part = _Streamed(data, n_validation, n, block_rows, device)
        validation_part = _Streamed(data, 0, n_validation, block_rows, device)
    else:
        order = torch.randperm(n, generator=generator)
        tensors = {key: torch.as_tensor(np.asarray(value), dtype=torch.float32)[order].to(device)
                   for key, value in data.items()}
        train_part = {key: value[n_validation:] for key, value in tensors.items()}
        validation_part = {key: value[:n_validation] for key, value in tensors.items()}

    # The fused Adam kernel updates every parameter in one call (a third of a small network's step time).
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=0.01 * learning_rate)
    state = {"history": TrainingHistory(), "best_state": copy.deepcopy(model.state_dict()), "best_loss": np.inf,
             "stale": 0, "epoch": -1}
    fingerprint = _fingerprint(model, data, epochs=epochs, batch_size=batch_size, learning_rate=learning_rate,
                               validation_fraction=validation_fraction, patience=patience, seed=seed,
                               streaming=streaming, block_rows=block_rows if streaming else None)
    saved = _resumable_checkpoint(checkpoint, fingerprint, device) if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        state = dict(saved["state"], history=TrainingHistory(**saved["state"]["history"]))
    # Entering even a disabled autocast costs as much as a small network's step on the CPU.
    autocast = (torch.autocast(device_type="cuda", dtype=torch.bfloat16) if device.type == "cuda"
                else contextlib.nullcontext())

    first_epoch = state["epoch"] + 1
    finished = state["stale"] >= patience
    bar = tqdm(range(first_epoch, epochs), desc=f"training {type(model).__name__}", unit="epoch",
               disable=not progress or finished, initial=first_epoch, total=epochs)
    for epoch in bar:
        if finished:
            break
        model.train()
        batch_losses, sizes = [], []
        for batch in _shuffled_batches(train_part, batch_size, generator, device):
            with autocast:
                loss = loss_function(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            batch_losses.append(loss.detach())
            sizes.append(len(next(iter(batch.values()))))
        total = (torch.stack(batch_losses).float() * torch.tensor(sizes, device=device)).sum()
        scheduler.step()
        model.eval()
        with autocast:
            validation_loss = _evaluate(model, loss_function, validation_part, batch_size=8192)
        history: TrainingHistory = state["history"]
        history.train_loss.append(float(total) / n_train)
        history.validation_loss.append(validation_loss)
        bar.set_postfix(train=f"{history.train_loss[-1]:.4g}", validation=f"{validation_loss:.4g}")
        if validation_loss < state["best_loss"]:
            state.update(best_state=copy.deepcopy(model.state_dict()), best_loss=validation_loss, stale=0)
            history.best_epoch = epoch
        else:
            state["stale"] += 1
        state["epoch"] = epoch
        finished = state["stale"] >= patience
        if checkpoint is not None:
            _save_checkpoint(checkpoint, fingerprint, model, optimizer, scheduler, generator, state)
    model.load_state_dict(state["best_state"])
    model.eval()
    return state["history"]


class _Streamed:
    """The rows ``start`` to ``stop`` of the data, read as float32 tensors in blocks of ``block_rows``."""

    def __init__(self, data: Mapping[str, Field], start: int, stop: int, block_rows: int,
                 device: torch.device) -> None:
        self.data, self.start, self.stop, self.block_rows, self.device = data, start, stop, block_rows, device

    def __len__(self) -> int:
        return -(-(self.stop - self.start) // self.block_rows)

    def block(self, index: int) -> dict[str, torch.Tensor]:
        begin = self.start + index * self.block_rows
        end = min(begin + self.block_rows, self.stop)
        return {key: torch.as_tensor(np.asarray(value[begin:end]), dtype=torch.float32).to(self.device)
                for key, value in self.data.items()}

    def blocks(self) -> Iterator[dict[str, torch.Tensor]]:
        return (self.block(index) for index in range(len(self)))


def _shuffled_batches(data: Mapping[str, torch.Tensor] | _Streamed, batch_size: int,
                      generator: torch.Generator, device: torch.device) -> Iterator[dict[str, torch.Tensor]]:
    """One epoch of mini-batches: a seeded permutation of all rows in memory; when streaming, the
    blocks in a seeded random order and a seeded permutation of the rows within each block."""
    if isinstance(data, _Streamed):
        parts = (data.block(int(index)) for index in torch.randperm(len(data), generator=generator))
    else:
        parts = iter([data])
    for part in parts:
        rows = len(next(iter(part.values())))
        permutation = torch.randperm(rows, generator=generator).to(device)
        # One gather per block; the batches are then contiguous views.
        shuffled = {key: value[permutation] for key, value in part.items()}
        for start in range(0, rows, batch_size):
            yield {key: value[start : start + batch_size] for key, value in shuffled.items()}


def _fingerprint(model: nn.Module, data: Mapping[str, Field], **settings) -> str:
    """A digest of what determines the training: the network's structure, the settings and the data
    (read in blocks, so that a streamed sample is never held whole)."""
    digest = hashlib.sha256(repr(model).encode())
    digest.update(repr(sorted(settings.items())).encode())
    for key in sorted(data):
        values = data[key]
        digest.update(f"{key}{np.dtype(values.dtype)}{tuple(values.shape)}".encode())
        for start in range(0, len(values), BLOCK_ROWS):
            digest.update(np.ascontiguousarray(values[start : start + BLOCK_ROWS]).data)
    return digest.hexdigest()


def _resumable_checkpoint(path: str | os.PathLike, fingerprint: str, device: torch.device) -> dict | None:
    """The saved training state when ``path`` holds one of this very training, else None (logged why)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        saved = torch.load(path, weights_only=True, map_location=device)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as error:
        log.warning("%s: not a checkpoint goldmine can load safely (%s); training starts afresh",
                    path, str(error).splitlines()[0])
        return None
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint:
        log.warning("%s: made by another training (network, settings or data differ); training starts afresh", path)
        return None
    log.info("%s: resuming after epoch %d", path, saved["state"]["epoch"] + 1)
    return saved


def _save_checkpoint(path, fingerprint, model, optimizer, scheduler, generator, state) -> None:
    # Plain containers only, so that the checkpoint loads with weights_only=True.
    plain_state = dict(state, history=state["history"].as_dict(), best_loss=float(state["best_loss"]))
    with atomic_output(path) as temporary:
        torch.save({"fingerprint": fingerprint, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": generator.get_state(), "state": plain_state},
                   temporary)


def _evaluate(model: nn.Module, loss_function: LossFunction, data: Mapping[str, torch.Tensor] | _Streamed,
              batch_size: int) -> float:
    total, n = 0.0, 0
    for part in data.blocks() if isinstance(data, _Streamed) else [data]:
        rows = len(next(iter(part.values())))
        for start in range(0, rows, batch_size):
            batch = {key: value[start : start + batch_size] for key, value in part.items()}
            total += float(loss_function(model, batch).detach()) * len(next(iter(batch.values())))
        n += rows
    return total / n
