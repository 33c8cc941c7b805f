#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""VM tests: a debootstrapped Debian 12 root (tests/vm/mkdebian.sh) booted by
OVMF and GRUB through init=/sbin/ota-init, with systemd as the real init. The
disk holds only the ESP and system-a, as a device ships; the first boot
provisions system-b and data.

Case systemd: the first boot (GRUB) provisions the disk, systemd reaches a
running system on the overlay root with no failed unit; the device makes its
SSH host keys and sshd serves them; ota-init's machine id is bind-mounted;
the journal is persisted (two boots listed); the package's units did their
job (ota-commit.service: not a trial boot; ota-update.timer active). Then the
same disk boots twice with the harness's direct kernel boot, once through
ota-init and once with init=/lib/systemd/systemd, and the times to
multi-user.target are compared (firmware and GRUB excluded from both).

Case update: ota-update-check.service (run as ota-update.timer would)
reads the channel from a real nginx on the host, installs 2.0, GRUB boots it
on trial, ota-commit.service commits it; 3.0, whose health check fails, is
installed, booted on trial and rolled back by ota-commit.service at its
deadline; GRUB boots 2.0 again. SSH host keys, the machine id and a file in
/var/lib survive both updates.

Case hawkbit: the same two updates from an Eclipse hawkBit DDI server, the
strict stand-in tests/lib/fleet-server.py (the real server is a Java service
in a container) on the host's 127.0.0.1:47080 ([hawkbit] in the image's
system.conf). ota-update-check.service (--channel hawkbit) polls it,
answers configData, installs action 1 (2.0) with the target token on every
request, artifacts included, and reboots; GRUB boots 2.0 on trial,
ota-commit.service commits it and the server receives closed/success.
Action 2 (3.0, failing health check) is installed, booted on trial, rolled
back by ota-commit.service at its deadline, and the server receives
closed/failure with the reason. No request deviates from the DDI schema."""
import json
import os
import re
import socket
import subprocess
import sys
import time

from cycle import booted, check, release, status  # noqa: E402
from vm import VMError, run_cases  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT_TIMEOUT = 600  # TCG: a Debian systemd boot is slow without KVM


def wait_running(m, allowed=("running",)):
    st, out = m.run("systemctl is-system-running --wait", timeout=BOOT_TIMEOUT, check=False)
    state = out.strip().splitlines()[-1] if out.strip() else ""
    if state not in allowed:
        failed = m.output("systemctl --failed --no-legend --no-pager; journalctl -b -p warning --no-pager | tail -n 40")
        raise VMError("system state %r, not running:\n%s" % (state, failed))


def userspace_time(m):
    """(seconds from kernel start to multi-user.target, systemd-analyze's summary)."""
    usec = m.output("systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target").strip()
    text = m.output("systemd-analyze time --no-pager").strip().replace("\n", "; ")
    return int(usec) / 1e6, text


def wait_for(m, command, timeout=120):
    """Runs command in the guest until it succeeds."""
    deadline = time.monotonic() + timeout
    while m.run(command, check=False)[0] != 0:
        if time.monotonic() > deadline:
            raise VMError("%r did not succeed within %d s" % (command, timeout))
        time.sleep(1)


def committed_by_service(m, group):
    """ota-commit.service of this trial boot has ended and committed it: group is the default."""
    wait_for(m, "test \"$(systemctl show -p ActiveState --value ota-commit.service)\" = inactive", 120)
    check("trial committed" in m.output("journalctl -b -u ota-commit.service --no-pager"), "no commit")
    st = status(m)
    check(st["default"] == group and st["trial_state"] == "none", "after the commit: %s" % st)


def provisioned(m):
    """This first boot appended system-b and data (layout.conf), formatted
    data and mounted it."""
    st = m.output("cat /run/ota/status")
    check("provision='done: 2 created, 0 grown, 1 formatted" in st, "first boot: %s" % st)
    labels = m.output("lsblk -n -o PARTLABEL /dev/vda").split()
    check(labels == ["esp", "system-a", "system-b", "data"], "partitions after the first boot: %s" % labels)
    m.run("findmnt -n /run/ota/data")


def host_key(m):
    """The device's ed25519 host key, checked against what sshd serves."""
    key = m.output("cut -d' ' -f1,2 /etc/ssh/host-keys/ssh_host_ed25519_key.pub").strip()
    served = m.output("ssh-keyscan -t ed25519 127.0.0.1 2>/dev/null | cut -d' ' -f2,3").strip()
    check(key.startswith("ssh-ed25519 ") and served == key, "sshd serves %r, the key file says %r" % (served, key))
    return key


def first_boot_to_systemd(m):
    """The first boot of a Debian image: GRUB boots group a, ota-state
    provisions, systemd runs as PID 1 on the overlay root with a new
    machine-id, which is returned."""
    m.boot(timeout=BOOT_TIMEOUT)
    wait_running(m)
    check(booted(m) == ("a", False), "GRUB booted %s" % (booted(m),))
    provisioned(m)
    comm = m.output("cat /proc/1/comm").strip()
    check(comm == "systemd", "PID 1 is %r" % comm)
    fstype = m.output("findmnt -n -o FSTYPE /").strip()
    check(fstype == "overlay", "/ is %r" % fstype)
    mid = m.output("cat /etc/machine-id").strip()
    check(re.fullmatch(r"[0-9a-f]{32}", mid), "machine-id %r" % mid)
    return mid


def case_systemd(tc):
    m = tc.machine
    m.memory = 768
    m.firmware = "ovmf"
    mid = first_boot_to_systemd(m)
    m.run("findmnt -n /etc/machine-id")  # a bind mount from the store
    m.run("findmnt -n /var/log/journal")
    m.run("findmnt -n /etc/ssh/host-keys")
    m.run("test -d /var/log/journal/%s" % mid)
    key = host_key(m)
    check("made /etc/ssh/host-keys/ssh_host_ed25519_key" in
          m.output("journalctl -b -u ssh-host-keys.service --no-pager -o cat"), "no host key made")
    for unit, want in (("ota-update.timer", "active"), ("ota-commit.service", "inactive"),
                       ("ssh.service", "active")):
        got = m.output("systemctl is-active %s || true" % unit).strip()
        check(got == want, "%s is %r" % (unit, got))
    res = m.output("systemctl show -p Result --value ota-commit.service").strip()
    check(res == "success", "ota-commit.service result %r" % res)
    log = m.output("journalctl -b -u ota-commit.service --no-pager")
    check("not a trial boot" in log, log)
    first, text1 = userspace_time(m)
    print("boot 1 (OVMF + GRUB, ota-init, first boot: provisioning, host keys): "
          "multi-user.target at %.1f s; %s" % (first, text1))
    m.reboot(timeout=180)

    # The same disk, the same kernel and initramfs, started directly (no
    # firmware, no GRUB), so that only ota-init differs between boots 2 and 3;
    # ota.slot=a is what GRUB would have put on the command line.
    m.firmware = None
    m.boot(cmdline_extra="ota.slot=a", timeout=BOOT_TIMEOUT)
    wait_running(m)
    check(m.output("cat /etc/machine-id").strip() == mid, "machine-id changed")
    check(host_key(m) == key, "the SSH host key changed")
    check(not m.output("journalctl -b -u ssh-host-keys.service --no-pager -o cat | grep made || true").strip(),
          "host keys made again")
    boots = m.output("journalctl --list-boots --no-pager | wc -l").strip()
    check(int(boots) >= 2, "journal lists %s boot(s)" % boots)
    with_ota, text2 = userspace_time(m)
    print("boot 2 (direct kernel, ota-init): multi-user.target at %.1f s; %s" % (with_ota, text2))
    m.reboot(timeout=180)

    m.boot(cmdline_extra="ota.slot=a", init="/lib/systemd/systemd", timeout=BOOT_TIMEOUT)
    # Without ota-init the root is the read-only ext4 and no host keys can be
    # made: ssh fails, so "degraded" is expected here.
    wait_running(m, allowed=("running", "degraded"))
    fstype = m.output("findmnt -n -o FSTYPE /").strip()
    check(fstype == "ext4", "/ is %r without ota-init" % fstype)
    without, text3 = userspace_time(m)
    print("boot 3 (direct kernel, no ota-init, systemd directly): multi-user.target at %.1f s; %s"
          % (without, text3))
    print("multi-user.target reached %.1f s after kernel start with ota-init, "
          "%.1f s without (same VM and disk, TCG, no KVM)" % (with_ota, without))


def channel_doc(srv, version, bundle):
    with open(os.path.join(srv, "channel.json.tmp"), "w") as f:
        json.dump({"format": 1, "compatible": "otaroot-qemu-debian", "version": version,
                   "bundle": os.path.basename(bundle), "size": os.path.getsize(bundle)}, f)
    os.rename(os.path.join(srv, "channel.json.tmp"), os.path.join(srv, "channel.json"))


def serve(tc):
    """A real nginx on the host's 127.0.0.1 (10.0.2.2 in the guest) serving
    the channel document and the bundles made by mkdebian.sh."""
    srv = os.path.join(tc.workdir, "srv")
    os.makedirs(srv)
    for v in ("v2", "v3"):
        os.symlink(os.path.join(tc.build, "vm", "debian-%s.otab" % v), os.path.join(srv, "debian-%s.otab" % v))
    channel_doc(srv, "2.0", os.path.join(tc.build, "vm", "debian-v2.otab"))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ngx = os.path.join(tc.workdir, "nginx")
    proc = subprocess.Popen([os.path.join(HERE, "..", "lib", "nginx-serve.sh"), ngx, srv, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise VMError("nginx did not start on port %d" % port)
            time.sleep(0.1)
    return proc, "http://10.0.2.2:%d/channel.json" % port, srv, os.path.join(ngx, "access.log")


def served(access_log, name):
    """(requests, body bytes) nginx answered for /name."""
    n = size = 0
    with open(access_log) as f:
        for line in f:
            uri, code, sent = line.split()[:3]
            if uri == "/" + name and code in ("200", "206"):
                n += 1
                size += int(sent)
    return n, size


def timer_triggers_check(m):
    """ota-update.timer is active, scheduled with a randomized delay, and
    starts ota-update-check.service: what the test starts by hand."""
    show = dict(l.split("=", 1) for l in m.output(
        "systemctl show -p ActiveState -p Triggers -p RandomizedDelayUSec -p NextElapseUSecMonotonic "
        "ota-update.timer").splitlines() if "=" in l)
    check(show.get("ActiveState") == "active" and show.get("Triggers") == "ota-update-check.service"
          and show.get("RandomizedDelayUSec", "0") not in ("0", "") and show.get("NextElapseUSecMonotonic"),
          "ota-update.timer: %s" % show)
    return show


def set_check_args(m, channel, reboot):
    """The test's channel; --reboot as shipped, or without it (the harness reboots)."""
    m.run("printf 'OTA_CHECK_ARGS=\"--channel %s --install%s\"\\n' >>/etc/default/otaroot"
          % (channel, " --reboot" if reboot else ""))


def check_now(m, channel):
    """Starts ota-update-check.service as ota-update.timer would, with the
    test's channel and --install (the harness, not the service, reboots)."""
    set_check_args(m, channel, reboot=False)
    m.run("systemctl start ota-update-check.service", timeout=1800, check=False)
    res = m.output("systemctl show -p Result --value ota-update-check.service").strip()
    log = m.output("journalctl -b -u ota-update-check.service --no-pager -o cat | tail -n 20")
    if res != "success":
        raise VMError("ota-update-check.service: %s\n%s" % (res, log))
    return log


def case_update(tc):
    m = tc.machine
    m.memory = 768
    m.firmware = "ovmf"
    m.network = True
    server, channel, srv, access_log = serve(tc)
    try:
        m.boot(timeout=BOOT_TIMEOUT)
        wait_running(m)
        check(booted(m) == ("a", False), "GRUB booted %s" % (booted(m),))
        provisioned(m)
        check(release(m) == "1.0", "release %s" % release(m))
        mid = m.output("cat /etc/machine-id").strip()
        key = host_key(m)
        m.run("echo kept >/var/lib/demo/kept && sync")
        show = timer_triggers_check(m)
        # 2.0 the way the package ships it: --install --reboot, the service
        # reboots into the update by itself (QEMU exits).
        t0 = time.monotonic()
        set_check_args(m, channel, reboot=True)
        m.run("systemctl start --no-block ota-update-check.service")
        m.wait_exit(1800)
        took = time.monotonic() - t0
        n, size = served(access_log, "debian-v2.otab")
        check(n >= 1 and size > 0, "nginx served no bundle bytes: %s" % open(access_log).read())

        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("b", True), "GRUB booted %s, not b on trial" % (booted(m),))
        check("trial boot: watchdog armed for 300 s" in m.console_text(), "no trial watchdog armed")
        wait_running(m)
        log = m.output("journalctl -b -1 -u ota-update-check.service --no-pager -o cat | tail -n 20")
        check("installed 2.0 into group b" in log, log)
        print("ota-update.timer: triggers %s, randomized delay %s; check + install of 2.0 from nginx "
              "and the service's reboot: %.0f s, %d request(s), %d bundle bytes of %d; %s" % (
                  show["Triggers"], show["RandomizedDelayUSec"], took, n, size,
                  os.path.getsize(os.path.join(srv, "debian-v2.otab")),
                  [l for l in log.splitlines() if "installed" in l][-1]))
        check(release(m) == "2.0", "release %s" % release(m))
        committed_by_service(m, "b")
        check(m.output("cat /etc/machine-id").strip() == mid, "machine-id changed")
        check(host_key(m) == key, "the SSH host key changed with 2.0")
        check(m.output("cat /var/lib/demo/kept").strip() == "kept", "persisted file lost")
        log = check_now(m, channel)
        check("up to date: running 2.0, the channel offers 2.0" in log, log)
        print("GRUB booted 2.0 from group b on trial, ota-commit.service committed it; SSH host key, "
              "machine-id and /var/lib/demo kept; a second check: up to date")

        # 3.0: its health check fails, so it must roll back by itself.
        channel_doc(srv, "3.0", os.path.join(tc.build, "vm", "debian-v3.otab"))
        log = check_now(m, channel)
        check("installed 3.0 into group a" in log, log)
        m.reboot(timeout=180)
        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("a", True), "GRUB booted %s, not a on trial" % (booted(m),))
        check(release(m) == "3.0", "release %s" % release(m))
        # ota-commit.service keeps the trial uncommitted, then rolls it back
        # at its deadline (60 s after boot) and reboots: QEMU exits.
        t0 = time.monotonic()
        m.wait_exit(600)
        print("3.0 on trial: rolled back and rebooted %.0f s after the agent answered" % (time.monotonic() - t0))
        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("b", False), "after the rollback GRUB booted %s" % (booted(m),))
        wait_running(m)
        check(release(m) == "2.0", "release %s" % release(m))
        prev = m.output("journalctl -b -1 -u ota-commit.service -u app-health.service --no-pager -o cat")
        check("rolling the trial back" in prev, prev)
        check("app-health: the application does not answer" in prev, prev)
        check(m.output("cat /var/lib/demo/kept").strip() == "kept", "persisted file lost")
        check(host_key(m) == key, "the SSH host key changed")
        check(m.output("cat /etc/machine-id").strip() == mid, "machine-id changed")
        st = status(m)
        check(st["trial_state"] == "none" and st["default"] == "b", "after the rollback: %s" % st)
        print("3.0 (failing health check) installed, booted on trial, rolled back by "
              "ota-commit.service at its deadline; GRUB back on 2.0 in group b; state kept")
        m.run("systemctl poweroff", check=False)
        m.wait_exit(180)
    finally:
        server.terminate()
        server.wait()


HAWKBIT_PORT = 47080  # [hawkbit] server in tests/vm/debian-root/etc/ota/system.conf
HAWKBIT_TOKEN = "vm-target-token-5f1c2a9e"  # tests/vm/debian-root/etc/ota/hawkbit-token


def hawkbit_serve(tc):
    """fleet-server.py hawkbit on the host's 127.0.0.1:HAWKBIT_PORT (the
    port the image's system.conf names), offering action 1: 2.0."""
    srv = os.path.join(tc.workdir, "srv")
    os.makedirs(srv)
    for v in ("v2", "v3"):
        os.symlink(os.path.join(tc.build, "vm", "debian-%s.otab" % v), os.path.join(srv, "debian-%s.otab" % v))
    state = os.path.join(tc.workdir, "hawkbit-state.json")
    log = os.path.join(tc.workdir, "hawkbit-requests.log")
    hawkbit_state(state, {"id": "1", "file": "debian-v2.otab", "version": "2.0"})
    try:
        socket.create_connection(("127.0.0.1", HAWKBIT_PORT), timeout=1).close()
        raise VMError("port %d is in use: the image's [hawkbit] server needs it free" % HAWKBIT_PORT)
    except OSError:
        pass
    port_file = os.path.join(tc.workdir, "hawkbit-port")
    proc = subprocess.Popen(["python3", os.path.join(HERE, "..", "lib", "fleet-server.py"), "hawkbit", srv, state,
                             log, port_file], env=dict(os.environ, FLEET_PORT=str(HAWKBIT_PORT)),
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tc.workdir, "hawkbit.err"), "w"))
    deadline = time.monotonic() + 10
    while not os.path.exists(port_file):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise VMError("fleet-server.py did not start on port %d" % HAWKBIT_PORT)
        time.sleep(0.1)
    return proc, state, log


def hawkbit_state(path, action):
    """The server's state (re-read on every request): the target, its token, and one action."""
    with open(path + ".tmp", "w") as f:
        json.dump({"tenant": "DEFAULT", "controller": "otaroot-debian-vm", "auth": "TargetToken",
                   "token": HAWKBIT_TOKEN, "sleep": "00:00:00", "config_requested": True, "action": action}, f)
    os.rename(path + ".tmp", path)


def hawkbit_requests(log):
    """The server's log: (method, path under the controller, status, execution, finished, token sent, violation)."""
    out = []
    with open(log) as f:
        for line in f:
            e = json.loads(line)
            st = (e["body"] or {}).get("status", {}) if isinstance(e["body"], dict) else {}
            out.append((e["method"], e["path"].replace("/DEFAULT/controller/v1/otaroot-debian-vm", "~"), e["status"],
                        st.get("execution", ""), st.get("result", {}).get("finished", ""),
                        e["auth"] == "TargetToken " + HAWKBIT_TOKEN, e["violation"]))
    return out


def hawkbit_closed(state, action, timeout):
    """Waits until the server's action is closed; (result, details)."""
    deadline = time.monotonic() + timeout
    while True:
        with open(state) as f:
            act = json.load(f)["action"]
        if act["id"] == action and act.get("status") == "closed":
            return act.get("result"), act.get("details", [])
        if time.monotonic() > deadline:
            raise VMError("hawkBit action %s not closed within %d s: %s" % (action, timeout, act))
        time.sleep(2)


def check_hawkbit_log(log, action):
    reqs = hawkbit_requests(log)
    bad = [r for r in reqs if r[6] or not r[5]]
    check(not bad, "requests with a DDI violation or without the target token: %s" % bad[:5])
    fb = [(r[3], r[4]) for r in reqs if r[1] == "~/deploymentBase/%s/feedback" % action and r[2] == 200]
    arts = [r for r in reqs if "/softwaremodules/1/artifacts/" in r[1]]
    check(arts and all(r[2] in (200, 206) for r in arts), "artifact requests: %s" % arts)
    return fb, len(reqs), len(arts)


def case_hawkbit(tc):
    m = tc.machine
    m.memory = 768
    m.firmware = "ovmf"
    m.network = True
    server, state, log = hawkbit_serve(tc)
    try:
        m.boot(timeout=BOOT_TIMEOUT)
        wait_running(m)
        check(booted(m) == ("a", False), "GRUB booted %s" % (booted(m),))
        provisioned(m)
        # Action 1 (2.0) as the package runs it: --install --reboot.
        set_check_args(m, "hawkbit", reboot=True)
        m.run("systemctl start --no-block ota-update-check.service")
        m.wait_exit(1800)
        fb, n, arts = check_hawkbit_log(log, "1")
        check(fb == [("proceeding", "none"), ("downloaded", "none")], "feedback before the reboot: %s" % fb)
        with open(state) as f:
            attrs = json.load(f).get("attributes", {})
        check(attrs.get("compatible") == "otaroot-qemu-debian" and attrs.get("version") == "1.0",
              "configData: %s" % attrs)

        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("b", True), "GRUB booted %s, not b on trial" % (booted(m),))
        wait_running(m)
        check(release(m) == "2.0", "release %s" % release(m))
        committed_by_service(m, "b")
        result, details = hawkbit_closed(state, "1", 300)
        check(result == "success", "action 1 closed with %r: %s" % (result, details))
        outcome = m.output("cat /run/ota/update-outcome")
        check("outcome='success'" in outcome and "action='1'" in outcome, outcome)
        fb, n, arts = check_hawkbit_log(log, "1")
        check(fb[-1] == ("closed", "success"), "feedback of action 1: %s" % fb)
        print("hawkBit action 1: polled by ota-update-check.service, 2.0 installed (%d artifact requests, "
              "token on each), GRUB booted it on trial, ota-commit.service committed it, the server got "
              "closed/success (%s); %d requests, no violation" % (arts, details[0] if details else "", n))

        # Action 2 (3.0): its health check fails; ota-commit.service rolls it
        # back at its deadline (60 s after boot) and reboots.
        hawkbit_state(state, {"id": "2", "file": "debian-v3.otab", "version": "3.0"})
        out = check_now(m, "hawkbit")
        check("installed 3.0 into group a" in out, out)
        m.reboot(timeout=180)
        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("a", True), "GRUB booted %s, not a on trial" % (booted(m),))
        check(release(m) == "3.0", "release %s" % release(m))
        m.wait_exit(600)
        m.boot(timeout=BOOT_TIMEOUT)
        check(booted(m) == ("b", False), "after the rollback GRUB booted %s" % (booted(m),))
        wait_running(m)
        # Delivered by the rollback itself, else by ota-update-report.timer
        # (2 minutes after this boot).
        result, details = hawkbit_closed(state, "2", 400)
        check(result == "failure", "action 2 closed with %r: %s" % (result, details))
        check(any("rolled back" in d or "fell back" in d for d in details), "reason: %s" % details)
        fb, n, arts = check_hawkbit_log(log, "2")
        check(fb[:2] == [("proceeding", "none"), ("downloaded", "none")] and fb[-1] == ("closed", "failure"),
              "feedback of action 2: %s" % fb)
        check(m.output("test -e /run/ota/data/ota/update/fleet.json && echo kept || echo gone").strip() == "gone",
              "the fleet record outlived the delivered outcome")
        print("hawkBit action 2: 3.0 installed, booted on trial, rolled back by ota-commit.service; the server "
              "got closed/failure: %s" % (details[0] if details else ""))
        m.run("systemctl poweroff", check=False)
        m.wait_exit(180)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    run_cases({"systemd": case_systemd, "update": case_update, "hawkbit": case_hawkbit}, sys.argv,
              image="debian.img")
