#!/usr/bin/env bash
# TUI benchmark: is the keyboard answered while a big check sweep runs?
#
#   bash bench/tui-sweep.sh [HOSTS]        (from the repo; default 1000 hosts)
#   SKIP_BUILD=1 bash bench/tui-sweep.sh   (use the existing target/release/opsdeck)
#
# Generates HOSTS hosts that all point at 127.0.0.1 port 9 (nothing listens
# there: every connection is refused at once, so HOSTS results arrive
# within seconds, as fast as `ssh -G` resolves them) plus state/ with one
# earlier result per host (bench/gen-tui-fleet.sh with ADDR/PORT), starts
# the release binary in a pseudo-terminal (python3's pty module) at
# 120x40, switches to Hosts and presses `C` (check all). Then, every
# 50 ms until the sweep has ended (the header's "checking N" is gone) or
# 60 s passed (the sweep's journal entry is written), it presses `?` or `J` in turn and times how long until the
# help or jobs overlay is on the pty (its title), then Esc. The key latency is the time
# from writing `?` to the end of the frame that shows it (that includes
# the time the key waits while the program is busy with results).
# Prints median / p95 / max and how many keys were timed during the sweep,
# and the time from `C` to `q` answered after the last key.
set -euo pipefail
HOSTS=${1:-1000}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
BIN="$REPO/target/release/opsdeck"
HOME_DIR=$(mktemp -d)
trap 'rm -rf "$HOME_DIR"' EXIT
ADDR=127.0.0.1 PORT=9 bash bench/gen-tui-fleet.sh "$HOME_DIR" "$HOSTS" 20 20
printf '[ssh]\nconnect_timeout_s = 5\n' > "$HOME_DIR/opsdeck.toml"
python3 - "$BIN" "$HOME_DIR" <<'PY'
import os, pty, sys, time, select, struct, fcntl, termios, statistics

BIN, HOME = sys.argv[1], sys.argv[2]
END = b"\x1b[?2026l"
env = dict(os.environ, OPSDECK_HOME=HOME, HOME=HOME, TERM="xterm-256color")
env.pop("NO_COLOR", None); env.pop("TMUX", None)
pid, fd = pty.fork()
if pid == 0:
    os.execve(BIN, [BIN], env)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))

buf = bytearray()
def read_some(timeout):
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return False
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        raise SystemExit("the program ended early")
    if b"\x1b[6n" in chunk:
        os.write(fd, b"\x1b[1;1R")
    buf.extend(chunk)
    return True

def wait_for(marker, timeout=120.0):
    """Read until `marker` appears after the current end; return the time."""
    start = len(buf)
    deadline = time.perf_counter() + timeout
    while True:
        i = buf.find(marker, max(0, start - len(marker)))
        if i >= 0:
            # the end of the frame that holds the marker
            j = buf.find(END, i)
            while j < 0:
                if not read_some(max(0, deadline - time.perf_counter())):
                    raise SystemExit(f"timeout waiting for the frame with {marker!r}")
                j = buf.find(END, i)
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise SystemExit(f"timeout waiting for {marker!r}")
        read_some(0.05)

def drain():
    while read_some(0):
        pass

wait_for(b"last check")
os.write(fd, b"2"); wait_for(b"Hosts")
time.sleep(0.3); drain()
t_c = time.perf_counter()
os.write(fd, b"C")
wait_for(b"checking")
lat = []
t_end = None
journal = os.path.join(HOME, "state", "journal.toml")
def sweep_saved():
    # the sweep ends with its journal entry (checks::save)
    try:
        return 'action = "check"' in open(journal).read()
    except OSError:
        return False
while time.perf_counter() - t_c < 60:
    time.sleep(0.05)
    drain()
    if sweep_saved():
        t_end = time.perf_counter()
        break
    # `?` (help) and `J` (jobs) in turn: each shows a title the last one
    # did not, even when a busy program handles Esc and the key together
    k, marker = (b"?", b"Keys (") if len(lat) % 2 == 0 else (b"J", b"Jobs (")
    t = time.perf_counter()
    os.write(fd, k)
    t2 = wait_for(marker)
    lat.append((t2 - t) * 1000)
    os.write(fd, b"\x1b")
print(f"{len(lat)} keys timed", file=sys.stderr)
t_q = time.perf_counter()
os.write(fd, b"q")
time.sleep(0.2)
os.write(fd, b"y")  # "jobs still running, quit?" if the sweep had not ended
while True:
    try:
        if not os.read(fd, 65536):
            break
    except OSError:
        break
t_quit = (time.perf_counter() - t_q) * 1000
os.waitpid(pid, 0)

def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
print("| measurement | median | p95 | max | keys |")
print("|---|---|---|---|---|")
print(f"| `?`/`J` -> frame with the overlay, while the sweep runs | {statistics.median(lat):.1f} ms | {q(lat,.95):.1f} ms | {max(lat):.1f} ms | {len(lat)} |")
if t_end:
    print(f"sweep saved {(t_end - t_c):.1f} s after C")
print(f"q -> program ended: {t_quit:.0f} ms")
PY
