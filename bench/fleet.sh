#!/usr/bin/env bash
# Benchmark of the host check against loopback fleets of real sshd hosts.
#
#   bash bench/fleet.sh [SIZES...]        (default: 50 100; run as root, from the repo)
#
# For each size N it starts N OpenSSH sshd processes on 127.0.1.1..N:2222 (one
# shared host key, the fleet's own user key, sessions with a stock empty HOME
# via sshd's SetEnv so the machine's shell start-up files do not count), then
# measures in the same run, wall time and client CPU (user+sys of the client
# process and its children, by /usr/bin/time):
#   1. opsdeck check all --json, first sweep (empty state: the probe runs the
#      real `apt-get -s upgrade` on every host)
#   2. opsdeck check all --json, repeat sweep (stamp unchanged: no listing)
#   3. parallel-ssh running the same probe with the same input (the stamp) on
#      the same hosts, OpenSSH's default key exchange
#   4. the same with -O KexAlgorithms=curve25519-sha256
#   5. ansible all -m setup
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
cleanup() {
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

# measure LABEL CMD... : prints "wall user sys" (seconds) into $D/last
measure() {
    local label=$1
    shift
    "$TIME" -f '%e %U %S' -o "$D/last" "$@" > "$D/$label.out" 2> "$D/$label.err" || true
    read -r W U S < <(tail -n 1 "$D/last")
    CPU=$(awk -v u="$U" -v s="$S" 'BEGIN { printf "%.2f", u + s }')
    echo "$label wall=${W}s client_cpu=${CPU}s" >&2
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
EOF
    # wait until every sshd listens
    for i in $(seq 1 "$N"); do
        for _ in $(seq 1 100); do
            (exec 3<>"/dev/tcp/127.0.1.$i/2222") 2>/dev/null && break
            sleep 0.05
        done
    done

    export OPSDECK_HOME="$F"
    # 1 + 2: opsdeck, first and repeat sweep.
    rm -rf "$F/state"
    measure "opsdeck-first-$N" env -u SSH_AUTH_SOCK "$BIN" check all --json
    OF_W=$W OF_C=$CPU
    OF_R=$(grep -o 'remote probe CPU: [0-9]* ms in all over [0-9]* hosts' "$F/state/journal.toml" 2>/dev/null | tail -1 || true)
    measure "opsdeck-repeat-$N" env -u SSH_AUTH_SOCK "$BIN" check all --json
    OR_W=$W OR_C=$CPU
    OR_R=$(grep -o 'remote probe CPU: [0-9]* ms in all over [0-9]* hosts' "$F/state/journal.toml" 2>/dev/null | tail -1 || true)
    OK_HOSTS=$(grep -c '"host"' "$D/opsdeck-repeat-$N.out" || true)
    ERR_HOSTS=$(grep -c '"error": "' "$D/opsdeck-repeat-$N.out" || true)
    per_host() { echo "$1" | awk '{ if ($9 > 0) printf "%.1f", $4 / $9; else print "n/a" }'; }
    OF_RH=$(per_host "$OF_R")
    OR_RH=$(per_host "$OR_R")
    # The stamp every host reported (all hosts are this machine): the repeat's input.
    STAMP=$(grep -o 'pkg_stamp = "[^"]*"' "$F/state/patches.toml" 2>/dev/null | head -1 | sed 's/pkg_stamp = "\(.*\)"/\1/' || true)
    CMD="sh -s -- '$STAMP'"

    # 3 + 4: parallel-ssh, same probe, same input.
    rm -rf "$F/pssh-default" "$F/pssh-curve"
    measure "pssh-default-$N" "$PSSH" -h "$F/hosts.txt" -p "$PAR" -t 600 -x "-F $F/ssh_config" \
        -o "$F/pssh-default" -I "$CMD" < "$REPO/src/checks/probe.sh"
    PD_W=$W PD_C=$CPU
    PD_OK=$(grep -l '^@@opsdeck end' "$F"/pssh-default/* 2>/dev/null | wc -l)
    PD_RH=$(probe_cpu_per_host "$F"/pssh-default/*)
    measure "pssh-curve-$N" "$PSSH" -h "$F/hosts.txt" -p "$PAR" -t 600 -x "-F $F/ssh_config" \
        -O KexAlgorithms=curve25519-sha256 -o "$F/pssh-curve" -I "$CMD" < "$REPO/src/checks/probe.sh"
    PC_W=$W PC_C=$CPU
    PC_OK=$(grep -l '^@@opsdeck end' "$F"/pssh-curve/* 2>/dev/null | wc -l)

    # 5: ansible -m setup.
    export ANSIBLE_HOME="$D/ansible" ANSIBLE_LOCAL_TEMP="$D/ansible/tmp" \
        ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 \
        ANSIBLE_SSH_ARGS="-F $F/ssh_config -o ControlMaster=auto -o ControlPersist=60s" \
        ANSIBLE_NOCOLOR=1 ANSIBLE_LOAD_CALLBACK_PLUGINS=0
    if [ -n "${BENCH_SKIP_ANSIBLE:-}" ]; then : > "$D/ansible-$N.out"; W=0 CPU=0; else
    measure "ansible-$N" ansible all -i "$F/inventory.ini" -m setup -f "$PAR" -o
    fi
    AN_W=$W AN_C=$CPU
    AN_OK=$(grep -c 'SUCCESS' "$D/ansible-$N.out" || true)
    unset OPSDECK_HOME

    ROWS+=("| $N | opsdeck check, first sweep | $OF_W | $OF_C | $OF_RH | $(grep -c '"host"' "$D/opsdeck-first-$N.out" || true) |")
    ROWS+=("| $N | opsdeck check, repeat sweep | $OR_W | $OR_C | $OR_RH | $OK_HOSTS ($ERR_HOSTS errors) |")
    ROWS+=("| $N | parallel-ssh, same probe + stamp, default kex | $PD_W | $PD_C | $PD_RH | $PD_OK |")
    ROWS+=("| $N | parallel-ssh, same probe + stamp, curve25519-sha256 | $PC_W | $PC_C | | $PC_OK |")
    ROWS+=("| $N | ansible -m setup | $AN_W | $AN_C | | $AN_OK |")
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
    ROWS+=("| $N | ratios (wall) | repeat/pssh-default $(ratio "$OR_W" "$PD_W"), repeat/pssh-curve $(ratio "$OR_W" "$PC_W"), repeat/ansible $(ratio "$OR_W" "$AN_W") | | | |")

    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    PIDS=()
    sleep 0.5
done

echo
echo "machine: $(nproc) CPUs, $(uname -r), $(ssh -V 2>&1), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| hosts | client | wall s | client CPU s | probe CPU per host, ms | hosts answered |"
echo "|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do echo "$r"; done
