#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Stress: the first-boot power-cut test repeated at random moments. Each run
writes the system-a-only image to a 4x disk, kills QEMU at a random moment of
the first boot, boots again and checks that the disk ended fully provisioned
and the real init runs. Prints how many runs converged.

Usage: bench/provision-power-cut.py [runs, default 50] [seed, default 1]
Needs build/ with the VM kernel and image (tools/run-tests.sh -L vm).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
from test_provision import stress  # noqa: E402
from vm import TestCase  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    tc = TestCase("bench-provision-power-cut")
    converged, total = 0, runs
    try:
        converged, total = stress(tc, runs, seed)
    finally:
        tc.finish(converged == total)
    print("%d of %d random power cuts converged" % (converged, total))
    return 0 if converged == total else 1


if __name__ == "__main__":
    sys.exit(main())
