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
import subprocess
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import parse_status, run_cases  # noqa: E402
from cycle import (attach, boot_until_agent, check, cmdline, expect_failed_trial_cleared,  # noqa: E402
                   install, install_broken, status, update_and_commit)


def fixtures(tc):
    """BUILD/vm/uboot, or for the arm64 file-mode cases BUILD/vm/uboot-file."""
    return os.path.dirname(tc.base_image)


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
    def after_first_boot(m):
        check("ota: booting group a (default a" in m.console_text(), "U-Boot's script did not run")
        st = status(m)
        check(st["trial_state"] == "none" and st["booted"] == "a" and st["default"] == "a", st)

    def after_commit_boot(m):
        check("ota: booting group b (default b" in m.console_text(), "U-Boot did not boot the new default")
        check(status(m)["trial_state"] == "none", "a trial after the commit")

    update_and_commit(tc, bundle(tc, "good"), booted_as, "U-Boot", "ota: trial of group b, 2 tries left",
                      after_first_boot, after_commit_boot)


def case_ota_image(tc):
    """A disk image and an update made by ota-image (target uboot;
    tests/vm/mkuboot-image.sh, BUILD/vm/uboot-image): U-Boot's distro boot
    finds ota-image's boot.scr on its FAT boot partition, the first boot
    provisions system-b and data from ota-image's layout.conf, the
    system.conf in force is ota-image's; then update-commit's cycle with the
    bundle of `ota-image bundle`."""
    d = os.path.join(tc.build, "vm", "uboot-image")
    if os.path.dirname(tc.base_image) != d:  # run beside other cases: its own disk
        subprocess.run(["cp", "--sparse=always", os.path.join(d, "disk.img"), tc.disk], check=True)

    def after_first_boot(m):
        check("ota: booting group a (default a" in m.console_text(), "U-Boot's script did not run")
        check("written by ota-image" in m.output("head -n 2 /etc/ota/system.conf"), "not ota-image's system.conf")
        run = parse_status(m.output("cat /run/ota/status"))
        check(run["provision"].startswith("done: 2 created"), "provisioning: %s" % run["provision"])
        st = status(m)
        check(st["trial_state"] == "none" and st["booted"] == "a" and st["default"] == "a", st)

    def after_commit_boot(m):
        check("ota: booting group b (default b" in m.console_text(), "U-Boot did not boot the new default")

    update_and_commit(tc, os.path.join(d, "good.otab"), booted_as, "U-Boot", "ota: trial of group b, 2 tries left",
                      after_first_boot, after_commit_boot)


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


def flash_env(tc):
    """The variables of U-Boot's env in the arm64 machine's flash (bank 1
    from its start: CRC32 + NUL-separated name=value, CONFIG_ENV_SIZE
    0x40000), read while QEMU is not running; None if the CRC is wrong."""
    with open(os.path.join(tc.workdir, "uboot-env-flash.img"), "rb") as f:
        blob = f.read(0x40000)
    if int.from_bytes(blob[:4], "little") != zlib.crc32(blob[4:]):
        return None
    data = blob[4:blob.index(b"\0\0", 4)]
    return dict(v.decode().split("=", 1) for v in data.split(b"\0"))


# Debian 12's QEMU (7.2+dfsg-7+deb12u*) has "hw/pflash: implement update
# buffer for block writes" backported without its fix (QEMU issue 2343):
# a buffered write whose set-up command is not in the data's write block is
# dropped, and U-Boot's CFI driver sends it at the sector's start, so its
# saveenv fails past the sector's first 4 KiB. The arm64 cases run
# bookworm-backports' QEMU (tests/vm/fetch-qemu.sh, OTA_QEMU_ARM64); this
# text on the console means they ran Debian 12's.
QEMU_PFLASH_BUG = "Flash buffer write timeout"


def check_saveenv_works(text):
    check(QEMU_PFLASH_BUG not in text,
          "U-Boot's saveenv hit QEMU 7.2's pflash bug: run the arm64 cases with tests/vm/fetch-qemu.sh's "
          "QEMU (OTA_QEMU_ARM64, see vm.py)")


def case_native_env(tc):
    """arm64, native env mode: ota-update writes U-Boot's own env in NOR
    flash through the kernel's MTD device (erase, write, read back), U-Boot
    reads it, counts the try with its own saveenv, and the commit is
    written the same way; every variable that is not ours survives."""
    attach(tc, bundle(tc, "good"))
    m = tc.machine
    boot_until_agent(m, 1)
    check("Loading Environment from Flash... OK" in m.console_text(), "U-Boot did not load its env from flash")
    check(booted_as(cmdline(m), "a", False), "first boot: %s" % cmdline(m))
    check("/dev/mtd0" in m.output("grep '^env = ' /etc/ota/system.conf"), "system.conf does not use the MTD device")
    before = flash_env(tc)
    install(m, bundle(tc, "good"))
    st = status(m)
    check(st["trial_state"] == "armed" and st["trial"] == "b" and st["tries_left"] == 3, st)
    m.reboot()
    env = flash_env(tc)
    check(env is not None, "the env ota-update wrote has a bad CRC")
    check(env.get("ota_trial") == "b" and env.get("ota_tries") == "3" and env.get("ota_default") == "a", env)
    for name, value in before.items():
        if not name.startswith("ota_"):
            check(env.get(name) == value, "%s changed: %r -> %r" % (name, value, env.get(name)))
    boot_until_agent(m, 1)
    text = m.console_text()
    check("Loading Environment from Flash... OK" in text, "U-Boot did not load the env ota-update wrote")
    check_saveenv_works(text)
    check("ota: trial of group b, 2 tries left" in text, "U-Boot did not count the try")
    check(booted_as(cmdline(m), "b", True), "trial boot: %s" % cmdline(m))
    st = status(m)
    check(st["trial_state"] == "running" and st["tries_left"] == 2, st)
    m.run("ota-update commit")
    st = status(m)
    check(st["trial_state"] == "none" and st["default"] == "b", st)
    m.reboot()
    env = flash_env(tc)
    check(env is not None and "ota_trial" not in env and env.get("ota_default") == "b", "after commit: %s" % env)
    for name, value in before.items():
        if not name.startswith("ota_"):
            check(env.get(name) == value, "after commit, %s changed: %r -> %r" % (name, value, env.get(name)))
    boot_until_agent(m, 1)
    check(booted_as(cmdline(m), "b", False), "after commit: %s" % cmdline(m))


def case_native_save_fails(tc):
    """arm64, native env mode, the env's flash write-protected after the
    trial was armed (as a locked or worn-out sector): U-Boot reads the armed
    trial but cannot save the count, so its script must boot the default, not
    a try it cannot count; the env stays as ota-update wrote it, and once the
    flash takes writes again the trial runs."""
    attach(tc, bundle(tc, "good"))
    m = tc.machine
    boot_until_agent(m, 1)
    install(m, bundle(tc, "good"))
    check(status(m)["trial_state"] == "armed", "not armed")
    m.reboot()
    armed = flash_env(tc)
    check(armed is not None and armed.get("ota_trial") == "b", "armed env: %s" % armed)
    m.env_flash_readonly = True
    boot_until_agent(m, 1)
    text = m.console_text()
    check("ota: cannot save the try count; booting the default a" in text,
          "U-Boot's saveenv failed but the script did not boot the default")
    check(booted_as(cmdline(m), "a", False), "after a failed save: %s" % cmdline(m))
    m.reboot()
    check(flash_env(tc) == armed, "the write-protected env changed: %s" % flash_env(tc))
    m.env_flash_readonly = False
    boot_until_agent(m, 1)
    text = m.console_text()
    check_saveenv_works(text)
    check("ota: trial of group b, 2 tries left" in text, "the trial did not run once the flash took writes")
    check(booted_as(cmdline(m), "b", True), "trial boot: %s" % cmdline(m))


def case_fallback_panic(tc):
    fallback(tc, "panic", 2, "Kernel panic - not syncing: sysrq triggered crash")


def case_fallback_hang(tc):
    fallback(tc, "hang", 1, "broken update: init hangs")


CASES = {
    "update-commit": case_update_commit,
    "fallback-panic": case_fallback_panic,
    "fallback-hang": case_fallback_hang,
    "ota-image": case_ota_image,
    # arm64 (--arch arm64): the env in NOR flash, native mode
    "native-env": case_native_env,
    "native-save-fails": case_native_save_fails,
}

if __name__ == "__main__":
    # x86_64: file mode (Debian's qemu-x86 U-Boot has no env storage).
    # arm64: native mode (BUILD/vm/uboot), or file mode for the cases named
    # file-* (BUILD/vm/uboot-file: the same cycles with the env files on FAT).
    argv = list(sys.argv)
    flow = "uboot"
    if argv[1:3] == ["--arch", "arm64"] and any(a.startswith("file-") for a in argv[3:]):
        flow = "uboot-file"
        argv = argv[:3] + [a[len("file-"):] for a in argv[3:]]
    elif argv[1:] == ["ota-image"]:
        flow = "uboot-image"  # alone, it needs only its own fixtures (mkuboot-image.sh)
    run_cases(CASES, argv, image=os.path.join(flow, "disk.img"), firmware="uboot")
