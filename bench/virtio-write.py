#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""How a slot is best written on a virtio disk (issue 19): the test VM (TCG,
1 vCPU, the disk as every VM test attaches it: virtio-blk, raw, host
cache=unsafe) writes the same random bytes into its system-b partition with
O_DIRECT (`dd bs=4M oflag=direct`: what ota-update's writer does with its
4 MiB aligned segments) and through the page cache with one fsync at the
end (`dd bs=4M conv=fsync`), the rounds interleaved; prints the medians.
The bytes come from a tmpfs file in the guest, so only the write path is
timed. The host's cache=unsafe ignores flushes: what differs is the guest's
side (its page cache and copies, expensive under TCG), not a real medium's.

Usage: bench/virtio-write.py [ROUNDS, default 9] [MIB, default 60; system-b holds 64]
Needs build/vm/kernel and build/vm/base.img (tools/run-tests.sh -L vm makes them).
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
from vm import TestCase  # noqa: E402



def timed_ms(m, command):
    """command's wall time in the guest, from /proc/uptime (10 ms steps)."""
    out = m.output("read s _ </proc/uptime; %s && read e _ </proc/uptime && echo $s $e" % command)
    s, e = out.strip().splitlines()[-1].split()
    return (float(e) - float(s)) * 1000.0


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    tc = TestCase("bench-virtio-write")
    ok = False
    try:
        m = tc.machine
        m.boot()
        uevent = m.output("grep -l '^PARTNAME=system-b$' /sys/class/block/*/uevent").strip().splitlines()[0]
        slot = "/dev/" + uevent.split("/")[4]
        m.run("mkdir -p /run/bench && mount -t tmpfs -o size=%dm tmpfs /run/bench" % (mib + 8))
        m.run("dd if=/dev/urandom of=/run/bench/src bs=1M count=%d 2>/dev/null" % mib, timeout=300)
        m.run("test $(blockdev --getsize64 %s) -ge %d" % (slot, mib << 20))
        modes = {
            "O_DIRECT (dd bs=4M oflag=direct)": "dd if=/run/bench/src of=%s bs=4M oflag=direct 2>/dev/null" % slot,
            "page cache + fsync (dd bs=4M conv=fsync)": "dd if=/run/bench/src of=%s bs=4M conv=fsync 2>/dev/null" % slot,
        }
        times = {k: [] for k in modes}
        for _ in range(rounds):
            for name, cmd in modes.items():
                m.run("sync; echo 3 > /proc/sys/vm/drop_caches")
                times[name].append(timed_ms(m, cmd))
        m.run("cmp -n %d /run/bench/src %s" % (mib << 20, slot))
        print("%d MiB into %s on virtio-blk (TCG, 1 vCPU), median of %d interleaved rounds:" % (mib, slot, rounds))
        for name, t in times.items():
            med = statistics.median(t)
            print("  %-42s %7.0f ms (%5.0f MiB/s)  %s" % (name, med, mib * 1000.0 / med, [round(x) for x in t]))
        ok = True
    finally:
        tc.finish(ok)


if __name__ == "__main__":
    main()
