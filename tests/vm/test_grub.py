#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The GRUB boot flow end to end: OVMF (Debian's ovmf) starts the real GRUB
from the disk's ESP, GRUB's script (bootflow/grub/) picks the group from the
environment files that ota-update writes, the kernel boots through ota-init.
Fixtures: tests/vm/mkflow-fixtures.sh BUILD grub (BUILD/vm/grub).

QEMU runs with -no-reboot, so every guest reboot, panic or watchdog reset
ends the QEMU process; the harness starts it again on the same disk and
NVRAM, which is a power cycle. Nothing here chooses what boots: GRUB does."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vm import run_cases  # noqa: E402
from cycle import (attach, boot_until_agent, booted, check, cmdline, expect_failed_trial_cleared,  # noqa: E402
                   install, install_broken, release, status, update_and_commit)

def fixtures(tc):
    return os.path.join(tc.build, "vm", "grub")


def bundle(tc, name):
    return os.path.join(fixtures(tc), name + ".otab")


# ---------------------------------------------------------------- cases
def booted_as(args, group, trial):
    """GRUB's command line for group: ota.slot (grub.cfg) and, on a trial,
    ota.trial=1."""
    return "ota.slot=%s" % group in args and ("ota.trial=1" in args) == trial


def case_update_commit(tc):
    """install -> reboot -> trial of b (GRUB counts a try) -> commit -> stays."""
    update_and_commit(tc, bundle(tc, "good"), booted_as, "GRUB", "trial of group b, 2 tries left")


def case_install_http(tc):
    """The guest installs the bundle from an HTTP server on the host over
    QEMU user networking (adaptive delta: the active slot's chunks are
    reused, the rest fetched by range), reboots into it and commits."""
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    # http.server has no Range support, so ota-update falls back to one
    # streamed download; nginx with ranges is integration.update-nginx's.
    handler = lambda *a, **k: Quiet(*a, directory=fixtures(tc), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.handle_error = lambda *args: None  # a client closing early is not an error here
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        m = tc.machine
        m.network = True
        boot_until_agent(m, 1)
        m.configure_network()
        url = "http://10.0.2.2:%d/good.otab" % server.server_address[1]
        out = m.output("ota-update install %s 2>&1 | tail -n 4" % url, timeout=900)
        print("   " + out.strip().replace("\n", "\n   "))
        st = status(m)
        check(st["trial_state"] == "armed" and st["trial"] == "b", st)
        m.reboot()
        boot_until_agent(m, 1)
        check(booted(m) == ("b", True), "not on trial of b: %s" % (booted(m),))
        check(release(m).endswith(" 2"), release(m))
        m.run("ota-update commit")
        check(status(m)["default"] == "b", "not committed")
    finally:
        server.shutdown()


def fallback(tc, name, tries, sign):
    """A broken update: GRUB tries it `tries` times, then boots a again by
    itself; status says the trial failed."""
    m = tc.machine
    text = install_broken(tc, bundle(tc, name), tries)
    check(text.count("trial of group b") == tries, "GRUB tried b %d times" % text.count("trial of group b"))
    check(sign in text, "%r not seen on the console" % sign)
    args = cmdline(m)
    check(booted_as(args, "a", False), "after fallback: %s" % args)
    expect_failed_trial_cleared(m)


def case_fallback_panic(tc):
    fallback(tc, "panic", 2, "Kernel panic - not syncing: sysrq triggered crash")


def case_fallback_init_exits(tc):
    fallback(tc, "init-exits", 2, "Attempted to kill init")


def case_fallback_hang(tc):
    fallback(tc, "hang", 1, "broken update: init hangs")


# ---------------------------------------------------------------- power cuts
def cut_and_boot(m, command, cut):
    """Runs command in the guest with the grub backend set to power the
    machine off right after its cut-th durable write, waits for the power
    off, powers on again and returns (group, trial) as GRUB booted them."""
    m.sock.sendall(("export OTA_TEST_POWER_CUT_AFTER_WRITES=%d; %s >/dev/null 2>&1\n" % (cut, command)).encode())
    m.wait_exit(600)
    boot_until_agent(m, 1)
    return booted(m)


def case_power_cut_writes(tc):
    """A power cut after each durable write of the boot state (arm: tries,
    [env2 repaired], env1, env2; commit: env1, env2): the next boot is
    always the old or the new state, exactly as the write order promises."""
    attach(tc, bundle(tc, "good"))
    m = tc.machine
    size = os.path.getsize(os.path.join(fixtures(tc), "good.otab"))
    install_cmd = "head -c %d /dev/vdb | ota-update install -" % size
    boot_until_agent(m, 1)
    # arm of b from a committed a: 1 tries, 2 env1, 3 env2
    for cut, want in ((1, ("a", False)), (2, ("b", True)), (3, ("b", True))):
        got = cut_and_boot(m, install_cmd, cut)
        print("  arm, cut after write %d: booted %s%s" % (cut, got[0], " (trial)" if got[1] else ""))
        check(got == want, "arm cut %d: booted %s, expected %s" % (cut, got, want))
        st = status(m)
        check(st["trial_state"] == ("running" if want[1] else "none"), st)
        if want[1]:
            m.run("ota-update rollback")
            m.reboot()
            boot_until_agent(m, 1)
            check(booted(m) == ("a", False), "rollback did not bring a back")
    # commit of the running trial b: 1 env1 (new state complete in env1)
    m.run(install_cmd, timeout=600)
    m.reboot()
    boot_until_agent(m, 1)
    check(booted(m) == ("b", True), "no trial of b")
    got = cut_and_boot(m, "ota-update commit", 1)
    print("  commit, cut after write 1: booted %s%s" % (got[0], " (trial)" if got[1] else ""))
    check(got == ("b", False), "commit cut 1: booted %s" % (got,))
    st = status(m)
    check(st["default"] == "b" and st["trial_state"] == "none", st)
    # env2 is stale now: the next arm first repairs it (write 2), then env1
    for cut, want in ((2, ("b", False)), (3, ("a", True))):
        got = cut_and_boot(m, install_cmd, cut)
        print("  arm with repair, cut after write %d: booted %s%s" % (cut, got[0], " (trial)" if got[1] else ""))
        check(got == want, "arm (repair) cut %d: booted %s, expected %s" % (cut, got, want))
        if want[1]:
            m.run("ota-update rollback")
            m.reboot()
            boot_until_agent(m, 1)
            check(booted(m) == ("b", False), "rollback did not bring b back")


# ---------------------------------------------------------------- decisions
SIG = b"# GRUB Environment Block\n"


def state_block(seq, default, trial="", trial_id="", end=None):
    """A state copy laid out as bootflow/grubenv.c writes it."""
    head = SIG + b"ota_seq_begin=%s\nota_default=%s\nota_trial=%s\nota_trial_id=%s\n" % (
        str(seq).encode(), default.encode(), trial.encode(), trial_id.encode())
    tail = b"\nota_seq_end=%s\n" % str(seq if end is None else end).encode()
    return head + b"#" * (1024 - len(head) - len(tail)) + tail


def tries_block(trial_id, tries):
    head = SIG + b"ota_tries_id=%s\nota_tries=%s\n" % (trial_id.encode(), str(tries).encode())
    return head + b"#" * (1024 - len(head))


def decision_corpus():
    """(name, env1, env2, tries): None means the file is missing."""
    old = state_block(5, "a")
    armed = state_block(6, "a", "b", "6")
    c = [
        ("fresh", old, old, tries_block("", 0)),
        ("armed-3", armed, armed, tries_block("6", 3)),
        ("armed-1", armed, armed, tries_block("6", 1)),
        ("armed-100", armed, armed, tries_block("6", 100)),
        ("tries-used-up", armed, armed, tries_block("6", 0)),
        ("tries-of-another-trial", armed, armed, tries_block("5", 3)),
        ("tries-leading-zero", armed, armed, tries_block("6", "03")),
        ("tries-101", armed, armed, tries_block("6", 101)),
        ("tries-missing", armed, armed, None),
        ("tries-garbage", armed, armed, b"\xff" * 1024),
        ("env1-torn-front", armed[:512] + old[512:], old, tries_block("6", 3)),
        ("env1-torn-back", old[:512] + armed[512:], old, tries_block("6", 3)),
        ("env1-torn-byte-40", armed[:40] + old[40:], old, tries_block("6", 3)),
        ("env1-garbage", b"\0" * 1024, armed, tries_block("6", 2)),
        ("env1-missing", None, armed, tries_block("6", 2)),
        ("both-missing", None, None, tries_block("6", 2)),
        ("both-garbage", b"x" * 1024, b"# GRUB Environment Block\n" + b"y" * 999, None),
        ("env1-bad-signature", b"# GRUB Environment Blok\n" + armed[24:], old, tries_block("6", 3)),
        ("env1-unknown-default", state_block(7, "c"), armed, tries_block("6", 3)),
        ("trial-is-default", state_block(7, "b", "b", "7"), old, tries_block("7", 3)),
        ("escaped-default", SIG + b"ota_seq_begin=9\nota_default=\\b\nota_seq_end=9\n", old, None),
        ("repeated-default", SIG + b"ota_seq_begin=9\nota_default=a\nota_default=b\nota_seq_end=9\n", old,
         None),
        ("name-across-lines", SIG + b"ota_seq_begin=9\ngarbage\nota_default=b\nota_seq_end=9\n", old, None),
        ("non-numeric-seq", state_block("x", "b"), old, None),
        ("short-file", state_block(8, "b")[:100] + b"\nota_seq_end=8\n", old, None),
        ("empty-trial-id", state_block(8, "a", "b", ""), old, tries_block("", 3)),
        ("default-b-trial-a", state_block(8, "b", "a", "8"), old, tries_block("8", 2)),
    ]
    return c


GRUB_DECISION_CFG = """set timeout=0
source "($root)/otaroot/board.cfg"
source "($root)/otaroot/flow.cfg"
for ota_case in %s; do
  ota_choose "($root)/otaroot/cases/$ota_case"
  echo "@case $ota_case copy=$ota_copy boot=$ota_boot trial=$ota_boot_trial next=$ota_tries_next"
done
echo "@done"
halt
"""


def case_decisions(tc):
    """The real GRUB and ota_grub_decide (through ota-grubenv show) read the
    same files and must decide the same: copy, group, trial, tries left."""
    corpus = decision_corpus()
    work = os.path.join(tc.workdir, "cases")
    esp = "%s@@%d" % (tc.disk, 2048 * 512)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    names = []
    expected = {}
    for i, (name, e1, e2, tr) in enumerate(corpus):
        d = os.path.join(work, str(i))
        os.makedirs(d)
        for fname, data in (("env1", e1), ("env2", e2), ("tries", tr)):
            if data is not None:
                with open(os.path.join(d, fname), "wb") as f:
                    f.write(data)
        out = subprocess.run([os.path.join(tc.build, "bin", "ota-grubenv"), "show", d, "--groups", "a,b"],
                             check=True, capture_output=True, text=True).stdout
        v = dict(l.split("=", 1) for l in out.splitlines())
        trial = v["boot_trial"] == "1"
        expected[str(i)] = "copy=%s boot=%s trial=%s next=%s" % (
            v["copy"], v["boot"], "1" if trial else "", str(int(v["tries"]) - 1) if trial else "")
        names.append(str(i))
    with open(os.path.join(tc.workdir, "grub.cfg"), "w") as f:
        f.write(GRUB_DECISION_CFG % " ".join(names))
    subprocess.run(["mcopy", "-s", "-i", esp, work, "::/otaroot/"], check=True, env=env)
    subprocess.run(["mcopy", "-o", "-i", esp, os.path.join(tc.workdir, "grub.cfg"), "::/otaroot/grub.cfg"],
                   check=True, env=env)
    m = tc.machine
    m.start()
    m.wait_console("@done", timeout=240)
    m.kill()
    got = {}
    for line in m.console_text().splitlines():
        if "@case " in line:  # GRUB's first line follows terminal escapes
            n, rest = line[line.index("@case ") + 6:].split(" ", 1)
            got[n] = rest.strip()
    bad = []
    for i, (name, _, _, _) in enumerate(corpus):
        g = got.get(str(i))
        print("  %-24s grub: %-40s ours: %s" % (name, g, expected[str(i)]))
        if g != expected[str(i)]:
            bad.append(name)
    check(not bad, "GRUB and ota_grub_decide disagree on: %s" % ", ".join(bad))


def case_fallback_degraded(tc):
    """ota-init's set-up degrades on a trial boot (no data partition): it
    reboots at once instead of running the trial in a degraded state."""
    fallback(tc, "degraded", 2, "trial boot degraded")


CASES = {
    "update-commit": case_update_commit,
    "fallback-panic": case_fallback_panic,
    "fallback-init-exits": case_fallback_init_exits,
    "fallback-hang": case_fallback_hang,
    "fallback-degraded": case_fallback_degraded,
    "decisions": case_decisions,
    "install-http": case_install_http,
    "power-cut-writes": case_power_cut_writes,
}

if __name__ == "__main__":
    # arm64 (--arch arm64): AAVMF, Debian's UEFI for the virt machine
    firmware = "aavmf" if sys.argv[1:3] == ["--arch", "arm64"] else "ovmf"
    run_cases(CASES, sys.argv, image=os.path.join("grub", "disk.img"), firmware=firmware)
