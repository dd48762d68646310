#!/usr/bin/env bash
# Installs opsdeck from this checkout and runs it.
#   bash scripts/install.sh          install, then open the TUI on your own files
#   bash scripts/install.sh --demo   install, then open the TUI on a demo inventory
#
# What it does, in order:
#   1. apt-get installs the C build dependencies it lacks (gcc, libc6-dev,
#      pkg-config, libssl-dev) and the OpenSSH client, through sudo when you
#      are not root;
#   2. builds opsdeck with cargo (Rust 1.89 or later; about 2-3 minutes on two
#      cores) and installs the binary as ~/.local/bin/opsdeck
#      (OPSDECK_PREFIX=DIR puts it in DIR/bin instead);
#   3. checks that directory is on your PATH and prints the line to add if not;
#   4. with --demo: builds a demo home in ~/.local/share/opsdeck-demo (once)
#      and opens the TUI on it; without: `opsdeck init` (commented example
#      files, never overwritten) and the TUI on your own files.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'opsdeck install: %s\n' "$*" >&2; }

pkgs=(gcc libc6-dev pkg-config libssl-dev openssh-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing with apt-get: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null; then
  say "cargo not found. opsdeck needs Rust 1.89 or later (Debian's own cargo is older):"
  say "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
  say "then open a new shell (or: . \"\$HOME/.cargo/env\") and run this again."
  exit 1
fi

prefix="${OPSDECK_PREFIX:-$HOME/.local}"
say "building and installing into $prefix/bin (about 2-3 minutes)..."
cargo install --quiet --locked --path . --root "$prefix"
bin="$prefix/bin/opsdeck"
say "installed $bin"

case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *)
    say "$prefix/bin is not on your PATH: \`opsdeck\` alone will not be found."
    say "add it with this line (in ~/.bashrc or ~/.profile), then open a new shell:"
    printf '\n    export PATH="%s/bin:$PATH"\n\n' "$prefix" >&2
    ;;
esac

# OPSDECK_INSTALL_NO_RUN=1: install (and build the demo) but open nothing
# (scripts and the README test, bench/readme-tour.sh).
if [ "${1:-}" = "--demo" ]; then
  demo="${XDG_DATA_HOME:-$HOME/.local/share}/opsdeck-demo"
  if [ ! -e "$demo/hosts.toml" ]; then
    bash scripts/demo-home.sh "$demo" "$bin"
  fi
  say "the demo lives in $demo; open it again with: opsdeck --home $demo (q quits)"
  [ -z "${OPSDECK_INSTALL_NO_RUN:-}" ] || exit 0
  exec "$bin" --home "$demo"
fi
"$bin" init
[ -z "${OPSDECK_INSTALL_NO_RUN:-}" ] || exit 0
say "opening opsdeck on your files (\`opsdeck init --print-dir\` says where they are; q quits)"
exec "$bin"
