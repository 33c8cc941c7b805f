# SPDX-License-Identifier: Apache-2.0
"""Helpers of the A/B-cycle VM tests (test_grub.py, test_uboot.py, demo.py):
power the machine on until the agent answers, read what booted and the
update status, install a bundle attached as /dev/vdb."""

import json
import os

from vm import VMError


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def status(m):
    return json.loads(m.output("ota-update status --json"))


def cmdline(m):
    return m.output("cat /proc/cmdline").split()


def release(m):
    return m.output("cat /etc/ota-release").strip()


def booted(m):
    """(group, trial) as the bootloader put them on the command line."""
    args = cmdline(m)
    group = [a.split("=", 1)[1] for a in args if a.startswith("ota.slot=")][0]
    return group, "ota.trial=1" in args


def boot_until_agent(m, max_boots, timeout=240):
    """Powers the machine on until the guest agent answers; a boot that ends
    in a panic or a reset (QEMU exits) is followed by the next power-on.
    Returns the number of power-ons it took."""
    for n in range(1, max_boots + 1):
        m.start()
        try:
            m.wait_agent(timeout)
            return n
        except VMError:
            if m.proc is None or m.proc.poll() is None:
                raise
            m.kill()
    raise VMError("no boot reached the agent in %d power-ons" % max_boots)


def attach(tc, bundle_path):
    """Attaches the bundle read-only: /dev/vdb in the guest."""
    tc.machine.extra_drives.append(bundle_path)


def install(m, bundle_path):
    """Installs the bundle attached with attach()."""
    size = os.path.getsize(bundle_path)
    # POSIX sh (the Debian guest's dash has no pipefail): a pipeline's status
    # is its last command's, ota-update's, which a short stream fails too.
    m.run("head -c %d /dev/vdb | ota-update install - >/tmp/ota-install.log 2>&1; r=$?; "
          "tail -n 3 /tmp/ota-install.log; [ $r = 0 ]" % size, timeout=600)


def set_tries(m, n):
    m.run("sed -i 's/^tries = .*/tries = %d/' /etc/ota/system.conf" % n)


def install_broken(tc, bundle_path, tries):
    """Installs a broken update with `tries` tries, reboots, and powers the
    machine on until the agent answers again, which must take exactly
    tries + 1 power-ons (each try, then the old group). Returns the console
    text of those boots, for the bootloader's own checks."""
    attach(tc, bundle_path)
    m = tc.machine
    boot_until_agent(m, 1)
    set_tries(m, tries)
    install(m, bundle_path)
    check(status(m)["trial_state"] == "armed", "not armed")
    m.reboot()
    boots = boot_until_agent(m, tries + 2)
    check(boots == tries + 1, "took %d power-ons, expected %d" % (boots, tries + 1))
    return "".join(m.console_text(b) for b in range(m.boots - boots + 1, m.boots + 1))


def expect_failed_trial_cleared(m):
    """After a fallback to group a: the old release runs, status says b's
    trial failed with no tries left, and rollback clears it, so the device
    stays usable and a good update can follow."""
    check(release(m).endswith(" 1"), release(m))
    st = status(m)
    check(st["trial_state"] == "failed" and st["trial"] == "b" and st["tries_left"] == 0, st)
    check("failed" in m.output("ota-update status"), "status text does not say failed")
    m.run("ota-update rollback")
    check(status(m)["trial_state"] == "none", "rollback did not clear the failed trial")
