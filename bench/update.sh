#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/update.sh [--install-rounds N] [--create-rounds N] BUILD_DIR [IMAGE]:
# ota-update against its peers, printed as ratios (method:
# ../../shared/notes/benchmarking.md). The full installs (a, b, e) run
# --install-rounds times, interleaved (default 3; the medians and the range
# are printed); bundle creation (f) --create-rounds times (default 3; 0: the
# bundles are made once, untimed, and f is not reported); c and d once:
#   a) full install of a local bundle into a loop-device slot vs
#      `zstd -dc | dd of=LOOP` (oflag=direct as asked, and conv=fsync, the
#      honest end-to-end write limit on a loop device);
#   b) the same image installed by RAUC 1.8 (`rauc install` of a plain bundle,
#      squashfs zstd, into raw slots on loop devices, custom boot-loader
#      backend; Debian's rauc only installs through `rauc service`, so it
#      runs on a private D-Bus session bus);
#   c) bytes downloaded for a small update (v2 = v1 with a few files
#      changed and one added) by ota-update delta over nginx vs
#      `casync extract --seed=v1` from a casync store served by the same nginx;
#   d) peak RSS (GNU time's maximum resident set size) of ota-update
#      installing a 2 GiB image (the v1 image padded with zeros);
#   e) the same image installed by SWUpdate (Debian's swupdate 2022.12): a
#      .swu whose sw-description (signed with CMS, an RSA key) names the
#      image zstd-compressed, with its sha256, for the raw handler, streamed
#      (installed-directly) into the same loop slot;
#   f) bundle creation from the same image, median of the interleaved rounds:
#      ota-bundle create vs casync make, rauc bundle and making the .swu.
# Run it on both images of issue 19: without IMAGE (dense) and with a
# debootstrap minbase image (sparse; bench/delta-roots.sh makes one).
# Not run by CI. Needs root, loop devices, nginx-light, casync, rauc,
# squashfs-tools, dbus, GNU time, swupdate, cpio, openssl (tools/deps.sh). Without IMAGE an ext4 image
# is filled from /usr, reproducibly (fixed UUID, hash seed and time).
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need casync rauc mksquashfs dbus-daemon nginx /usr/bin/time zstd bc curl mke2fs swupdate cpio openssl
INSTALL_ROUNDS=3 CREATE_ROUNDS=3
usage() { echo "usage: bench/update.sh [--install-rounds N] [--create-rounds N] BUILD_DIR [IMAGE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--install-rounds) INSTALL_ROUNDS=${2:-}; shift 2 || usage ;;
	--create-rounds) CREATE_ROUNDS=${2:-}; shift 2 || usage ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	-*) usage ;;
	*) break ;;
	esac
done
[[ $INSTALL_ROUNDS =~ ^[1-9][0-9]*$ ]] || usage
[[ $CREATE_ROUNDS =~ ^[0-9]+$ ]] || usage
build=$(realpath "${1:?$(usage)}")
here=$(dirname "$(realpath "$0")")
U=$build/bin/ota-update
B=$build/bin/ota-bundle
. "$here/lib.sh"
bench_begin update
LOOPS=()
cd "$W"
secs() { echo "$2 - $1" | bc -l; }
mib() { echo "$(stat -c %s "$1") / 1048576" | bc; }

# ---- images: v1, v2 (a few files changed, one added) --------------------------------------
mkimg() { # mkimg TREE OUT SIZE_MIB
	rm -f "$2"
	E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -U 0b0e3c4f-77d3-4a3e-9a57-2f3b9c0d1e2a \
		-E hash_seed=9c1f6a2e-5d4b-4e8f-b3a1-7c6d5e4f3a2b,lazy_itable_init=0 -d "$1" "$2" "$3M"
}
if [ -n "${2:-}" ]; then
	cp "$(realpath "$2")" v1.img
	size_mib=$(mib v1.img)
	cp v1.img v2.img
	# v2: 1 MiB rewritten at 5 places, as a few changed files would.
	for off in 100 300 500 700 900; do
		[ $((off * size_mib / 1000)) -lt "$size_mib" ] || continue
		head -c 1048576 /dev/urandom | dd of=v2.img bs=1M seek=$((off * size_mib / 1000)) conv=notrunc status=none
	done
else
	say "filling an ext4 image from /usr"
	mkdir -p tree/usr/share tree/usr/lib
	cp -a /usr/bin /usr/sbin tree/usr/ && cp -a /usr/lib/python3 tree/usr/lib/ && cp -a /usr/share/doc /usr/share/man tree/usr/share/
	size_mib=$(( $(du -sm tree | cut -f1) * 12 / 10 + 64 ))
	mkimg tree v1.img "$size_mib"
	# v2, a small "security update": 5 binaries rebuilt (new content, same
	# size) and one new file.
	for f in $(find tree/usr/bin -type f -size +200k | sort | head -5); do
		head -c "$(stat -c %s "$f")" /dev/urandom >"$f"
	done
	head -c 300000 /dev/urandom >tree/usr/bin/new-tool
	mkimg tree v2.img "$size_mib"
	rm -rf tree
fi
IMG_BYTES=$(stat -c %s v1.img)
say "v1 and v2: $size_mib MiB each"

# ---- PKI, bundles, the device ------------------------------------------------------------
. "$here/../tests/lib/pki.sh"
pki_init
pki_root ca
pki_cert signer ca plain_signer
for v in v1 v2; do
	printf '[bundle]\ncompatible = bench\nversion = %s\n[image.system]\nfile = %s.img\n' "${v#v}" "$v" >"$v.ini"
done
# SWUpdate verifies sw-description's CMS signature against the CA (-k);
# an RSA signer, as SWUpdate's documentation signs with.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out swsigner.key 2>/dev/null
pki_cert swsigner ca plain_signer
mkdir -p srv
"$B" create --key signer.key --cert signer.pem v2.ini srv/v2.otab >/dev/null
zstd -q -3 -T0 -c v1.img >v1.img.zst
truncate -s $((size_mib + 64))M slot-a.img slot-b.img
for f in slot-a slot-b; do LOOPS+=("$(losetup -f --show "$f.img")"); done
LA=${LOOPS[0]} LB=${LOOPS[1]}
cat >bootflow.sh <<'SH'
#!/bin/sh
# A trivial custom boot flow: group a runs; arm/mark-bad only recorded.
D=$(dirname "$0")
case "$1" in
get-state) printf 'booted=a\ndefault=a\ntrial=\ntries=0\n' ;;
*) echo "$*" >>"$D/bootflow.calls" ;;
esac
SH
chmod +x bootflow.sh
conf() { # conf FILE SLOT-A SLOT-B
	cat >"$1" <<CONF
[system]
compatible = bench
version = 0
[update]
keyring = $W/ca.pem
downgrade = allow
status-file = $W/data/slots.json
hooks-dir = $W/hooks
lock-file = $W/update.lock
[bootflow]
type = custom
executable = $W/bootflow.sh
[slot.system-a]
class = system
device = $2
[slot.system-b]
class = system
device = $3
[group.a]
system = system-a
[group.b]
system = system-b
CONF
}
conf ota.conf "$LA" "$LB"
# timed NAME CMD...: runs CMD under GNU time; sets T_<NAME> (s) and RSS_<NAME>
# (KiB); returns CMD's status (GNU time puts a line about it first).
timed() {
	local name=$1 rc=0 t rss
	shift
	sync
	/usr/bin/time -f '%e %M' -o "time.$name" "$@" || rc=$?
	read -r t rss < <(tail -1 "time.$name")
	printf -v "T_$name" '%s' "$t"
	printf -v "RSS_$name" '%s' "$rss"
	return "$rc"
}

# ---- f) bundle creation: ota-bundle, casync make, rauc bundle, a .swu ------------------------
mkdir -p rauc-in rauc-data
ln v1.img rauc-in/system.img
printf '[update]\ncompatible=bench\nversion=1\n[bundle]\nformat=plain\n[image.system]\nfilename=system.img\n' \
	>rauc-in/manifest.raucm
# make_swu OUT: what SWUpdate's documentation asks of a signed .swu: the
# image zstd-compressed, its sha256 in sw-description, sw-description signed
# (openssl cms, DER), all in a cpio (newc with CRC) with sw-description first.
make_swu() {
	rm -rf swu && mkdir swu
	zstd -q -3 -T0 -c v1.img >swu/v1.img.zst
	local sha
	sha=$(openssl dgst -sha256 -r swu/v1.img.zst | cut -d' ' -f1)
	cat >swu/sw-description <<SWD
software =
{
	version = "1.0";
	hardware-compatibility: [ "1.0" ];
	images: (
		{
			filename = "v1.img.zst";
			type = "raw";
			device = "$LB";
			compressed = "zstd";
			installed-directly = true;
			sha256 = "$sha";
		}
	);
}
SWD
	openssl cms -sign -in swu/sw-description -out swu/sw-description.sig -signer swsigner.pem \
		-inkey swsigner.key -outform DER -nosmimecap -binary
	(cd swu && printf '%s\n' sw-description sw-description.sig v1.img.zst | cpio -o -H crc --quiet) >"$1"
	rm -rf swu
}
export -f make_swu
export LB
say "f) bundle creation, $CREATE_ROUNDS rounds: ota-bundle create, casync make, rauc bundle, .swu"
RAUC_BUNDLE_OK=1
make_rauc() { # make_rauc [TIMED-NAME]
	rm -f v1.raucb
	if [ -n "$RAUC_BUNDLE_OK" ] && ! ${1:+timed "$1"} rauc bundle --cert=signer.pem --key=signer.key --keyring=ca.pem \
		--mksquashfs-args='-comp zstd' rauc-in v1.raucb >rauc-bundle.log 2>&1; then
		echo "bench: rauc bundle failed:" >&2; tail -5 rauc-bundle.log >&2; RAUC_BUNDLE_OK=
	fi
}
for r in $(seq "$CREATE_ROUNDS"); do
	timed "mk_ota_$r" "$B" create --key signer.key --cert signer.pem v1.ini v1.otab >/dev/null
	rm -rf mk.castr
	timed "mk_casync_$r" casync make --compression=zstd --chunk-size=65536 --store=mk.castr mk.caibx v1.img >/dev/null
	make_rauc "mk_rauc_$r"
	timed "mk_swu_$r" bash -c 'make_swu v1.swu'
done
if [ "$CREATE_ROUNDS" = 0 ]; then
	"$B" create --key signer.key --cert signer.pem v1.ini v1.otab >/dev/null
	make_rauc
	make_swu v1.swu
fi
rm -rf mk.castr mk.caibx
# median NAME [ROUNDS]: the median of T_NAME_1..ROUNDS (the lower middle of
# an even count), empty if any round has no figure
median() {
	local n=${2:-$INSTALL_ROUNDS} v i all=
	for i in $(seq "$n"); do v="T_$1_$i"; [ -n "${!v:-}" ] || return 0; all+="${!v}"$'\n'; done
	printf '%s' "$all" | sort -g | sed -n "$(((n + 1) / 2))p"
}
# range NAME: "min-max s" over the install rounds
range() {
	local v i
	for i in $(seq "$INSTALL_ROUNDS"); do v="T_$1_$i"; echo "${!v:-}"; done | sort -g | sed -n '1h;$!d;x;G;s/\n/-/;p'
}

# ---- b) and e): the peers' set-up ---------------------------------------------------------------
cat >rauc-backend.sh <<'SH'
#!/bin/sh
# RAUC custom boot-loader backend: primary and states kept in files.
D=$(dirname "$0")
case "$1" in
get-primary) cat "$D/rauc-primary" 2>/dev/null || echo A ;;
set-primary) echo "$2" >"$D/rauc-primary" ;;
get-state) cat "$D/rauc-state.$2" 2>/dev/null || echo good ;;
set-state) echo "$3" >"$D/rauc-state.$2" ;;
get-current) echo A ;;
esac
SH
chmod +x rauc-backend.sh
cat >rauc.conf <<CONF
[system]
compatible=bench
bootloader=custom
data-directory=$W/rauc-data
[handlers]
bootloader-custom-backend=$W/rauc-backend.sh
[keyring]
path=$W/ca.pem
[slot.system.0]
device=$LA
type=raw
bootname=A
[slot.system.1]
device=$LB
type=raw
bootname=B
CONF
if [ -n "$RAUC_BUNDLE_OK" ]; then
	dbus-daemon --session --address="unix:path=$W/bus" --nofork --nopidfile >dbus.log 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do [ -S bus ] && break; sleep 0.1; done
	DBUS_SESSION_BUS_ADDRESS="unix:path=$W/bus" DBUS_STARTER_BUS_TYPE=session \
		rauc --conf=rauc.conf service --override-boot-slot=A >rauc-service.log 2>&1 &
	PIDS+=($!)
	sleep 1
fi
RAUC_WHY= SWU_WHY=
[ -n "$RAUC_BUNDLE_OK" ] || RAUC_WHY="rauc bundle failed (see above)"
# fresh_spare: a new header in the spare, nothing to resume or to find in place
fresh_spare() { head -c 1048576 /dev/urandom | dd of="$LB" bs=1M conv=fsync status=none; }
# check_spare WHAT: the spare holds v1, or WHAT left a wrong image
check_spare() { cmp -s -n "$IMG_BYTES" "$LB" v1.img || { echo "bench: $1 left a wrong image in $LB" >&2; return 1; }; }

# ---- a), b), e): full installs, the rounds interleaved --------------------------------------------
# a) zstd -dc | dd (oflag=direct, and conv=fsync), ota-update install;
# b) rauc install (its client talks to `rauc service` on the private bus);
# e) swupdate -i: local install of the .swu from f) into the spare slot: no
# boot-loader or state marker (-M -m: the custom flows of a) and b) mark
# nothing either), the hardware revision sw-description names (-H). The raw
# handler closes the device without fsync (seen with strace), so the timed
# command ends with `sync LOOP`, the flush ota-update and dd conv=fsync
# include. Every input is read once before, so each tool starts warm.
cat v1.otab v1.img.zst v1.img >/dev/null
[ -z "$RAUC_BUNDLE_OK" ] || cat v1.raucb >/dev/null
cat v1.swu >/dev/null
for r in $(seq "$INSTALL_ROUNDS"); do
	say "a), b), e) full installs, round $r of $INSTALL_ROUNDS: zstd|dd (direct, fsync), ota-update, rauc, swupdate"
	timed "dd_direct_$r" sh -c "zstd -dc v1.img.zst | dd of=$LB bs=1M oflag=direct iflag=fullblock status=none"
	timed "dd_fsync_$r" sh -c "zstd -dc v1.img.zst | dd of=$LB bs=1M conv=fsync iflag=fullblock status=none"
	rm -rf data
	fresh_spare
	timed "ota_$r" "$U" --config ota.conf install v1.otab
	check_spare ota-update || exit 1
	if [ -z "$RAUC_WHY" ]; then
		fresh_spare
		if ! DBUS_SESSION_BUS_ADDRESS="unix:path=$W/bus" DBUS_STARTER_BUS_TYPE=session \
			timed "rauc_$r" rauc install v1.raucb >rauc-install.log 2>&1 || ! check_spare rauc; then
			RAUC_WHY="rauc install failed: $(tail -1 rauc-install.log)"
			echo "bench: $RAUC_WHY" >&2; tail -5 rauc-install.log rauc-service.log >&2
		fi
	fi
	if [ -z "$SWU_WHY" ]; then
		fresh_spare
		if ! timed "swu_$r" sh -c "timeout 900 swupdate -k ca.pem -i v1.swu -M -m -H bench:1.0 >swupdate.log 2>&1 && sync $LB"; then
			SWU_WHY="swupdate failed: $(grep -m1 -E 'ERROR|error' swupdate.log || tail -1 swupdate.log)"
		elif ! check_spare swupdate; then
			SWU_WHY="swupdate reported success but left a wrong image in $LB"
		fi
		[ -z "$SWU_WHY" ] || { echo "bench: $SWU_WHY" >&2; tail -5 swupdate.log >&2; }
	fi
done
T_ota=$(median ota) T_dd_direct=$(median dd_direct) T_dd_fsync=$(median dd_fsync)
T_rauc= T_swu=
[ -n "$RAUC_WHY" ] || T_rauc=$(median rauc)
[ -n "$SWU_WHY" ] || T_swu=$(median swu)

# ---- c) bytes downloaded: ota-update delta vs casync --seed over nginx ---------------------------
say "c) delta v1 -> v2 over nginx: ota-update, casync extract --seed"
casync make --compression=zstd --chunk-size=65536 --store=srv/store.castr srv/v2.caibx v2.img >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$here/../tests/lib/nginx-serve.sh" "$W/ngx" "$W/srv" "$PORT" &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
served() { awk '{ n += $3 } END { print n + 0 }' ngx/access.log; }
# The device: the active slot a holds v1, the spare b something unrelated.
dd if=v1.img of="$LA" bs=1M conv=fsync status=none
head -c "$IMG_BYTES" /dev/urandom | dd of="$LB" bs=1M conv=fsync iflag=fullblock status=none
rm -rf data
: >ngx/access.log
timed delta "$U" --config ota.conf install --json "http://127.0.0.1:$PORT/v2.otab" >delta.json
cmp -s -n "$IMG_BYTES" "$LB" v2.img || { echo "bench: delta left a wrong image" >&2; exit 1; }
DL_OTA=$(served)
: >ngx/access.log
timed casync casync extract --store="http://127.0.0.1:$PORT/store.castr" --seed=v1.img \
	"http://127.0.0.1:$PORT/v2.caibx" casync-out.img
cmp -s casync-out.img v2.img || { echo "bench: casync extract left a wrong image" >&2; exit 1; }
DL_CA=$(served)
V2_BUNDLE=$(stat -c %s srv/v2.otab)
STORE=$(du -sb srv/store.castr | cut -f1)

# ---- d) peak RSS for a 2 GiB image --------------------------------------------------------------
say "d) peak RSS of ota-update installing a 2 GiB image"
cp v1.img big.img
truncate -s 2G big.img
printf '[bundle]\ncompatible = bench\nversion = 9\n[image.system]\nfile = big.img\n' >big.ini
"$B" create --key signer.key --cert signer.pem big.ini big.otab >/dev/null
rm -f v1.img.zst casync-out.img
truncate -s 2100M slot-big.img
LOOPS+=("$(losetup -f --show slot-big.img)")
conf big.conf "$LA" "${LOOPS[2]}"
rm -rf data
timed big "$U" --config big.conf install big.otab

# ---- report ----------------------------------------------------------------------------------------------
mbs() { echo "$IMG_BYTES / 1048576 / $1" | bc -l; }
echo
echo "image: $size_mib MiB ext4 ($IMG_BYTES bytes), $(nproc) CPUs; loop devices on $(df --output=fstype "$W" | tail -1)"
printf 'a) full install from a local bundle (%s MiB), median of %s interleaved rounds (range):\n' "$(mib v1.otab)" "$INSTALL_ROUNDS"
printf '   ota-update install        %6.2f s (%4.0f MiB/s; %s s), peak RSS %s KiB\n' "$T_ota" "$(mbs "$T_ota")" "$(range ota)" "$RSS_ota_1"
printf '   zstd -dc | dd oflag=direct %6.2f s (%4.0f MiB/s; %s s)   ratio %.2fx\n' "$T_dd_direct" "$(mbs "$T_dd_direct")" \
	"$(range dd_direct)" "$(echo "$T_dd_direct / $T_ota" | bc -l)"
printf '   zstd -dc | dd conv=fsync   %6.2f s (%4.0f MiB/s; %s s)   ratio %.2fx\n' "$T_dd_fsync" "$(mbs "$T_dd_fsync")" \
	"$(range dd_fsync)" "$(echo "$T_dd_fsync / $T_ota" | bc -l)"
echo "   (ratio = the other's time / ota-update's: > 1 means ota-update is faster; ota-update also reads the slot back and hashes it)"
if [ -n "${T_rauc:-}" ]; then
	printf 'b) rauc install (plain bundle, squashfs zstd, %s MiB) %6.2f s (%4.0f MiB/s; %s s), peak RSS of the client %s KiB   ratio %.2fx\n' \
		"$(mib v1.raucb)" "$T_rauc" "$(mbs "$T_rauc")" "$(range rauc)" "$RSS_rauc_1" "$(echo "$T_rauc / $T_ota" | bc -l)"
else
	echo "b) rauc: no figure: $RAUC_WHY"
fi
printf 'c) small update v1 -> v2 over nginx (bundle %s bytes, casync store %s bytes):\n' "$V2_BUNDLE" "$STORE"
printf '   ota-update delta          %10s bytes (%5.2f %% of the bundle), %6.2f s, peak RSS %s KiB\n' "$DL_OTA" \
	"$(echo "100 * $DL_OTA / $V2_BUNDLE" | bc -l)" "$T_delta" "$RSS_delta"
printf '   casync extract --seed     %10s bytes, %6.2f s, peak RSS %s KiB   ratio (casync/ota) %.2fx\n' "$DL_CA" \
	"$T_casync" "$RSS_casync" "$(echo "$DL_CA / $DL_OTA" | bc -l)"
if [ -n "${T_swu:-}" ]; then
	printf 'e) swupdate -i (signed .swu, zstd, raw handler, %s MiB) + sync %6.2f s (%4.0f MiB/s; %s s), peak RSS %s KiB   ratio %.2fx\n' \
		"$(mib v1.swu)" "$T_swu" "$(mbs "$T_swu")" "$(range swu)" "$RSS_swu_1" "$(echo "$T_swu / $T_ota" | bc -l)"
else
	echo "e) swupdate: no figure: $SWU_WHY"
fi
if [ "$CREATE_ROUNDS" -gt 0 ]; then
	M_ota=$(median mk_ota "$CREATE_ROUNDS")
	printf 'f) bundle creation from the same image, median of %s interleaved rounds (ratio = the other / ota-bundle):\n' "$CREATE_ROUNDS"
	printf '   ota-bundle create (signed)            %6.2f s (%4.0f MiB/s)\n' "$M_ota" "$(mbs "$M_ota")"
	for peer in "casync:casync make (64 KiB, zstd)" "rauc:rauc bundle (squashfs zstd)" \
		"swu:.swu (zstd -3 -T0, sha256, cms, cpio)"; do
		M=$(median "mk_${peer%%:*}" "$CREATE_ROUNDS")
		if [ -n "$M" ]; then
			printf '   %-37s %6.2f s (%4.0f MiB/s)   ratio %.2fx\n' "${peer#*:}" "$M" "$(mbs "$M")" "$(echo "$M / $M_ota" | bc -l)"
		else
			printf '   %-37s failed (see above)\n' "${peer#*:}"
		fi
	done
else
	echo "f) bundle creation: not measured (--create-rounds 0)"
fi
printf 'd) 2 GiB image: ota-update install %6.2f s, peak RSS %s KiB (%.1f MiB)\n' "$T_big" "$RSS_big" \
	"$(echo "$RSS_big / 1024" | bc -l)"
