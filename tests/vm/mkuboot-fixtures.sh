#!/bin/bash
# mkuboot-fixtures.sh BUILD_DIR: fixtures of the U-Boot boot-flow VM tests
# (tests/vm/test_uboot.py), in BUILD_DIR/vm/uboot:
#   disk.img               U-Boot disk (FAT boot + system-a v1 + empty system-b +
#                          data), uboot boot flow in file mode, trusting pki/keyring.pem
#   good.otab              version 2, a working system
#   panic.otab             version 2 whose early userspace panics the kernel
#                          (sysrq 'c' from /sbin/ota-init)
#   init-exits.otab        version 2 whose real init exits at once (PID 1
#                          dies: the kernel panics)
#   hang.otab              version 2 whose real init hangs (only the trial
#                          watchdog that ota-init armed ends it)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: mkuboot-fixtures.sh BUILD_DIR}" && pwd)
d=$build/vm/uboot
kernel=$build/vm/kernel
rm -rf "$d"; mkdir -p "$d/extra/etc/ota"
"$here/demo-pki.sh" "$d/pki" >/dev/null
cp "$d/pki/keyring.pem" "$d/extra/etc/ota/keyring.pem"
# A 30 s trial watchdog: the hang case waits for it.
mk() { "$here/mkimage.sh" --bin-dir "$build/bin" --uboot --kernel-dir "$kernel" --trial-watchdog 30 "$@" >/dev/null; }
mk --out "$d/disk.img" --extra-root "$d/extra" --version 1

bundle() { # name, extra root dir
	local name=$1 extra=$2
	mk --out "$d/$name.ext4" --extra-root "$extra" --version 2 --rootfs-only
	printf '[bundle]\ncompatible = otaroot-qemu-demo\nversion = 2\n[image.system]\nfile = %s.ext4\n' "$name" \
		>"$d/$name.ini"
	"$build/bin/ota-bundle" create --key "$d/pki/signer.key" --cert "$d/pki/signer.pem" "$d/$name.ini" \
		"$d/$name.otab" >/dev/null
	rm -f "$d/$name.ext4"
}
broken() { # name, path in the root, script body
	local name=$1 path=$2 body=$3
	rm -rf "$d/extra-$name"; cp -a "$d/extra" "$d/extra-$name"
	mkdir -p "$(dirname "$d/extra-$name$path")"
	printf '#!/bin/sh\n%s\n' "$body" >"$d/extra-$name$path"
	chmod 0755 "$d/extra-$name$path"
	bundle "$name" "$d/extra-$name"
}
bundle good "$d/extra"
broken panic /sbin/ota-init 'mount -t proc proc /proc; echo "broken update: panicking the kernel" >/dev/console; echo c >/proc/sysrq-trigger'
broken init-exits /sbin/init 'echo "broken update: init exits" >/dev/console; exit 1'
broken hang /sbin/init 'echo "broken update: init hangs" >/dev/console; while :; do sleep 3600; done'
echo "mkuboot-fixtures: done: $d"
