#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM tests of first-boot provisioning: an image holding only system-a is
written to a virtual disk four times larger; ota-init's first boot creates
system-b and data, formats data, and state persists on it. Power cuts (QEMU
killed) at several moments of that first boot must each converge.

Usage: test_provision.py [case ...]   (all cases when none is named)
"""

import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import parse_status, run_cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PENDING_GUID = "4F544150-454E-4449-4E47-0000000A4F4B"

LAYOUT = """[table]
type = gpt

[partition system-a]
size = 64M
type = root-ARCH

[partition system-b]
size = 64M
type = root-ARCH

[partition data]
size = rest
type = linux
filesystem = ext4
label = data
grow = yes
"""


def layout_for(arch):
    """LAYOUT with the root partition type of arch."""
    return LAYOUT.replace("root-ARCH", "root-arm64" if arch == "arm64" else "root-x86-64")



def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def make_first_boot_image(tc, extra_args=()):
    """Rebuilds tc.disk as an image with the layout, then grows the file to
    four times its size, as when an image is written to a larger card."""
    extra = os.path.join(tc.workdir, "extra")
    os.makedirs(os.path.join(extra, "etc/ota"), exist_ok=True)
    with open(os.path.join(extra, "etc/ota/layout.conf"), "w") as f:
        f.write(layout_for(tc.arch))
    arch_args = []
    if tc.arch == "arm64":
        # The arm64 image with the target's mkfs and e2fsck
        # (tests/vm/fetch-target-tools.sh, fixture vm.arm64.setup.tools).
        arch_args = ["--arch", "arm64", "--busybox", os.path.join(tc.kernel_dir, "busybox"),
                     "--target-tools", os.path.join(tc.build, "vm", "tools-arm64")]
    subprocess.run([os.path.join(HERE, "mkimage.sh"), "--bin-dir", os.path.join(tc.build, "bin"), "--out", tc.disk,
                    "--extra-root", extra, *arch_args, *extra_args], check=True, stdout=subprocess.DEVNULL)
    size = os.path.getsize(tc.disk)
    os.truncate(tc.disk, size * 4)
    return size * 4


def table(disk):
    out = subprocess.run(["sfdisk", "--json", disk], check=True, capture_output=True, text=True).stdout
    return json.loads(out)["partitiontable"]


def expect_provisioned_table(disk, disk_size):
    t = table(disk)
    parts = t["partitions"]
    expect([p.get("name") for p in parts] == ["system-a", "system-b", "data"], "partitions: %s" % parts)
    expect(all(p["type"].upper() != PENDING_GUID for p in parts), "a partition is still pending: %s" % parts)
    end = (parts[-1]["start"] + parts[-1]["size"]) * 512
    expect(disk_size - end < 2 << 20, "data does not reach the end of the disk (%d of %d)" % (end, disk_size))
    expect(t["lastlba"] * 512 > disk_size - (1 << 20), "GPT backup header not at the end: %s" % t["lastlba"])


def expect_booted_provisioned(m):
    st = parse_status(m.output("cat /run/ota/status"))
    expect(st["degraded"] == "no" and st["data_mounted"] == "yes", "status: %s" % st)
    expect(st["provision"] == "provisioned" or st["provision"].startswith("done:"), "status: %s" % st)
    expect(m.output("cat /proc/1/comm").strip() == "init", "the real init is not PID 1")
    return st


def case_first_boot(tc):
    """system-a only, on a 4x disk: the first boot creates system-b and data,
    formats data; state persists on it; the second boot changes nothing."""
    disk_size = make_first_boot_image(tc, ["--system-a-only"])
    m = tc.machine
    m.boot()
    st = expect_booted_provisioned(m)
    expect(st["provision"] == "done: 2 created, 0 grown, 1 formatted, GPT backup header moved",
           "provision: " + st["provision"])
    expect(st["data_device"] == "/dev/vda3", "data: %s" % st)
    m.run("mkdir -p /srv/app && echo kept > /srv/app/f && ota-state persist /srv/app && sync")
    m.reboot()
    m.boot()
    st = expect_booted_provisioned(m)
    expect(st["provision"] == "provisioned", "second boot provisioned again: " + st["provision"])
    expect(m.output("cat /srv/app/f").strip() == "kept", "state did not persist on the new data partition")
    m.run("poweroff")
    m.wait_exit()
    expect_provisioned_table(tc.disk, disk_size)


def case_grow_data(tc):
    """A shipped 16 MiB data partition marked grow=yes fills a 4x disk, and
    its ext4 grows online at boot, keeping its content."""
    disk_size = make_first_boot_image(tc, ["--data-mib", "16"])
    m = tc.machine
    m.boot()
    st = expect_booted_provisioned(m)
    expect(st["provision"].startswith("done: 0 created, 1 grown"), "provision: " + st["provision"])
    expect(st["data_grown"] == "yes", "the data filesystem did not grow: %s" % st)
    size_kib = int(m.output("df -k /run/ota/data | tail -1").split()[1])
    expect(size_kib > 100 * 1024, "data filesystem is only %d KiB" % size_kib)
    m.run("poweroff")
    m.wait_exit()
    expect_provisioned_table(tc.disk, disk_size)


def power_cut_run(tc, delay, disk_template):
    """One first boot cut `delay` seconds after ota-init started, then a
    normal boot that must end fully provisioned."""
    subprocess.run(["cp", "--sparse=always", disk_template, tc.disk], check=True)
    m = tc.machine
    m.start()
    m.wait_console("starting /sbin/ota-init")
    time.sleep(delay)
    m.kill()
    m.boot()
    st = expect_booted_provisioned(m)
    m.run("poweroff")
    m.wait_exit()
    expect_provisioned_table(tc.disk, os.path.getsize(tc.disk))
    return st["provision"]


def case_power_cut_first_boot(tc):
    """QEMU killed at several moments of the first boot: each time the next
    boot ends fully provisioned and reaches the real init."""
    make_first_boot_image(tc, ["--system-a-only"])
    template = tc.disk + ".template"
    os.rename(tc.disk, template)
    outcomes = []
    for delay in (0.6, 1.5, 2.0, 2.5, 3.0, 4.0):
        outcomes.append("%.1fs: %s" % (delay, power_cut_run(tc, delay, template)))
    print("power cuts: " + "; ".join(outcomes))


def stress(tc, runs, seed):
    """For bench/: random cut moments; returns (converged, total)."""
    make_first_boot_image(tc, ["--system-a-only"])
    template = tc.disk + ".template"
    os.rename(tc.disk, template)
    rng = random.Random(seed)
    converged = 0
    for i in range(runs):
        delay = rng.uniform(0.0, 3.0)
        try:
            outcome = power_cut_run(tc, delay, template)
            converged += 1
            print("run %d: cut at %.2f s -> converged (%s)" % (i + 1, delay, outcome), flush=True)
        except Exception as e:
            tc.machine.kill()
            print("run %d: cut at %.2f s -> FAILED: %s" % (i + 1, delay, e), flush=True)
    return converged, runs


CASES = {
    "first-boot": case_first_boot,
    "grow-data": case_grow_data,
    "power-cut-first-boot": case_power_cut_first_boot,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
