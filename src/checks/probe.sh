# opsdeck probe: one POSIX sh script, run as `LC_ALL=C sh -s -- STAMP` with
# this text on stdin. Read-only, never needs root. Runs under dash, bash and
# busybox ash. Every section starts with a line `@@opsdeck NAME`; a section
# whose tool is missing says so and makes only that fact unknown.
# $1: the package stamp of the previous check ("" when none). When the stamp
# computed here equals it, the expensive update listing is skipped and the
# `updates` section says `unchanged`. The repeat path forks only nproc, df,
# systemctl (where systemd runs), stat and date.
LC_ALL=C
LANG=C
export LC_ALL LANG
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
prev="${1-}"
have() { command -v "$1" >/dev/null 2>&1; }
T=""
if have timeout; then T="timeout 300"; fi

echo "@@opsdeck probe 1"

echo "@@opsdeck os"
for f in /etc/os-release /usr/lib/os-release; do
    if [ -r "$f" ]; then
        while IFS= read -r line || [ -n "$line" ]; do
            case "$line" in
                PRETTY_NAME=*|ID=*|VERSION_ID=*|ID_LIKE=*|NAME=*) printf '%s\n' "$line" ;;
            esac
        done < "$f"
        break
    fi
done

# The fact families' sections (src/checks/family/*.rs) go here.
# @@families@@

bootid=""
[ -r /proc/sys/kernel/random/boot_id ] && read -r bootid < /proc/sys/kernel/random/boot_id

# The package manager, and the files whose modification times make the stamp.
pm=""
if have apt-get && [ -d /var/lib/dpkg ]; then pm=apt
elif have dnf; then pm=dnf
elif have yum; then pm=yum
elif have zypper; then pm=zypper
elif have apk; then pm=apk
elif have pacman; then pm=pacman
fi
meta=""
inputs=""
case "$pm" in
# @@pm-stamp@@
esac

echo "@@opsdeck pkg"
echo "manager ${pm:-none}"
if [ -n "$pm" ]; then
    # shellcheck disable=SC2086
    files=$(stat -c '%Y %n' $meta $inputs 2>/dev/null)
    # The stamp: manager, boot id and every input's mtime, built without a
    # fork; compared as a string with the one opsdeck passed in.
    stamp=""
    while IFS=' ' read -r mtime name; do
        [ -n "$mtime" ] || continue
        stamp="$stamp,$mtime"
        case "$name" in
            *Release|*repomd.xml|*APKINDEX.*|*.db) printf 'meta %s %s\n' "$mtime" "$name" ;;
        esac
    done <<EOF
$files
EOF
    [ -n "$stamp" ] && stamp="$pm:$bootid:${stamp#,}"
    echo "stamp $stamp"
    echo "now $(date +%s 2>/dev/null)"
fi

echo "@@opsdeck reboot"
if [ -e /var/run/reboot-required ] || [ -e /run/reboot-required ]; then
    echo "required yes"
    for f in /var/run/reboot-required.pkgs /run/reboot-required.pkgs; do
        if [ -r "$f" ]; then
            while IFS= read -r p; do printf 'pkg %s\n' "$p"; done < "$f"
            break
        fi
    done
elif [ -e /run/reboot-needed ]; then
    echo "required yes"
elif [ "$pm" = apt ] || [ "$pm" = zypper ]; then
    echo "required no"
elif [ "$pm" = dnf ] || [ "$pm" = yum ]; then
    echo "deferred needs-restarting"
elif [ "$pm" = apk ] || [ "$pm" = pacman ]; then
    running=""
    [ -r /proc/sys/kernel/osrelease ] && read -r running < /proc/sys/kernel/osrelease
    found=no
    any=no
    for d in /usr/lib/modules/* /lib/modules/*; do
        [ -d "$d" ] || continue
        any=yes
        [ "${d##*/}" = "$running" ] && found=yes
    done
    if [ "$any" = no ]; then echo "required unknown no-modules"
    elif [ "$found" = yes ]; then echo "required no"
    else echo "required yes kernel-modules-missing"
    fi
else
    echo "required unknown"
fi

echo "@@opsdeck updates"
if [ -z "$pm" ]; then
    echo "none"
elif [ -n "$stamp" ] && [ "$stamp" = "$prev" ]; then
    echo "unchanged"
else
    echo "fresh"
    case "$pm" in
# @@pm-listing@@
    esac
fi

echo "@@opsdeck cpu"
times
echo "@@opsdeck end"
