#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/image-fs.sh BUILD_DIR: ota-image's system slot file systems, ext4
# against EROFS (docs/ota-image.md, "ext4 or EROFS"): the image and bundle
# sizes and the bytes an adaptive delta install downloads (docs/update.md),
# over nginx, from version 1 to version 2 of one root. Sizes are bytes, not
# times: the machine's load does not change them; one run each.
#
# The root (no network needed): the test system of tests/vm/mkimage.sh
# --root-dir (BusyBox, otaroot's programs, the VM tests' kernel and
# initramfs in /boot; tests/vm/fetch-kernel.sh BUILD_DIR/vm/kernel first)
# with the host's Python standard library (/usr/lib/python3.11: thousands of
# small files, as an application brings). Version 2 is version 1 with:
# otaroot's programs in /usr/bin "rebuilt" (12 places of 64 bytes rewritten
# in each, as bench/delta.sh's v3), 20 of the Python modules edited (a line
# appended), a new 256 KiB file, /etc/ota-release. The device's active slot
# holds version 1's system slot as ota-image made it (from disk.img), the
# spare unrelated bytes; the install is ota-update's from an http URL, so
# every byte it downloads is in nginx's log. Both builds use one
# SOURCE_DATE_EPOCH, as a product's reproducible builds would.
# Needs root, nginx, erofs-utils.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need nginx curl python3 sfdisk mkfs.erofs mke2fs
build=$(realpath "${1:?usage: bench/image-fs.sh BUILD_DIR}")
here=$(dirname "$(realpath "$0")")
I=$build/bin/ota-image
U=$build/bin/ota-update
PY=${BENCH_PY_DIR:-/usr/lib/python3.11}
[ -d "$PY" ] || { echo "bench: $PY missing (BENCH_PY_DIR)" >&2; exit 1; }
[ -f "$build/vm/kernel/vmlinuz" ] || { echo "bench: no kernel: tests/vm/fetch-kernel.sh $build/vm/kernel" >&2; exit 1; }
. "$here/lib.sh"
bench_begin image-fs
cd "$W"
export SOURCE_DATE_EPOCH=1700000000

say "roots"
"$here/../tests/vm/mkimage.sh" --bin-dir "$build/bin" --grub --kernel-dir "$build/vm/kernel" --root-dir root-v1 \
	--version 1 >/dev/null
mkdir -p root-v1/usr/lib && cp -a "$PY" root-v1/usr/lib/
cp -a root-v1 root-v2
echo "otaroot test system 2" >root-v2/etc/ota-release
python3 - root-v2 <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(22)
for name in sorted(os.listdir(root + "/usr/bin")):
    p = root + "/usr/bin/" + name
    if not name.startswith("ota-") or os.path.islink(p):
        continue
    size = os.path.getsize(p)
    with open(p, "r+b") as f:  # a rebuilt program: 12 places of 64 bytes
        for _ in range(12):
            f.seek(rnd.randrange(size - 64))
            f.write(bytes(rnd.randrange(256) for _ in range(64)))
mods = []
for d, _, files in os.walk(root + "/usr/lib"):
    mods += [os.path.join(d, f) for f in files if f.endswith(".py")]
for p in rnd.sample(sorted(mods), 20):
    with open(p, "a") as f:
        f.write("# version 2\n")
with open(root + "/usr/lib/app-v2.bin", "wb") as f:
    f.write(bytes(rnd.randrange(256) for _ in range(256 * 1024)))
PY
files=$(find root-v1 -xdev | wc -l)
root_bytes=$(du -sb --apparent-size root-v1 | cut -f1)

. "$here/../tests/lib/pki.sh"
pki_init >/dev/null
pki_root ca >/dev/null
pki_cert signer ca signer >/dev/null
mkdir -p srv
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$here/../tests/lib/nginx-serve.sh" "$W/ngx" "$W/srv" "$PORT" &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
served() { awk '{ n += $3 } END { print n + 0 }' ngx/access.log; }
. "$here/../tests/lib/fake-device.sh"
fake_bootflow

declare -A R
for fs in ext4 erofs; do
	say "$fs: ota-image build (v1), ota-image bundle (v2)"
	cat >"$fs.conf" <<CONF
[image]
target = efi
filesystem = $fs
slot-size = 256M
[system]
compatible = bench-image-fs
version = 1
[update]
keyring = ca.pem
[sign]
key = signer.key
cert = signer.pem
CONF
	"$I" build "$fs.conf" --rootfs root-v1 -o "out-$fs" --data-dir "$here/../bootflow" -q
	"$I" bundle "$fs.conf" --rootfs root-v2 --system-version 2 -o "srv/$fs-v2.otab" -q
	# The device: slot a holds version 1's system-a (partition 2 of disk.img).
	read -r start size < <(sfdisk --json "out-$fs/disk.img" |
		python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][1]; print(p["start"], p["size"])')
	rm -rf slots data && mkdir -p slots data
	dd if="out-$fs/disk.img" of=slots/system-a bs=512 skip="$start" count="$size" status=none
	head -c $((size * 512)) /dev/urandom >slots/system-b
	fake_boot a
	fake_conf "$W" "$W/ca.pem" bench-image-fs --classes system >ota.conf
	sed -i 's/^version = .*/version = 1/' ota.conf
	: >ngx/access.log
	"$U" --config ota.conf install "http://127.0.0.1:$PORT/$fs-v2.otab" >"install-$fs.log" 2>&1 ||
		{ cat "install-$fs.log" >&2; exit 1; }
	R[$fs.delta]=$(served)
	R[$fs.disk]=$(stat -c %s "out-$fs/disk.img")
	R[$fs.disk_alloc]=$(( $(stat -c %b "out-$fs/disk.img") * $(stat -c %B "out-$fs/disk.img") ))
	R[$fs.bundle1]=$(stat -c %s "out-$fs/update.otab")
	R[$fs.bundle2]=$(stat -c %s "srv/$fs-v2.otab")
	# The file system itself: ext4 fills the slot (its used blocks: allocated
	# bytes of the sparse disk minus the ESP's); EROFS is as long as its data.
	R[$fs.image]=$("$build/bin/ota-bundle" inspect "srv/$fs-v2.otab" | sed -n 's/^payload system ([^)]*): \([0-9]*\) bytes.*/\1/p')
done

echo "root: $files files, $root_bytes bytes (apparent); SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH, slot-size 256M"
printf '%-6s %12s %14s %12s %12s %12s %16s\n' fs "fs image" "disk.img alloc" "bundle v1" "bundle v2" "delta v1->v2" "delta/bundle v2"
for fs in ext4 erofs; do
	printf '%-6s %12s %14s %12s %12s %12s %15.1f%%\n' "$fs" "${R[$fs.image]}" "${R[$fs.disk_alloc]}" "${R[$fs.bundle1]}" "${R[$fs.bundle2]}" \
		"${R[$fs.delta]}" "$(echo "100 * ${R[$fs.delta]} / ${R[$fs.bundle2]}" | bc -l)"
done
