#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM tests of ota-init: a real kernel boots the test image through
init=/sbin/ota-init, and the test agent reports what the guest sees.

Usage: test_boot.py [case ...]   (all cases when none is named)
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import VMError, parse_status, run_cases  # noqa: E402

DATA_PARTITION = 3


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def mounts(m):
    """Mount point -> (fstype, source, super options) from the guest."""
    table = {}
    for line in m.output("cat /proc/self/mountinfo").splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(fields) >= 5 and len(rfields) >= 3:
            table[fields[4]] = (rfields[0], rfields[1], rfields[2])
    return table


def status(m):
    return parse_status(m.output("cat /run/ota/status"))


def expect_real_init_is_pid1(m):
    expect(m.output("cat /proc/1/comm").strip() == "init", "PID 1 is not BusyBox init")
    expect(m.output("readlink /proc/1/exe").strip() == "/bin/busybox",
           "PID 1 does not run /bin/busybox")


def partition_offset(disk, number):
    """Byte offset of a partition, read back with sfdisk --json."""
    import json
    out = subprocess.run(["sfdisk", "--json", disk], check=True, capture_output=True, text=True)
    table = json.loads(out.stdout)["partitiontable"]
    for p in table["partitions"]:
        if p["node"].endswith(str(number)):
            return p["start"] * table.get("sectorsize", 512)
    raise AssertionError("partition %d not found in %s" % (number, disk))


def case_overlay_root(tc):
    """(a) The real init runs as PID 1 with / an overlay over system-a and
    /dev, /proc, /sys and /run mounted."""
    m = tc.machine
    m.boot()
    expect_real_init_is_pid1(m)
    mt = mounts(m)
    fstype, _, opts = mt["/"]
    expect(fstype == "overlay", "/ is %s, not overlay" % fstype)
    expect("lowerdir=/run/ota/system" in opts, "overlay lower is not the system slot: " + opts)
    expect("upperdir=/run/ota/data/ota/overlay/discard/upper" in opts, "unexpected upper: " + opts)
    # Options at their (off) default are not listed, so check none is on.
    for opt in ("index=on", "metacopy=on", "redirect_dir=on", "xino=on"):
        expect(opt not in opts, "overlay mounted with %s: %s" % (opt, opts))
    expect(mt["/run/ota/system"][1] == "/dev/vda1", "lower is not system-a: %s" % (mt["/run/ota/system"],))
    expect("ro" in mt["/run/ota/system"][2].split(","), "system slot is not read-only")
    expect(mt["/run/ota/data"][1] == "/dev/vda3", "data is not /dev/vda3: %s" % (mt["/run/ota/data"],))
    for point, fs in (("/dev", "devtmpfs"), ("/proc", "proc"), ("/sys", "sysfs"), ("/run", "tmpfs")):
        expect(point in mt and mt[point][0] == fs, "%s is not %s: %s" % (point, fs, mt.get(point)))
    st = status(m)
    expect(st["slot"] == "a" and st["system_device"] == "/dev/vda1", "wrong slot: %s" % st)
    expect(st["root_check"] == "ok", "root= cross-check: " + st["root_check"])
    # The harness's initramfs leaves them unmounted, as a kernel without an
    # initramfs does: ota-init must have mounted all four itself.
    expect(st["api_mounted"] == "/proc /sys /dev /run", "ota-init mounted: " + st["api_mounted"])
    expect(st["overlay"] == "discard" and st["degraded"] == "no", "status: %s" % st)
    # ota-init logged to the kernel log as PID 1, and / is writable.
    expect("ota-init[1]: booted slot a from /dev/vda1" in m.output("dmesg"),
           "ota-init did not log to /dev/kmsg as PID 1")
    m.run("echo written > /etc/overlay-write-test && cat /etc/overlay-write-test")
    expect(m.run("test -e /run/ota/system/etc/overlay-write-test", check=False)[0] != 0,
           "a write under / reached the system slot")
    print("boot to agent: %.1f s" % m.boot_seconds)


def case_discard(tc):
    """(b) In discard mode a file written under / is gone after a reboot, and
    the discarded upper is emptied in the background."""
    m = tc.machine
    m.boot()
    m.run("echo gone-after-reboot > /etc/discard-test && sync")
    m.reboot()
    m.boot()
    expect(status(m)["overlay"] == "discard", "overlay mode is not discard")
    expect(m.run("test -e /etc/discard-test", check=False)[0] != 0,
           "file written before the reboot survived in discard mode")
    deadline = time.monotonic() + 30
    while m.output("ls -A /run/ota/data/ota/trash").strip():
        expect(time.monotonic() < deadline, "trash was not emptied within 30 s")
        time.sleep(0.5)


def case_persist(tc):
    """(c) In persist mode a file written under / survives a reboot; its
    upper belongs to slot a."""
    m = tc.machine
    m.boot(cmdline_extra="ota.overlay=persist")
    m.run("echo kept-across-reboot > /etc/persist-test && sync")
    m.reboot()
    m.boot(cmdline_extra="ota.overlay=persist")
    st = status(m)
    expect(st["overlay"] == "persist" and st["degraded"] == "no", "status: %s" % st)
    expect(m.output("cat /etc/persist-test").strip() == "kept-across-reboot",
           "file written before the reboot is gone in persist mode")
    m.run("test -e /run/ota/data/ota/overlay/slot-a/upper/etc/persist-test")


def boot_degraded(m):
    """Boots; the real init must run, and status report the degraded state,
    which is returned."""
    m.boot()
    expect_real_init_is_pid1(m)
    st = status(m)
    expect(st["degraded"] == "yes", "degraded state not reported: %s" % st)
    return st


def case_no_data(tc):
    """(d) Without a data partition the guest still reaches the real init on
    an in-memory overlay and reports the degraded state."""
    subprocess.run(["sfdisk", "--quiet", "--delete", tc.disk, str(DATA_PARTITION)], check=True)
    m = tc.machine
    st = boot_degraded(m)
    expect("data partition unavailable" in st["degraded_reason"], "reason: " + st["degraded_reason"])
    expect("no partition named or labelled 'data'" in st["degraded_reason"], "reason: " + st["degraded_reason"])
    expect(st["overlay"] == "in-memory", "overlay is %s, not in-memory" % st["overlay"])
    expect(mounts(m)["/"][0] == "overlay", "/ is not an overlay")
    m.run("echo ok > /etc/writable-test")


def case_corrupt_data(tc):
    """(d) With the data filesystem corrupt (group descriptors overwritten,
    superblock intact) the mount fails and e2fsck's preen mode cannot repair
    it: ota-init leaves it untouched for a human and the guest still boots,
    degraded."""
    import struct
    offset = partition_offset(tc.disk, DATA_PARTITION)
    with open(tc.disk, "r+b") as f:
        f.seek(offset + 1024)  # the ext4 superblock
        sb = f.read(1024)
        expect(sb[56:58] == b"\x53\xef", "no ext4 superblock on the data partition")
        first_data_block, log_block_size = struct.unpack_from("<II", sb, 20)
        block_size = 1024 << log_block_size
        # The group descriptor table starts in the block after the superblock's.
        f.seek(offset + (first_data_block + 1) * block_size)
        f.write(os.urandom(block_size))
    m = tc.machine
    st = boot_degraded(m)
    expect("mount data partition /dev/vda3 (ext4)" in st["degraded_reason"], "reason: " + st["degraded_reason"])
    expect(st["overlay"] == "in-memory" and st["data_mounted"] == "no" and st["data_repaired"] == "no",
           "status: %s" % st)
    expect("not repairable without a human" in m.console_text(), "e2fsck was not tried")


def case_torn_superblock(tc):
    """A power cut tore the data file system's superblock (one of its two
    sectors from a newer write: the checksum fails, the kernel refuses it;
    found by tests/crash). ota-init repairs it and the state is kept; a
    clean boot after that needs no repair."""
    m = tc.machine
    m.boot()
    m.run("mkdir -p /srv/t && echo kept > /srv/t/f && ota-state persist /srv/t && sync")
    m.kill()
    offset = partition_offset(tc.disk, DATA_PARTITION)
    with open(tc.disk, "r+b") as f:
        f.seek(offset + 1024 + 512)  # the superblock's second sector
        half = bytearray(f.read(512))
        half[100] ^= 0xFF  # as if a newer write of it had landed only there
        f.seek(offset + 1024 + 512)
        f.write(half)
    m.boot()
    st = status(m)
    expect(st["data_repaired"] == "yes" and st["degraded"] == "no", "not repaired: %s" % st)
    expect(m.output("cat /srv/t/f").strip() == "kept", "persisted content lost")
    m.reboot()
    m.boot()
    expect(status(m)["data_repaired"] == "no", "repaired again on a clean boot")


def case_missing_init(tc):
    """(e) ota.init= naming a missing file still ends in a usable init."""
    m = tc.machine
    console = m.boot(cmdline_extra="ota.init=/sbin/no-such-init")
    expect_real_init_is_pid1(m)
    text = m.console_text()
    expect("cannot execute /sbin/no-such-init" in text, "fallback not logged on the console")
    expect("starting /sbin/init" in text, "did not fall back to /sbin/init")


CASES = {
    "torn-superblock": case_torn_superblock,
    "overlay-root": case_overlay_root,
    "discard": case_discard,
    "persist": case_persist,
    "no-data": case_no_data,
    "corrupt-data": case_corrupt_data,
    "missing-init": case_missing_init,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
