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
    apt) meta="/var/lib/apt/lists/*Release"
         inputs="/var/lib/apt/lists /var/lib/dpkg/status /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/preferences /etc/apt/preferences.d /etc/apt/apt.conf.d" ;;
    dnf) meta="/var/cache/dnf/*/repodata/repomd.xml /var/cache/libdnf5/*/repodata/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages /etc/yum.repos.d /etc/dnf/dnf.conf /var/cache/dnf /var/cache/libdnf5" ;;
    yum) meta="/var/cache/yum/*/*/*/repomd.xml /var/cache/yum/*/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/Packages /etc/yum.repos.d /etc/yum.conf /var/cache/yum" ;;
    zypper) meta="/var/cache/zypp/raw/*/repodata/repomd.xml"
         inputs="/var/lib/rpm /var/lib/rpm/rpmdb.sqlite /var/lib/rpm/Packages /etc/zypp/repos.d /var/cache/zypp/solv /etc/zypp/locks" ;;
    apk) meta="/var/cache/apk/APKINDEX.*.tar.gz /etc/apk/cache/APKINDEX.*.tar.gz"
         inputs="/lib/apk/db/installed /etc/apk/world /etc/apk/repositories /var/cache/apk /etc/apk/cache" ;;
    pacman) meta="/var/lib/pacman/sync/*.db"
         inputs="/var/lib/pacman/local /etc/pacman.conf /var/lib/pacman/sync" ;;
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
        apt)
            echo "@@opsdeck list.apt"
            $T apt-get -s -o Debug::NoLocking=true -o APT::Get::Show-User-Simulation-Note=false \
                -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= upgrade 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.apt.rc"
            echo "$rc" ;;
        dnf|yum)
            echo "@@opsdeck list.$pm"
            $T "$pm" -q -C check-update 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.$pm.rc"
            echo "$rc"
            echo "@@opsdeck security.$pm"
            if [ "$pm" = yum ]; then
                $T yum -q -C updateinfo list security 2>&1
            else
                $T dnf -q -C updateinfo list --security 2>&1
            fi; rc=$?
            printf '\n@@opsdeck %s\n' "security.$pm.rc"
            echo "$rc"
            echo "@@opsdeck updateinfo"
            ui=absent
            for f in /var/cache/dnf/*/repodata/*updateinfo* /var/cache/libdnf5/*/repodata/*updateinfo* /var/cache/yum/*/*/*/*updateinfo* /var/cache/yum/*/*updateinfo*; do
                [ -e "$f" ] && ui=present && break
            done
            echo "$ui"
            echo "@@opsdeck needs-restarting"
            if have needs-restarting; then
                $T needs-restarting -r 2>&1; rc=$?
                printf '\n@@opsdeck %s\n' "needs-restarting.rc"
                echo "$rc"
            elif [ "$pm" = dnf ]; then
                $T dnf -q -C needs-restarting -r 2>&1; rc=$?
                printf '\n@@opsdeck %s\n' "needs-restarting.rc"
                echo "$rc"
            else
                echo "missing"
            fi ;;
        zypper)
            echo "@@opsdeck list.zypper"
            $T zypper --non-interactive --no-refresh list-updates 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.zypper.rc"
            echo "$rc"
            echo "@@opsdeck security.zypper"
            $T zypper --non-interactive --no-refresh list-patches --category security 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "security.zypper.rc"
            echo "$rc" ;;
        apk)
            echo "@@opsdeck list.apk"
            $T apk version -l '<' 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.apk.rc"
            echo "$rc" ;;
        pacman)
            echo "@@opsdeck list.pacman"
            $T pacman -Qu 2>&1; rc=$?
            printf '\n@@opsdeck %s\n' "list.pacman.rc"
            echo "$rc" ;;
    esac
fi

echo "@@opsdeck cpu"
times
echo "@@opsdeck end"
