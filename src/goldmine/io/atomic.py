"""Atomic outputs: a file appears complete under its final name, or not at all.

The temporary file lies beside the output (``.NAME.HOST-PID.RANDOM.tmp``), so the final
rename never crosses file systems. A writer killed outright (SIGKILL, the node lost) leaves its
temporary behind; the next write of the same output removes the temporaries of writers on this
host that are no longer running, so a rerun after a kill leaves the directory clean.
Temporaries of other hosts (a shared file system) are left alone: their writers' liveness
cannot be known from here.
"""

from __future__ import annotations

import contextlib
import glob
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_output"]


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_stale_temporaries(path: Path, host: str) -> None:
    """Remove the temporaries of ``path`` left by writers on ``host`` that no longer run."""
    prefix = f".{path.name}.{host}-"
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*.tmp"):
        owner = candidate.name[len(prefix):].split(".")[0]
        if owner.isdigit() and not _running(int(owner)):
            candidate.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    Temporaries of ``path`` left by killed writers on this host are removed first.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
        >>> with atomic_output(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> target.read_text()
        'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    _remove_stale_temporaries(path, host)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.{host}-{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
