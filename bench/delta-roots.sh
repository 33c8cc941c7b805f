#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# bench/delta-roots.sh DIR: the image pair of bench/delta.sh, reproducibly.
#   DIR/v1.img  a 1 GiB ext4 image of `debootstrap --variant=minbase bookworm`
#   DIR/v2.img  the same root after `apt-get upgrade` from bookworm-security
# The roots are kept in DIR/root-v1 and DIR/root-v2 (made once; delete them to
# rebuild), the images are made again from them each time. Reproducible: fixed
# UUID and hash seed, E2FSPROGS_FAKE_TIME, every inode time set to one value,
# apt's lists, caches and logs removed. Needs root and Debian's mirrors.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/need.sh"
need debootstrap mke2fs
dir=$(realpath -m "${1:?usage: bench/delta-roots.sh DIR}")
mkdir -p "$dir"
cd "$dir"
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
STAMP=1700000000

# The chroot's apt must not start services or keep what it fetched.
in_chroot() { # in_chroot ROOT CMD...
	local root=$1
	shift
	mount -t proc proc "$root/proc"
	local rc=0
	LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$root" "$@" || rc=$?
	umount "$root/proc"
	return $rc
}

normalise() { # normalise ROOT: remove what differs between two runs of the same install
	local root=$1
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
		"$root"/var/log/* "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/etc/machine-id
	find "$root" -xdev -exec touch -h -d "@$STAMP" {} +
}

if [ ! -e root-v1/.done ]; then
	rm -rf root-v1
	debootstrap --variant=minbase bookworm root-v1 "$MIRROR" >debootstrap.log 2>&1 ||
		{ tail -20 debootstrap.log >&2; exit 1; }
	printf '#!/bin/sh\nexit 101\n' >root-v1/usr/sbin/policy-rc.d
	chmod +x root-v1/usr/sbin/policy-rc.d
	normalise root-v1
	touch root-v1/.done
fi
if [ ! -e root-v2/.done ]; then
	rm -rf root-v2
	cp -a root-v1 root-v2
	rm root-v2/.done
	printf 'deb %s bookworm main\ndeb %s bookworm-security main\n' "$MIRROR" "$SECURITY" \
		>root-v2/etc/apt/sources.list
	in_chroot root-v2 apt-get -q update >apt.log 2>&1 || { tail -20 apt.log >&2; exit 1; }
	in_chroot root-v2 apt-get -q -y -o Dpkg::Options::=--force-confold upgrade >>apt.log 2>&1 ||
		{ tail -20 apt.log >&2; exit 1; }
	# v1's sources.list, so that only the upgrade differs.
	cp root-v1/etc/apt/sources.list root-v2/etc/apt/sources.list
	normalise root-v2
	touch root-v2/.done
fi
grep -c '^Unpacking' apt.log >upgraded.count 2>/dev/null || true
for v in v1 v2; do
	rm -f "$v.img"
	E2FSPROGS_FAKE_TIME=$STAMP mke2fs -q -t ext4 -U 0b0e3c4f-77d3-4a3e-9a57-2f3b9c0d1e2a \
		-E hash_seed=9c1f6a2e-5d4b-4e8f-b3a1-7c6d5e4f3a2b,lazy_itable_init=0,root_owner=0:0 \
		-d "root-$v" "$v.img" 1G
done
