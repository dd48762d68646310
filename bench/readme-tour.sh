#!/usr/bin/env bash
# The README on a clean machine, as a newcomer meets it (issue #15).
#
#   bash bench/readme-tour.sh            (as root, from the repository; ~5-8 min)
#
# 1. Creates an ordinary user with passwordless sudo and a fresh HOME (both
#    removed at the end), and gives it Rust the way a rustup install would
#    (this machine's toolchain, bind-mounted read-only: nothing is fetched).
# 2. As that user, in a clone of this repository: runs the README's install
#    command (`bash scripts/install.sh --demo`, with OPSDECK_INSTALL_NO_RUN=1
#    so that it does not open the TUI), then checks that the binary is where
#    the README says and that the installer printed the PATH line, and adds
#    it to PATH as the README tells.
# 3. Starts a loopback sshd on 127.0.0.1:22 (own host key; the user's new key
#    authorised) when nothing listens there, and runs every line of the
#    README's tour (between `<!-- tour -->` and `<!-- /tour -->`) against a
#    fresh home, failing on an exit status the README does not predict
#    ("(exit N)" or "(exit A-B)" on the line; otherwise 0).
# Prints one line per step and "README tour: ok" at the end.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root (it creates a user)" >&2; exit 1; }
USER_NAME=opsdeck-tour
T=$(mktemp -d /tmp/opsdeck-tour.XXXXXX)
chmod 755 "$T"
H="$T/home"
RUST="$T/rust"
SSHD_PID=""
cleanup() {
    [ -z "$SSHD_PID" ] || kill "$SSHD_PID" 2>/dev/null || true
    umount "$RUST" 2>/dev/null || true
    rm -f /etc/sudoers.d/opsdeck-tour
    pkill -u "$USER_NAME" 2>/dev/null || true
    userdel "$USER_NAME" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "a user with sudo and a fresh HOME"
command -v sudo >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sudo >/dev/null
userdel "$USER_NAME" 2>/dev/null || true
useradd -m -d "$H" -s /bin/bash "$USER_NAME"
# no password, but not locked (sshd refuses a locked account even for keys)
usermod -p '*' "$USER_NAME"
echo "$USER_NAME ALL=(ALL) NOPASSWD: ALL" > /etc/sudoers.d/opsdeck-tour
chmod 440 /etc/sudoers.d/opsdeck-tour
mkdir -p "$RUST"
toolchain=$(rustup which rustc | sed 's|/bin/rustc$||')
mount --bind -o ro "$toolchain" "$RUST"
git clone -q "$REPO" "$H/opsdeck"
chown -R "$USER_NAME:" "$H"
as_user() {
    sudo -u "$USER_NAME" env -i HOME="$H" USER="$USER_NAME" LOGNAME="$USER_NAME" \
        PATH="$RUST/bin:/usr/local/bin:/usr/bin:/bin" TERM=dumb "$@"
}

step "install: bash scripts/install.sh --demo"
start=$(date +%s)
as_user bash -c "cd ~/opsdeck && OPSDECK_INSTALL_NO_RUN=1 bash scripts/install.sh --demo" \
    > "$T/install.out" 2>&1 || { cat "$T/install.out" >&2; exit 1; }
echo "install took $(( $(date +%s) - start )) s" >&2
[ -x "$H/.local/bin/opsdeck" ] || { echo "no ~/.local/bin/opsdeck" >&2; exit 1; }
grep -q 'export PATH="'"$H"'/.local/bin:$PATH"' "$T/install.out" \
    || { echo "the installer did not print the PATH line:" >&2; cat "$T/install.out" >&2; exit 1; }
[ -e "$H/.local/share/opsdeck-demo/hosts.toml" ] || { echo "no demo home" >&2; exit 1; }
# cargo's own "be sure to add ... to your PATH" is expected: the installer
# says the same, with the line to add
if grep -i "warn" "$T/install.out" | grep -qv "be sure to add"; then
    echo "the install printed a warning:" >&2; cat "$T/install.out" >&2; exit 1
fi

step "a loopback sshd for web1 (127.0.0.1:22)"
if (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null; then
    echo "something listens on 127.0.0.1:22 already: using it (the tour user's key may not be authorised there)" >&2
else
    mkdir -p /run/sshd "$T/sshd"
    ssh-keygen -q -t ed25519 -N '' -f "$T/sshd/hostkey"
    as_user ssh-keygen -q -t ed25519 -N '' -f "$H/.ssh/id_ed25519" 2>/dev/null \
        || as_user bash -c 'mkdir -p ~/.ssh && chmod 700 ~/.ssh && ssh-keygen -q -t ed25519 -N "" -f ~/.ssh/id_ed25519'
    cp "$H/.ssh/id_ed25519.pub" "$T/sshd/authorized_keys"
    cat > "$T/sshd/config" <<EOF
ListenAddress 127.0.0.1:22
HostKey $T/sshd/hostkey
PidFile $T/sshd/pid
AuthorizedKeysFile $T/sshd/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
LogLevel ERROR
EOF
    /usr/sbin/sshd -D -f "$T/sshd/config" -E "$T/sshd/log" &
    SSHD_PID=$!
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/22) 2>/dev/null && break; sleep 0.05; done
fi

step "the tour, line by line, on a fresh home"
sed -n '/<!-- tour -->/,/<!-- \/tour -->/p' "$REPO/README.md" | grep '^opsdeck ' > "$T/tour.txt"
[ -s "$T/tour.txt" ] || { echo "no tour in README.md" >&2; exit 1; }
fail=0
while IFS= read -r line; do
    cmd=${line%%#*}
    want="0-0"
    if [[ "$line" =~ \(exit\ ([0-9]+)(-([0-9]+))? ]]; then
        lo=${BASH_REMATCH[1]}; hi=${BASH_REMATCH[3]:-$lo}; want="$lo-$hi"
    fi
    set +e
    as_user bash -c "cd ~ && export PATH=\$HOME/.local/bin:\$PATH OPSDECK_HOME=\$HOME/tour-home && $cmd" \
        > "$T/step.out" 2>&1 < /dev/null
    rc=$?
    set -e
    lo=${want%-*}; hi=${want#*-}
    if [ "$rc" -ge "$lo" ] && [ "$rc" -le "$hi" ]; then
        printf '  ok   (exit %s) %s\n' "$rc" "$cmd" >&2
    else
        printf '  FAIL (exit %s, README says %s) %s\n' "$rc" "$want" "$cmd" >&2
        sed 's/^/      /' "$T/step.out" | head -20 >&2
        fail=1
    fi
done < "$T/tour.txt"
[ "$fail" -eq 0 ] || exit 1
echo "README tour: ok"
