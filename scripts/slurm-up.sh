#!/usr/bin/env bash
# A one-node SLURM cluster on this Debian machine, for tests/test_slurm.py and for trying
# profiles/slurm by hand: partitions `cpu` (default) and `gpu` (one GPU declared as a GRES) on
# the same node. Run as root. Idempotent: a cluster already up is left as it is.
#
#   sudo scripts/slurm-up.sh      # installs slurmctld, slurmd, slurm-client and munge if missing
#   scripts/slurm-down.sh         # stops the daemons again
#
# There is no systemd (containers, CI runners): munged, slurmctld and slurmd are started here.
# There is no slurmdbd either, so `sacct` has nothing to report: the Snakemake executor checks
# job states with `--slurm-status-command squeue` (MinJobAge keeps finished jobs in squeue long
# enough), and SLURM's job-completion log ($SLURM_JOBCOMP_LOG) records every finished job with
# its partition. Exits non-zero with one line on stderr when it cannot bring the cluster up.
set -euo pipefail

SLURM_CONF=/etc/slurm/slurm.conf
GRES_CONF=/etc/slurm/gres.conf
JOBCOMP_LOG=${SLURM_JOBCOMP_LOG:-/var/log/slurm/jobcomp.log}
PACKAGES=(slurmctld slurmd slurm-client munge)
# The node advertises at least this many CPUs and this much memory (MB), whatever the machine
# has: profiles/slurm asks for 4 threads and 16 GB per training job, and a job asking for more
# than the node offers pends forever. Memory is not a consumable resource here (CR_Core), so
# the declared size only bounds what one job may ask for.
MIN_CPUS=${SLURM_MIN_CPUS:-8}
MIN_MEMORY_MB=${SLURM_MIN_MEMORY_MB:-32768}
# squeue must still show a finished job when the executor asks for its state (its first check
# comes after --slurm-init-seconds-before-status-checks, and it falls back to sacct when
# MinJobAge is under three times that).
MIN_JOB_AGE=600
UP_TIMEOUT_S=60

fail() {
    echo "slurm-up: $*" >&2
    exit 1
}

node_idle() {
    # The node answers in both partitions and accepts jobs.
    command -v sinfo >/dev/null 2>&1 || return 1
    local states
    # sinfo waits for an unreachable slurmctld without end.
    states=$(timeout 5 sinfo --noheader --format '%P %t' 2>/dev/null) || return 1
    grep -Eq '^cpu\*? (idle|mix|alloc)' <<<"$states" && grep -Eq '^gpu (idle|mix|alloc)' <<<"$states"
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (it installs packages and starts the SLURM daemons); try: sudo $0"

if node_idle; then
    echo "slurm-up: the cluster is already up"
    sinfo
    exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null 2>&1 || fail "apt-get not found: this script installs SLURM on Debian/Ubuntu only (missing: ${missing[*]})"
    echo "slurm-up: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed (no network or no package mirror?)"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || fail "apt-get install ${missing[*]} failed"
fi

node=$(hostname -s)
cpus=$(( $(nproc) > MIN_CPUS ? $(nproc) : MIN_CPUS ))
memory_mb=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
memory_mb=$(( memory_mb > MIN_MEMORY_MB ? memory_mb : MIN_MEMORY_MB ))

mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
chown munge:munge /run/munge
touch "$JOBCOMP_LOG" && chown slurm:slurm "$JOBCOMP_LOG"

cat >"$SLURM_CONF" <<EOF
# Written by goldmine's scripts/slurm-up.sh: a one-node test cluster.
ClusterName=goldmine
SlurmctldHost=$node(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups in a container: track processes through /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$JOBCOMP_LOG
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
MinJobAge=$MIN_JOB_AGE
ReturnToService=2
# The node's CPUs and memory as declared below, not as detected.
SlurmdParameters=config_overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=$node Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$node MaxTime=INFINITE State=UP
EOF
# A GPU the scheduler can hand out; /dev/null stands in for the device file.
echo "NodeName=$node Name=gpu File=/dev/null" >"$GRES_CONF"

# Daemons of an earlier attempt read the old configuration: stop them first.
"$(dirname "$0")/slurm-down.sh" --quiet

[ -s /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (reinstall munge: apt-get install --reinstall munge)"
runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"

for _ in $(seq "$UP_TIMEOUT_S"); do
    # slurmctld detaches before it reads its configuration fully: a fatal error shows only here.
    kill -0 "$(cat /run/slurmctld.pid 2>/dev/null)" 2>/dev/null \
        || fail "slurmctld stopped: $(grep -E 'fatal|error' /var/log/slurm/slurmctld.log | tail -1)"
    if node_idle; then
        sinfo
        exit 0
    fi
    sleep 1
done
fail "node $node not idle after ${UP_TIMEOUT_S} s: $(timeout 5 sinfo --noheader 2>&1 | tr '\n' ';') (see /var/log/slurm/)"
