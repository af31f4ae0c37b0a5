#!/usr/bin/env bash
# scripts/deb-test.sh: builds the chorusd .deb from this checkout, installs
# it in a clean Debian 12 chroot and checks that it works there: files in
# place, chorusd started with the unit's own command line as an
# unprivileged user (what DynamicUser= and StateDirectory= give it),
# `chorus conferences list` answering, a clean stop on SIGTERM, purge.
# Run as root; `scripts/deb-test.sh --help` says more.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/deb-test.sh [--help]

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
 7. apt-get purge chorusd: the programs go, the data folder stays.

Cache: $CHORUS_DEB_CACHE (default ~/.cache/chorus-deb-test): the chroot
tarball, the .debs apt downloaded, the last run's chroot (run/, left for a
look; removed at the next run) and logs. Mirror: $CHORUS_DEB_MIRROR
(default http://deb.debian.org/debian).
EOF
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

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
stage "1/7 host packages"
missing=()
for p in debhelper dpkg-dev fakeroot debootstrap systemd; do
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
stage "2/7 dpkg-buildpackage -b -us -uc (in a copy of the checkout)"
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
log "built $(basename "$deb") ($(du -k "$deb" | cut -f1) KiB)"

# ---- 3. the chroot ------------------------------------------------------
stage "3/7 clean Debian 12 chroot"
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
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_root update-ca-certificates >/dev/null || die "update-ca-certificates in the chroot"

# ---- 4. install ---------------------------------------------------------
stage "4/7 apt-get install ./$(basename "$deb") in the chroot"
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
stage "5/7 systemd-analyze verify chorusd.service"
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
stage "6/7 chorusd with the unit's command line, as an unprivileged user"
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
as_service() {
	in_root setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs \
		--inh-caps=-all --bounding-set=-all \
		env STATE_DIRECTORY=/var/lib/chorus HOME=/ sh -c 'umask 0027 && exec "$@"' sh "$@"
}
out=$root/tmp/chorusd.out
err=$root/tmp/chorusd.err
as_service "${cmd[@]}" "${extra[@]}" >"$out" 2>"$err" &
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
new=$(as_service chorusd customer token default --data-dir /var/lib/chorus |
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

# ---- 7. purge -----------------------------------------------------------
stage "7/7 apt-get purge chorusd"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y chorusd >"$cache/logs/purge.log" 2>&1 ||
	die "apt-get purge (log: $cache/logs/purge.log)"
for f in /usr/bin/chorusd /usr/bin/chorus /etc/chorus/chorusd.conf /lib/systemd/system/chorusd.service; do
	[ ! -e "$root$f" ] || die "$f left after purge"
done
[ -f "$root/var/lib/chorus/chorus.db" ] || die "purge removed the data folder"
log "purged: programs, config and unit gone, /var/lib/chorus kept"

stage "passed: chorusd $version builds, installs, starts and answers in a clean Debian 12"
