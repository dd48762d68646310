#!/usr/bin/env bash
# Builds a demo home for opsdeck: a few hosts (this machine over SSH, which
# needs a local sshd to be checked, and some that are unreachable on
# purpose), vendors with contacts and tickets, and backup jobs that check
# real paths on this machine (host = "local": no SSH needed).
#   bash scripts/demo-home.sh DIR [OPSDECK_BINARY]
set -euo pipefail
dir=${1:?usage: demo-home.sh DIR [opsdeck binary]}
bin=${2:-opsdeck}
o() { "$bin" --home "$dir" "$@" >/dev/null; }

mkdir -p "$dir"
o init
# vendors first: the hosts below name one of them
o vendor add "Northwind Hardware" --category hardware --phone "+1 555 0100" \
  --email support@northwind.example --account NW-40213 --contract-end 2027-01-31 \
  --support-hours "Mon-Fri 08-18"
o vendor add "Contoso ISP" --category isp --phone "+1 555 0199" --email noc@contoso.example \
  --account CISP-778 --contract-end 2026-12-15 --support-hours "24/7"
o host add localhost --address 127.0.0.1 --tag demo --tag jumpbox --role "jump box" \
  --location "server room" --vendor "Northwind Hardware" --purchased 2021-03-15 --warranty-until 2026-12-31 \
  --notes "this machine over SSH: checks need a local sshd (apt-get install openssh-server) and your key in ~/.ssh/authorized_keys"
o host add web1 --address 192.0.2.10 --tag web --tag prod --role "web server" --vendor "Northwind Hardware" \
  --purchased 2019-06-01 --warranty-until 2024-06-01 --notes "TEST-NET address: always unreachable in the demo"
o host add db1 --address 192.0.2.20 --port 2222 --user admin --tag db --tag prod --role "database" \
  --purchased 2023-09-01 --warranty-until 2028-09-01
o vendor ticket add "Contoso ISP" "Packet loss on the branch office line" --ref CASE-1042
cat >> "$dir/backups.toml" <<'TOML'

# Demo jobs: they look at this machine (host = "local").
[[backup]]
name = "demo-logs"
host = "local"
kind = "path"
path = "/var/log"
max_age = "26h"
restore_test_every = "90d"

[[backup]]
name = "demo-command"
host = "local"
kind = "command"
command = "date +%s"
max_age = "1h"
TOML
echo "demo home ready in $dir"
