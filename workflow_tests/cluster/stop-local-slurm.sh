#!/usr/bin/env bash
# stop-local-slurm.sh [DAEMON...] -- stop the daemons that start-local-slurm.sh started.
#
# Only PIDs recorded in $LOCAL_SLURM_RUNDIR/<daemon>.pid (default /run/local-slurm) are signalled, and each
# only after checking that the process still has the expected name. Never pkill/killall. With DAEMON names
# (munged mariadbd slurmdbd slurmctld slurmd), only those are stopped -- e.g. the list that
# LOCAL_SLURM_STARTED_FILE received, so a test stops what its own start call started and nothing else.
# The state (accounting database, job ids, config) stays, so start-local-slurm.sh brings the same cluster back.
#   LOCAL_SLURM_CANCEL_JOBS=1  first scancel the jobs still queued or running (only when we stop slurmctld)
set -uo pipefail
RUNDIR=${LOCAL_SLURM_RUNDIR:-/run/local-slurm}
CANCEL=${LOCAL_SLURM_CANCEL_JOBS:-1}
ALL=(slurmd slurmctld slurmdbd mariadbd munged)   # stop order: compute, controller, accounting, database, auth
log() { echo "[stop-local-slurm] $*" >&2; }

if [ $# -gt 0 ]; then WANT=" $* "; else WANT=" ${ALL[*]} "; fi
for n in $WANT; do
  case " ${ALL[*]} " in *" $n "*) ;; *) log "unknown daemon '$n' (known: ${ALL[*]})"; exit 2 ;; esac
done
wanted() { [[ "$WANT" == *" $1 "* ]]; }

pid_alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
pid_from() { [ -r "$1" ] && tr -dc '0-9' < "$1" || true; }

stop_one() {  # stop_one NAME TIMEOUT_S DAEMON_PIDFILE
  local name=$1 t=$2 dpf=$3 f="$RUNDIR/$1.pid" pid
  [ -f "$f" ] || { log "$name: not started by start-local-slurm.sh (no $f), left alone"; return 0; }
  pid=$(pid_from "$f")
  if ! pid_alive "$pid" "$name"; then
    log "$name: pid '$pid' is gone (or is no longer $name), removing stale $f"; rm -f "$f"; return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq $(( t * 5 ))); do pid_alive "$pid" "$name" || break; sleep 0.2; done
  if pid_alive "$pid" "$name"; then
    log "$name: pid $pid still alive after ${t}s, sending SIGKILL"; kill -KILL "$pid"; sleep 0.5
  fi
  rm -f "$f"
  # slurmctld/slurmdbd run as user slurm and cannot remove their pid files in /run; a stale
  # /run/slurmctld.pid later makes `apt-get remove slurmctld` fail (its prerm runs scancel).
  [ "$(pid_from "$dpf")" = "$pid" ] && rm -f "$dpf"
  log "$name: stopped (pid $pid)"
}

if wanted slurmctld && [ "$CANCEL" = 1 ] && pid_alive "$(pid_from "$RUNDIR/slurmctld.pid")" slurmctld; then
  jobs=$(squeue -h -t PD,R,CG,CF,S -o %i 2>/dev/null)
  if [ -n "$jobs" ]; then
    log "cancelling job(s): $(echo $jobs)"; scancel $jobs 2>/dev/null || true
    for _ in $(seq 30); do [ -z "$(squeue -h -t PD,R,CG,CF,S -o %i 2>/dev/null)" ] && break; sleep 0.5; done
  fi
fi

wanted slurmd    && stop_one slurmd 20 /run/slurmd.pid
wanted slurmctld && stop_one slurmctld 30 /run/slurmctld.pid
wanted slurmdbd  && stop_one slurmdbd 30 /run/slurmdbd.pid
wanted mariadbd  && stop_one mariadbd 60 /run/mysqld/mysqld.pid
wanted munged    && stop_one munged 10 /run/munge/munged.pid
log "done"
exit 0
