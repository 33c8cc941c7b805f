#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""leftovers.py snapshot FILE | compare FILE: what a test run left behind.

`snapshot` records the machine's loop devices, mounts and the entries of
/tmp and /var/tmp; `compare`, run after the tests, lists every one of them
that is new since the snapshot, and every process still running that the
tests started, and exits 1 if there is any. A process is the tests' when its
environment holds OTA_LEFTOVER_TAG with the value the test command exported
(tools/run-tests.sh): a daemon a test forgot is reparented, but keeps its
environment, and nothing else running on the machine is blamed. Tests
must leave the machine as they found it, also when they fail: loop devices
pile up and a stray QEMU or nginx holds a port or a lock for the next run.

Kept on purpose, and so not reported: the QEMU lock file the VM tests share
across checkouts (tests/vm/vm.py QEMU_LOCK).
"""

import json
import os
import subprocess
import sys

TEMP_DIRS = ["/tmp", "/var/tmp"]
KEPT = {"/tmp/otaroot-qemu.lock"}


def loop_devices():
    out = subprocess.run(["losetup", "-nl", "-O", "NAME,BACK-FILE"],
                         capture_output=True, text=True).stdout
    return sorted(line.strip() for line in out.splitlines() if line.strip())


def mounts():
    with open("/proc/self/mountinfo") as f:
        # mount point and source; the ids change on every mount, so they
        # would make any remount look new.
        return sorted("%s on %s" % (line.split(" - ")[1].split()[1], line.split()[4])
                      for line in f)


def tagged_processes(tag):
    """{pid: command line} of the processes whose environment carries the tag."""
    marker = ("OTA_LEFTOVER_TAG=%s" % tag).encode()
    procs = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if marker not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue  # ended while we looked, or a kernel thread
        procs[int(pid)] = cmd[:200]
    return procs


def temp_entries():
    names = []
    for d in TEMP_DIRS:
        try:
            names += [os.path.join(d, n) for n in os.listdir(d)]
        except OSError:
            pass
    return sorted(names)


def snapshot():
    return {"loop devices": loop_devices(), "mounts": mounts(), "temporary files": temp_entries()}


def own_processes():
    """This process and its ancestors (the test command itself)."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            break
        pid = int(stat[stat.rindex(")") + 2:].split()[1])
    return pids


def compare(before):
    now = snapshot()
    found = []
    for kind in ("loop devices", "mounts", "temporary files"):
        old = list(before[kind])
        for item in now[kind]:
            if item in old:
                old.remove(item)  # a multiset: the same mount twice is two mounts
            elif item not in KEPT:
                found.append("%s: %s" % (kind[:-1], item))
    tag = os.environ.get("OTA_LEFTOVER_TAG")
    if tag:
        mine = own_processes()
        for pid, cmd in sorted(tagged_processes(tag).items()):
            if pid not in mine:
                found.append("process: %d %s" % (pid, cmd))
    return found


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("snapshot", "compare"):
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    if sys.argv[1] == "snapshot":
        with open(sys.argv[2], "w") as f:
            json.dump(snapshot(), f)
        return 0
    with open(sys.argv[2]) as f:
        found = compare(json.load(f))
    for line in found:
        print("leftover " + line, file=sys.stderr)
    if found:
        print("leftovers: the tests left %d thing(s) behind (listed above)" % len(found), file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
