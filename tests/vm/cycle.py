# SPDX-License-Identifier: Apache-2.0
"""Helpers of the A/B-cycle VM tests (test_grub.py, test_uboot.py, demo.py):
power the machine on until the agent answers, read what booted and the
update status, install a bundle attached as /dev/vdb, and the update cycle
both boot loaders' tests run (update_and_commit)."""

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


def update_and_commit(tc, bundle_path, booted_as, loader, counted, after_first_boot=None, after_commit_boot=None):
    """install -> reboot -> trial of b (the boot loader counts a try) ->
    commit -> stays on b for two more boots. booted_as(args, group, trial):
    whether a command line is what the boot loader gives that group (on a
    trial or not). counted: what the console says when the loader (named
    loader in messages) counts b's try. after_first_boot(m) and
    after_commit_boot(m): the loader's own checks after the first boot and
    after each boot that follows the commit."""
    attach(tc, bundle_path)
    m = tc.machine
    boot_until_agent(m, 1)
    args = cmdline(m)
    check(booted_as(args, "a", False), "first boot: %s" % args)
    if after_first_boot:
        after_first_boot(m)
    install(m, bundle_path)
    st = status(m)
    check(st["trial_state"] == "armed" and st["trial"] == "b" and st["tries_left"] == 3, st)
    m.reboot()
    boot_until_agent(m, 1)
    args = cmdline(m)
    check(booted_as(args, "b", True), "trial boot: %s" % args)
    check(counted in m.console_text(), "%s did not count the try" % loader)
    check("watchdog armed for 30 s" in m.console_text(), "ota-init did not arm the watchdog")
    check(release(m).endswith(" 2"), release(m))
    st = status(m)
    check(st["trial_state"] == "running" and st["booted"] == "b" and st["tries_left"] == 2, st)
    m.run("ota-update commit")
    st = status(m)
    check(st["trial_state"] == "none" and st["default"] == "b", st)
    # The watchdog was stopped: the machine outlives its 30 s timeout.
    m.run("sleep 40", timeout=90)
    check(m.proc.poll() is None, "the watchdog reset the committed system")
    for _ in range(2):
        m.reboot()
        boot_until_agent(m, 1)
        args = cmdline(m)
        check(booted_as(args, "b", False), "after commit: %s" % args)
        if after_commit_boot:
            after_commit_boot(m)
        check(release(m).endswith(" 2"), release(m))
