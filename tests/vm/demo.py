#!/usr/bin/env python3
"""The demo: boots the demo image through ota-init and shows what the guest
sees. Grows into a full update cycle as otaroot grows."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import TestCase, parse_status  # noqa: E402


def show(title, text):
    print("\n== %s" % title)
    for line in text.rstrip("\n").splitlines():
        print("   " + line)


def main():
    tc = TestCase("demo")
    ok = False
    try:
        m = tc.machine
        print("booting %s through init=/sbin/ota-init ..." % tc.base_image)
        m.boot()
        print("guest agent answered after %.1f s" % m.boot_seconds)
        show("ota-init on the console", "\n".join(
            l for l in m.console_text().splitlines() if "ota-init" in l or l.startswith("rcS")))
        show("PID 1", m.output("echo \"$(cat /proc/1/comm) ($(readlink /proc/1/exe))\""))
        show("mounts (target source fstype options)",
             m.output("awk '{printf \"%-22s %-10s %-9s %s\\n\", $2, $1, $3, $4}' /proc/mounts"))
        show("/run/ota/status", m.output("cat /run/ota/status"))
        show("ota-state list", m.output("ota-state list"))
        m.run("echo 'hello from boot 1' > /etc/demo-note")
        m.run("mkdir -p /srv/app && echo 'kept across reboots' > /srv/app/data")
        show("wrote /etc/demo-note and /srv/app/data; persisting /srv/app",
             m.output("ota-state persist /srv/app"))
        show("rebooting (overlay mode discard)", "")
        m.reboot()
        m.boot()
        st = parse_status(m.output("cat /run/ota/status"))
        gone = m.run("test -e /etc/demo-note", check=False)[0] != 0
        kept = m.run("cat /srv/app/data", check=False)[1].strip() == "kept across reboots"
        show("after the reboot", "slot=%s overlay=%s degraded=%s persisted=%s\n/etc/demo-note %s\n/srv/app/data %s" % (
            st["slot"], st["overlay"], st["degraded"], st["persisted"],
            "is gone: / was reset to the system image" if gone else "survived (unexpected)",
            "survived: it is persisted" if kept else "is lost (unexpected)"))
        show("ota-state status", m.output("ota-state status"))
        m.run("poweroff")
        m.wait_exit()
        ok = gone and kept
    finally:
        tc.finish(ok)
    print("\ndemo %s" % ("finished" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
