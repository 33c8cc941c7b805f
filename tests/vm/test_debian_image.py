#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM test of ota-image (docs/ota-image.md, issue 22): the Debian 12 root of
tests/vm/mkdebian.sh made into a disk image and an update by ota-image
(mkdebian.sh --ota-image), as a user would. The image holds only the ESP and
system-a; it is written onto a larger disk, as when flashed.

Case image: OVMF and GRUB boot it through ota-init with systemd as PID 1;
the first boot provisions system-b and data from ota-image's layout.conf;
the system.conf ota-image wrote is the one in force (its compatible and
version in ota-update status); the machine id is ota-init's. Then the
2.0 bundle made by `ota-image bundle` from the changed root (the otaroot
package upgraded) is installed, GRUB boots it on trial, ota-commit.service
commits it, and the upgraded package, the machine id and a persisted file
are there."""
import os
import subprocess
import sys

from cycle import attach, booted, check, install, release, status  # noqa: E402
from test_debian import BOOT_TIMEOUT, committed_by_service, first_boot_to_systemd, wait_running  # noqa: E402
from vm import run_cases  # noqa: E402

DISK_SIZE = "6G"  # the device's disk: the first boot appends system-b and data


def case_image(tc):
    m = tc.machine
    m.memory = 768
    m.firmware = "ovmf"
    subprocess.run(["truncate", "-s", DISK_SIZE, tc.disk], check=True)
    mid = first_boot_to_systemd(m)
    st = status(m)
    check(st.get("compatible") == "otaroot-qemu-debian" and st.get("running_version") == "1.0", "status: %s" % st)
    check("written by ota-image" in m.output("head -n 2 /etc/ota/system.conf"), "not ota-image's system.conf")
    check(release(m) == "1.0", "release %s" % release(m))
    before = m.output("dpkg-query -W -f '${Version}' otaroot").strip()
    m.run("echo kept >/var/lib/demo/kept && sync")

    bundle = os.path.join(tc.build, "vm", "debian-image-v2.otab")
    attach(tc, bundle)
    m.reboot(timeout=180)  # the bundle drive is attached at the next boot
    m.boot(timeout=BOOT_TIMEOUT)
    wait_running(m)
    install(m, bundle)
    m.reboot(timeout=180)
    m.boot(timeout=BOOT_TIMEOUT)
    check(booted(m) == ("b", True), "GRUB booted %s, not b on trial" % (booted(m),))
    wait_running(m)
    check(release(m) == "2.0", "release %s" % release(m))
    committed_by_service(m, "b")
    after = m.output("dpkg-query -W -f '${Version}' otaroot").strip()
    check(after == before + "+up1", "otaroot %r after the update (was %r)" % (after, before))
    check(m.output("cat /etc/machine-id").strip() == mid, "machine-id changed")
    check(m.output("cat /var/lib/demo/kept").strip() == "kept", "persisted file lost")
    print("ota-image's image: provisioned, systemd on the overlay; its 2.0 bundle (otaroot %s -> %s) "
          "installed, booted on trial in group b, committed; state kept" % (before, after))
    m.run("systemctl poweroff", check=False)
    m.wait_exit(180)


if __name__ == "__main__":
    run_cases({"image": case_image}, sys.argv, image="debian-image.img")
