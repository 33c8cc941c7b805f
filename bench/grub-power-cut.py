#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Stress: power cuts at random moments while the GRUB boot state is being
rewritten, then a normal power-on: does GRUB always boot a valid group?

  python3 bench/grub-power-cut.py RUNS [SEED]

Needs the GRUB fixtures (tests/vm/mkflow-fixtures.sh BUILD grub). Each run copies
the fixture disk, fills system-b with system-a's image (so both groups are
bootable systems and any state GRUB can reach is a working one), boots it,
mounts the ESP and loops the grub backend's own writes (ota-grubenv arm b /
commit a, the code ota-update uses) as fast as the guest can, and kills QEMU
at a uniform random moment 0.3-4 s after the loop started. Then it powers
on and requires: GRUB boots a or b and the agent answers; the state GRUB
read is one of the two the loop writes (committed a, or a trial of b); and
the next write succeeds and leaves env1 == env2. Prints a line per run and
"N of N power cuts survived". Not run by CI (about 40 s a run under TCG)."""

import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "vm"))
from vm import TestCase  # noqa: E402

ESP = "/mnt/esp"
DIR = ESP + "/otaroot"
LOOP = ("mkdir -p %s && mount -t vfat /dev/vda1 %s && "
        "while :; do ota-grubenv arm %s --groups a,b b 3 || break; "
        "ota-grubenv commit %s --groups a,b a || break; done" % (ESP, ESP, DIR, DIR))
A_START, B_START, SLOT = 67584, 198656, 131072  # sectors, tests/vm/mkimage.sh --grub


def copy_a_to_b(disk):
    subprocess.run(["dd", "if=%s" % disk, "of=%s" % disk, "bs=512", "skip=%d" % A_START,
                    "seek=%d" % B_START, "count=%d" % SLOT, "conv=notrunc", "status=none"], check=True)


def one_run(n, rng):
    tc = TestCase("grub-power-cut-%d" % n, image=os.path.join("grub", "disk.img"), firmware="ovmf")
    ok = False
    try:
        copy_a_to_b(tc.disk)
        m = tc.machine
        m.boot(timeout=240)
        m.sock.sendall((LOOP + "\n").encode())
        delay = rng.uniform(0.3, 4.0)
        time.sleep(delay)
        m.kill()
        m.start()
        m.wait_agent(240)
        args = m.output("cat /proc/cmdline").split()
        group = [a.split("=", 1)[1] for a in args if a.startswith("ota.slot=")][0]
        trial = "ota.trial=1" in args
        m.run("mkdir -p %s && mount -t vfat /dev/vda1 %s" % (ESP, ESP))
        show = dict(l.split("=", 1) for l in m.output("ota-grubenv show %s --groups a,b" % DIR).splitlines())
        state_ok = show["copy"] in ("1", "2") and show["default"] == "a" and show["trial"] in ("", "b")
        boot_ok = (group, trial) in (("a", False), ("b", True))
        # Two writes that change the state (a commit of the state in force
        # writes nothing): both copies must come out identical.
        m.run("ota-grubenv arm {0} --groups a,b b 3 && ota-grubenv commit {0} --groups a,b a && "
              "cmp {0}/env1 {0}/env2".format(DIR))
        ok = state_ok and boot_ok
        print("run %d: cut %.2f s into the loop; booted %s%s; state copy %s, trial '%s' -> %s"
              % (n, delay, group, " (trial)" if trial else "", show["copy"], show["trial"],
                 "ok" if ok else "FAILED"), flush=True)
    except Exception as e:  # a run that cannot boot is the failure we count
        print("run %d: FAILED: %s: %s" % (n, type(e).__name__, e), flush=True)
    finally:
        tc.finish(ok)
    return ok


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(time.time())
    rng = random.Random(seed)
    print("seed %d, %d runs" % (seed, runs), flush=True)
    t0 = time.monotonic()
    survived = sum(one_run(n, rng) for n in range(1, runs + 1))
    print("%d of %d power cuts survived (%.0f s)" % (survived, runs, time.monotonic() - t0))
    return 0 if survived == runs else 1


if __name__ == "__main__":
    sys.exit(main())
