#!/usr/bin/env bash
# TUI benchmark: cold start to the first drawn frame, peak RSS, and
# keypress-to-redraw in the Hosts pane, with 1,000 hosts, 200 vendors (2
# contacts and 2 tickets each), 500 backup jobs and 1,000 check results.
#
#   bash bench/tui-start.sh [RUNS]        (from the repo; default 10 runs)
#   SKIP_BUILD=1 bash bench/tui-start.sh  (use the existing target/release/opsdeck)
#
# Builds the release binary, generates the files (bench/gen-tui-fleet.sh),
# then drives the binary in a pseudo-terminal (python3's pty module) at
# 120x40:
#   start:   spawn -> the end of the first frame on the pty (the first
#            synchronized-update end, ESC[?2026l), with
#            OPSDECK_EXIT_AFTER_FIRST_FRAME=1; peak RSS from wait4().
#            The first frame has the files; state/ (1,000 check results) is
#            read in the background: "results on screen" is spawn -> the
#            header's "last check" text.
#   session: switch to Hosts, press j 300 times 50 ms apart (as a held key
#            repeats) and 300 times back to back (each right after the
#            previous frame: that includes the 16 ms frame cap), PgDn 20
#            times, type a filter, Vendors, quit; keypress -> end of the
#            redrawn frame per key; peak RSS of the whole session.
set -euo pipefail
RUNS=${1:-10}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet
BIN="$REPO/target/release/opsdeck"
HOME_DIR=$(mktemp -d)
trap 'rm -rf "$HOME_DIR"' EXIT
bash bench/gen-tui-fleet.sh "$HOME_DIR" 1000 200 500
python3 - "$BIN" "$HOME_DIR" "$RUNS" <<'PY'
import os, pty, sys, time, select, struct, fcntl, termios, statistics, signal

BIN, HOME, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3])
END = b"\x1b[?2026l"

def spawn(extra_env):
    env = dict(os.environ, OPSDECK_HOME=HOME, TERM="xterm-256color", **extra_env)
    env.pop("NO_COLOR", None); env.pop("TMUX", None)
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(BIN, [BIN], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    return pid, fd, t0

def read_until(fd, marker, buf, timeout=10.0):
    deadline = time.perf_counter() + timeout
    while marker not in buf:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.perf_counter()))
        if not r:
            raise SystemExit("timeout waiting for a frame")
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            raise SystemExit("the program ended early")
        if b"\x1b[6n" in chunk:
            os.write(fd, b"\x1b[1;1R")
        buf += chunk
    i = buf.index(marker) + len(marker)
    return buf[i:]

def drain(fd):
    while True:
        r, _, _ = select.select([fd], [], [], 0)
        if not r:
            return
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return

def wait(pid, fd):
    while True:
        try:
            os.read(fd, 65536)
        except OSError:
            break
    _, status, ru = os.wait4(pid, 0)
    os.close(fd)
    return status, ru.ru_maxrss  # KiB on Linux

starts, rss = [], []
for _ in range(RUNS):
    pid, fd, t0 = spawn({"OPSDECK_EXIT_AFTER_FIRST_FRAME": "1"})
    # the first frame: the first synchronized update after the alternate screen
    read_until(fd, END, b"")
    starts.append((time.perf_counter() - t0) * 1000)
    status, maxrss = wait(pid, fd)
    rss.append(maxrss / 1024)

pid, fd, t0 = spawn({})
rest = read_until(fd, b"last check", b"")
t_results = (time.perf_counter() - t0) * 1000
rest = read_until(fd, END, rest)
def key(k, gap=0.0):
    if gap:
        time.sleep(gap)
    drain(fd)
    t = time.perf_counter()
    os.write(fd, k)
    read_until(fd, END, b"")
    return (time.perf_counter() - t) * 1000
key(b"2")
lat_j = [key(b"j", 0.05) for _ in range(300)]
lat_burst = [key(b"j") for _ in range(300)]
lat_pg = [key(b"\x1b[6~", 0.05) for _ in range(20)]
lat_filter = [key(c.encode(), 0.05) for c in "/host09"]
key(b"\r"); key(b"\x1b"); key(b"5")
lat_vendor = [key(b"j", 0.05) for _ in range(50)]
os.write(fd, b"q")
status, maxrss = wait(pid, fd)

def q(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
print(f"| measurement | median | p95 | max |")
print(f"|---|---|---|---|")
print(f"| start to first frame ({RUNS} runs) | {statistics.median(starts):.1f} ms | {q(starts,.95):.1f} ms | {max(starts):.1f} ms |")
print(f"| start to state/ results on screen (header 'last check', 1 run) | {t_results:.1f} ms | | |")
print(f"| peak RSS, start only | {statistics.median(rss):.1f} MB | {q(rss,.95):.1f} MB | {max(rss):.1f} MB |")
print(f"| Hosts: j -> frame, keys 50 ms apart (300 keys) | {statistics.median(lat_j):.2f} ms | {q(lat_j,.95):.2f} ms | {max(lat_j):.2f} ms |")
print(f"| Hosts: j -> frame, each key right after the last frame (300 keys; includes the 16 ms frame cap) | {statistics.median(lat_burst):.2f} ms | {q(lat_burst,.95):.2f} ms | {max(lat_burst):.2f} ms |")
print(f"| Hosts: PgDn -> frame (20 keys) | {statistics.median(lat_pg):.2f} ms | {q(lat_pg,.95):.2f} ms | {max(lat_pg):.2f} ms |")
print(f"| Hosts: filter typing -> frame | {statistics.median(lat_filter):.2f} ms | {q(lat_filter,.95):.2f} ms | {max(lat_filter):.2f} ms |")
print(f"| Vendors: j -> frame (50 keys) | {statistics.median(lat_vendor):.2f} ms | {q(lat_vendor,.95):.2f} ms | {max(lat_vendor):.2f} ms |")
print(f"| peak RSS, whole session | {maxrss/1024:.1f} MB | | |")
print(f"exit status of the session: {os.waitstatus_to_exitcode(status)}")
PY
