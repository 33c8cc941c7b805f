#!/usr/bin/env python3
"""The demo: boot the image through ota-init, install a signed update into the
spare slot, reboot into it on trial, commit it — showing each step.

The QEMU machine boots its kernel directly, so this script plays the
bootloader (until the GRUB boot flow exists): before each boot it reads the
demo boot flow's state from the guest (/usr/lib/ota/bootflow-demo) and boots
the trial group while it has tries left, else the default group."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import TestCase, parse_status  # noqa: E402

FLOW = "/run/ota/data/ota/bootflow-demo"


def show(title, text=""):
    print("\n== %s" % title)
    for line in text.rstrip("\n").splitlines():
        print("   " + line)


def choose_next(m):
    """The bootloader's decision, made before the guest reboots: a trial
    group with tries left (one try is used up now), else the default."""
    state = m.output("cd %s && for f in default trial tries; do echo \"$f=$(cat $f 2>/dev/null)\"; done" % FLOW)
    st = dict(line.split("=", 1) for line in state.splitlines() if "=" in line)
    if st.get("trial") and int(st.get("tries") or 0) > 0:
        m.run("echo %d > %s/tries.tmp && mv %s/tries.tmp %s/tries && sync"
              % (int(st["tries"]) - 1, FLOW, FLOW, FLOW))
        return st["trial"], "trial, %d tries left after this one" % (int(st["tries"]) - 1)
    return st.get("default") or "a", "default"


def boot_group(m, group):
    m.boot(root="PARTLABEL=system-%s" % group, cmdline_extra="ota.slot=%s" % group)


def main():
    bundle = os.environ["OTA_DEMO_BUNDLE"]
    tc = TestCase("demo")
    tc.machine.extra_drives.append(bundle)  # /dev/vdb in the guest
    size = os.path.getsize(bundle)
    ok = False
    try:
        m = tc.machine
        print("booting %s through init=/sbin/ota-init ..." % tc.base_image)
        boot_group(m, "a")
        print("guest agent answered after %.1f s" % m.boot_seconds)
        show("ota-init on the console", "\n".join(
            l for l in m.console_text().splitlines() if l.startswith("ota-init:")))
        show("PID 1", m.output("echo \"$(cat /proc/1/comm) ($(readlink /proc/1/exe))\"").strip())
        show("mounts (target source fstype options)",
             m.output("awk '{printf \"%-22s %-10s %-9s %s\\n\", $2, $1, $3, $4}' /proc/mounts"))
        show("/run/ota/status", m.output("cat /run/ota/status"))
        show("running", m.output("cat /etc/ota-release"))
        m.run("mkdir -p /srv/app && echo 'kept across reboots and updates' > /srv/app/data")
        show("ota-state persist /srv/app", m.output("ota-state persist /srv/app"))
        m.run("echo 'hello from boot 1' > /etc/demo-note")
        show("ota-update status", m.output("ota-update status"))

        show("ota-update install (the signed bundle, %d bytes, from /dev/vdb)" % size,
             m.output("set -o pipefail; head -c %d /dev/vdb | ota-update install - 2>&1 | cat" % size, timeout=600))
        show("ota-update status", m.output("ota-update status"))
        group, why = choose_next(m)
        show("rebooting: the bootloader boots group %s (%s)" % (group, why))
        m.reboot()
        boot_group(m, group)
        st = parse_status(m.output("cat /run/ota/status"))
        show("running", m.output("cat /etc/ota-release") + "slot=%s system_device=%s" % (
            st["slot"], st["system_device"]))
        kept = m.output("cat /srv/app/data").strip() == "kept across reboots and updates"
        gone = m.run("test -e /etc/demo-note", check=False)[0] != 0
        show("state", "/srv/app/data %s\n/etc/demo-note %s" % (
            "survived the update (persisted)" if kept else "LOST",
            "is gone (overlay discarded)" if gone else "survived (unexpected)"))
        show("ota-update status (on trial)", m.output("ota-update status"))
        show("ota-update commit", m.output("ota-update commit"))
        show("ota-update status", m.output("ota-update status"))
        group, why = choose_next(m)
        show("rebooting: the bootloader boots group %s (%s)" % (group, why))
        m.reboot()
        boot_group(m, group)
        release = m.output("cat /etc/ota-release").strip()
        show("running", release)
        m.run("poweroff")
        m.wait_exit()
        ok = kept and gone and group == "b" and release.endswith(" 2")
    finally:
        tc.finish(ok)
    print("\ndemo %s" % ("finished: updated from version 1 to 2 and committed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
