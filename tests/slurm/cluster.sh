#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the Slurm test: munged, slurmctld and slurmd on
# 127.0.0.1, all state, sockets, logs and configuration in DIR, on ports of their own (so that
# it meddles with no other Slurm on the machine). Run as root (slurmd must be).
#
#   tests/slurm/cluster.sh start DIR   # bounded: fails after 90 s if the node is not idle
#   . DIR/env                          # SLURM_CONF for sbatch, sinfo, squeue ...
#   tests/slurm/cluster.sh stop DIR    # cancels jobs, stops the daemons, removes nothing else
#
# Needs Debian's slurm-wlm and munge (scripts/install-deps.sh --slurm installs them).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

log() { echo "slurm-cluster: $*" >&2; }

# A TCP port nobody listens on, from the kernel (bind to 0), for slurmctld and slurmd.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

write_conf() {
    local node=$1 ctld_port=$2 d_port=$3
    cat >"$dir/slurm.conf" <<EOF
# written by tests/slurm/cluster.sh: one node on 127.0.0.1
ClusterName=pare
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# no cgroups: a container may not delegate them
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
NodeName=$node NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
    echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
}

start_munge() {
    # a key of our own; munged as root needs --force (the cluster lives as long as the test)
    dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
    chmod 600 "$dir/munge.key"
    munged --force --key-file="$dir/munge.key" --socket="$dir/munge.socket" \
        --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" --seed-file="$dir/munge.seed"
}

wait_idle() {
    local deadline=$((SECONDS + 90)) state=""
    while [ $SECONDS -lt $deadline ]; do
        state=$(SLURM_CONF=$dir/slurm.conf timeout 10 sinfo -h -o %T 2>/dev/null || true)
        [ "$state" = "idle" ] && return 0
        sleep 1
    done
    log "the node is not idle after 90 s (state: '${state:-none}'); logs:"
    tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
    return 1
}

start() {
    for b in munged slurmctld slurmd sbatch sinfo; do
        command -v "$b" >/dev/null || { log "$b is missing: scripts/install-deps.sh --slurm"; exit 1; }
    done
    mkdir -p "$dir/state" "$dir/spool"
    dir=$(cd "$dir" && pwd)
    local node="pare$$"
    write_conf "$node" "$(free_port)" "$(free_port)"
    start_munge
    SLURM_CONF=$dir/slurm.conf slurmctld -i
    SLURM_CONF=$dir/slurm.conf slurmd -N "$node"
    if ! wait_idle; then
        stop
        exit 1
    fi
    log "node $node idle (SLURM_CONF=$dir/slurm.conf)"
}

# Stops a daemon by its pid file, waiting up to 20 s before SIGKILL.
stop_pid() {
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 40); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
}

stop() {
    [ -f "$dir/slurm.conf" ] || return 0
    SLURM_CONF=$dir/slurm.conf timeout 10 scancel --full --quiet -p debug 2>/dev/null || true
    stop_pid "$dir/slurmd.pid"
    stop_pid "$dir/slurmctld.pid"
    stop_pid "$dir/munged.pid"
    log "stopped"
}

case $cmd in
start) start ;;
stop) dir=$(cd "$dir" 2>/dev/null && pwd) || exit 0; stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
