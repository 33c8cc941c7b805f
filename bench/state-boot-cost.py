#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Boot-time cost of persisted paths: how much longer ota-init takes (from its
start to exec'ing the real init, as it reports in /run/ota/status init_usec)
with 20 more persisted paths than without. Runs in the VM harness (TCG).

Usage: bench/state-boot-cost.py [boots per side, default 3]
Needs build/vm/kernel and build/vm/base.img (tools/run-tests.sh -L vm makes them).
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
from vm import TestCase, parse_status  # noqa: E402

PATHS = 20


def init_ms(m):
    return int(parse_status(m.output("cat /run/ota/status"))["init_usec"]) / 1000.0


def boots(m, n):
    samples = []
    for _ in range(n):
        m.boot()
        samples.append(init_ms(m))
        m.reboot()
    return samples


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    tc = TestCase("bench-state-boot-cost")
    ok = False
    try:
        m = tc.machine
        m.boot()  # first boot seeds the declared entries; not measured
        m.reboot()
        base = boots(m, n)
        m.boot()
        declared = int(parse_status(m.output("cat /run/ota/status"))["persisted"])
        paths = " ".join("/srv/p%d" % i for i in range(PATHS))
        m.run("for p in %s; do mkdir -p $p && echo x > $p/f; done && ota-state persist %s >/dev/null"
              % (paths, paths))
        m.reboot()
        more = boots(m, n)
        b, w = statistics.median(base), statistics.median(more)
        print("ota-init time, median of %d boots (TCG, 1 vCPU):" % n)
        print("  %2d persisted paths: %7.1f ms  %s" % (declared, b, base))
        print("  %2d persisted paths: %7.1f ms  %s" % (declared + PATHS, w, more))
        print("  cost of %d more paths: %.1f ms (%.2f ms per path)" % (PATHS, w - b, (w - b) / PATHS))
        ok = True
    finally:
        tc.finish(ok)


if __name__ == "__main__":
    main()
