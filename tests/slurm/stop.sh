#!/usr/bin/env bash
# Stops what tests/slurm/start.sh started in the folder given (default target/slurm).
set -uo pipefail
dir=$(realpath -m "${1:-target/slurm}")
for pid_file in "$dir/slurmd.pid" "$dir/slurmctld.pid" "$dir/munge/munged.pid"; do
    if [ -f "$pid_file" ]; then
        pid=$(cat "$pid_file")
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
        rm -f "$pid_file"
    fi
done
exit 0
