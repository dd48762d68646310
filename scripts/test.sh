#!/usr/bin/env bash
# Runs every test of opsdeck: installs what the tests need (Debian/Ubuntu,
# apt-get: as root, or through sudo for an ordinary user), then formatting,
# lints and the whole cargo test suite (unit, parsers, store, real sshd on
# 127.0.0.0/8, real restic/borg repositories, Ansible, the TUI in a
# pseudo-terminal). About 5-10 minutes on 2 cores (the first build of the
# dependencies included). Usage: bash scripts/test.sh (as root, or as a user
# with sudo: it runs itself through sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests run as root: they start sshd on loopback and assert what a root
# login sees (no `sudo -n` in front of package managers; under an ordinary
# user with sudo the patch tests would reach the real package manager
# through it). An ordinary user with sudo is re-run through it, with the
# same Rust toolchain and a target directory of its own (target/root), so
# the user's own build is left as it is.
if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/test.sh needs root: running it again through sudo" >&2
  exec sudo env "PATH=$PATH" "RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup}" \
    "CARGO_TARGET_DIR=$PWD/target/root" bash "$0" "$@"
fi


# What the tests start or call for real.
pkgs=(openssh-server openssh-client restic borgbackup tmux ansible-core pssh busybox dash
      python3 python3-aiosmtpd cron openssl systemd
      gcc libc6-dev pkg-config libssl-dev ca-certificates git)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# sshd refuses to start without its privilege-separation directory.
[ -d /run/sshd ] || mkdir -p /run/sshd

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi
# The toolchain rust-toolchain.toml pins; where rustup cannot get it (no
# network, RUSTUP_AUTO_INSTALL=0), test with the default one and say so.
want=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if command -v rustup >/dev/null && ! rustup toolchain list | grep -q "^$want"; then
  if ! rustup toolchain install "$want" --profile minimal -c rustfmt -c clippy >/dev/null 2>&1; then
    echo "warning: Rust $want (rust-toolchain.toml) is not installed and cannot be; testing with $(RUSTUP_TOOLCHAIN=stable rustc --version)" >&2
    export RUSTUP_TOOLCHAIN=stable
  fi
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
