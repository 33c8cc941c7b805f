#!/usr/bin/env python3
"""VM test: a debootstrapped Debian 12 root (tests/vm/mkdebian.sh) booted
through init=/sbin/ota-init with systemd as the real init.

Case systemd: systemd reaches a running system on the overlay root; ota-init's
machine id is bind-mounted and stays the same across a reboot; the journal is
persisted (both boots listed); the package's units did their job
(ota-commit.service: not a trial boot; ota-update.timer active); a persisted
path keeps a file. Then the same image boots with init=/lib/systemd/systemd
(no ota-init) and the boot times to multi-user.target are compared.

Not covered yet (issue #9): updates through the channel and ota-commit on a
real trial boot in this VM; see docs/debian.md."""
import re
import sys

from vm import VMError, run_cases

BOOT_TIMEOUT = 600  # TCG: a Debian systemd boot is slow without KVM


def wait_running(m):
    st, out = m.run("systemctl is-system-running --wait", timeout=BOOT_TIMEOUT, check=False)
    state = out.strip().splitlines()[-1] if out.strip() else ""
    if state != "running":
        failed = m.output("systemctl --failed --no-legend --no-pager; journalctl -b -p warning --no-pager | tail -n 40")
        raise VMError("system state %r, not running:\n%s" % (state, failed))


def userspace_time(m):
    """(seconds from kernel start to multi-user.target, systemd-analyze's summary)."""
    usec = m.output("systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target").strip()
    text = m.output("systemd-analyze time --no-pager").strip().replace("\n", "; ")
    return int(usec) / 1e6, text


def case_systemd(tc):
    m = tc.machine
    m.memory = 768
    m.boot(timeout=BOOT_TIMEOUT)
    wait_running(m)
    comm = m.output("cat /proc/1/comm").strip()
    assert comm == "systemd", "PID 1 is %r" % comm
    fstype = m.output("findmnt -n -o FSTYPE /").strip()
    assert fstype == "overlay", "/ is %r" % fstype
    mid = m.output("cat /etc/machine-id").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", mid), "machine-id %r" % mid
    m.run("findmnt -n /etc/machine-id")  # a bind mount from the store
    m.run("findmnt -n /var/log/journal")
    m.run("test -d /var/log/journal/%s" % mid)
    for unit, want in (("ota-update.timer", "active"), ("ota-commit.service", "inactive")):
        got = m.output("systemctl is-active %s || true" % unit).strip()
        assert got == want, "%s is %r" % (unit, got)
    res = m.output("systemctl show -p Result --value ota-commit.service").strip()
    assert res == "success", "ota-commit.service result %r" % res
    log = m.output("journalctl -b -u ota-commit.service --no-pager")
    assert "not a trial boot" in log, log
    m.run("echo kept >/var/lib/demo/kept && sync")
    with_ota1, text1 = userspace_time(m)
    print("boot 1 (ota-init, first boot): multi-user.target at %.1f s; %s" % (with_ota1, text1))
    m.reboot(timeout=180)

    m.boot(timeout=BOOT_TIMEOUT)
    wait_running(m)
    mid2 = m.output("cat /etc/machine-id").strip()
    assert mid2 == mid, "machine-id changed: %s -> %s" % (mid, mid2)
    boots = m.output("journalctl --list-boots --no-pager | wc -l").strip()
    assert int(boots) >= 2, "journal lists %s boot(s)" % boots
    assert m.output("cat /var/lib/demo/kept").strip() == "kept"
    with_ota, text2 = userspace_time(m)
    print("boot 2 (ota-init): multi-user.target at %.1f s; %s" % (with_ota, text2))
    m.reboot(timeout=180)

    m.boot(init="/lib/systemd/systemd", timeout=BOOT_TIMEOUT)
    wait_running(m)
    fstype = m.output("findmnt -n -o FSTYPE /").strip()
    assert fstype == "ext4", "/ is %r without ota-init" % fstype
    without, text3 = userspace_time(m)
    print("boot 3 (no ota-init, systemd directly): multi-user.target at %.1f s; %s" % (without, text3))
    print("multi-user.target reached %.1f s after kernel start with ota-init (second boot), "
          "%.1f s without (same VM, TCG, no KVM)" % (with_ota, without))


if __name__ == "__main__":
    run_cases({"systemd": case_systemd}, sys.argv, image="debian.img")
