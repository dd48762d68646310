#!/usr/bin/env bash
# Benchmark of the host check against loopback fleets of real sshd hosts.
#
#   bash bench/fleet.sh [SIZES...]        (default: 50 100; run as root, from the repo)
#
# For each size N it starts N OpenSSH sshd processes on 127.0.1.1..N:2222 (one
# shared host key, the fleet's own user key, sessions with a stock empty HOME
# via sshd's SetEnv so the machine's shell start-up files do not count), then
# measures in the same run, wall time, client CPU (user+sys of the client
# process and its children, by /usr/bin/time, plus opsdeck's connection
# helper, which is detached: its CPU is read from /proc/PID/stat) and machine
# CPU (all busy CPU time of the machine during the run, from /proc/stat:
# client, helper and every sshd and probe, since the hosts are this machine):
#   1. opsdeck check all --json, first sweep, `[ssh] persist_s = 600` (empty
#      state: the probe runs the real `apt-get -s upgrade` on every host; the
#      connection helper starts and opens every connection: the cold case)
#   2. opsdeck check all --json, repeat sweep, persist_s = 600 (stamp
#      unchanged: no listing; the kept connections are reused). 600 s, since
#      a connection is kept for persist_s after its own last use and the
#      first sweep (real apt-get on N hosts sharing 2 cores) lasts minutes:
#      with 60 s the hosts done first would be reconnected)
#   3. the same repeat sweep with persist_s = 0 (a new connection per host,
#      as without persistence)
#   4. parallel-ssh running the same probe with the same input (the stamp) on
#      the same hosts, OpenSSH's default key exchange
#   5. the same with -O KexAlgorithms=curve25519-sha256
#   6. ansible all -m setup
# plus the probe's own CPU on the hosts (its `times` section), first and repeat.
# Parallelism is the same for every client: 32 (opsdeck [ssh] concurrency,
# parallel-ssh -p, ansible -f).
#
# Development knobs (figures in docs/performance.md are taken without them):
#   BENCH_NO_BUILD=1      use the existing target/release/opsdeck
#   BENCH_STUB_APT=1      sessions find a stub apt-get (fixture output) first in PATH
#   BENCH_SKIP_ANSIBLE=1  skip the Ansible run
#
# Needs: openssh-server, pssh (parallel-ssh), ansible-core, a release build
# (built here with cargo build --release). Prints a Markdown table.
set -euo pipefail

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(50 100)
PAR=32
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN="$REPO/target/release/opsdeck"
SSHD=/usr/sbin/sshd
PSSH=$(command -v parallel-ssh || command -v pssh)
TIME=/usr/bin/time

[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$REPO" && cargo build --release --quiet)
[ -x "$SSHD" ] || { echo "openssh-server is needed" >&2; exit 1; }
[ -n "$PSSH" ] || { echo "pssh (parallel-ssh) is needed" >&2; exit 1; }
command -v ansible >/dev/null || { echo "ansible-core is needed" >&2; exit 1; }
[ -x "$TIME" ] || { echo "/usr/bin/time (package time) is needed" >&2; exit 1; }

D=$(mktemp -d /tmp/opsdeck-bench.XXXXXX)
PIDS=()
# The connection helper of a fleet's opsdeck home (pid in state/mux/lock).
helper_pid() { cat "$1/state/mux/lock" 2>/dev/null || true; }
stop_helper() {
    local p
    p=$(helper_pid "$1")
    [ -z "$p" ] || kill "$p" 2>/dev/null || true
}
cleanup() {
    for f in "$D"/n*; do [ -d "$f" ] && stop_helper "$f"; done
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p /run/sshd "$D/home" "$D/ansible" "$D/stub"
SESSION_PATH=/usr/local/bin:/usr/bin:/bin
if [ -n "${BENCH_STUB_APT:-}" ]; then
    printf '#!/bin/sh\ncat %s\n' "$REPO/tests/fixtures/checks/apt-debian12-edge.txt" > "$D/stub/apt-get"
    chmod 755 "$D/stub/apt-get"
    SESSION_PATH="$D/stub:$SESSION_PATH"
fi
ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$D/id_ed25519"
cp "$D/id_ed25519.pub" "$D/authorized_keys"
HOSTKEY=$(cut -d' ' -f1,2 "$D/hostkey.pub")
USER_NAME=$(id -un)

TCK=$(getconf CLK_TCK)
# Busy CPU time of the whole machine so far, in clock ticks.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# CPU ticks (user+sys) of a process so far (0 when it is gone).
proc_ticks() {
    if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
        sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
    else
        echo 0
    fi
}

# measure LABEL CMD... : sets W (wall s), CPU (client user+sys s, plus the
# connection helper's when HELPER_HOME is set), MCPU (machine busy CPU s).
# Wait (30 s at most) until the machine is quiet: a 0.5 s window with at
# least 90 % of both cores idle. The first sweep's apt-get runs leave the
# machine busy for a while after they answer; every later measurement
# starts from the same calm state.
settle() {
    local i a0 a1 t0 t1
    for i in $(seq 1 60); do
        read -r a0 t0 < <(awk '/^cpu / { print $5, $2+$3+$4+$5+$6+$7+$8+$9; exit }' /proc/stat)
        sleep 0.5
        read -r a1 t1 < <(awk '/^cpu / { print $5, $2+$3+$4+$5+$6+$7+$8+$9; exit }' /proc/stat)
        [ $(( (a1 - a0) * 10 )) -ge $(( (t1 - t0) * 9 )) ] && return 0
    done
    echo "machine still busy after 30 s; measuring anyway" >&2
}

measure() {
    local label=$1 h0 h1 m0 m1 hp
    shift
    settle
    hp=""
    [ -z "${HELPER_HOME:-}" ] || hp=$(helper_pid "$HELPER_HOME")
    h0=$(proc_ticks "$hp")
    m0=$(machine_ticks)
    "$TIME" -f '%e %U %S' -o "$D/last" "$@" > "$D/$label.out" 2> "$D/$label.err" || true
    m1=$(machine_ticks)
    [ -z "${HELPER_HOME:-}" ] || hp=$(helper_pid "$HELPER_HOME")
    h1=$(proc_ticks "$hp")
    read -r W U S < <(tail -n 1 "$D/last")
    HCPU=$(awk -v a="$h0" -v b="$h1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
    CPU=$(awk -v u="$U" -v s="$S" -v h="$HCPU" 'BEGIN { printf "%.2f", u + s + h }')
    MCPU=$(awk -v a="$m0" -v b="$m1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')
    echo "$label wall=${W}s client_cpu=${CPU}s (helper ${HCPU}s) machine_cpu=${MCPU}s" >&2
}

# Sum of the probe's `times` output over a directory of per-host outputs, in ms per host.
probe_cpu_per_host() {
    awk '
        /^@@opsdeck cpu$/ { c = 1; next }
        /^@@opsdeck end/ { c = 0; hosts++; next }
        c { for (i = 1; i <= NF; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] } }
        END { if (hosts) printf "%.1f", t * 1000 / hosts; else printf "n/a" }
    ' "$@"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for N in "${SIZES[@]}"; do
    echo "== fleet of $N hosts" >&2
    F="$D/n$N"
    mkdir -p "$F"
    : > "$F/ssh_config"
    : > "$F/known_hosts"
    : > "$F/hosts.txt"
    printf '[all]\n' > "$F/inventory.ini"
    echo "# opsdeck bench fleet" > "$F/hosts.toml"
    for i in $(seq 1 "$N"); do
        addr="127.0.1.$i"
        cat > "$F/sshd_$i.conf" <<EOF
ListenAddress $addr:2222
HostKey $D/hostkey
PidFile $F/sshd_$i.pid
AuthorizedKeysFile $D/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv HOME=$D/home PATH=$SESSION_PATH
MaxStartups 100:30:200
LogLevel ERROR
Subsystem sftp internal-sftp
EOF
        "$SSHD" -D -f "$F/sshd_$i.conf" -E "$F/sshd_$i.log" &
        PIDS+=($!)
        printf 'Host h%s\n  HostName %s\n  Port 2222\n' "$i" "$addr" >> "$F/ssh_config"
        echo "[$addr]:2222 $HOSTKEY" >> "$F/known_hosts"
        echo "h$i" >> "$F/hosts.txt"
        echo "h$i" >> "$F/inventory.ini"
        printf '[[host]]\nname = "h%s"\n' "$i" >> "$F/hosts.toml"
    done
    cat >> "$F/ssh_config" <<EOF
Host h*
  User $USER_NAME
  IdentityFile $D/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $F/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
    cat > "$F/opsdeck.toml" <<EOF
[ssh]
config_file = "$F/ssh_config"
known_hosts = "$F/known_hosts"
identity_files = ["$D/id_ed25519"]
connect_timeout_s = 20
command_timeout_s = 600
concurrency = $PAR
persist_s = 600
EOF
    # wait until every sshd listens
    for i in $(seq 1 "$N"); do
        for _ in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.1.$i/2222") 2>/dev/null && break
            sleep 0.05
        done
    done

    export OPSDECK_HOME="$F"
    # 1 + 2: opsdeck, first and repeat sweep, persist_s = 600 (the helper's
    # CPU counted with the client's).
    rm -rf "$F/state"
    HELPER_HOME="$F"
    measure "opsdeck-first-$N" env -u SSH_AUTH_SOCK "$BIN" check all --json
    OF_W=$W OF_C=$CPU OF_M=$MCPU
    OF_R=$(grep -o 'remote probe CPU: [0-9]* ms in all over [0-9]* hosts' "$F/state/journal.toml" 2>/dev/null | tail -1 || true)
    measure "opsdeck-repeat-$N" env -u SSH_AUTH_SOCK "$BIN" check all --json
    OR_W=$W OR_C=$CPU OR_M=$MCPU
    OR_R=$(grep -o 'remote probe CPU: [0-9]* ms in all over [0-9]* hosts' "$F/state/journal.toml" 2>/dev/null | tail -1 || true)
    OK_HOSTS=$(grep -c '"host"' "$D/opsdeck-repeat-$N.out" || true)
    ERR_HOSTS=$(grep -c '"error": "' "$D/opsdeck-repeat-$N.out" || true)
    stop_helper "$F"
    HELPER_HOME=""
    sleep 0.5
    # 3: the repeat sweep without persistence (a new connection per host).
    sed -i 's/^persist_s = .*/persist_s = 0/' "$F/opsdeck.toml"
    measure "opsdeck-repeat-direct-$N" env -u SSH_AUTH_SOCK "$BIN" check all --json
    OD_W=$W OD_C=$CPU OD_M=$MCPU
    OD_OK=$(grep -c '"host"' "$D/opsdeck-repeat-direct-$N.out" || true)
    OD_ERR=$(grep -c '"error": "' "$D/opsdeck-repeat-direct-$N.out" || true)
    per_host() { echo "$1" | awk '{ if ($9 > 0) printf "%.1f", $4 / $9; else print "n/a" }'; }
    OF_RH=$(per_host "$OF_R")
    OR_RH=$(per_host "$OR_R")
    # The stamp every host reported (all hosts are this machine): the repeat's input.
    STAMP=$(grep -o 'pkg_stamp = "[^"]*"' "$F/state/patches.toml" 2>/dev/null | head -1 | sed 's/pkg_stamp = "\(.*\)"/\1/' || true)
    CMD="sh -s -- '$STAMP'"

    # 4 + 5: parallel-ssh, same probe, same input.
    rm -rf "$F/pssh-default" "$F/pssh-curve"
    measure "pssh-default-$N" "$PSSH" -h "$F/hosts.txt" -p "$PAR" -t 600 -x "-F $F/ssh_config" \
        -o "$F/pssh-default" -I "$CMD" < "$REPO/src/checks/probe.sh"
    PD_W=$W PD_C=$CPU PD_M=$MCPU
    PD_OK=$(grep -l '^@@opsdeck end' "$F"/pssh-default/* 2>/dev/null | wc -l)
    PD_RH=$(probe_cpu_per_host "$F"/pssh-default/*)
    measure "pssh-curve-$N" "$PSSH" -h "$F/hosts.txt" -p "$PAR" -t 600 -x "-F $F/ssh_config" \
        -O KexAlgorithms=curve25519-sha256 -o "$F/pssh-curve" -I "$CMD" < "$REPO/src/checks/probe.sh"
    PC_W=$W PC_C=$CPU PC_M=$MCPU
    PC_OK=$(grep -l '^@@opsdeck end' "$F"/pssh-curve/* 2>/dev/null | wc -l)

    # 6: ansible -m setup.
    export ANSIBLE_HOME="$D/ansible" ANSIBLE_LOCAL_TEMP="$D/ansible/tmp" \
        ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
        ANSIBLE_SSH_ARGS="-F $F/ssh_config -o ControlMaster=auto -o ControlPersist=60s" \
        ANSIBLE_NOCOLOR=1 ANSIBLE_LOAD_CALLBACK_PLUGINS=0
    if [ -n "${BENCH_SKIP_ANSIBLE:-}" ]; then : > "$D/ansible-$N.out"; W=0 CPU=0 MCPU=0; else
    measure "ansible-$N" ansible all -i "$F/inventory.ini" -m setup -f "$PAR" -o
    fi
    AN_W=$W AN_C=$CPU AN_M=$MCPU
    AN_OK=$(grep -c 'SUCCESS' "$D/ansible-$N.out" || true)
    unset OPSDECK_HOME

    ROWS+=("| $N | opsdeck check, first sweep, persist_s=600 (cold: opens the connections) | $OF_W | $OF_C | $OF_M | $OF_RH | $(grep -c '"host"' "$D/opsdeck-first-$N.out" || true) |")
    ROWS+=("| $N | opsdeck check, repeat sweep, persist_s=600 (kept connections) | $OR_W | $OR_C | $OR_M | $OR_RH | $OK_HOSTS ($ERR_HOSTS errors) |")
    ROWS+=("| $N | opsdeck check, repeat sweep, persist_s=0 (new connections) | $OD_W | $OD_C | $OD_M | | $OD_OK ($OD_ERR errors) |")
    ROWS+=("| $N | parallel-ssh, same probe + stamp, default kex | $PD_W | $PD_C | $PD_M | $PD_RH | $PD_OK |")
    ROWS+=("| $N | parallel-ssh, same probe + stamp, curve25519-sha256 | $PC_W | $PC_C | $PC_M | | $PC_OK |")
    ROWS+=("| $N | ansible -m setup | $AN_W | $AN_C | $AN_M | | $AN_OK |")
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
    ROWS+=("| $N | ratios (wall) | repeat persist_s=600: /pssh-default $(ratio "$OR_W" "$PD_W"), /pssh-curve $(ratio "$OR_W" "$PC_W"), /ansible $(ratio "$OR_W" "$AN_W"); repeat persist_s=0: /pssh-default $(ratio "$OD_W" "$PD_W"), /pssh-curve $(ratio "$OD_W" "$PC_W") | | | | |")

    stop_helper "$F"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    sleep 0.5
done

echo
echo "machine: $(nproc) CPUs, $(uname -r), $(ssh -V 2>&1), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "load average before: $LOAD0"
echo
echo "| hosts | client | wall s | client CPU s | machine CPU s | probe CPU per host, ms | hosts answered |"
echo "|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
