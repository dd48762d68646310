#!/usr/bin/env bash
# Runs every test of opsdeck: installs what the tests need (Debian/Ubuntu,
# apt-get; as root or through sudo), then formatting, lints and the whole
# cargo test suite (unit, parsers, store, real sshd, real restic/borg, the
# TUI in a pseudo-terminal). Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests start or call for real.
pkgs=(openssh-server openssh-client restic borgbackup tmux ansible-core pssh busybox dash
      gcc libc6-dev pkg-config libssl-dev ca-certificates git)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# sshd refuses to start without its privilege-separation directory.
[ -d /run/sshd ] || { [ "$(id -u)" -eq 0 ] && mkdir -p /run/sshd; } || true

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi
# rustfmt and clippy come with rustup's default profile; add them if this
# toolchain was installed without them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then
    rustup component add rustfmt clippy
  else
    echo "cargo fmt / cargo clippy missing: install the rustfmt and clippy components" >&2
    exit 1
  fi
fi

cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --no-fail-fast
