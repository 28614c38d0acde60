"""Snakemake's command line, imported once: ``python tests/snakemake_server.py`` reads one JSON request a
line, ``{"argv": [...], "cwd": ..., "stdout": path, "stderr": path, "timeout": seconds}``, runs
``snakemake <argv>`` in a forked child (fresh state per run, as a new process would have) with its
output in those files, and answers ``{"returncode": ...}`` (−9 when the timeout killed it).

Importing Snakemake and its plugins is most of a dry run's time (about 1.5 of 1.9 CPU seconds here,
most of its wall time on a loaded machine); a fork costs milliseconds. tests/conftest.py starts
one server per session (the ``snakemake`` fixture).
"""

import json
import os
import sys
import time


def _serve() -> None:
    import snakemake.cli

    # The plugin registries scan the installed packages on first use: once, here, not in every child.
    snakemake.cli.get_argument_parser()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.chdir(request["cwd"])
                os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # the requests stay the server's
                for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
                    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                snakemake.cli.main(request["argv"])
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + request["timeout"]
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                returncode = -9
                break
            time.sleep(0.02)
        print(json.dumps({"returncode": returncode}), flush=True)


if __name__ == "__main__":
    _serve()
