#!/usr/bin/env bash
# Write a large opsdeck home for the TUI benchmark:
#   bash bench/gen-tui-fleet.sh DIR [HOSTS] [VENDORS] [BACKUPS]
# (default 1000 hosts, 200 vendors with 2 contacts and 2 tickets each,
# 500 backup jobs, and a state/checks.toml with one result per host).
# ADDR=127.0.0.1 PORT=9 gives every host that address and port (a refused
# port: a sweep's 1,000 results arrive within seconds, for the key-latency
# measurement during a sweep in bench/tui-start.sh).
set -euo pipefail
DIR=${1:?usage: gen-tui-fleet.sh DIR [HOSTS] [VENDORS] [BACKUPS]}
H=${2:-1000}; V=${3:-200}; B=${4:-500}
mkdir -p "$DIR/state"
awk -v H="$H" -v V="$V" -v B="$B" -v dir="$DIR" -v addr="${ADDR:-}" -v port="${PORT:-}" 'BEGIN {
  hosts = dir "/hosts.toml"; vendors = dir "/vendors.toml"
  backups = dir "/backups.toml"; checks = dir "/state/checks.toml"
  print "# generated fleet for the TUI benchmark" > hosts
  for (i = 1; i <= H; i++) {
    printf "\n[[host]]\nname = \"host%04d\"\naddress = \"10.%d.%d.%d\"\ntags = [\"site%d\", \"%s\"]\nrole = \"app server\"\nlocation = \"rack %d\"\nvendor = \"vendor%03d\"\npurchased = 2022-0%d-15\nwarranty_until = 2027-0%d-15\n", \
      i, int(i / 65536) % 256, int(i / 256) % 256, i % 256, i % 7, (i % 3 ? "web" : "db"), i % 40, i % V + 1, i % 9 + 1, i % 9 + 1 >> hosts
  }
  if (addr != "") {
    # every host at ADDR:PORT instead (rewritten: the loop above stays the one format)
    close(hosts)
    print "# generated fleet for the TUI benchmark (every host at " addr ":" port ")" > hosts
    for (i = 1; i <= H; i++)
      printf "\n[[host]]\nname = \"host%04d\"\naddress = \"%s\"\nport = %d\ntags = [\"site%d\", \"%s\"]\n", i, addr, port, i % 7, (i % 3 ? "web" : "db") >> hosts
  }
  print "# generated vendors" > vendors
  for (v = 1; v <= V; v++) {
    printf "\n[[vendor]]\nname = \"vendor%03d\"\ncategory = \"hardware\"\naccount = \"ACC-%05d\"\nphone = \"+49 30 %06d\"\nemail = \"support@vendor%03d.example\"\nportal = \"https://vendor%03d.example\"\nsupport_hours = \"Mo-Fr 8-18\"\ncontract_end = 2027-0%d-01\n", \
      v, v, v * 7, v, v, v % 9 + 1 >> vendors
    for (c = 1; c <= 2; c++)
      printf "\n[[vendor.contact]]\nname = \"Contact %d of %d\"\nrole = \"sales\"\nphone = \"+49 30 %06d\"\nemail = \"c%d@vendor%03d.example\"\n", c, v, v * 10 + c, c, v >> vendors
    for (t = 1; t <= 2; t++)
      printf "\n[[vendor.ticket]]\nref = \"SR-%d-%d\"\nsubject = \"ticket %d\"\nstatus = \"%s\"\nopened = 2026-10-0%d\n", v, t, t, (t == 1 ? "open" : "closed"), t >> vendors
  }
  print "# generated backup jobs" > backups
  for (b = 1; b <= B; b++)
    printf "\n[[backup]]\nname = \"backup%04d\"\nhost = \"host%04d\"\nkind = \"restic\"\nrepository = \"/srv/restic/%d\"\npassword_file = \"/etc/restic/pw\"\nmax_age = \"26h\"\nrestore_test_every = \"90d\"\nlast_restore_test = 2026-09-01\n", b, (b - 1) % H + 1, b >> backups
  print "# generated check results" > checks
  for (i = 1; i <= H; i++) {
    st = (i % 17 == 0) ? "crit" : ((i % 5 == 0) ? "warn" : "ok")
    printf "\n[[check]]\nhost = \"host%04d\"\nstatus = \"%s\"\nreasons = [%s]\nelapsed_ms = %d\nchecked_at = \"2026-11-23T08:00:00Z\"\n", \
      i, st, (st == "ok" ? "" : "\"/var 91% >= 90%\""), 100 + i % 300 >> checks
    printf "\n[check.facts]\nos = \"Debian GNU/Linux 12 (bookworm)\"\nkernel = \"6.1.0-26-amd64\"\nuptime_s = %d\ncpus = 4\nload = [0.1, 0.2, 0.3]\nmem_used_pct = 41.5\nfailed_units = []\nreboot_required = false\npackage_manager = \"apt\"\n", i * 100 >> checks
    printf "\n[[check.facts.disks]]\nmount = \"/\"\nused_pct = %d.0\n", 40 + i % 55 >> checks
    printf "\n[check.facts.updates]\npending = %d\nsecurity = %d\n", i % 20, i % 4 >> checks
  }
}'
# HISTORY=N: the watch's history of N sweeps (10 minutes apart, 3
# filesystems) for the first 500 hosts, in the format `opsdeck sweep` writes.
if [ -n "${HISTORY:-}" ]; then
  mkdir -p "$DIR/state/history/hosts"
  awk -v dir="$DIR/state/history/hosts" -v n="$HISTORY" -v H="$H" -v start="$(( $(date +%s) - HISTORY * 600 ))" 'BEGIN {
    for (h = 1; h <= (H < 500 ? H : 500); h++) {
      f = sprintf("%s/host%04d.tsv", dir, h)
      for (s = 0; s < n; s++)
        printf "r\t%d\t%.2f\t%.1f\t%d\t%d\t0\t/=%.1f;/var=%.1f;/srv/data=%.1f\n", start + s * 600, 0.1 + (s % 7) / 20, 40 + (s % 13), h % 20, h % 4, 40 + (h % 50), 30 + (s % 40) / 2, 55 + s / 50 >> f
      close(f)
    }
  }'
fi
chmod 600 "$DIR"/*.toml "$DIR"/state/*.toml
echo "wrote $H hosts, $V vendors, $B backup jobs and $H check results to $DIR" >&2
