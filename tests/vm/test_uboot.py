#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The uboot boot flow end to end: Debian's U-Boot (u-boot-qemu, the 32-bit
qemu-x86 build, as QEMU's BIOS) finds boot.scr on the disk's FAT boot
partition by its distro boot, the script (the board's settings +
bootflow/uboot/boot.cmd) picks the group from the two `env export -t` files
that ota-update and the script itself write (file mode), loads the kernel
from the group's /boot and starts it with zboot; the kernel boots through
ota-init. Fixtures: tests/vm/mkflow-fixtures.sh BUILD uboot (BUILD/vm/uboot).

QEMU runs with -no-reboot, so every guest reboot, panic or watchdog reset
ends the QEMU process; the harness starts it again on the same disk, which
is a power cycle. Nothing here chooses what boots: U-Boot does."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import run_cases  # noqa: E402
from cycle import (attach, boot_until_agent, check, cmdline, expect_failed_trial_cleared,  # noqa: E402
                   install, install_broken, release, status)


def fixtures(tc):
    return os.path.join(tc.build, "vm", "uboot")


def bundle(tc, name):
    return os.path.join(fixtures(tc), name + ".otab")


def booted_as(args, group, trial):
    """The script's command line: ota.group (uboot.c), ota.slot and, on a
    trial, ota.trial=1 (ota-init), root= from the board's ota_boot_<g>."""
    ok = ("ota.group=%s" % group in args and "ota.slot=%s" % group in args
          and "root=PARTLABEL=system-%s" % group in args and "init=/sbin/ota-init" in args)
    return ok and (("ota.trial=1" in args) == trial)


# ---------------------------------------------------------------- cases
def case_update_commit(tc):
    """install -> reboot -> trial of b (U-Boot counts a try) -> commit -> stays."""
    attach(tc, bundle(tc, "good"))
    m = tc.machine
    boot_until_agent(m, 1)
    args = cmdline(m)
    check(booted_as(args, "a", False), "first boot: %s" % args)
    check("ota: booting group a (default a" in m.console_text(), "U-Boot's script did not run")
    st = status(m)
    check(st["trial_state"] == "none" and st["booted"] == "a" and st["default"] == "a", st)
    install(m, bundle(tc, "good"))
    st = status(m)
    check(st["trial_state"] == "armed" and st["trial"] == "b" and st["tries_left"] == 3, st)
    m.reboot()
    boot_until_agent(m, 1)
    args = cmdline(m)
    check(booted_as(args, "b", True), "trial boot: %s" % args)
    check("ota: trial of group b, 2 tries left" in m.console_text(), "U-Boot did not count the try")
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
        check("ota: booting group b (default b" in m.console_text(), "U-Boot did not boot the new default")
        check(release(m).endswith(" 2"), release(m))
        check(status(m)["trial_state"] == "none", "a trial after the commit")


def fallback(tc, name, tries, sign):
    """A broken update: U-Boot tries it `tries` times, then boots a again by
    itself; status says the trial failed."""
    m = tc.machine
    text = install_broken(tc, bundle(tc, name), tries)
    n = text.count("ota: trial of group b")
    check(n == tries, "U-Boot tried b %d times" % n)
    check("ota: trial of group b, 0 tries left" in text, "the last try did not count down to 0")
    check(sign in text, "%r not seen on the console" % sign)
    check("ota: booting group a (default a, trial b, tries 0)" in m.console_text(),
          "U-Boot did not fall back with the failed trial left in place")
    args = cmdline(m)
    check(booted_as(args, "a", False), "after fallback: %s" % args)
    expect_failed_trial_cleared(m)


def case_fallback_panic(tc):
    fallback(tc, "panic", 2, "Kernel panic - not syncing: sysrq triggered crash")


def case_fallback_hang(tc):
    fallback(tc, "hang", 1, "broken update: init hangs")


CASES = {
    "update-commit": case_update_commit,
    "fallback-panic": case_fallback_panic,
    "fallback-hang": case_fallback_hang,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv, image=os.path.join("uboot", "disk.img"), firmware="uboot")
