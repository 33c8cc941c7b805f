#!/usr/bin/env python3
"""VM test: a debootstrapped Debian 12 root (tests/vm/mkdebian.sh) booted
through init=/sbin/ota-init with systemd as the real init.

Case systemd: systemd reaches a running system on the overlay root; ota-init's
machine id is bind-mounted and stays the same across a reboot; the journal is
persisted (both boots listed); the package's units did their job
(ota-commit.service: not a trial boot; ota-update.timer active); a persisted
path keeps a file; on a trial boot (the demo boot flow's state set by hand)
ota-commit.service retries while a pre-commit hook fails and commits once it
passes. Then the same image boots with init=/lib/systemd/systemd
(no ota-init) and the boot times to multi-user.target are compared.

Not covered yet (issue #9): updates through the channel (the guest has no
network), a real trial boot chosen by a bootloader, rollback of a bad update;
see docs/debian.md."""
import json
import os
import re
import subprocess
import sys
import time

from vm import VMError, run_cases  # noqa: E402

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


def wait_for(m, command, timeout=120):
    """Runs command in the guest until it succeeds."""
    deadline = time.monotonic() + timeout
    while m.run(command, check=False)[0] != 0:
        if time.monotonic() > deadline:
            raise VMError("%r did not succeed within %d s" % (command, timeout))
        time.sleep(1)


def trial_commit(m):
    """ota-commit.service on a trial boot under the real systemd: the demo
    boot flow's state (on the data partition) says group a runs on trial
    (default b); a failing pre-commit hook keeps it uncommitted (on-failure
    wait: retried), removing the hook lets the retry commit it."""
    d = "/run/ota/data/ota/bootflow-demo"
    m.run("echo b >%s/default && echo a >%s/trial && echo 2 >%s/tries" % (d, d, d))
    assert '"trial_state":"running"' in m.output("ota-update status --json").replace(" ", "")
    m.run("mkdir -p /etc/ota/hooks/pre-commit.d && printf '#!/bin/sh\\necho unhealthy >&2\\nexit 1\\n' "
          ">/etc/ota/hooks/pre-commit.d/10-health && chmod +x /etc/ota/hooks/pre-commit.d/10-health")
    m.run("printf 'OTA_COMMIT_ON_FAILURE=wait\\nOTA_COMMIT_RETRY_INTERVAL=2\\nOTA_COMMIT_DEADLINE=0\\n' "
          ">/etc/default/otaroot")
    m.run("systemctl start --no-block ota-commit.service")
    wait_for(m, "test $(journalctl -b -u ota-commit.service --no-pager | grep -c 'health checks failed') -ge 2")
    state = m.output("systemctl is-active ota-commit.service || true").strip()
    assert state == "activating", "ota-commit.service is %r while the hook fails" % state
    assert m.output("cat %s/default" % d).strip() == "b", "committed despite the failing hook"
    m.run("rm /etc/ota/hooks/pre-commit.d/10-health")
    wait_for(m, "test \"$(systemctl show -p ActiveState --value ota-commit.service)\" = inactive", 60)
    res = m.output("systemctl show -p Result --value ota-commit.service").strip()
    assert res == "success", "ota-commit.service result %r" % res
    assert "trial committed" in m.output("journalctl -b -u ota-commit.service --no-pager")
    assert m.output("cat %s/default" % d).strip() == "a", "not committed"
    assert '"trial_state":"none"' in m.output("ota-update status --json").replace(" ", "")


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
    trial_commit(m)
    print("ota-commit.service: a failing pre-commit hook kept the trial uncommitted (retried); "
          "once healthy it committed")
    m.reboot(timeout=180)

    m.boot(init="/lib/systemd/systemd", timeout=BOOT_TIMEOUT)
    wait_running(m)
    fstype = m.output("findmnt -n -o FSTYPE /").strip()
    assert fstype == "ext4", "/ is %r without ota-init" % fstype
    without, text3 = userspace_time(m)
    print("boot 3 (no ota-init, systemd directly): multi-user.target at %.1f s; %s" % (without, text3))
    print("multi-user.target reached %.1f s after kernel start with ota-init (second boot), "
          "%.1f s without (same VM, TCG, no KVM)" % (with_ota, without))


def demo_state(tc):
    """The demo boot flow's state (default, trial, tries) read from the data
    partition of the powered-off disk image, as a bootloader would."""
    out = subprocess.run(["sfdisk", "-J", tc.disk], check=True, capture_output=True, text=True).stdout
    start = [p["start"] for p in json.loads(out)["partitiontable"]["partitions"] if p.get("name") == "data"][0]
    state = {}
    for name in ("default", "trial", "tries"):
        r = subprocess.run(["debugfs", "-R", "cat /ota/bootflow-demo/" + name,
                            "%s?offset=%d" % (tc.disk, start * 512)], capture_output=True, text=True)
        state[name] = r.stdout.strip()
    return state


def boot_next(tc):
    """The harness as bootloader: the armed trial group if any, else the default."""
    st = demo_state(tc)
    group = st["trial"] if st["trial"] and st["tries"] not in ("", "0") else st["default"]
    tc.machine.boot(root="PARTLABEL=system-%s" % group, timeout=BOOT_TIMEOUT)
    return group


def channel_doc(srv, version, bundle):
    with open(os.path.join(srv, "channel.json.tmp"), "w") as f:
        json.dump({"format": 1, "compatible": "otaroot-qemu-debian", "version": version,
                   "bundle": os.path.basename(bundle), "size": os.path.getsize(bundle)}, f)
    os.rename(os.path.join(srv, "channel.json.tmp"), os.path.join(srv, "channel.json"))


def serve(tc):
    """python's http.server on 127.0.0.1 (10.0.2.2 in the guest) serving the
    channel document and the version 2.0 bundle made by mkdebian.sh."""
    srv = os.path.join(tc.workdir, "srv")
    os.makedirs(srv)
    for v in ("v2", "v3"):
        os.symlink(os.path.join(tc.build, "vm", "debian-%s.otab" % v), os.path.join(srv, "debian-%s.otab" % v))
    channel_doc(srv, "2.0", os.path.join(tc.build, "vm", "debian-v2.otab"))
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", srv,
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return proc, "http://10.0.2.2:%d/channel.json" % port, srv


def check_now(m, channel):
    """Starts ota-update-check.service as ota-update.timer would, with the
    test's channel and --install (the harness, not the service, reboots)."""
    m.run("printf 'OTA_CHECK_ARGS=\"--channel %s --install\"\\n' >>/etc/default/otaroot" % channel)
    m.run("systemctl start ota-update-check.service", timeout=1800, check=False)
    res = m.output("systemctl show -p Result --value ota-update-check.service").strip()
    log = m.output("journalctl -b -u ota-update-check.service --no-pager -o cat | tail -n 20")
    if res != "success":
        raise VMError("ota-update-check.service: %s\n%s" % (res, log))
    return log


def case_update(tc):
    """The channel update end to end: ota-update-check.service installs the
    newer version from the host's HTTP server into group b, the next boot
    (the harness plays the bootloader: it reads the demo boot flow's state
    from the data partition and boots the armed trial group) runs it on
    trial, ota-commit.service commits it; state survives; a second check
    finds nothing newer. Then 3.0, whose health check (a unit required by
    boot-complete.target) fails, is installed, booted on trial and rolled
    back by ota-commit.service at its deadline; the device is back on 2.0."""
    m = tc.machine
    m.memory = 768
    m.network = True
    server, channel, srv = serve(tc)
    try:
        m.boot(timeout=BOOT_TIMEOUT)
        wait_running(m)
        assert m.output("cat /etc/ota-release").strip() == "1.0"
        mid = m.output("cat /etc/machine-id").strip()
        m.run("echo kept >/var/lib/demo/kept && sync")
        t0 = time.monotonic()
        log = check_now(m, channel)
        assert "installed 2.0 into group b" in log, log
        print("check + install of 2.0 over HTTP: %.0f s; %s" % (
            time.monotonic() - t0, [l for l in log.splitlines() if "installed" in l][-1]))
        d = "/run/ota/data/ota/bootflow-demo"
        m.reboot(timeout=180)

        assert boot_next(tc) == "b", "the bootloader did not pick the armed group b"
        wait_running(m)
        assert m.output("cat /etc/ota-release").strip() == "2.0"
        wait_for(m, "test \"$(systemctl show -p ActiveState --value ota-commit.service)\" = inactive", 120)
        assert "trial committed" in m.output("journalctl -b -u ota-commit.service --no-pager")
        assert m.output("cat %s/default" % d).strip() == "b", "not committed"
        assert m.output("cat /etc/machine-id").strip() == mid, "machine-id changed"
        assert m.output("cat /var/lib/demo/kept").strip() == "kept", "persisted file lost"
        log = check_now(m, channel)
        assert "up to date: running 2.0, the channel offers 2.0" in log, log
        print("booted 2.0 from group b, committed by ota-commit.service; machine-id and "
              "/var/lib/demo kept; a second check: up to date")

        # 3.0: its health check fails, so it must roll back by itself.
        channel_doc(srv, "3.0", os.path.join(tc.build, "vm", "debian-v3.otab"))
        log = check_now(m, channel)
        assert "installed 3.0 into group a" in log, log
        m.reboot(timeout=180)
        assert boot_next(tc) == "a", "the bootloader did not pick the armed group a"
        assert m.output("cat /etc/ota-release").strip() == "3.0"
        # ota-commit.service keeps the trial uncommitted, then rolls it back
        # at its deadline (60 s after boot) and reboots: QEMU exits.
        m.wait_exit(600)
        st = demo_state(tc)
        assert st["default"] == "b" and not st["trial"], "after the rollback: %r" % st
        assert boot_next(tc) == "b"
        wait_running(m)
        assert m.output("cat /etc/ota-release").strip() == "2.0"
        prev = m.output("journalctl -b -1 -u ota-commit.service -u app-health.service --no-pager -o cat")
        assert "rolling the trial back" in prev, prev
        assert m.output("cat /var/lib/demo/kept").strip() == "kept", "persisted file lost"
        status = json.loads(m.output("ota-update status --json"))
        assert status["trial_state"] == "none" and status["default"] == "b", status
        print("3.0 (failing health check) installed, booted on trial, rolled back by "
              "ota-commit.service at its deadline; back on 2.0 in group b, state kept")
        m.run("systemctl poweroff", check=False)
        m.wait_exit(180)
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    run_cases({"systemd": case_systemd, "update": case_update}, sys.argv, image="debian.img")
