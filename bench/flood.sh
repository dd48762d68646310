#!/usr/bin/env bash
# Peak memory of opsdeck against a host that floods (issue #11, class 5).
#
#   bash bench/flood.sh [MB]        (default 300; run as root, from the repo)
#
# Starts one OpenSSH sshd on 127.0.2.1:2222 (own host key, own user key)
# whose sessions find stand-ins first in PATH: `df` prints MB megabytes
# inside the health probe; a backup job of kind `command` prints MB
# megabytes; `run` is given a command that prints MB megabytes. Then runs,
# each under /usr/bin/time -v:
# (`apt-get`, read by the update listing, floods too)
#   opsdeck check all --json, opsdeck patches all --json,
#   opsdeck backups --json, opsdeck run all --json -- (flood),
#   opsdeck patch apply all --yes (the apply's live log floods: MB of lines)
# and prints the peak resident memory of each, and whether its result says
# the output was truncated. Target: every peak under 100 MB.
set -euo pipefail

MB=${1:-300}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN="$REPO/target/release/opsdeck"
SSHD=/usr/sbin/sshd
TIME=/usr/bin/time
[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$REPO" && cargo build --release --quiet)
[ -x "$SSHD" ] || { echo "openssh-server is needed" >&2; exit 1; }
[ -x "$TIME" ] || { echo "/usr/bin/time (package time) is needed" >&2; exit 1; }

D=$(mktemp -d /tmp/opsdeck-flood.XXXXXX)
PID=""
cleanup() {
    [ -z "$PID" ] || kill "$PID" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
mkdir -p /run/sshd "$D/stub" "$D/home" "$D/opsdeck"
BYTES=$((MB * 1024 * 1024))
# the flood: MB megabytes of one endless line, then a newline
cat > "$D/stub/flood" <<EOF
#!/bin/sh
head -c $BYTES /dev/zero | tr '\\0' y
echo
EOF
cp "$D/stub/flood" "$D/stub/df"
# apt-get: the flood in the update listing (what `patches` reads); once
# $D/apply-mode exists, its simulation plans one upgrade and the apply
# itself floods (what `patch apply` streams live)
cat > "$D/stub/apt-get" <<EOF
#!/bin/sh
if [ -e "$D/apply-mode" ]; then
    case " \$* " in
    *" -s "*)
        echo 'Inst bash [5.2.15-2+b7] (5.2.15-2+b8 Debian:12.9/stable [amd64])'
        echo 'Conf bash (5.2.15-2+b8 Debian:12.9/stable [amd64])'
        exit 0 ;;
    esac
    yes 'Unpacking flood (1.0) over (0.9) ...' | head -c $BYTES
    echo '1 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.'
    exit 0
fi
exec "$D/stub/flood"
EOF
chmod 755 "$D/stub/flood" "$D/stub/df" "$D/stub/apt-get"

ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$D/id"
cp "$D/id.pub" "$D/authorized_keys"
cat > "$D/sshd.conf" <<EOF
ListenAddress 127.0.2.1:2222
HostKey $D/hostkey
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
SetEnv HOME=$D/home PATH=$D/stub:/usr/local/bin:/usr/bin:/bin
LogLevel ERROR
EOF
"$SSHD" -D -f "$D/sshd.conf" -E "$D/sshd.log" &
PID=$!
for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.2.1/2222) 2>/dev/null && break
    sleep 0.05
done
echo "[127.0.2.1]:2222 $(cut -d' ' -f1,2 "$D/hostkey.pub")" > "$D/known_hosts"
H="$D/opsdeck"
cat > "$D/ssh_config" <<EOF
Host flood
  HostName 127.0.2.1
  Port 2222
  User $(id -un)
  IdentityFile $D/id
  IdentitiesOnly yes
  UserKnownHostsFile $D/known_hosts
EOF
cat > "$H/opsdeck.toml" <<EOF
[ssh]
config_file = "$D/ssh_config"
command_timeout_s = 300
EOF
printf '[[host]]\nname = "flood"\n' > "$H/hosts.toml"
cat > "$H/backups.toml" <<EOF
[[backup]]
name = "flooding-job"
host = "flood"
kind = "command"
command = "$D/stub/flood"
max_age = "1d"
EOF

printf '| command | flood | peak RSS | wall | printed | result says truncated |\n|---|---|---|---|---|---|\n'
run() {
    local label=$1
    shift
    OPSDECK_HOME=$H "$TIME" -v -o "$D/time" "$BIN" "$@" > "$D/out" 2> "$D/err" || true
    local rss wall said
    rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.1f MB", $2 / 1024 }' "$D/time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$D/time")
    said=no
    cat "$D/out" "$D/err" | grep -q -e "truncated" -e "live log cut" -e "over the cap" \
        -e '"output_dropped": [1-9]' && said=yes
    [ -z "${FLOOD_DEBUG:-}" ] || head -c 2000 "$D/out" >&2
    local printed
    printed=$(cat "$D/out" "$D/err" | wc -c | awk '{ printf "%.1f MB", $1 / 1048576 }')
    printf '| `opsdeck %s` | %s MB | %s | %s | %s | %s |\n' "$label" "$MB" "$rss" "$wall" "$printed" "$said"
}
run "check --json" check all --json
run "patches --json" patches all --json
run "backups --json" backups --json
run "run --json" run all --json -- "$D/stub/flood"
touch "$D/apply-mode"
run "patch apply --yes" patch apply all --yes
