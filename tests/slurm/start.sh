#!/usr/bin/env bash
# Starts a single-node Slurm (munged, slurmctld, slurmd) whose files all live in the folder
# given (default target/slurm), installing Debian's packages first when they are missing.
# Prints the line to source for the clients: export SLURM_CONF=<folder>/slurm.conf
# Stop it with tests/slurm/stop.sh <folder>.
set -euo pipefail
dir=$(realpath -m "${1:-target/slurm}")
mkdir -p "$dir"/{state,spool,log,munge}

# Already running from this folder: nothing to start.
if [ -f "$dir/slurm.conf" ] && command -v sinfo >/dev/null \
    && SLURM_CONF="$dir/slurm.conf" timeout 5 sinfo -h -n localhost -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    echo "export SLURM_CONF=$dir/slurm.conf"
    exit 0
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
    || ! command -v munged >/dev/null; then
    # The packages' own services must not start system-wide daemons: this script starts its own.
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >"$dir/log/apt.log" 2>&1
    rm -f /usr/sbin/policy-rc.d
fi

# Ports of our own, so that a system Slurm (or a second copy of this one) does not answer.
ctld_port=${JOBLIB_SLURMCTLD_PORT:-16817}
slurmd_port=${JOBLIB_SLURMD_PORT:-16818}
# At least 8 CPUs (oversubscribing a small machine, slurmd told to take the configuration as
# it is): tests whose elements only sleep then run beside the others.
cpus=$(nproc)
[ "$cpus" -ge 8 ] || cpus=8
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))

if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
fi
chmod 0700 "$dir/munge"
chmod 0400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed"

cat > "$dir/slurm.conf" <<CONF
ClusterName=joblib
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
# An element past its time limit is killed at once (the tests' TIMEOUT).
OverTimeLimit=0
KillWait=2
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MaxArraySize=100001
MaxJobCount=200000
MinJobAge=10
# A finished element triggers the scheduler at once (25 elements a second instead of about 2).
Epilog=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF" -i
slurmd -f "$SLURM_CONF" -N localhost

# Until the node takes jobs.
for _ in $(seq 1 120); do
    state=$(sinfo -h -n localhost -o '%t' 2>/dev/null || true)
    case "$state" in
        idle*|mix*|alloc*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;;
    esac
    sleep 0.5
done
echo "Slurm did not come up in 60 s (node state: ${state:-none}); logs in $dir/log" >&2
tail -n 20 "$dir"/log/*.log >&2 || true
exit 1
