#!/usr/bin/env bash
# The watch's costs (issue #13), figures in docs/performance.md:
#
#   bash bench/watch.sh [HOSTS] [RUNS]     (default 100 hosts, 5 runs; as root, from the repo)
#
# 1. Starts HOSTS OpenSSH sshd processes on 127.0.3.1..N:2222 (one host key,
#    one user key, sessions with an empty HOME and a PATH whose apt-get
#    prints a fixture: the listing is not what is measured), then runs
#    `opsdeck sweep` with history and `opsdeck sweep --no-history`
#    alternately, RUNS times each, under /usr/bin/time: wall time and client
#    CPU (user+sys), median of the runs.
# 2. Generates the history of 1,000 sweeps of 500 hosts (10 minutes apart,
#    3 filesystems each, the format `opsdeck sweep` writes) and prints its
#    size on disk, and the time `opsdeck history` takes to read one host.
# BENCH_NO_BUILD=1 uses the existing target/release/opsdeck.
set -euo pipefail
N=${1:-100}
RUNS=${2:-5}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN="$REPO/target/release/opsdeck"
SSHD=/usr/sbin/sshd
TIME=/usr/bin/time
[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$REPO" && cargo build --release --quiet)
D=$(mktemp -d /tmp/opsdeck-watch.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p /run/sshd "$D/stub" "$D/home" "$D/h/state"
printf '#!/bin/sh\ncat %s\n' "$REPO/tests/fixtures/checks/apt-none.txt" > "$D/stub/apt-get"
chmod 755 "$D/stub/apt-get"
ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$D/id"
cp "$D/id.pub" "$D/authorized_keys"
HOSTKEY=$(cut -d' ' -f1,2 "$D/hostkey.pub")
: > "$D/known_hosts"; : > "$D/ssh_config"; : > "$D/h/hosts.toml"
for i in $(seq 1 "$N"); do
    addr="127.0.3.$i"
    cat > "$D/sshd$i.conf" <<CONF
ListenAddress $addr:2222
HostKey $D/hostkey
PidFile none
AuthorizedKeysFile $D/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 200
SetEnv HOME=$D/home PATH=$D/stub:/usr/local/bin:/usr/bin:/bin
LogLevel ERROR
CONF
    "$SSHD" -D -f "$D/sshd$i.conf" -E "$D/sshd$i.log" &
    PIDS+=($!)
    echo "[$addr]:2222 $HOSTKEY" >> "$D/known_hosts"
    printf 'Host h%d\n  HostName %s\n  Port 2222\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n' \
        "$i" "$addr" "$(id -un)" "$D/id" "$D/known_hosts" >> "$D/ssh_config"
    printf '[[host]]\nname = "h%d"\n\n' "$i" >> "$D/h/hosts.toml"
done
for i in $(seq 1 "$N"); do
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.3.$i/2222") 2>/dev/null && break
        sleep 0.05
    done
done
printf '[ssh]\nconfig_file = "%s"\nconcurrency = 32\n' "$D/ssh_config" > "$D/h/opsdeck.toml"

run() {
    OPSDECK_HOME="$D/h" "$TIME" -f "%e %U %S" -o "$D/t" "$BIN" sweep "$@" > /dev/null 2>&1 || true
    tail -n 1 "$D/t" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}
run > /dev/null   # warm-up: caches, the first listing
: > "$D/with"; : > "$D/without"
for _ in $(seq 1 "$RUNS"); do
    run >> "$D/with"
    run --no-history >> "$D/without"
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{ v[NR] = $k } END { print v[int((NR + 1) / 2)] }'; }
printf '| %d hosts, %d runs each | wall s (median) | client CPU s (median) |\n|---|---|---|\n' "$N" "$RUNS"
printf '| `opsdeck sweep` (history on) | %s | %s |\n' "$(median "$D/with" 1)" "$(median "$D/with" 2)"
printf '| `opsdeck sweep --no-history` | %s | %s |\n' "$(median "$D/without" 1)" "$(median "$D/without" 2)"
echo "history after $((RUNS + 1)) sweeps of $N hosts: $(du -sb "$D/h/state/history" | cut -f1) bytes"

# 2. 1,000 sweeps of 500 hosts
G="$D/g/state/history/hosts"
mkdir -p "$G"
start=$(( $(date +%s) - 1000 * 600 ))
awk -v dir="$G" -v start="$start" 'BEGIN {
  for (h = 1; h <= 500; h++) {
    f = sprintf("%s/host%04d.tsv", dir, h)
    for (s = 0; s < 1000; s++) {
      t = start + s * 600
      printf "r\t%d\t%.2f\t%.1f\t%d\t%d\t0\t/=%.1f;/var=%.1f;/srv/data=%.1f\n", \
        t, 0.1 + (s % 7) / 20, 40 + (s % 13), h % 20, h % 4, 40 + (h % 50), 30 + (s % 40) / 2, 55 + s / 50 >> f
    }
    close(f)
  }
}'
bytes=$(du -sb "$D/g/state/history" | cut -f1)
lines=$(cat "$G"/*.tsv | wc -l)
printf 'history of 1,000 sweeps of 500 hosts: %d bytes on disk (%d lines, %.0f bytes a line)\n' \
    "$bytes" "$lines" "$(echo "$bytes / $lines" | bc -l)"
printf '[[host]]\nname = "host0001"\n' > "$D/g/hosts.toml"
OPSDECK_HOME="$D/g" "$TIME" -f "%e s, %M KB peak" "$BIN" history host0001 --json > /dev/null
