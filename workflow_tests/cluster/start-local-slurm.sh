#!/usr/bin/env bash
# start-local-slurm.sh -- a real one-node Slurm cluster on this machine, for testing signsearch's Slurm profile
# (Debian 12 / bookworm, run as root, no systemd needed). Used by workflow_tests/workflow/test_slurm.py; see README.md here.
#
# Installs (apt, only what is missing) and starts munge, MariaDB (unix socket only), slurmdbd, slurmctld and
# slurmd, and creates the cluster, the accounts and the user associations, so `sbatch`, `sacct` and `sacctmgr`
# behave as on an HPC cluster (snakemake's slurm plugin submits with sbatch, polls with sacct and checks the
# account with sacctmgr).
#
# Idempotent: run again while the cluster is up, it only re-checks it. Loopback only: every daemon talks to
# 127.0.0.1 (and, when `hostname` resolves to 127.x, listens only there); MariaDB has no TCP listener.
# Each daemon this script starts is recorded as $LOCAL_SLURM_RUNDIR/<daemon>.pid; stop-local-slurm.sh stops
# exactly those, by PID. Daemons it finds already running are used and never recorded (so never stopped).
#
# Knobs (environment variables):
#   LOCAL_SLURM_CLUSTER=signsearch
#   LOCAL_SLURM_PARTITION=main       the default partition
#   LOCAL_SLURM_GPU_PARTITION=       if set, a second partition of this name on the same node (not default), so
#                                    tests can check which partition a job went to (CPU vs GPU jobs)
#   LOCAL_SLURM_ACCOUNTS=signsearch  space-separated accounts to create; the users get associations to all
#   LOCAL_SLURM_USERS=root           (plus $SUDO_USER when set)
#   LOCAL_SLURM_CPUS=$(nproc)
#   LOCAL_SLURM_MEM_MB=85% of MemTotal
#   LOCAL_SLURM_GPUS=1               fake GPUs on the node: GRES "gpu" backed by /dev/null (without a File= slurmd
#                                    reports 0 and the node goes INVAL), so jobs asking for --gpus/--gres=gpu are
#                                    scheduled and accounted (sacct AllocTRES gres/gpu); nothing runs on a GPU
#   LOCAL_SLURM_SMOKE_TEST=1         finish with srun + sbatch + sacct checks
#   LOCAL_SLURM_RUNDIR=/run/local-slurm
#   LOCAL_SLURM_STARTED_FILE=        if set, the names of the daemons started by THIS invocation are written
#                                    there (one a line), e.g. for a test fixture that must stop only those
#   LOCAL_SLURM_LOOPBACK_ONLY=auto   1/0 force loopback-only listeners on/off
#
# Exit codes: 0 up; 1 a daemon failed (see the log named in the message); 2 not root;
#             3 packages could not be installed (no network/apt): callers may treat 2 and 3 as "skip".
set -euo pipefail

CLUSTER=${LOCAL_SLURM_CLUSTER:-signsearch}
PARTITION=${LOCAL_SLURM_PARTITION:-main}
GPU_PARTITION=${LOCAL_SLURM_GPU_PARTITION:-}
ACCOUNTS=${LOCAL_SLURM_ACCOUNTS:-signsearch}
USERS=${LOCAL_SLURM_USERS:-root}
[ -n "${SUDO_USER:-}" ] && USERS="$USERS $SUDO_USER"
CPUS=${LOCAL_SLURM_CPUS:-$(nproc)}
GPUS=${LOCAL_SLURM_GPUS:-1}
MEM_MB=${LOCAL_SLURM_MEM_MB:-$(awk '/^MemTotal:/ {printf "%d", $2/1024*0.85}' /proc/meminfo)}
SMOKE=${LOCAL_SLURM_SMOKE_TEST:-1}
RUNDIR=${LOCAL_SLURM_RUNDIR:-/run/local-slurm}
STARTED_FILE=${LOCAL_SLURM_STARTED_FILE:-}
NODE=localhost                      # node name independent of the hostname (slurmd -N localhost)
DB_PASS=slurmdbpass                 # throwaway: the database is reachable through its root-only socket only

T0=$(date +%s)
log() { printf '[start-local-slurm %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { local code=$1; shift; log "ERROR: $*"; exit "$code"; }

[ "$(id -u)" = 0 ] || die 2 "must run as root (it installs packages and starts system daemons)"
mkdir -p "$RUNDIR"
# One invocation at a time (two test sessions starting the cluster together would race on the config files).
# (The daemons are started with 9>&-, or they would inherit the lock and hold it forever.)
exec 9>"$RUNDIR/.lock"
flock -w 600 9 || die 1 "another start-local-slurm.sh holds $RUNDIR/.lock"
STARTED=()
[ -n "$STARTED_FILE" ] && : > "$STARTED_FILE"

# ------------------------------------------------------------------------------------------- 1. packages
PKGS=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  # Keep the packages' maintainer scripts from starting the daemons themselves.
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  APT=(apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)
  ok=0
  for i in 1 2 3; do "${APT[@]}" update -qq && { ok=1; break; }; log "apt-get update failed, retry $i"; sleep 5; done
  [ $ok = 1 ] || die 3 "apt-get update failed (no network or no apt sources?)"
  "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die 3 "apt-get install ${missing[*]} failed"
  if [ $made_policy = 1 ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  log "packages installed"
fi
id slurm >/dev/null 2>&1 || die 1 "user 'slurm' missing (it comes with the slurm packages)"
id munge >/dev/null 2>&1 || die 1 "user 'munge' missing (it comes with the munge package)"

# ------------------------------------------------------------------------------------------- 2. config files
install -d -o slurm -g slurm -m 755 /var/log/slurm /var/lib/slurm /var/lib/slurm/slurmctld
install -d -m 755 /var/lib/slurm/slurmd /etc/slurm
install -d -o munge -g munge -m 755 /run/munge
install -d -o munge -g munge -m 700 /var/log/munge /etc/munge
install -d -o munge -g munge -m 711 /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating munge key"
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key

if [ "$GPUS" -gt 0 ]; then
  GRES_LINES="GresTypes=gpu
AccountingStorageTRES=gres/gpu"
  NODE_GRES=" Gres=gpu:$GPUS"
else
  GRES_LINES="# no GRES (LOCAL_SLURM_GPUS=0)"
  NODE_GRES=""
fi
DEFMEM=$(( MEM_MB / CPUS )); [ "$DEFMEM" -gt 1000 ] && DEFMEM=1000
# NoInAddrAny makes the daemons bind to the address `hostname` resolves to (not to NodeAddr): only safe
# when that is a loopback address; otherwise they listen on all interfaces, traffic still goes to 127.0.0.1.
LOOPBACK=${LOCAL_SLURM_LOOPBACK_ONLY:-auto}
if [ "$LOOPBACK" = auto ]; then
  if getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR==1{exit !($1 ~ /^127\./)}'; then LOOPBACK=1; else LOOPBACK=0; fi
fi
if [ "$LOOPBACK" = 1 ]; then
  COMM_LINE="CommunicationParameters=NoCtldInAddrAny,NoInAddrAny"
else
  COMM_LINE="# loopback-only listeners off: hostname '$(hostname)' does not resolve to 127.x (or LOCAL_SLURM_LOOPBACK_ONLY=0)"
  log "note: daemons listen on all interfaces (all traffic still uses 127.0.0.1)"
fi

write_if_changed() {  # write_if_changed FILE MODE OWNER < content; prints 1 when the file changed
  local f=$1 mode=$2 owner=$3 tmp; tmp=$(mktemp)
  cat > "$tmp"
  if cmp -s "$tmp" "$f"; then rm -f "$tmp"; echo 0; return; fi
  [ -e "$f" ] && cp -p "$f" "$f.bak"
  install -m "$mode" -o "${owner%:*}" -g "${owner#*:}" "$tmp" "$f"; rm -f "$tmp"
  log "wrote $f"; echo 1
}

conf_changed=$(write_if_changed /etc/slurm/slurm.conf 644 root:root <<EOF
# generated by signsearch workflow_tests/cluster/start-local-slurm.sh -- one-node test cluster, loopback only
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
$COMM_LINE
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldPort=6817
SlurmdPort=6818
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$DEFMEM
# finished jobs stay visible to squeue for 5 min (snakemake's 'slurm-status-command: squeue' needs >= 120 s)
MinJobAge=300
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations
# keep sbatch --comment in the accounting DB: the slurm plugin puts "rule_<rule>_wildcards_<...>" there,
# so \`sacct -o Comment\` tells which rule a job ran
AccountingStoreFlags=job_comment
$GRES_LINES
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
SlurmctldDebug=info
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdDebug=info
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB${NODE_GRES} State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
$( [ -n "$GPU_PARTITION" ] && echo "PartitionName=$GPU_PARTITION Nodes=ALL Default=NO MaxTime=INFINITE State=UP" )
EOF
)

gres_changed=$(write_if_changed /etc/slurm/gres.conf 644 root:root <<EOF
# generated by signsearch workflow_tests/cluster/start-local-slurm.sh: $GPUS fake GPU(s) backed by /dev/null
$( [ "$GPUS" -gt 0 ] && echo "NodeName=$NODE Name=gpu Count=$GPUS File=/dev/null" )
EOF
)
[ "$gres_changed" = 1 ] && conf_changed=1

dbd_lines="# generated by signsearch workflow_tests/cluster/start-local-slurm.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
SlurmUser=slurm
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db"
# not in slurmdbd.conf(5) of 22.05 but honoured: bind 127.0.0.1 instead of 0.0.0.0
[ "$LOOPBACK" = 1 ] && dbd_lines+=$'\nCommunicationParameters=NoInAddrAny'
dbd_changed=$(write_if_changed /etc/slurm/slurmdbd.conf 600 slurm:slurm <<<"$dbd_lines")

# ------------------------------------------------------------------------------------------- helpers
# pid_alive PID COMM: the process exists and is named COMM (guards against a reused PID)
pid_alive() { [ -n "${1:-}" ] && [ -r "/proc/$1/comm" ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
pid_from() { [ -r "$1" ] && tr -dc '0-9' < "$1" || true; }
wait_pidfile() {  # wait_pidfile FILE COMM SECONDS -> prints the pid
  local f=$1 c=$2 p
  for _ in $(seq $(( $3 * 5 ))); do p=$(pid_from "$f"); pid_alive "$p" "$c" && { echo "$p"; return 0; }; sleep 0.2; done
  return 1
}
running() {  # running NAME DAEMON_PIDFILE: 0 when the daemon runs (started by us earlier, or by someone else)
  local name=$1 p
  p=$(pid_from "$RUNDIR/$name.pid")
  if pid_alive "$p" "$name"; then log "$name already running (pid $p, started by this script earlier)"; return 0; fi
  rm -f "$RUNDIR/$name.pid"
  p=$(pid_from "$2")
  if pid_alive "$p" "$name"; then log "$name already running (pid $p, NOT started by this script: never stopped by it)"; return 0; fi
  return 1
}
record() {
  echo "$2" > "$RUNDIR/$1.pid"; STARTED+=("$1")
  [ -n "$STARTED_FILE" ] && echo "$1" >> "$STARTED_FILE"
  log "$1 started (pid $2)"
}
wait_until() {  # wait_until SECONDS WHAT CMD...
  local s=$1 what=$2; shift 2
  for _ in $(seq $(( s * 2 ))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die 1 "timeout waiting for $what"
}

if [ "$conf_changed" = 1 ] || [ "$dbd_changed" = 1 ]; then
  for d in slurmdbd slurmctld slurmd; do
    pid_alive "$(pid_from "/run/$d.pid")" "$d" \
      && log "WARNING: $d runs with an older configuration; run stop-local-slurm.sh, then this script, to apply it"
  done
fi

# ------------------------------------------------------------------------------------------- 3. munge
if ! running munged /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged --force 9>&-
  p=$(wait_pidfile /run/munge/munged.pid munged 20) || die 1 "munged did not start, see /var/log/munge/munged.log"
  record munged "$p"
fi
wait_until 20 "munge" sh -c 'munge -n | unmunge'

# ------------------------------------------------------------------------------------------- 4. MariaDB + slurmdbd
install -d -o mysql -g root -m 755 /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
  log "initialising the MariaDB data directory"
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=socket >/dev/null
fi
if ! running mariadbd /run/mysqld/mysqld.pid; then
  rm -f /run/mysqld/mysqld.sock
  setsid /usr/sbin/mariadbd --user=mysql --skip-networking \
    --pid-file=/run/mysqld/mysqld.pid --socket=/run/mysqld/mysqld.sock \
    --innodb-lock-wait-timeout=900 \
    >>/var/log/slurm/mariadbd.out 2>&1 </dev/null 9>&- &
  p=$(wait_pidfile /run/mysqld/mysqld.pid mariadbd 60) || die 1 "mariadbd did not start, see /var/log/slurm/mariadbd.out"
  record mariadbd "$p"
fi
wait_until 60 "the MariaDB socket" mariadb -e 'SELECT 1'
mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
if ! running slurmdbd /run/slurmdbd.pid; then
  /usr/sbin/slurmdbd 9>&-
  p=$(wait_pidfile /run/slurmdbd.pid slurmdbd 30) || die 1 "slurmdbd did not start, see /var/log/slurm/slurmdbd.log"
  record slurmdbd "$p"
fi
wait_until 60 "slurmdbd" sacctmgr -n list cluster
# Cluster, accounts and associations exist before slurmctld starts (AccountingStorageEnforce=associations).
sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" || sacctmgr -i add cluster "$CLUSTER" >/dev/null
for a in $ACCOUNTS; do
  sacctmgr -n -P list account "$a" format=account | grep -qx "$a" \
    || sacctmgr -i add account "$a" Cluster="$CLUSTER" Description="$a" Organization=local >/dev/null
  for u in $USERS; do
    sacctmgr -n -P list assoc cluster="$CLUSTER" account="$a" user="$u" format=user | grep -qx "$u" \
      || sacctmgr -i add user "$u" Account="$a" Cluster="$CLUSTER" >/dev/null
  done
done
log "accounting ready (cluster=$CLUSTER accounts=[$ACCOUNTS] users=[$USERS])"

# ------------------------------------------------------------------------------------------- 5. slurmctld + slurmd
if ! running slurmctld /run/slurmctld.pid; then
  /usr/sbin/slurmctld 9>&-
  p=$(wait_pidfile /run/slurmctld.pid slurmctld 30) || die 1 "slurmctld did not start, see /var/log/slurm/slurmctld.log"
  record slurmctld "$p"
fi
wait_until 60 "slurmctld" scontrol ping
if ! running slurmd /run/slurmd.pid; then
  /usr/sbin/slurmd -N "$NODE" 9>&-
  p=$(wait_pidfile /run/slurmd.pid slurmd 30) || die 1 "slurmd did not start, see /var/log/slurm/slurmd.log"
  record slurmd "$p"
fi
node_ok() { sinfo -h -n "$NODE" -o %T | grep -Eq '^(idle|mixed|allocated|completing)'; }
for _ in $(seq 60); do
  node_ok && break
  case "$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)" in
    down*|drain*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
node_ok || die 1 "node $NODE not usable: $(sinfo -h -N -o '%N %T %E')"
log "node $NODE is $(sinfo -h -n "$NODE" -o %T)"

# ------------------------------------------------------------------------------------------- 6. smoke test
if [ "$SMOKE" = 1 ]; then
  A="-A ${ACCOUNTS%% *}"
  out=$(timeout 60 srun $A -N1 -n1 --mem=100 -t 1 hostname) || die 1 "srun failed"
  log "srun ok ($out)"
  jid=$(sbatch --parsable $A --mem=100 -t 1 -o /dev/null --comment smoke-test --wrap true) || die 1 "sbatch failed"
  st=""
  for _ in $(seq 60); do
    st=$(squeue -h -j "$jid" --states=all -o %T 2>/dev/null || true)
    [ "$st" = COMPLETED ] && break; sleep 0.5
  done
  [ "$st" = COMPLETED ] || die 1 "sbatch test job $jid ended as '$st'"
  s=""
  for _ in $(seq 30); do
    s=$(sacct -X -n -P -j "$jid" -o State 2>/dev/null || true); [ "$s" = COMPLETED ] && break; sleep 0.5
  done
  [ "$s" = COMPLETED ] || die 1 "sacct does not report test job $jid (got '$s')"
  log "sbatch + sacct ok (job $jid)"
fi
log "cluster '$CLUSTER' is up: partition=$PARTITION${GPU_PARTITION:+ gpu_partition=$GPU_PARTITION} accounts=[$ACCOUNTS] cpus=$CPUS gpus=$GPUS (fake) mem=${MEM_MB}MB;" \
    "started now: [${STARTED[*]:-}] in $(( $(date +%s) - T0 )) s"
