#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""ota-init's own boot time (from its start to exec'ing the real init, as it
reports in /run/ota/status init_usec): a normal boot, the cost of 20 more
persisted paths, and a first boot that provisions the disk (system-b and
data created, data formatted: tests/vm/test_provision.py's image). Runs in
the VM harness (TCG, 1 vCPU); prints medians.

Usage: bench/state-boot-cost.py [boots per case, default 3; issue 19 asks 5]
Needs build/vm/kernel and build/vm/base.img (tools/run-tests.sh -L vm makes them).
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
from vm import TestCase, parse_status  # noqa: E402
from test_provision import make_first_boot_image  # noqa: E402

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
        first = []
        for _ in range(n):
            make_first_boot_image(tc, ["--system-a-only"])
            m.boot()
            st = parse_status(m.output("cat /run/ota/status"))
            if not st["provision"].startswith("done:"):
                raise SystemExit("the first boot did not provision: %s" % st["provision"])
            first.append(int(st["init_usec"]) / 1000.0)
            m.reboot()
        print("  first boot, provisioning (%s): %7.1f ms  %s" % (st["provision"], statistics.median(first), first))
        ok = True
    finally:
        tc.finish(ok)


if __name__ == "__main__":
    main()
