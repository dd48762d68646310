# opsdeck audit probe: one POSIX sh script on stdin of `sh -s -- BECOME
# 'PORTS' 'NAMES' 'PATHS'`, read-only. BECOME is `become` (use `sudo -n`
# for what needs root) or empty. PORTS: TCP ports whose TLS certificate is
# read (from the host itself); NAMES: SNI names; PATHS: more certificate
# files. Every section starts with `@@opsdeck NAME`; what could not be
# read says so in its section and makes only that part unknown. Hashes
# from /etc/shadow never leave the host: only "empty", "locked" or "set".
LC_ALL=C
LANG=C
export LC_ALL LANG
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
have() { command -v "$1" >/dev/null 2>&1; }
S=""
[ "${1-}" = become ] && S="sudo -n"
PORTS="${2-}"
NAMES="${3-}"
CPATHS="${4-}"
T5=""
have timeout && T5="timeout 5"

echo "@@opsdeck probe 1"

echo "@@opsdeck whoami"
echo "uid $(id -u)"
echo "user $(id -un)"
echo "become ${S:-no}"
if [ -n "$S" ] && ! sudo -n true 2>/dev/null; then
    echo "sudo refused"
    S=""
fi
echo "conn ${SSH_CONNECTION-}"

# The config of the sshd serving this session: its listener's -f, else the default.
conf=/etc/ssh/sshd_config
p=$$
i=0
while [ "${p:-1}" -gt 1 ] && [ $i -lt 12 ]; do
    if [ -r "/proc/$p/cmdline" ]; then
        # NUL-separated arguments, or one title ("sshd: /usr/sbin/sshd -D -f X [listener] …");
        # only an sshd's own -f counts
        f=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | awk '$1 ~ /(^|\/)sshd:?$/ { for (i = 2; i < NF; i++) if ($i == "-f") { print $(i + 1); exit } }')
        if [ -n "$f" ]; then conf=$f; break; fi
    fi
    p=$(awk '{ print $4 }' "/proc/$p/stat" 2>/dev/null)
    i=$((i + 1))
done
sshd_bin=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)

echo "@@opsdeck sshd.T"
out_T=$($S "$sshd_bin" -T -f "$conf" 2>&1); rc=$?
printf '%s\n' "$out_T" | head -n 400
printf '\n@@opsdeck %s\n' "sshd.T.rc"
echo "$rc"

echo "@@opsdeck sshd.files"
{
    echo "$conf"
    awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }' "$conf" 2>/dev/null
} | while IFS= read -r pat; do
    case "$pat" in /*) ;; *) pat="/etc/ssh/$pat" ;; esac
    for f in $pat; do
        [ -f "$f" ] || continue
        echo "== $f"
        if [ -r "$f" ]; then head -n 2000 "$f"; else $S cat "$f" 2>/dev/null | head -n 2000 || echo "!! unreadable"; fi
    done
done

echo "@@opsdeck listen"
if have ss; then
    $S ss -H -tulpn 2>/dev/null || ss -H -tulpn 2>/dev/null
else
    echo "!! no ss: /proc/net"
    for f in tcp tcp6 udp udp6; do
        [ -r "/proc/net/$f" ] && sed "s/^/$f /" "/proc/net/$f"
    done
fi

echo "@@opsdeck firewall"
if have nft; then out=$($S nft list chains 2>&1); echo "nft.rc $?"; printf '%s\n' "$out" | head -n 200 | sed 's/^/nft /'; fi
if have iptables; then out=$($S iptables -S INPUT 2>&1); echo "iptables.rc $?"; printf '%s\n' "$out" | head -n 200 | sed 's/^/iptables /'; fi
if have ufw; then out=$($S ufw status verbose 2>&1); echo "ufw.rc $?"; printf '%s\n' "$out" | head -n 50 | sed 's/^/ufw /'; fi
if have firewall-cmd; then echo "firewalld $(firewall-cmd --state 2>&1 | head -n 1)"; fi
if [ -d /run/systemd/system ] && have systemctl; then
    for u in nftables ufw firewalld netfilter-persistent iptables; do
        echo "unit $u $(systemctl is-active "$u" 2>/dev/null | head -n 1)"
    done
fi

echo "@@opsdeck autoupdates"
[ -d /etc/apt ] && echo "pm apt"
[ -d /etc/dnf ] && echo "pm dnf"
[ -d /etc/zypp ] && echo "pm zypper"
[ -d /etc/apt/apt.conf.d ] && grep -h 'APT::Periodic::' /etc/apt/apt.conf.d/* 2>/dev/null | sed 's/^/apt /'
[ -x /usr/bin/unattended-upgrade ] && echo "unattended-upgrade installed"
[ -f /var/log/unattended-upgrades/unattended-upgrades.log ] && echo "uulog $(stat -c %Y /var/log/unattended-upgrades/unattended-upgrades.log 2>/dev/null)"
[ -r /etc/dnf/automatic.conf ] && grep -E '^(apply_updates|upgrade_type)' /etc/dnf/automatic.conf | sed 's/^/dnf /'
if [ -d /run/systemd/system ] && have systemctl; then
    for u in apt-daily-upgrade.timer dnf-automatic.timer dnf-automatic-install.timer transactional-update.timer; do
        echo "timer $u $(systemctl is-enabled "$u" 2>/dev/null | head -n 1)"
    done
fi
echo "now $(date +%s)"

echo "@@opsdeck accounts"
awk -F: '{ print "passwd", $1, $3, $6, $7 }' /etc/passwd 2>/dev/null
if [ -r /etc/shadow ] || [ -n "$S" ]; then
    $S awk -F: '{ s = $2; st = (s == "") ? "empty" : ((s ~ /^[!*]/) ? "locked" : "set"); print "shadow", $1, st }' /etc/shadow 2>/dev/null || echo "!! shadow unreadable"
else
    echo "!! shadow unreadable"
fi
grep -E '^(sudo|wheel|admin):' /etc/group 2>/dev/null | awk -F: '{ print "group", $1, $4 }'
for f in /etc/sudoers /etc/sudoers.d/*; do
    [ -f "$f" ] || continue
    if [ -r "$f" ]; then cat "$f"; else $S cat "$f" 2>/dev/null || echo "!! sudoers unreadable"; fi | grep -v '^[[:space:]]*#' | grep 'NOPASSWD' | sed "s|^|nopasswd $f |"
done

echo "@@opsdeck reboot"
echo "running $(uname -r)"
for k in /boot/vmlinuz-*; do [ -e "$k" ] && echo "installed ${k#/boot/vmlinuz-}"; done
[ -e /var/run/reboot-required ] && echo "required $(stat -c %Y /var/run/reboot-required 2>/dev/null)"
if have needrestart; then
    $S needrestart -b 2>/dev/null | grep -E '^NEEDRESTART-(SVC|KSTA)' | head -n 50
elif have needs-restarting; then
    $S needs-restarting -s 2>/dev/null | head -n 50 | sed 's/^/NEEDRESTART-SVC: /'
elif have zypper; then
    $S zypper -q ps -s 2>/dev/null | head -n 50 | sed 's/^/zypper /'
else
    # no tool: the processes (readable ones) that map a deleted library
    # (one grep over every readable maps file, not one per process)
    grep -l '\.so.* (deleted)' /proc/[0-9]*/maps 2>/dev/null | head -n 50 | while IFS= read -r m; do
        d=${m%/maps}
        read -r c < "$d/comm" 2>/dev/null && echo "deleted ${d#/proc/} $c"
    done
fi
echo "now $(date +%s)"

# The fact family of the check, the same lines (src/checks/family/timesync.rs).
# @@timesync@@

echo "@@opsdeck keys"
akf=$(printf '%s\n' "$out_T" | awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }')
[ -n "$akf" ] || akf=$(awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; print; exit }' "$conf" 2>/dev/null)
[ -n "$akf" ] || akf=".ssh/authorized_keys .ssh/authorized_keys2"
me=$(id -un)
awk -F: '{ print $1 ":" $6 ":" $7 }' /etc/passwd 2>/dev/null | while IFS=: read -r u h sh; do
    [ "$u" = "$me" ] || [ -n "$S" ] || continue
    case "$sh" in */nologin|*/false|"") [ "$u" = "$me" ] || continue ;; esac
    for pat in $akf; do
        [ "$pat" = none ] && continue
        f=$(printf '%s' "$pat" | sed "s|%h|$h|g; s|%u|$u|g; s|%%|%|g")
        case "$f" in /*) ;; *) f="$h/$f" ;; esac
        if [ -r "$f" ]; then
            echo "== $u $f"; head -n 500 "$f"
        elif [ -n "$S" ] && $S test -f "$f" 2>/dev/null; then
            echo "== $u $f"; $S head -n 500 "$f" 2>/dev/null
        fi
    done
done

echo "@@opsdeck certs"
if have openssl; then
    for port in $PORTS; do
        for name in ${NAMES:-localhost}; do
            echo "== port $port $name"
            echo | $T5 openssl s_client -connect "127.0.0.1:$port" -servername "$name" 2>/dev/null \
                | openssl x509 -noout -subject -issuer -enddate -ext subjectAltName 2>/dev/null | head -n 20
        done
    done
    for f in /etc/letsencrypt/live/*/cert.pem $CPATHS; do
        [ -e "$f" ] || continue
        echo "== file $f"
        $S openssl x509 -noout -subject -issuer -enddate -ext subjectAltName -in "$f" 2>/dev/null | head -n 20
    done
else
    echo "!! no openssl"
fi

echo "@@opsdeck end"
