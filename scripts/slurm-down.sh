#!/usr/bin/env bash
# Stops the daemons that scripts/slurm-up.sh started (slurmd, slurmctld, munged), each by the
# process id in its pid file. Jobs still running on the node end with slurmd. --quiet: say
# nothing when nothing runs.
set -uo pipefail

quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true

stop() {
    local name=$1 pidfile=$2 pid
    [ -s "$pidfile" ] || { $quiet || echo "slurm-down: $name is not running"; return 0; }
    pid=$(cat "$pidfile")
    # A stale pid file may name another process by now: only the daemon itself is stopped.
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && kill "$pid"; then
        # Wait for it to exit: the next start would otherwise find its port or socket taken.
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        $quiet || echo "slurm-down: stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
