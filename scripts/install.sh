#!/usr/bin/env bash
# Installs opsdeck from this checkout and runs it.
#   bash scripts/install.sh          install, then open the TUI on your own files
#   bash scripts/install.sh --demo   install, then open the TUI on a demo inventory
# Needs Rust (cargo); installs the C build dependencies with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc libc6-dev pkg-config libssl-dev openssh-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "cargo not found. Install Rust first:  curl --proto '=https' -sSf https://sh.rustup.rs | sh" >&2
  exit 1
fi

cargo install --locked --path . --root "${OPSDECK_PREFIX:-$HOME/.local}"
bin="${OPSDECK_PREFIX:-$HOME/.local}/bin/opsdeck"
echo "installed $bin"

if [ "${1:-}" = "--demo" ]; then
  demo="${XDG_DATA_HOME:-$HOME/.local/share}/opsdeck-demo"
  if [ ! -e "$demo/hosts.toml" ]; then
    bash scripts/demo-home.sh "$demo" "$bin"
  fi
  exec "$bin" --home "$demo"
fi
"$bin" init
exec "$bin"
