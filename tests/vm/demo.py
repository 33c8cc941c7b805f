#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The demo: boot the image through ota-init, install a signed update into the
spare slot, reboot into it on trial, commit it — showing each step.

The machine is UEFI (OVMF): GRUB on the disk's ESP decides every boot from
the environment files ota-update writes (the GRUB boot flow,
docs/boot-flows.md); this script only powers the machine on."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import TestCase, parse_status  # noqa: E402
from cycle import booted  # noqa: E402


def show(title, text=""):
    print("\n== %s" % title)
    for line in text.rstrip("\n").splitlines():
        print("   " + line)


def power_on(m):
    """Boots; GRUB picks the group. Returns GRUB's own lines."""
    m.start()
    m.wait_agent(240)
    return "\n".join(l[l.index("otaroot:"):] for l in m.console_text().splitlines() if "otaroot:" in l)


def main():
    bundle = os.environ["OTA_DEMO_BUNDLE"]
    tc = TestCase("demo", firmware="ovmf")
    tc.machine.extra_drives.append(bundle)  # /dev/vdb in the guest
    size = os.path.getsize(bundle)
    ok = False
    try:
        m = tc.machine
        print("booting %s through init=/sbin/ota-init ..." % tc.base_image)
        show("GRUB (from the ESP) decided", power_on(m))
        print("guest agent answered %.1f s after power-on" % m.boot_seconds)
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
        show("rebooting")
        m.reboot()
        show("GRUB decided", power_on(m))
        group, trial = booted(m)
        show("booted group %s%s" % (group, " on trial" if trial else ""))
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
        show("rebooting")
        m.reboot()
        show("GRUB decided", power_on(m))
        group, trial = booted(m)
        release = m.output("cat /etc/ota-release").strip()
        show("running", release)
        m.run("poweroff")
        m.wait_exit()
        ok = kept and gone and group == "b" and not trial and release.endswith(" 2")
    finally:
        tc.finish(ok)
    print("\ndemo %s" % ("finished: updated from version 1 to 2 and committed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
