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
        show("mounts (findmnt-style: target source fstype options)",
             m.output("awk '{print $2, $1, $3, $4}' /proc/mounts | column -t 2>/dev/null || "
                      "awk '{print $2, $1, $3, $4}' /proc/mounts"))
        show("/run/ota/status", m.output("cat /run/ota/status"))
        m.run("echo 'hello from boot 1' > /etc/demo-note")
        show("wrote /etc/demo-note on the overlay; rebooting (overlay mode discard)", "")
        m.reboot()
        m.boot()
        st = parse_status(m.output("cat /run/ota/status"))
        gone = m.run("test -e /etc/demo-note", check=False)[0] != 0
        show("after the reboot", "slot=%s overlay=%s degraded=%s\n/etc/demo-note %s" % (
            st["slot"], st["overlay"], st["degraded"],
            "is gone: / was reset to the system image" if gone else "survived (unexpected)"))
        m.run("poweroff")
        m.wait_exit()
        ok = gone
    finally:
        tc.finish(ok)
    print("\ndemo %s" % ("finished" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
