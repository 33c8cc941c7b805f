#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM tests of persisted state: ota-init binds the state store into the root
at boot, ota-state changes it at runtime, a factory reset wipes it, and a
power cut (QEMU killed) never leaves a path half persisted.

Usage: test_state.py [case ...]   (all cases when none is named)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import parse_status, run_cases  # noqa: E402


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def status(m):
    return parse_status(m.output("cat /run/ota/status"))


def is_mountpoint(m, path):
    return m.run("grep -q ' %s ' /proc/self/mountinfo" % path, check=False)[0] == 0


def case_persist_runtime(tc):
    """Declared entries are seeded from the image and bound; a directory and
    a file persisted at runtime keep content, owner and mode across a reboot
    while other changes to / are gone; the machine id stays."""
    m = tc.machine
    m.boot()
    st = status(m)
    expect(st["persisted"] == "2" and st["state_errors"] == "", "status: %s" % st)
    expect(m.output("cat /var/lib/demo/README").strip() == "seeded from the image", "declared dir not seeded")
    expect(is_mountpoint(m, "/etc/hostname"), "/etc/hostname is not bound from the store")
    machine_id = m.output("cat /etc/machine-id").strip()
    expect(len(machine_id) == 32 and int(machine_id, 16) >= 0, "bad machine id %r" % machine_id)

    m.run("mkdir -p /srv/app/sub && echo v1 > /srv/app/sub/data && chown -R 1000:1001 /srv/app "
          "&& chmod 0710 /srv/app && echo secret > /etc/app.conf && chmod 0600 /etc/app.conf")
    m.run("ota-state persist /srv/app /etc/app.conf")
    expect(is_mountpoint(m, "/srv/app"), "persist did not bind /srv/app at once")
    m.run("echo v2 > /srv/app/sub/data && echo scratch > /etc/not-persisted && sync")
    m.reboot()

    m.boot()
    expect(status(m)["persisted"] == "4", "status: %s" % status(m))
    expect(m.output("cat /srv/app/sub/data").strip() == "v2", "persisted content lost")
    expect(m.output("stat -c '%u:%g %a' /srv/app").strip() == "1000:1001 710", "owner/mode lost")
    expect(m.output("stat -c '%a' /etc/app.conf; cat /etc/app.conf").split() == ["600", "secret"],
           "persisted file lost")
    expect(m.run("test -e /etc/not-persisted", check=False)[0] != 0, "a non-persisted change survived")
    expect(m.output("cat /etc/machine-id").strip() == machine_id, "machine id changed across a reboot")
    listing = m.output("ota-state list")
    expect("/srv/app" in listing and "runtime" in listing, "list: " + listing)


def case_factory_reset(tc):
    """reset --backup wipes runtime entries and declared state (except
    keep-on-reset entries) at the next boot and keeps the old state as a
    backup; reset without backup discards it."""
    m = tc.machine
    m.boot()
    old_id = m.output("cat /etc/machine-id").strip()
    m.run("mkdir -p /srv/app && echo runtime > /srv/app/f && ota-state persist /srv/app")
    m.run("echo kept > /var/lib/demo/kept && echo changed > /etc/hostname")
    m.run("ota-state reset --backup b1")
    m.reboot()

    m.boot()
    st = status(m)
    expect(st["reset_done"] == "yes", "status: %s" % st)
    expect(m.run("test -e /srv/app/f", check=False)[0] != 0, "runtime entry survived the reset")
    expect(m.output("cat /var/lib/demo/kept").strip() == "kept", "keep-on-reset entry lost")
    expect(m.output("cat /etc/hostname").strip() == "otaroot", "hostname not back to the image's")
    m.run("test -f /run/ota/data/ota/backup/b1/state/persist/srv/app/f")
    expect(m.output("cat /etc/machine-id").strip() != old_id, "machine id survived the reset")
    expect("/srv/app" not in m.output("ota-state list"), "runtime entry still listed")

    m.run("echo again > /etc/hostname && ota-state reset")
    m.reboot()
    m.boot()
    expect(status(m)["reset_done"] == "yes", "second reset not done")
    expect(m.output("cat /etc/hostname").strip() == "otaroot", "hostname not reset")
    expect(m.output("ls /run/ota/data/ota/backup").split() == ["b1"], "a reset without backup made one")


FILES = 300
FILE_BYTES = 40000


def checksum(m, path):
    return m.output("cd %s && find . -type f | sort | xargs cat | md5sum" % path, timeout=120).split()[0]


def case_power_cut_persist(tc):
    """QEMU is killed at several moments of persisting a large directory:
    after the next boot the path is each time either fully persisted or not
    persisted at all, and the machine boots."""
    m = tc.machine
    outcomes = []
    for delay in (0.3, 1.0, 2.0, 4.0):
        m.boot()
        m.run("rm -rf /srv/big && mkdir -p /srv/big && i=0; while [ $i -lt %d ]; do "
              "head -c %d /dev/urandom > /srv/big/f$i; i=$((i+1)); done" % (FILES, FILE_BYTES), timeout=300)
        want = checksum(m, "/srv/big")
        m.run("ota-state unpersist --drop /srv/big >/dev/null 2>&1; "
              "(ota-state persist /srv/big > /tmp/persist.log 2>&1 &)")
        time.sleep(delay)
        m.kill()  # the power cut
        m.boot()
        st = status(m)
        expect(st["state_errors"] == "", "state errors after the power cut: %s" % st)
        persisted = is_mountpoint(m, "/srv/big")
        if persisted:
            expect(checksum(m, "/srv/big") == want, "half persisted after a cut at %.1f s" % delay)
        else:
            expect(m.run("test -e /srv/big", check=False)[0] != 0,
                   "/srv/big exists but is not persisted after a cut at %.1f s" % delay)
        outcomes.append("%.1fs:%s" % (delay, "persisted" if persisted else "not persisted"))
        m.run("sync")
        m.kill()
    print("power cuts: " + ", ".join(outcomes))


def case_broken_state_config(tc):
    """A malformed state.d file is reported and skipped at boot; the device
    boots with everything else, and ota-state status shows the error."""
    import subprocess
    extra = os.path.join(tc.workdir, "extra")
    os.makedirs(os.path.join(extra, "etc/ota/state.d"))
    os.makedirs(os.path.join(extra, "var/lib/good"))
    with open(os.path.join(extra, "etc/ota/state.d/40-good.conf"), "w") as f:
        f.write("[persist /var/lib/good]\n")
    with open(os.path.join(extra, "etc/ota/state.d/50-broken.conf"), "w") as f:
        f.write("[persist /var/lib/bad]\ntype = sideways\n")
    build = os.path.dirname(os.path.dirname(tc.base_image))
    subprocess.run([os.path.join(os.path.dirname(os.path.abspath(__file__)), "mkimage.sh"),
                    "--bin-dir", os.path.join(build, "bin"), "--out", tc.disk, "--extra-root", extra],
                   check=True, stdout=subprocess.DEVNULL)
    m = tc.machine
    m.boot()
    st = status(m)
    expect("/etc/ota/state.d/50-broken.conf:2" in st["state_errors"], "status: %s" % st)
    expect(st["persisted"] == "3", "the good entries were not applied: %s" % st)
    expect(is_mountpoint(m, "/var/lib/good"), "good drop-in not applied")
    expect(not is_mountpoint(m, "/var/lib/bad"), "broken drop-in applied")
    out = m.output("ota-state status")
    expect("config error:" in out and "50-broken.conf:2" in out and "type: 'sideways'" in out,
           "ota-state status: " + out)


CASES = {
    "persist-runtime": case_persist_runtime,
    "factory-reset": case_factory_reset,
    "power-cut-persist": case_power_cut_persist,
    "broken-state-config": case_broken_state_config,
}

if __name__ == "__main__":
    run_cases(CASES, sys.argv)
