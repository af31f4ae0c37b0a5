#!/usr/bin/env bash
# scripts/deb-test.sh: builds the chorusd .deb from this checkout, installs
# it in a clean Debian 12 chroot and checks that it works there: files in
# place, chorusd started with the unit's own command line as an
# unprivileged user (what DynamicUser= and StateDirectory= give it),
# `chorus conferences list` answering, a clean stop on SIGTERM; then the
# same chroot booted with systemd as PID 1 runs the unit as installed,
# sandbox and all; purge. Run as root; `scripts/deb-test.sh --help` says
# more.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/deb-test.sh [--no-systemd] [--help]

As root, on Debian 12. Exits 0 when every check passed, 1 (with a line
saying which) at the first that failed.

 1. installs what it needs with apt-get (saying so): debhelper, dpkg-dev,
    fakeroot, debootstrap, systemd (for systemd-analyze) and the package's
    Build-Depends (apt-get build-dep on debian/control);
 2. builds the .deb with `dpkg-buildpackage -b -us -uc` in a copy of the
    checkout in a temporary folder (the checkout gets nothing);
 3. makes a clean chroot: the first run bootstraps Debian 12 (debootstrap
    --variant=minbase bookworm) and keeps it as a tarball; each run
    unpacks a fresh copy. The host's apt sources and CA certificates
    (/usr/local/share/ca-certificates) go into it; /proc and /dev are
    mounted, and unmounted again however the script ends;
 4. apt-get install ./chorusd_*.deb inside (dependencies from the mirror),
    checks the files, the conffile and the version;
 5. systemd-analyze verify of the installed unit;
 6. runs the unit's ExecStart= line as an unprivileged UID of its own with
    /var/lib/chorus made for it, plus --http 127.0.0.1:0 --sip 127.0.0.1:0
    (free ports: the chroot shares the host's network, where 8080 and
    5060 may be taken); takes the token it prints, runs `chorus
    conferences list` and `create`, `chorusd customer token` as the
    service user, stops chorusd with SIGTERM and wants exit 0;
 7. boots the chroot with systemd as PID 1 (in its own PID, mount and
    network namespaces: the default ports are free there) and checks the
    unit as installed, sandbox and all: enabled and started at boot, the
    token and the priorities in the journal, `chorus conferences list`,
    /var/lib/chorus owned by the dynamic user, `chorusd customer add` with
    systemd-run as docs/operations.md says, a restart after kill -9,
    `systemctl stop` with exit 0, systemd-analyze security. --no-systemd
    leaves this out (for a host that cannot run systemd in a namespace);
 8. apt-get purge chorusd: the programs go, the data folder stays.

Cache: $CHORUS_DEB_CACHE (default ~/.cache/chorus-deb-test): the chroot
tarball, the .debs apt downloaded, the last run's chroot (run/, left for a
look; removed at the next run), logs/, and out/: the chorusd .deb built. Mirror: $CHORUS_DEB_MIRROR
(default http://deb.debian.org/debian).
EOF
}

with_systemd=1
for a in "$@"; do
	case "$a" in
	-h | --help) usage; exit 0 ;;
	--no-systemd) with_systemd=0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

log() { echo "deb-test: $*"; }
die() { echo "deb-test: FAILED: $*" >&2; exit 1; }
t0=$(date +%s)
stage() { log "[$(($(date +%s) - t0))s] $*"; }

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get, debootstrap, chroot and mount need it)"
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${CHORUS_DEB_CACHE:-$HOME/.cache/chorus-deb-test}
mirror=${CHORUS_DEB_MIRROR:-http://deb.debian.org/debian}
base_tar=$cache/bookworm-minbase.tar
root=$cache/run       # this run's chroot
boot=$cache/bootstrap # debootstrap's, on the first run
mkdir -p "$cache/debs" "$cache/logs"
[ -f /etc/apt/sources.list.d/debian.sources ] || [ -f /etc/apt/sources.list ] ||
	die "no apt sources on this machine to copy into the chroot"

# ---- mounts: nothing stays mounted under the cache on any exit --------
mounted_under() { # the mount points under $1, deepest first
	awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/self/mounts | sort -r
}
unmount_all() { # $1: a chroot folder; true when nothing is mounted under it
	local m
	for m in $(mounted_under "$1"); do
		umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	[ -z "$(mounted_under "$1")" ]
}
chorusd_pid=""
build_dir=""
cleanup() {
	local rc=$? d
	if [ -n "$chorusd_pid" ] && kill -0 "$chorusd_pid" 2>/dev/null; then
		kill -KILL "$chorusd_pid" 2>/dev/null || true
		wait "$chorusd_pid" 2>/dev/null || true
	fi
	[ -z "$build_dir" ] || rm -rf --one-file-system "$build_dir"
	for d in "$root" "$boot"; do
		if ! unmount_all "$d"; then
			echo "deb-test: could not unmount: $(mounted_under "$d" | tr '\n' ' ')" >&2
			rc=1
		fi
	done
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Removes a chroot folder, never through a mount (a bind-mounted /dev
# would lose the host's device files).
remove_root() {
	unmount_all "$1" || die "mounts left under $1: $(mounted_under "$1" | tr '\n' ' ')"
	rm -rf --one-file-system "$1"
}

# ---- 1. host tools ----------------------------------------------------
stage "1/8 host packages"
missing=()
for p in debhelper dpkg-dev fakeroot debootstrap systemd util-linux iproute2; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "apt-get install ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! (cd "$src" && dpkg-checkbuilddeps >/dev/null 2>&1); then
	log "apt-get build-dep (the Build-Depends of debian/control)"
	(cd "$src" && DEBIAN_FRONTEND=noninteractive apt-get build-dep -y -qq --no-install-recommends ./ >/dev/null)
fi

# ---- 2. the .deb --------------------------------------------------------
stage "2/8 dpkg-buildpackage -b -us -uc (in a copy of the checkout)"
build_dir=$(mktemp -d /tmp/chorus-deb-build.XXXXXX)
mkdir "$build_dir/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# the files git knows or would take (edits included), no build output
	(cd "$src" && git ls-files -co --exclude-standard -z) |
		(cd "$src" && tar --null -T - -cf -) | tar -x -C "$build_dir/src"
else
	tar -C "$src" --exclude='./build*' --exclude=./data -cf - . | tar -x -C "$build_dir/src"
fi
if ! (cd "$build_dir/src" && DEB_BUILD_OPTIONS="parallel=${CHORUS_DEB_JOBS:-2}" \
	dpkg-buildpackage -b -us -uc >"$cache/logs/build.log" 2>&1); then
	tail -30 "$cache/logs/build.log" >&2
	die "dpkg-buildpackage (log: $cache/logs/build.log)"
fi
debs=("$build_dir"/chorusd_*.deb)
[ -f "${debs[0]}" ] || die "dpkg-buildpackage made no chorusd_*.deb"
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
mkdir -p "$cache/out"
rm -f "$cache"/out/chorusd_*.deb
cp "$deb" "$cache/out/"
log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB), a copy in $cache/out/"

# ---- 3. the chroot ------------------------------------------------------
stage "3/8 clean Debian 12 chroot"
if [ ! -f "$base_tar" ]; then
	log "debootstrap --variant=minbase bookworm from $mirror (first run only)"
	remove_root "$boot"
	if ! debootstrap --variant=minbase --include=ca-certificates bookworm "$boot" "$mirror" \
		>"$cache/logs/debootstrap.log" 2>&1; then
		tail -20 "$cache/logs/debootstrap.log" >&2
		die "debootstrap (log: $cache/logs/debootstrap.log)"
	fi
	unmount_all "$boot" || die "debootstrap left mounts under $boot"
	tar -C "$boot" -cf "$base_tar.tmp" . && mv "$base_tar.tmp" "$base_tar"
	remove_root "$boot"
	log "kept as $base_tar ($(du -m "$base_tar" | cut -f1) MiB)"
fi
remove_root "$root"
mkdir -p "$root"
tar -C "$root" -xf "$base_tar"
# the host's apt sources (its mirror and snapshot) and CA certificates
# (the egress proxy's), and name resolution
rm -f "$root/etc/apt/sources.list"
cp -f /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || true
[ -f /etc/apt/sources.list ] && cp -f /etc/apt/sources.list "$root/etc/apt/sources.list"
cp -f /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/usr/local/share/ca-certificates"
cp -f /usr/local/share/ca-certificates/* "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
mount_root() {
	mount -t proc proc "$root/proc"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
}
mount_root
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_root update-ca-certificates >"$cache/logs/ca.log" 2>&1 || die "update-ca-certificates in the chroot"

# ---- 4. install ---------------------------------------------------------
stage "4/8 apt-get install ./$(basename "$deb") in the chroot"
mkdir -p "$root/tmp/pkg"
cp "$deb" "$root/tmp/pkg/"
# the .debs of earlier runs, so a second run downloads nothing
cp -f "$cache"/debs/*.deb "$root/var/cache/apt/archives/" 2>/dev/null || true
if ! in_root sh -c 'apt-get update -qq && cd /tmp/pkg &&
	DEBIAN_FRONTEND=noninteractive apt-get install -y ./chorusd_*.deb' \
	>"$cache/logs/install.log" 2>&1; then
	tail -30 "$cache/logs/install.log" >&2
	die "apt-get install in the chroot (log: $cache/logs/install.log)"
fi
cp -f "$root"/var/cache/apt/archives/*.deb "$cache/debs/" 2>/dev/null || true
log "installed chorusd $version and $(grep -c '^Setting up' "$cache/logs/install.log") packages"

for f in /usr/bin/chorusd /usr/bin/chorus; do
	[ -x "$root$f" ] || die "$f missing or not executable"
done
for f in /etc/chorus/chorusd.conf /lib/systemd/system/chorusd.service \
	/usr/share/doc/chorusd/copyright /usr/share/doc/chorusd/README.md \
	/usr/share/doc/chorusd/docs/operations.md \
	/usr/share/pocketsphinx/model/en-us/en-us.lm.bin; do
	[ -f "$root$f" ] || die "$f missing"
done
in_root sh -c 'command -v espeak-ng' >/dev/null || die "espeak-ng not installed"
# shellcheck disable=SC2016 # ${Conffiles} is dpkg-query's, not ours
in_root dpkg-query -W -f='${Conffiles}\n' chorusd | grep -q "^ /etc/chorus/chorusd.conf " ||
	die "/etc/chorus/chorusd.conf is not a conffile"
[ ! -e "$root/var/lib/chorus" ] || die "/var/lib/chorus shipped (systemd's StateDirectory= makes it)"
if in_root ldd /usr/bin/chorusd /usr/bin/chorus | grep "not found"; then
	die "libraries missing"
fi
got=$(in_root chorusd --version) || die "chorusd --version failed"
[ "$got" = "chorusd ${version%-*}" ] || die "chorusd --version says \"$got\", the package ${version}"
log "files, conffile, libraries and version ($got) are right"

# ---- 5. the unit --------------------------------------------------------
stage "5/8 systemd-analyze verify chorusd.service"
# on this machine's systemd; the unit names /usr/bin/chorusd, which is
# in the chroot and not here, and the chroot has no systemd (no base
# units): a small root of the installed unit and binary and the host's
# targets and slices
vroot=$build_dir/verify-root
mkdir -p "$vroot/lib/systemd/system" "$vroot/usr/bin" "$vroot/etc"
cp -P /lib/systemd/system/*.target /lib/systemd/system/*.slice "$vroot/lib/systemd/system/"
cp "$root/lib/systemd/system/chorusd.service" "$vroot/lib/systemd/system/"
cp "$root/usr/bin/chorusd" "$vroot/usr/bin/"
unit_out=$(systemd-analyze --root="$vroot" --man=no verify /lib/systemd/system/chorusd.service 2>&1) ||
	die "systemd-analyze verify: $unit_out"
[ -z "$unit_out" ] || die "systemd-analyze verify warns: $unit_out"
log "the unit verifies"
unit=$root/lib/systemd/system/chorusd.service
grep -qx "DynamicUser=yes" "$unit" || die "the unit has no DynamicUser=yes"
grep -qx "StateDirectory=chorus" "$unit" || die "the unit has no StateDirectory=chorus"

# ---- 6. start it as the unit would --------------------------------------
stage "6/8 chorusd with the unit's command line, as an unprivileged user"
execs=$(grep -c '^ExecStart=' "$unit" || true)
[ "$execs" = 1 ] || die "the unit has $execs ExecStart= lines, expected 1"
cmdline=$(sed -n 's/^ExecStart=//p' "$unit")
cmdline=${cmdline#[-@:+!]}
case "$cmdline" in
*[\"\'\$%\\]*) die "ExecStart= uses quotes, variables or specifiers this test cannot run: $cmdline" ;;
esac
read -r -a cmd <<<"$cmdline"
datadir=""
for ((i = 0; i < ${#cmd[@]}; i++)); do
	[ "${cmd[$i]}" = --data-dir ] && datadir=${cmd[$((i + 1))]:-}
done
[ "$datadir" = /var/lib/chorus ] || die "ExecStart= does not pass --data-dir /var/lib/chorus (the StateDirectory=)"
extra=(--http 127.0.0.1:0 --sip 127.0.0.1:0)
log "ExecStart: $cmdline (+ ${extra[*]})"
# DynamicUser=yes: a UID of its own from systemd's range (61184-65519),
# no groups, no capabilities, no new privileges; StateDirectory=chorus:
# /var/lib/chorus owned by it, mode 0750; UMask=0027
uid=61299
mkdir -p "$root/var/lib/chorus"
chown "$uid:$uid" "$root/var/lib/chorus"
chmod 0750 "$root/var/lib/chorus"
# (an array, not a function: started with &, its PID is chorusd's own,
# as each program in it execs the next)
as_service=(chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
	setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs
	--inh-caps=-all --bounding-set=-all
	env STATE_DIRECTORY=/var/lib/chorus HOME=/ sh -c 'umask 0027 && exec "$@"' sh)
out=$root/tmp/chorusd.out
err=$root/tmp/chorusd.err
"${as_service[@]}" "${cmd[@]}" "${extra[@]}" >"$out" 2>"$err" &
chorusd_pid=$!
for _ in $(seq 1 100); do
	grep -q "Token:" "$out" 2>/dev/null && break
	kill -0 "$chorusd_pid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q "Token:" "$out"; then
	cat "$out" "$err" >&2
	die "chorusd printed no token within 10 s"
fi
url=$(awk '$1 == "API:" { print $2 }' "$out")
token=$(awk '$1 == "Token:" { print $2 }' "$out")
if [ -z "$url" ] || [ ${#token} -ne 64 ]; then
	die "no API URL or token in: $(cat "$out")"
fi
log "chorusd answers on $url (pid $chorusd_pid, uid $uid)"
[ "$(stat -c %u "$root/proc/$chorusd_pid")" = "$uid" ] || die "chorusd does not run as uid $uid"

# the client, as another user (nobody)
client() {
	in_root setpriv --reuid=65534 --regid=65534 --clear-groups \
		env HOME=/nonexistent CHORUS_URL="$url" CHORUS_TOKEN="$1" chorus "${@:2}"
}
list=$(client "$token" conferences list) || die "chorus conferences list failed: $list"
[ "$(echo "$list" | head -1 | awk '{ print $1, $2, $3, $4 }')" = "ID NAME TYPE STATUS" ] ||
	die "chorus conferences list printed: $list"
id=$(client "$token" conferences create --name deb-test --json |
	sed -n 's/^  "id": "\([0-9a-f-]*\)",$/\1/p') || die "chorus conferences create failed"
[ ${#id} -eq 36 ] || die "chorus conferences create gave no id"
list=$(client "$token" conferences list) || die "chorus conferences list failed: $list"
echo "$list" | grep -q "^$id  deb-test  conference " || die "the new conference is not listed: $list"
log "chorus conferences list answers (created $id, listed)"

# a new token with chorusd customer, run as the service's user as
# docs/operations.md says, while chorusd runs: the old token stops working
new=$("${as_service[@]}" chorusd customer token default --data-dir /var/lib/chorus |
	sed -n 's/.*"token": *"\([0-9a-f]\{64\}\)".*/\1/p') || die "chorusd customer token failed"
[ ${#new} -eq 64 ] || die "chorusd customer token printed no token"
client "$token" conferences list >/dev/null 2>&1 && die "the old token still works"
client "$new" conferences list | grep -q "^$id " || die "the new token does not work"
stray=$(find "$root/var/lib/chorus" ! -uid "$uid" | head -3)
[ -z "$stray" ] || die "files in /var/lib/chorus not owned by the service's user: $stray"
perm=$(find "$root/var/lib/chorus" -perm /o=rwx | head -3)
[ -z "$perm" ] || die "files in /var/lib/chorus readable by others (UMask=0027): $perm"
log "chorusd customer token as the service's user: new token works, old refused, files stay its own"

kill -TERM "$chorusd_pid"
code=0
for _ in $(seq 1 100); do
	kill -0 "$chorusd_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$chorusd_pid" 2>/dev/null && die "chorusd still runs 10 s after SIGTERM"
wait "$chorusd_pid" || code=$?
chorusd_pid=""
[ "$code" = 0 ] || { tail -5 "$err" >&2; die "chorusd exited $code after SIGTERM, expected 0"; }
grep -q "INFO  \[main\] stopped" "$err" || die "no \"stopped\" line in chorusd's log"
if grep -E "ERROR|WARN " "$err" | grep -v "net.core.rmem_max\|receive buffer" >&2; then
	die "chorusd logged warnings or errors (above)"
fi
log "SIGTERM: chorusd stopped, exit 0"

# The checks run inside the booted chroot, by a oneshot unit after
# chorusd.service that powers the container off when done; its lines go
# to /root/systemd-test.log, the last one "passed" or "FAILED: ...".
systemd_checks() {
	cat <<'CHECKS'
#!/bin/sh
exec >/root/systemd-test.log 2>&1
fail() { echo "FAILED: $*"; journalctl -u chorusd -o cat --no-pager | tail -20; exit 1; }
ok() { echo "ok: $*"; }
u=chorusd.service
# a command as the service's user: docs/operations.md's systemd-run line
as_service() {
	systemd-run --quiet --pipe --wait --collect -p DynamicUser=yes -p User=chorusd \
		-p StateDirectory=chorus -p StateDirectoryMode=0750 -p UMask=0027 "$@"
}
# true once the API answers with token $1 (within 5 s)
answers() {
	for _ in $(seq 1 50); do
		CHORUS_TOKEN=$1 chorus conferences list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	CHORUS_TOKEN=$1 chorus conferences list >/dev/null
}
for _ in $(seq 1 100); do
	journalctl -u $u -o cat | grep -q "serving API" && break
	sleep 0.1
done
[ "$(systemctl is-enabled $u)" = enabled ] || fail "chorusd.service not enabled by the package"
[ "$(systemctl is-active $u)" = active ] || fail "chorusd.service not active: $(systemctl status $u --no-pager)"
ok "chorusd.service enabled by the package and started at boot"
token=$(journalctl -u $u -o cat | awk '$1 == "Token:" { print $2 }')
[ ${#token} -eq 64 ] || fail "no token in the journal (journalctl -u chorusd)"
journalctl -u $u -o cat | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' && fail "log lines carry their own time in the journal"
journalctl -u $u -p 6..6 -o cat | grep -q '^INFO  \[main\] serving API' || fail "INFO lines not at priority info"
journalctl -u $u -p 0..4 -o cat | grep -v '^WARN  \|^ERROR ' | grep . && fail "lines above at warning or worse are not WARN or ERROR lines"
journalctl -u $u -p 0..5 -o cat | grep -q 'INFO  ' && fail "INFO lines at notice or worse"
systemd-run --quiet --wait --unit=chorusd-bad-flag -p DynamicUser=yes \
	chorusd serve --http nowhere >/dev/null 2>&1 && fail "chorusd serve --http nowhere started"
journalctl -u chorusd-bad-flag -p 3..3 -o cat | grep -q '^chorusd: --http' ||
	fail "a start-up failure is not at priority err in the journal"
ok "journal: the token, no time stamps of its own, INFO at info, only WARN/ERROR at -p warning, start-up failures at err"
export CHORUS_TOKEN="$token"
chorus conferences list | head -1 | grep -q '^ID  NAME  TYPE  STATUS' || fail "chorus conferences list"
chorus conferences create --name under-systemd >/dev/null || fail "chorus conferences create"
chorus conferences list | grep -q '  under-systemd  conference ' || fail "the new conference is not listed"
ok "chorus conferences list answers on the default address"
[ "$(readlink /var/lib/chorus)" = private/chorus ] || fail "/var/lib/chorus is not the DynamicUser link to private/chorus"
uid=$(stat -c %u /var/lib/private/chorus)
{ [ "$uid" -ge 61184 ] && [ "$uid" -le 65519 ]; } || fail "/var/lib/private/chorus owned by $uid, not a dynamic UID"
[ "$(stat -c %u "/proc/$(systemctl show -p MainPID --value $u)")" = "$uid" ] || fail "chorusd does not run as $uid"
[ "$(stat -c %a /var/lib/private/chorus)" = 750 ] || fail "/var/lib/chorus mode $(stat -c %a /var/lib/private/chorus)"
ok "runs as dynamic UID $uid, which owns /var/lib/chorus (0750)"
add=$(as_service chorusd customer add acme --data-dir /var/lib/chorus) ||
	fail "chorusd customer add with systemd-run"
t2=$(echo "$add" | sed -n 's/.*"token":"\([0-9a-f]\{64\}\)".*/\1/p')
[ ${#t2} -eq 64 ] || fail "chorusd customer add printed: $add"
CHORUS_TOKEN=$t2 chorus conferences list >/dev/null || fail "acme's new token does not work"
CHORUS_TOKEN=$t2 chorus conferences list | grep -q under-systemd && fail "acme sees default's conference"
[ -z "$(find /var/lib/private/chorus ! -uid "$uid")" ] || fail "files not owned by $uid after systemd-run"
[ "$(stat -c %a /var/lib/private/chorus)" = 750 ] || fail "systemd-run changed the mode of /var/lib/chorus"
ok "chorusd customer add through systemd-run: token works, files stay the service's"
pid=$(systemctl show -p MainPID --value $u)
kill -KILL "$pid"
new=0
for _ in $(seq 1 100); do
	new=$(systemctl show -p MainPID --value $u)
	[ "$new" != 0 ] && [ "$new" != "$pid" ] && [ "$(systemctl is-active $u)" = active ] && break
	sleep 0.1
done
{ [ "$new" != 0 ] && [ "$new" != "$pid" ]; } || fail "not restarted after kill -9 (Restart=on-failure)"
answers "$t2" || fail "no answer after the restart"
ok "kill -9: restarted by systemd (pid $pid -> $new), answers"
systemctl stop $u
[ "$(systemctl show -p Result --value $u)" = success ] || fail "stop: Result=$(systemctl show -p Result --value $u)"
[ "$(systemctl show -p ExecMainStatus --value $u)" = 0 ] || fail "stop: exit $(systemctl show -p ExecMainStatus --value $u)"
journalctl -u $u -o cat | tail -5 | grep -q 'INFO  \[main\] stopped' || fail "no clean stop in the journal"
ok "systemctl stop: SIGTERM, exit 0"
# the same command with the service stopped: same UID (the folder's)
as_service chorusd customer add beta --data-dir /var/lib/chorus >/dev/null ||
	fail "customer add with the service stopped"
[ -z "$(find /var/lib/private/chorus ! -uid "$uid")" ] || fail "files not owned by $uid after systemd-run (service stopped)"
ok "chorusd customer add through systemd-run with the service stopped: files stay the service's"
# on a running system: purge stops and removes it, an install starts it
systemctl start $u
DEBIAN_FRONTEND=noninteractive dpkg --purge chorusd >/root/dpkg.log 2>&1 || fail "dpkg --purge: $(cat /root/dpkg.log)"
systemctl is-active -q $u && fail "chorusd.service still active after purge"
[ ! -e /lib/systemd/system/chorusd.service ] || fail "unit left after purge"
DEBIAN_FRONTEND=noninteractive dpkg -i /root/chorusd.deb >/root/dpkg.log 2>&1 || fail "dpkg -i: $(cat /root/dpkg.log)"
[ "$(systemctl is-active $u)" = active ] || fail "not started by the package's install on a running system"
answers "$t2" || fail "no answer after the new install (data kept: acme's token)"
ok "on a running system: purge stops it, dpkg -i starts it, the data (and tokens) kept"
echo "ok: $(systemd-analyze security $u --no-pager | grep 'Overall exposure')"
echo passed
CHECKS
}

systemd_test() {
	local cg log=$cache/logs/systemd-boot.log rc=0
	log "apt-get install systemd in the chroot"
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd \
		>"$cache/logs/systemd-install.log" 2>&1 ||
		die "apt-get install systemd (log: $cache/logs/systemd-install.log)"
	cp -f "$root"/var/cache/apt/archives/*.deb "$cache/debs/" 2>/dev/null || true
	systemd_checks >"$root/usr/local/sbin/chorus-deb-test"
	cp "$deb" "$root/root/chorusd.deb"
	chmod 755 "$root/usr/local/sbin/chorus-deb-test"
	cat >"$root/etc/systemd/system/chorus-deb-test.service" <<'UNIT'
[Unit]
Description=scripts/deb-test.sh checks of chorusd.service
After=chorusd.service
SuccessAction=poweroff-force
FailureAction=poweroff-force
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/chorus-deb-test
TimeoutStartSec=90
UNIT
	ln -sf /etc/systemd/system/chorus-deb-test.service "$root/etc/systemd/system/multi-user.target.wants/"
	# no logins on the consoles (they would be the host's)
	ln -sf /dev/null "$root/etc/systemd/system/getty.target"
	ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
	rm -f "$root/root/systemd-test.log"
	# a first start, as after installing on a real system (the folder
	# stage 6 made for its UID goes)
	rm -rf --one-file-system "$root/var/lib/chorus"
	unmount_all "$root" || die "mounts left under $root"
	# systemd wants a cgroup tree of its own: a child of this machine's
	# cgroup2 hierarchy, the root of the container's cgroup namespace
	cg=$(findmnt -t cgroup2 -n -o TARGET | head -1)
	[ -n "$cg" ] || die "no cgroup2 file system mounted (systemd in the container needs one)"
	cg=$cg/chorus-deb-test
	if [ -d "$cg" ]; then find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true; fi
	mkdir "$cg" || die "cannot make the cgroup $cg"
	# new PID, mount, UTS, IPC, cgroup and network namespaces: the
	# container's mounts go with it, its loopback is its own (the default
	# ports are free there)
	# shellcheck disable=SC2016 # expanded by the inner shells
	timeout 150 sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare --pid --mount --uts --ipc \
		--net --cgroup --kill-child --propagation private sh -c "$2" sh "$3"' sh "$cg" '
		set -e
		R=$1
		ip link set lo up
		mount --bind "$R" "$R"
		mount -t proc proc "$R/proc"
		mount -t sysfs -o ro sysfs "$R/sys"
		mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
		for d in run tmp dev; do mount -t tmpfs -o mode=755 tmpfs "$R/$d"; done
		chmod 1777 "$R/tmp"
		for n in null zero full random urandom tty; do
			touch "$R/dev/$n" && mount --bind "/dev/$n" "$R/dev/$n"
		done
		mkdir "$R/dev/pts" "$R/dev/shm"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
		ln -s pts/ptmx "$R/dev/ptmx"
		mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
		exec chroot "$R" /usr/bin/env -i container=chorus-deb-test /lib/systemd/systemd
	' "$root" >"$log" 2>&1 || rc=$?
	find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
	mount_root
	if [ ! -f "$root/root/systemd-test.log" ]; then
		tail -20 "$log" >&2
		die "the booted chroot ran no checks (exit $rc, log: $log)"
	fi
	sed 's/^/deb-test:   /' "$root/root/systemd-test.log"
	[ "$(tail -1 "$root/root/systemd-test.log")" = passed ] || die "under systemd (above; boot log: $log)"
}

# ---- 7. under systemd ----------------------------------------------------
if [ "$with_systemd" = 1 ]; then
	stage "7/8 under systemd: the chroot booted (systemd as PID 1), chorusd.service as installed"
	systemd_test
else
	stage "7/8 under systemd: not run (--no-systemd)"
fi

# ---- 8. purge -----------------------------------------------------------
stage "8/8 apt-get purge chorusd"
mount_root
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y chorusd >"$cache/logs/purge.log" 2>&1 ||
	die "apt-get purge (log: $cache/logs/purge.log)"
for f in /usr/bin/chorusd /usr/bin/chorus /etc/chorus/chorusd.conf /lib/systemd/system/chorusd.service; do
	[ ! -e "$root$f" ] || die "$f left after purge"
done
[ -f "$root/var/lib/chorus/chorus.db" ] || die "purge removed the data folder"
log "purged: programs, config and unit gone, /var/lib/chorus kept"

stage "passed: chorusd $version builds, installs, starts and answers in a clean Debian 12"
