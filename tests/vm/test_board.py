#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The QEMU x86_64 Buildroot board, booted: board/qemu-x86_64's post-build.sh
and post-image.sh (which runs ota-image with the board's image.conf) made
the disk and the update bundle (tests/vm/mkboard-fixtures.sh,
BUILD/vm/board-qemu-x86_64) from the VM test system; OVMF starts the GRUB
ota-image built, which runs the boot flow's scripts with the board.cfg
ota-image wrote. The disk is grown to 2 GiB first, as when the image is written to
a bigger disk: the first boot creates system-b and data from the board's
layout.conf.

Usage: test_board.py [case ...]   (all cases when none is named)"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import parse_status, run_cases  # noqa: E402
from test_grub import boot_until_agent, check, cmdline, status  # noqa: E402

FIXTURES = "board-qemu-x86_64"
DISK_SIZE = 2 << 30


def fixture(tc, name):
    return os.path.join(tc.build, "vm", FIXTURES, name)


def grow(tc):
    os.truncate(tc.disk, DISK_SIZE)


def version(m):
    """The version the board's post-build.sh wrote (OTAROOT_VERSION)."""
    return m.output("cat /etc/ota-version").strip()


def partitions(disk):
    out = subprocess.run(["sfdisk", "--json", disk], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["partitiontable"]["partitions"]


def booted_from(m, group, trial=False):
    args = cmdline(m)
    check("ota.slot=%s" % group in args and ("ota.trial=1" in args) == trial,
          "expected group %s%s, booted with %s" % (group, " (trial)" if trial else "", args))
    # board.cfg's ota_cmdline and root=
    check("panic=5" in args and "console=ttyS0" in args, "board.cfg's cmdline missing: %s" % args)
    check("root=PARTLABEL=system-%s" % group in args, "root= is not system-%s: %s" % (group, args))
    check("otaroot: booting group %s from" % group in m.console_text(), "GRUB's boot flow did not boot %s" % group)


def provision_status(m):
    st = parse_status(m.output("cat /run/ota/status"))
    check(st["degraded"] == "no" and st["data_mounted"] == "yes", "status: %s" % st)
    return st


def first_boot(tc):
    """Grows the disk, boots, checks the provisioning; returns the machine."""
    grow(tc)
    m = tc.machine
    boot_until_agent(m, 1)
    booted_from(m, "a")
    check(version(m) == "1", "version %s" % version(m))
    st = provision_status(m)
    check(st["provision"] == "done: 2 created, 0 grown, 1 formatted, GPT backup header moved",
          "provision: " + st["provision"])
    check(st["data_device"] == "/dev/vda4", "data: %s" % st)
    return m


# ---------------------------------------------------------------- cases
def case_first_boot(tc):
    """GRUB boots system-a; ota-init creates system-b and data (layout.conf)
    on the 2 GiB disk; ota-update reads the boot state through [bootflow]
    device = PARTLABEL=esp; state persists; the second boot changes nothing."""
    m = first_boot(tc)
    st = status(m)
    check(st["booted"] == "a" and st["default"] == "a" and st["trial_state"] == "none", st)
    # board/common/state.conf keeps /etc/hostname
    m.run("echo board-vm > /etc/hostname && sync")
    m.reboot()
    table = partitions(tc.disk)
    names = [p.get("name") for p in table]
    check(names == ["esp", "system-a", "system-b", "data"], "partitions: %s" % names)
    sizes = [p["size"] // 2048 for p in table[:3]]
    check(sizes == [64, 512, 512], "esp, system-a, system-b MiB: %s" % sizes)
    end = (table[-1]["start"] + table[-1]["size"]) * 512
    check(DISK_SIZE - end < 2 << 20, "data ends at %d of %d" % (end, DISK_SIZE))
    boot_until_agent(m, 1)
    booted_from(m, "a")
    st = provision_status(m)
    check(st["provision"] == "provisioned", "second boot provisioned again: " + st["provision"])
    check(m.output("cat /etc/hostname").strip() == "board-vm", "/etc/hostname did not persist")
    m.run("poweroff")
    m.wait_exit()
    check(partitions(tc.disk) == table, "the second boot changed the partition table")


def case_update(tc):
    """The board's update.otab (version 2): install -> reboot -> GRUB's trial
    of b -> commit -> reboot stays on b."""
    bundle = fixture(tc, "update.otab")
    tc.machine.extra_drives.append(bundle)
    m = first_boot(tc)
    m.run("set -o pipefail; head -c %d /dev/vdb | ota-update install - 2>&1 | tail -n 3"
          % os.path.getsize(bundle), timeout=600)
    st = status(m)
    check(st["trial_state"] == "armed" and st["trial"] == "b" and st["tries_left"] == 3, st)
    m.reboot()
    boot_until_agent(m, 1)
    booted_from(m, "b", trial=True)
    check("trial of group b, 2 tries left" in m.console_text(), "GRUB did not count the try")
    # system.conf has no [init] trial-watchdog: ota-init's default
    check("watchdog armed for 120 s" in m.console_text(), "ota-init did not arm the trial watchdog")
    check(version(m) == "2", "trial runs version %s" % version(m))
    st = status(m)
    check(st["trial_state"] == "running" and st["booted"] == "b" and st["tries_left"] == 2, st)
    m.run("ota-update commit")
    st = status(m)
    check(st["trial_state"] == "none" and st["default"] == "b", st)
    m.reboot()
    boot_until_agent(m, 1)
    booted_from(m, "b")
    check(version(m) == "2", "version %s after commit" % version(m))
    check(provision_status(m)["provision"] == "provisioned", "provisioned again")


CASES = {
    "first-boot": case_first_boot,
    "update": case_update,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv, image=os.path.join(FIXTURES, "disk.img"), firmware="ovmf")
