#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Record-and-replay power-cut testing (issue 16; docs/reliability.md).

    crashstates.py [--quick] [--limit N] [--jobs J] [--workdir DIR] [--keep] [CLASS ...]

Record: the test machine (tests/vm) boots with its disk behind QEMU's
blklogwrites driver, which logs every write and flush the guest makes --
firmware, bootloader, kernel -- in the dm-log-writes format. The scenario of
a group of operation classes runs in the guest; after each operation the
guest syncs and the host notes the log's length, so each class is a window
[start, end) of log entries (an operation and, where it has one, its
completion at the next boot).

Replay: for each window, logwrites.distinct_states() builds every distinct
state a power cut inside it can leave on the disk (writes up to the last
flush, any subset of the later ones, torn multi-sector writes).

Check: each state goes to the real consumer. For the state store that is the
kernel (the replayed data partition is loop-mounted: ext4 replays its
journal) and the recovery ota-init runs at boot (ota-test-state-recover: the
same library calls); then every persisted path must be as it was at the
window's start or as at its end, never missing or mixed. For the GRUB flow
it is the flow's decision on every state, confirmed by real GRUB on every
distinct environment; with the data partition, ota-update's status-file
reader (ota-test-status-read). For the U-Boot flow it is real U-Boot,
booting each state. For the rpi-tryboot flow it is a model of the Pi's
firmware reading autoboot.txt (none runs here) and ota-update's reading of
its trial record. The table of classes and invariants is in
docs/reliability.md.

Prints per class: crash states checked, distinct states in all, violations.
Exits 1 if any violation was found. --quick checks a deterministic sample of
at most --limit states per class (default 150; a twentieth of that for
the U-Boot classes, which boot real U-Boot for each; half for provision; a
third for grub-install, whose states are checked by mounting the slots); the
full run checks all.
"""

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "vm"))
sys.path.insert(0, HERE)

import logwrites  # noqa: E402
from need import need  # noqa: E402

BUILD = os.environ.get("OTA_BUILD_DIR", os.path.join(REPO, "build"))
KERNEL_DIR = os.environ.get("OTA_VM_KERNEL_DIR", os.path.join(BUILD, "vm", "kernel"))
SECTOR = 512


def say(*args):
    print("crash-states:", *args, flush=True)


# ---- disk geometry --------------------------------------------------------

def partitions(image):
    out = subprocess.run(["sfdisk", "--json", image], check=True, capture_output=True, text=True).stdout
    return {p.get("name", ""): (p["start"], p["size"]) for p in json.loads(out)["partitiontable"]["partitions"]}


def extract(image, start, size, out):
    """Copies sectors [start, start+size) of image to out, sparse."""
    with open(image, "rb") as src, open(out, "wb") as dst:
        dst.truncate(size * SECTOR)
        src.seek(start * SECTOR)
        left = size * SECTOR
        pos = 0
        while left:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                break
            if chunk.count(0) != len(chunk):
                dst.seek(pos)
                dst.write(chunk)
            pos += len(chunk)
            left -= len(chunk)


# ---- recording ------------------------------------------------------------

class Recorder:
    """Boots a copy of IMAGE with every write logged and marks windows."""

    def __init__(self, workdir, image, firmware=None, extra_drives=()):
        import vm
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.disk = os.path.join(workdir, "disk.img")
        self.start_image = os.path.join(workdir, "start.img")
        self.log = os.path.join(workdir, "disk.log")
        for p in (self.disk, self.log):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["cp", "--sparse=always", image, self.start_image], check=True)
        subprocess.run(["cp", "--sparse=always", image, self.disk], check=True)
        self.machine = vm.Machine(workdir, KERNEL_DIR, self.disk, "crash", log_writes=self.log,
                                  firmware=firmware, extra_drives=extra_drives)
        self.windows = {}
        self.lock = None

    def __enter__(self):
        import vm
        self.lock = vm.qemu_lock()
        return self

    def __exit__(self, *exc):
        self.machine.kill()
        self.lock.close()

    def mark(self):
        """The log's length once everything the guest wrote has landed."""
        self.machine.run("sync")
        return logwrites.count_entries(self.log)

    def window(self, name, start, end):
        self.windows[name] = [start, end]

    def save(self):
        with open(os.path.join(self.workdir, "windows.json"), "w") as f:
            json.dump(self.windows, f, indent=1)


def record_state(workdir):
    """The state store's operations on the test image (tests/vm/mkimage.sh,
    a 16 MiB data partition): persist, unpersist, factory reset with its
    completion at the next boot."""
    image = os.path.join(workdir, "image.img")
    subprocess.run([os.path.join(REPO, "tests", "vm", "mkimage.sh"), "--bin-dir", os.path.join(BUILD, "bin"),
                    "--out", image, "--data-mib", "16"], check=True, stdout=subprocess.DEVNULL)
    root = os.path.join(workdir, "image-root")
    subprocess.run([os.path.join(REPO, "tests", "vm", "mkimage.sh"), "--bin-dir", os.path.join(BUILD, "bin"),
                    "--root-dir", root], check=True, stdout=subprocess.DEVNULL)
    with Recorder(workdir, image) as rec:
        m = rec.machine
        m.boot()
        # Content that is already persisted when the operations start: a
        # runtime entry with many files, and one more to unpersist later.
        m.run("mkdir -p /srv/keep/sub /srv/app /opt/cfg && i=0; while [ $i -lt 40 ]; do "
              "head -c $((1000 + i * 300)) /dev/urandom > /srv/keep/sub/k$i; i=$((i+1)); done; "
              "for i in 1 2 3 4 5 6; do head -c $((i * 7000)) /dev/urandom > /srv/app/f$i; done; "
              "echo 'key = 1' > /opt/cfg/app.conf; ln -s app.conf /opt/cfg/current")
        m.run("ota-state persist /srv/keep /opt/cfg")
        a = rec.mark()
        m.run("ota-state persist /srv/app")
        m.run("echo changed > /etc/hostname")  # a declared entry's content changes
        b = rec.mark()
        rec.window("state-persist", a, b)
        m.run("ota-state unpersist /opt/cfg && ota-state unpersist --drop /srv/app")
        c = rec.mark()
        rec.window("state-unpersist", b, c)
        # The canary: a stored file rewritten in place, as ota-state never
        # does. The checker must find states in which it is half written.
        m.run("dd if=/dev/urandom of=/run/ota/data/ota/state/persist/srv/keep/sub/k39 bs=4096 count=3 "
              "conv=notrunc 2>/dev/null")
        c2 = rec.mark()
        rec.window("state-canary", c, c2)
        c = c2
        m.run("ota-state reset --backup b1")
        m.reboot()
        m.boot()
        d = rec.mark()
        rec.window("state-reset", c, d)
        m.reboot()
        rec.save()
    return {"data": "data", "image_root": root}


# ---- checking the state store --------------------------------------------

def tree_digest(path):
    """Content, type, mode and owner of everything under path (not times)."""
    h = hashlib.sha256()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    items = [("", st)]
    if stat.S_ISDIR(st.st_mode):
        for dirpath, dirnames, filenames in os.walk(path):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                items.append((os.path.relpath(full, path), os.lstat(full)))
    items.sort(key=lambda x: x[0])
    for rel, st in items:
        full = os.path.join(path, rel) if rel else path
        h.update(("%s\0%o\0%d\0%d\0" % (rel, st.st_mode, st.st_uid, st.st_gid)).encode())
        if stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                h.update(hashlib.sha256(f.read()).digest())
        elif stat.S_ISLNK(st.st_mode):
            h.update(os.readlink(full).encode())
    return h.hexdigest()[:16]


class LoopMount:
    def __init__(self, image, mountpoint, fstype, options=None):
        self.image, self.mnt, self.fstype, self.options = image, mountpoint, fstype, options
        self.dev = None
        self.mounted = False

    def __enter__(self):
        self.dev = subprocess.run(["losetup", "--find", "--show", self.image], check=True,
                                  capture_output=True, text=True).stdout.strip()
        opts = ["-o", self.options] if self.options else []
        r = subprocess.run(["mount", "-t", self.fstype, *opts, self.dev, self.mnt], capture_output=True, text=True)
        if r.returncode != 0:
            subprocess.run(["losetup", "-d", self.dev], check=True)  # __exit__ does not run
            raise MountError(r.stderr.strip())
        self.mounted = True
        return self

    def __exit__(self, *exc):
        if self.mounted:
            subprocess.run(["umount", self.mnt], check=True)
        if self.dev:
            subprocess.run(["losetup", "-d", self.dev], check=True)


class MountError(Exception):
    pass


def repair_ext_fs(image):
    """What ota-init does with a data partition that does not mount
    (init/boot.c, repair_ext_fs): e2fsck -p, then from each place the first
    backup superblock can be.
    True if the file system is then clean."""
    r = subprocess.run(["e2fsck", "-p", image], capture_output=True, timeout=600)
    for bs, sb in (("1024", "8193"), ("2048", "16384"), ("4096", "32768")):
        if r.returncode < 4:
            break
        r = subprocess.run(["e2fsck", "-p", "-B", bs, "-b", sb, image], capture_output=True, timeout=600)
    return r.returncode < 4


@contextlib.contextmanager
def mount_data(image, mnt):
    """Mounts a replayed data partition as ota-init would: directly, or
    after its e2fsck repair."""
    try:
        lm = LoopMount(image, mnt, "ext4")
        lm.__enter__()
    except MountError as e:
        if not repair_ext_fs(image):
            raise MountError("%s; e2fsck could not repair it" % e)
        lm = LoopMount(image, mnt, "ext4")
        lm.__enter__()
    try:
        yield lm
    finally:
        lm.__exit__(None, None, None)


def recover_state(image, mnt, image_root):
    """Mounts a data partition image, runs the boot's recovery, and returns
    {path: digest of what the next boot binds}, the reset flag and errors.
    None for a path means it is not persisted."""
    tool = os.path.join(BUILD, "tests", "ota-test-state-recover")
    with mount_data(image, mnt):
        r = subprocess.run([tool, mnt, image_root], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            return {"error": "recovery failed: " + (r.stderr.strip() or "exit %d" % r.returncode)}
        paths, errors, reset = {}, [], None
        for line in r.stdout.splitlines():
            f = line.split("\t")
            if f[0] == "entry":
                paths[f[1]] = tree_digest(f[3])
            elif f[0] == "error":
                errors.append(f[1])
            elif f[0] == "reset":
                reset = f[1]
        return {"paths": paths, "errors": errors, "reset": reset}


def backup_digests(image, mnt, paths):
    with mount_data(image, mnt):
        broot = os.path.join(mnt, "ota", "backup", "b1", "state", "persist")
        return {p: tree_digest(broot + p) for p in paths}


def state_violation(cls, got, start, end):
    """None, or why got (a recovered crash state) breaks the invariant."""
    if "error" in got:
        return got["error"]
    if got["errors"]:
        return "state configuration errors: %s" % "; ".join(got["errors"])
    paths = set(start["paths"]) | set(end["paths"]) | set(got["paths"])
    for p in sorted(paths):
        have = got["paths"].get(p)
        allowed = {start["paths"].get(p), end["paths"].get(p)}
        if have not in allowed:
            what = "not persisted" if have is None else "content %s" % have
            return "%s: %s; only %s allowed" % (p, what, " or ".join(
                "not persisted" if a is None else "content %s" % a for a in sorted(allowed, key=str)))
    if cls == "state-reset":
        # A factory reset is all or nothing.
        if got["paths"] != start["paths"] and got["paths"] != end["paths"]:
            return "half reset: %s" % got["paths"]
    return None


# ---- the replay loop -----------------------------------------------------

def worker_init(ctx):
    global WCTX
    WCTX = dict(ctx)
    scratch = tempfile.mkdtemp(prefix="w.", dir=ctx["scratch"])
    WCTX["scratch"] = scratch
    WCTX["img"] = os.path.join(scratch, "state.img")
    WCTX["mnt"] = os.path.join(scratch, "mnt")
    os.mkdir(WCTX["mnt"])


def check_state_store(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    try:
        got = recover_state(c["img"], c["mnt"], c["image_root"])
    except MountError as e:
        return fp, "the data file system does not mount: %s" % e, None
    why = state_violation(c["cls"], got, c["start"], c["end"])
    if not why and c["cls"] == "state-reset" and got["paths"] == c["end"]["paths"]:
        # Once the reset is done, what it replaced must be whole in the backup.
        start, end = c["start"]["paths"], c["end"]["paths"]
        replaced = [p for p in start if end.get(p) != start[p]]
        for p, d in backup_digests(c["img"], c["mnt"], replaced).items():
            if d != start[p]:
                return fp, "backup of %s is %s, was %s before the reset" % (p, d or "missing", start[p]), None
    return fp, why, None


def state_reference(image, mnt, info, scratch):
    ref = recover_state(image, mnt, info["image_root"])
    if "error" in ref or ref["errors"]:
        return None, str(ref)
    return ref, None


def grub_reference(image, mnt, info, scratch):
    files = read_esp_files(image, mnt)
    d = grub_decide(files, scratch)
    return d, (None if d["copy"] != "0" else "no valid environment copy")


def last_write_to(log, start, end, extent):
    """The index of the window's last write that touches extent (first
    sector, sectors), or -1: a slot a boot flow arms is complete only once
    that write was durable."""
    first, size = extent
    return max([e.index for e in log.entries[start:end]
                if e.is_write and e.sector < first + size and e.sector + e.nr_sectors > first], default=-1)


def report(cls, start, end, states, chosen, violations):
    """Says the first violations (with where in the log the power was cut)
    and returns the class's figures."""
    by_fp = {fp: st for fp, st, o in chosen}
    for fp, why in violations[:10]:
        st = by_fp[fp]
        say("VIOLATION %s: crash after log entry %d (%s, durable up to %d, %d later writes landed): %s"
            % (cls, st.boundary, st.kind, st.durable, len(st.pieces), why))
    return {"class": cls, "window": [start, end], "distinct": len(states), "checked": len(chosen),
            "violations": len(violations)}


def check_class(cls, workdir, info, quick, limit, jobs):
    """Replays and checks every distinct crash state of the class's window
    (a sample of `limit` with quick). Returns the class's figures and, for
    boot-flow classes, {fingerprint: files} of the states checked."""
    kind = KINDS[max((k for k in KINDS if cls.startswith(k + "-")), key=len)]
    log = logwrites.read(os.path.join(workdir, "disk.log"))
    start, end = json.load(open(os.path.join(workdir, "windows.json")))[cls]
    first, size = partitions(os.path.join(workdir, "start.img"))[info[kind["partition"]]]
    scratch = tempfile.mkdtemp(prefix="check.", dir=workdir)
    try:
        base = os.path.join(scratch, "base.img")
        extract(os.path.join(workdir, "start.img"), first, size, base)
        logwrites.apply_entries(log, base, 0, start, first, size)
        mnt = os.path.join(scratch, "mnt")
        os.mkdir(mnt)
        refs = {}
        for name, upto in (("start", start), ("end", end)):
            img = os.path.join(scratch, name + ".img")
            sparse_copy(base, img)
            logwrites.apply_entries(log, img, start, upto, first, size)
            refs[name], why = kind["reference"](img, mnt, info, scratch)
            if why and cls.endswith("-canary") and name == "end":
                refs["end"] = refs["start"]  # a planted fault may break the end state itself
            elif why:
                raise SystemExit("crash-states: %s: the window's %s state itself is broken: %s" % (cls, name, why))
        if refs["start"] == refs["end"] and not cls.endswith("-canary"):
            raise SystemExit("crash-states: %s: the operation changed nothing the check can see" % cls)
        states = list(logwrites.distinct_states(log, start, end, first, size))
        chosen = states
        if quick and len(states) > limit:
            chosen = random.Random(16).sample(states, limit)
        ctx = dict(info, base=base, cls=cls, start=refs["start"], end=refs["end"], scratch=scratch)
        if cls in info.get("slots", {}):
            # The last write of the window to the slot a boot flow arms.
            slot, ctx["slot_group"] = info["slots"][cls]
            ctx["slot_last_write"] = last_write_to(log, start, end, partitions(os.path.join(workdir, "start.img"))[slot])
        violations, seen = [], {}
        with multiprocessing.Pool(jobs, initializer=worker_init, initargs=(ctx,)) as pool:
            for fp, why, files in pool.imap_unordered(kind["check"], [(fp, o.sectors, st.durable) for fp, st, o in chosen],
                                                      chunksize=4):
                if why:
                    violations.append((fp, why))
                if files is not None:
                    seen[fp] = files
        return report(cls, start, end, states, chosen, violations), seen
    finally:
        log.close()
        subprocess.run(["umount", "-q", os.path.join(scratch, "mnt")], stderr=subprocess.DEVNULL)
        shutil.rmtree(scratch, ignore_errors=True)


# ---- the GRUB boot flow ----------------------------------------------------

GRUB_FILES = ("env1", "env2", "tries")


def record_update_cycle(workdir, flow, firmware, canary, more_canaries=()):
    """One A/B cycle of a boot flow's VM fixture (tests/vm/mkflow-fixtures.sh
    BUILD FLOW): windows FLOW-arm (ota-update install of the good bundle,
    which arms group b), FLOW-trial-boot (the power-on in which the
    bootloader counts the try itself, then Linux), FLOW-commit,
    FLOW-canary (the shell command `canary`, an unsafe write on purpose) and
    FLOW-rollback (a second trial, of group a, marked bad while it runs, as
    a failed health check does). more_canaries: (class, command) pairs,
    each a window of its own after FLOW-canary."""
    import cycle
    fixtures = os.path.join(BUILD, "vm", flow)
    bundle = os.path.join(fixtures, "good.otab")
    with Recorder(workdir, os.path.join(fixtures, "disk.img"), firmware=firmware, extra_drives=[bundle]) as rec:
        m = rec.machine
        cycle.boot_until_agent(m, 1)
        a = rec.mark()
        cycle.install(m, bundle)
        b = rec.mark()
        rec.window(flow + "-arm", a, b)
        m.reboot()
        cycle.boot_until_agent(m, 1)
        if cycle.booted(m) != ("b", True):
            raise SystemExit("crash-states: %s: the recorded trial boot booted %s" % (flow, cycle.booted(m),))
        c = rec.mark()
        rec.window(flow + "-trial-boot", b, c)
        m.run("ota-update commit")
        d = rec.mark()
        rec.window(flow + "-commit", c, d)
        m.run(canary)
        e = rec.mark()
        rec.window(flow + "-canary", d, e)
        for cls, command in more_canaries:
            m.run(command)
            e, d = rec.mark(), e
            rec.window(cls, d, e)
        # The install writes slot a anew (over the canary's damage) and arms it.
        cycle.install(m, bundle)
        m.reboot()
        cycle.boot_until_agent(m, 1)
        if cycle.booted(m) != ("a", True):
            raise SystemExit("crash-states: %s: the second trial boot booted %s" % (flow, cycle.booted(m),))
        f = rec.mark()
        m.run("ota-update rollback")
        g = rec.mark()
        rec.window(flow + "-rollback", f, g)
        m.reboot()
        rec.save()


def record_grub(workdir):
    """The GRUB flow: OVMF starts the real GRUB from the ESP each power-on.
    The canary arms group a while its slot is still being written (the
    writes sit in the page cache until the sync after the arm; fd 9 keeps
    dd's close from being the device's last, which would write them back)."""
    record_update_cycle(workdir, "grub", "ovmf",
                        "exec 9</dev/vda2; dd if=/dev/zero of=/dev/vda2 bs=65536 count=64 2>/dev/null && "
                        "mkdir -p /tmp/esp && mount -t vfat /dev/vda1 /tmp/esp && "
                        "ota-grubenv arm /tmp/esp/otaroot --groups a,b a 3 && umount /tmp/esp; exec 9<&-",
                        # The saved chunk index rewritten in place past its
                        # header, as ota-update never does.
                        [("grub-index-canary", "f=/run/ota/data/ota/update/index/system-b.idx && "
                          "dd if=/dev/urandom of=$f bs=1 seek=56 count=$(($(stat -c %s $f) - 56)) "
                          "conv=notrunc 2>/dev/null")])
    return {"esp": "esp", "data": "data", "slots": {"grub-arm": ("system-b", "b"), "grub-canary": ("system-a", "a")}}


def read_fat_file(image, path):
    """A file of a replayed FAT partition (mtools), or None when absent."""
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = subprocess.run(["mcopy", "-n", "-i", image, "::" + path, "-"], capture_output=True, env=env, timeout=30)
    if r.returncode == 0:
        return r.stdout
    r = subprocess.run(["mdir", "-i", image, "::/"], capture_output=True, env=env, timeout=30)
    if r.returncode != 0:
        raise MountError("mtools cannot read the FAT: %s" % r.stderr.decode(errors="replace").strip())
    return None


def read_esp_files(image, mnt):
    """The boot flow's files in a replayed ESP: {name: bytes or None}. Read
    with mtools (this host's kernel has no FAT driver). The flow's writes are
    in place -- same clusters, same size -- so every FAT reader finds the
    same bytes; real GRUB then decides on a sample (confirm_grub_model)."""
    return {name: read_fat_file(image, "/otaroot/" + name) for name in GRUB_FILES}


def grub_decide(files, scratch):
    """ota_grub_decide (ota-grubenv show), the host model of flow.cfg,
    which real GRUB checks on a sample (grub_confirm)."""
    d = tempfile.mkdtemp(dir=scratch)
    try:
        for name, data in files.items():
            if data is not None:
                with open(os.path.join(d, name), "wb") as f:
                    f.write(data)
        out = subprocess.run([os.path.join(BUILD, "bin", "ota-grubenv"), "show", d, "--groups", "a,b"],
                             check=True, capture_output=True, text=True, timeout=30).stdout
    finally:
        shutil.rmtree(d)
    v = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    trial = v.get("boot_trial") == "1"
    return {"copy": v.get("copy"), "boot": v.get("boot"), "trial": "1" if trial else "",
            "next": str(int(v["tries"]) - 1) if trial else ""}


def decision_key(d):
    return "boot=%s trial=%s next=%s" % (d["boot"], d["trial"], d["next"])


def armed_too_early(c, group, durable):
    """Why a state is a violation when `group` is armed in it: the group the
    window arms (c["slot_group"]) while the window's last write to its slot
    was not yet durable -- the disk may still drop it. None otherwise."""
    if group and group == c.get("slot_group") and c["slot_last_write"] >= durable:
        return ("group %s armed while its slot's write at log entry %d was not yet durable (only up to %d)"
                % (group, c["slot_last_write"], durable))
    return None


def check_grub_state(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    try:
        files = read_esp_files(c["img"], c["mnt"])
    except MountError as e:
        return fp, "the ESP does not mount: %s" % e, None
    d = grub_decide(files, c["scratch"])
    early = armed_too_early(c, d["trial"] and d["boot"], durable)
    if early:
        return fp, early, files
    if d["copy"] == "0" and c["start"]["copy"] != "0":
        return fp, "neither environment copy is valid (%s)" % decision_key(d), files
    allowed = {decision_key(c["start"]), decision_key(c["end"])}
    if decision_key(d) not in allowed:
        return fp, "GRUB would decide %s; only %s allowed" % (decision_key(d), " or ".join(sorted(allowed))), files
    return fp, None, files


def grub_confirm(cases, workdir):
    """Real GRUB (OVMF boots the fixture disk) decides every case of
    {name: files} in one boot; returns {name: "copy=.. boot=.. trial=.. next=.."}."""
    import vm
    from test_grub import GRUB_DECISION_CFG
    need("mcopy")
    disk = os.path.join(workdir, "confirm.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(BUILD, "vm", "grub", "disk.img"), disk], check=True)
    first, _ = partitions(disk)["esp"]
    casedir = os.path.join(workdir, "cases")
    shutil.rmtree(casedir, ignore_errors=True)
    for name, files in cases.items():
        os.makedirs(os.path.join(casedir, name))
        for fname, data in files.items():
            if data is not None:
                with open(os.path.join(casedir, name, fname), "wb") as f:
                    f.write(data)
    with open(os.path.join(workdir, "grub.cfg"), "w") as f:
        f.write(GRUB_DECISION_CFG % " ".join(cases))
    esp = "%s@@%d" % (disk, first * SECTOR)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-s", "-i", esp, casedir, "::/otaroot/"], check=True, env=env)
    subprocess.run(["mcopy", "-o", "-i", esp, os.path.join(workdir, "grub.cfg"), "::/otaroot/grub.cfg"],
                   check=True, env=env)
    with vm.qemu_lock():
        m = vm.Machine(os.path.join(workdir, "confirm"), KERNEL_DIR, disk, "confirm", firmware="ovmf")
        try:
            m.start()
            m.wait_console("@done", timeout=120 + 2 * len(cases))
        finally:
            m.kill()
    got = {}
    for line in m.console_text().splitlines():
        if "@case " in line:
            n, rest = line[line.index("@case ") + 6:].split(" ", 1)
            got[n] = rest.strip()
    shutil.rmtree(os.path.join(workdir, "confirm"), ignore_errors=True)
    os.unlink(disk)
    return got


# ---- an install as a whole: the arm and the status file ----------------------

def read_status(image, mnt, slots):
    """The slot records ota-update reads from a replayed data partition
    (mounted as ota-init would), or {"corrupt": message}."""
    tool = os.path.join(BUILD, "tests", "ota-test-status-read")
    out = {}
    with mount_data(image, mnt):
        r = subprocess.run([tool, os.path.join(mnt, "ota", "update", "slots.json"), *slots],
                           capture_output=True, text=True, timeout=30)
        for slot in slots:
            try:
                with open(os.path.join(mnt, "ota", "update", "index", slot + ".idx"), "rb") as f:
                    out["index-file/" + slot] = hashlib.sha256(f.read()).hexdigest()[:16]
            except FileNotFoundError:
                out["index-file/" + slot] = None
            except OSError as e:  # e.g. EBADMSG: a checksum the kernel refuses
                out["index-file/" + slot] = "unreadable (%s)" % (os.strerror(e.errno) if e.errno else e)
    if r.returncode != 0:
        raise SystemExit("crash-states: %s failed: %s" % (tool, r.stderr))
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "corrupt":
            return {"corrupt": f[1]}
        if f[0] == "index":  # what the delta planner's loader makes of the saved index
            out["index/" + f[1]] = " ".join(f[2:])
        else:
            out[f[1]] = f[2]
    return out


def index_violation(status, start, end):
    """None, or why the chunk indexes of a crash state break their
    invariant (update/chunk-index.h): each file is absent, the old or the
    new one, never a mix, and what the loader accepts is one of those."""
    for key in sorted(k for k in end if k.startswith("index")):
        allowed = {start.get(key), end.get(key)}
        if key.startswith("index-file/"):
            allowed.add(None)  # the file may not have been created yet
        else:
            allowed.add("none")  # not loaded: the planner scans the slot instead
        if status.get(key) not in allowed:
            return "%s is %s; only %s allowed" % (key, status.get(key), " or ".join(sorted(map(str, allowed))))
    return None


def split_sectors(sectors, ranges):
    """{absolute sector: data} -> one {relative sector: data} per range."""
    parts = [{} for _ in ranges]
    for sct, data in sectors.items():
        for i, (first, size) in enumerate(ranges):
            if first <= sct < first + size:
                parts[i][sct - first] = data
    return parts


def sparse_copy(src, dst):
    """Copies src to dst, only its data extents (a replayed partition is
    mostly holes: 64 MiB of which a few are data)."""
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        size = os.fstat(fi.fileno()).st_size
        fo.truncate(size)
        pos = 0
        while pos < size:
            try:
                pos = os.lseek(fi.fileno(), pos, os.SEEK_DATA)
            except OSError:
                break  # no data after pos
            hole = os.lseek(fi.fileno(), pos, os.SEEK_HOLE)
            while pos < hole:
                n = os.copy_file_range(fi.fileno(), fo.fileno(), hole - pos, pos, pos)
                if n <= 0:
                    raise OSError("copy_file_range %s -> %s stopped at %d" % (src, dst, pos))
                pos += n


def pwrite_sectors(img, sectors, first=0):
    """Writes {sector: data} into img, sectors counted from `first`."""
    fd = os.open(img, os.O_WRONLY)
    try:
        for sct, data in sectors.items():
            os.pwrite(fd, data, (first + sct) * SECTOR)
    finally:
        os.close(fd)


def write_image(base, img, sectors):
    """A crash state's image: base (the window's start) plus sectors."""
    sparse_copy(base, img)
    pwrite_sectors(img, sectors)


def install_verdict(c, esp_img, data_img):
    files = read_esp_files(esp_img, c["mnt"])
    d = grub_decide(files, c["scratch"])
    status = read_status(data_img, c["mnt"], ["system-a", "system-b"])
    return d, status


def check_install_state(job):
    fp, sectors, durable = job
    c = WCTX
    esp, data = split_sectors(sectors, c["ranges"])
    esp_img, data_img = os.path.join(c["scratch"], "esp.img"), os.path.join(c["scratch"], "data.img")
    write_image(c["esp_base"], esp_img, esp)
    write_image(c["data_base"], data_img, data)
    try:
        d, status = install_verdict(c, esp_img, data_img)
    except MountError as e:
        return fp, "the data file system does not mount: %s" % e, None
    if "corrupt" in status:
        return fp, "the status file does not load: %s" % status["corrupt"], None
    why = index_violation(status, c["start"][1], c["end"][1])
    if why:
        return fp, why, None
    if d["trial"] and d["boot"] == "b" and status.get("system-b") != "installed":
        return fp, "b armed while the status file says system-b is %r" % status.get("system-b"), None
    if d["trial"] and d["boot"] == "b" and c["slot_last_write"] >= durable:
        return fp, "b armed before its slot's writes were durable", None
    allowed = {decision_key(c["start"][0]), decision_key(c["end"][0])}
    if decision_key(d) not in allowed:
        return fp, "GRUB would decide %s; only %s allowed" % (decision_key(d), " or ".join(sorted(allowed))), None
    return fp, None, None


def check_install_class(cls, workdir, info, quick, limit, jobs):
    """ota-update install as a whole (the grub-arm window): the ESP and the
    data partition of each crash state together. The status file must load
    (it is replaced atomically), and b may be armed only with system-b
    recorded "installed" and its writes durable."""
    log = logwrites.read(os.path.join(workdir, "disk.log"))
    start, end = json.load(open(os.path.join(workdir, "windows.json")))["grub-arm"]
    parts = partitions(os.path.join(workdir, "start.img"))
    ranges = [parts["esp"], parts["data"]]
    scratch = tempfile.mkdtemp(prefix="check.", dir=workdir)
    try:
        bases = []
        for name, (first, size) in zip(("esp", "data"), ranges):
            b = os.path.join(scratch, name + "-base.img")
            extract(os.path.join(workdir, "start.img"), first, size, b)
            logwrites.apply_entries(log, b, 0, start, first, size)
            bases.append(b)
        ctx = dict(info, cls=cls, ranges=ranges, esp_base=bases[0], data_base=bases[1], scratch=scratch)
        ctx["mnt"] = os.path.join(scratch, "mnt")
        os.mkdir(ctx["mnt"])
        refs = {}
        for name, upto in (("start", start), ("end", end)):
            o = logwrites.Overlay(log)
            o.add_range(start, upto)
            esp, data = split_sectors(o.sectors, ranges)
            write_image(bases[0], os.path.join(scratch, "esp.img"), esp)
            write_image(bases[1], os.path.join(scratch, "data.img"), data)
            refs[name] = install_verdict(ctx, os.path.join(scratch, "esp.img"), os.path.join(scratch, "data.img"))
        if (refs["end"][1].get("system-b") != "installed" or not refs["end"][0]["trial"]
                or refs["end"][1].get("index/system-b") == "none"):
            raise SystemExit("crash-states: %s: the recorded install did not end armed, installed and indexed: %s"
                             % (cls, refs["end"]))
        ctx["start"], ctx["end"] = refs["start"], refs["end"]
        ctx["slot_last_write"] = last_write_to(log, start, end, parts["system-b"])

        def keep(e):
            return any(f <= e.sector < f + n for f, n in ranges)

        states = list(logwrites.distinct_states(log, start, end, keep=keep))
        chosen = states
        if quick and len(states) > limit:
            chosen = random.Random(16).sample(states, limit)
        violations = []
        with multiprocessing.Pool(jobs, initializer=worker_init, initargs=(ctx,)) as pool:
            for fp, why, _ in pool.imap_unordered(check_install_state,
                                                  [(fp, o.sectors, st.durable) for fp, st, o in chosen], chunksize=4):
                if why:
                    violations.append((fp, why))
        return report(cls, start, end, states, chosen, violations), {}
    finally:
        log.close()
        subprocess.run(["umount", "-q", os.path.join(scratch, "mnt")], stderr=subprocess.DEVNULL)
        shutil.rmtree(scratch, ignore_errors=True)


# ---- the U-Boot flow, file mode --------------------------------------------

def record_uboot(workdir):
    """The uboot flow in file mode: Debian's U-Boot runs boot.cmd, which
    imports the two `env export -t` files from the FAT boot partition and
    saves the try count with its own fatwrite. The canary rewrites both env
    files in place, one after the other with no flush between (ota-update
    replaces only the older file, by write-new and rename)."""
    record_update_cycle(workdir, "uboot", "uboot",
                        "mkdir -p /tmp/boot && mount -t vfat /dev/vda1 /tmp/boot && "
                        "for f in ota.env ota.env.bak; do printf 'ota_default=b\\nota_seq=0\\nota_trial=a\\n"
                        "ota_tries=3\\nota_valid=0\\n' > /tmp/boot/$f; done && umount /tmp/boot")
    return {"boot": "boot"}


def uboot_decide(disk, workdir):
    """What real U-Boot boots from disk: its boot script's own report on the
    console (bootflow/uboot/boot.cmd), read as soon as it is printed."""
    import vm
    m = vm.Machine(workdir, KERNEL_DIR, disk, "uboot-check", firmware="uboot")
    try:
        m.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = m.console_text()
            for line in text.splitlines():
                if "ota: trial of group " in line:
                    g, rest = line.split("ota: trial of group ", 1)[1].split(", ", 1)
                    return "trial of %s, %s" % (g, rest.split(" tries")[0] + " tries left")
                if "ota: booting group " in line:
                    return "boot %s" % line.split("ota: booting group ", 1)[1].split(" ", 1)[0]
                if "ota: nothing booted" in line:
                    return "nothing"
            if m.proc.poll() is not None:
                return "QEMU exited"
            time.sleep(0.05)
        return "no decision in 120 s"
    finally:
        m.kill()
        for log in m.console_logs:
            if os.path.exists(log):
                os.unlink(log)


def check_uboot_class(cls, workdir, info, quick, limit):
    """Every distinct crash state of the boot partition (a sample with
    quick) is booted by real U-Boot, one QEMU at a time; what it decides
    must be what it decides at the window's start or at its end."""
    import vm
    log = logwrites.read(os.path.join(workdir, "disk.log"))
    start, end = json.load(open(os.path.join(workdir, "windows.json")))[cls]
    first, size = partitions(os.path.join(workdir, "start.img"))[info["boot"]]
    scratch = tempfile.mkdtemp(prefix="check.", dir=workdir)
    lock = vm.qemu_lock()
    try:
        base = os.path.join(scratch, "base.img")
        sparse_copy(os.path.join(workdir, "start.img"), base)
        logwrites.apply_entries(log, base, 0, start)
        disk = os.path.join(scratch, "disk.img")

        def decide(overlay_sectors, upto=None):
            sparse_copy(base, disk)
            if upto is not None:
                logwrites.apply_entries(log, disk, start, upto)
            pwrite_sectors(disk, overlay_sectors, first)
            return uboot_decide(disk, os.path.join(scratch, "vm"))

        refs = {"start": decide({}), "end": decide({}, end)}
        for name, d in refs.items():
            if not d.startswith(("boot ", "trial of ")):
                raise SystemExit("crash-states: %s: U-Boot at the window's %s: %s" % (cls, name, d))
        states = list(logwrites.distinct_states(log, start, end, first, size))
        chosen = states
        canary = cls.endswith("-canary")
        if canary:
            # Until the planted fault is found, however many that takes.
            chosen = random.Random(16).sample(states, len(states))
        elif quick and len(states) > limit:
            chosen = random.Random(16).sample(states, limit)
        violations = []
        allowed = {refs["start"], refs["end"]}
        checked = 0
        for fp, st, o in chosen:
            if canary and violations:
                break
            checked += 1
            d = decide(o.sectors)
            if d not in allowed:
                violations.append((fp, "U-Boot: %s; only %s allowed" % (d, " or ".join(sorted(allowed)))))
        return report(cls, start, end, states, chosen[:checked], violations), {}
    finally:
        lock.close()
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


def confirm_grub_model(seen, workdir, limit):
    """The host model decided every GRUB crash state; real GRUB decides a
    sample of the distinct environment-file contents they held (all of them
    when there are at most `limit`), and must agree on each."""
    distinct = {}
    for files in seen.values():
        key = hashlib.sha256(b"".join((n.encode() + b"=" + (d if d is not None else b"<none>") + b"\0")
                                      for n, d in sorted(files.items()))).hexdigest()[:12]
        distinct.setdefault(key, files)
    keys = sorted(distinct)
    if len(keys) > limit:
        keys = sorted(random.Random(16).sample(keys, limit))
    cases = {k: distinct[k] for k in keys}
    scratch = tempfile.mkdtemp(prefix="confirm.", dir=workdir)
    try:
        got = grub_confirm(cases, scratch)
        bad = 0
        for k, files in cases.items():
            d = grub_decide(files, scratch)
            ours = "copy=%s %s" % (d["copy"], decision_key(d))
            if got.get(k) != ours:
                bad += 1
                say("VIOLATION grub-model: case %s: real GRUB: %s, model: %s" % (k, got.get(k), ours))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"class": "grub-model", "window": [0, 0], "distinct": len(distinct), "checked": len(cases),
            "violations": bad}


# ---- boot flows driven by ota-update --config on a faked boot report -------

def conf_with_bootflow_cmd(conf, flow):
    """Shell: conf = the image's system.conf with its [bootflow] section
    replaced by flow (text)."""
    return ("awk '/^\\[/ { skip = ($0 == \"[bootflow]\") } !skip' /etc/ota/system.conf > %s && "
            "printf '%s' >> %s" % (conf, printf_text(flow), conf))


def arm_rollback_commit(rec, prefix, conf, bundle_size, booted, second_install=None):
    """Records PREFIX-arm (install of the attached bundle: b armed),
    PREFIX-rollback (b's running trial marked bad) and PREFIX-commit (a
    second install, its trial committed) with `ota-update --config conf`;
    booted(group, trial) is the shell command that makes the boot flow see
    that boot (the report a bootloader or firmware would leave).
    second_install(rec, command), if given, runs the second install's
    command line its own way. Returns the log's length at the end."""
    m = rec.machine
    ota = "ota-update --config %s" % conf
    install = "set -o pipefail; head -c %d /dev/vdb | %s install - 2>&1 | tail -n 3" % (bundle_size, ota)
    m.run(booted("a", False))
    a = rec.mark()
    m.run(install, timeout=600)
    b = rec.mark()
    rec.window(prefix + "-arm", a, b)
    m.run(booted("b", True))
    m.run("%s rollback" % ota)
    c = rec.mark()
    rec.window(prefix + "-rollback", b, c)
    m.run(booted("a", False))
    if second_install:
        second_install(rec, install)
    else:
        m.run(install, timeout=600)
    m.run(booted("b", True))
    d = rec.mark()
    m.run("%s commit" % ota)
    e = rec.mark()
    rec.window(prefix + "-commit", d, e)
    return e


# ---- the U-Boot flow, native redundant env on a block device ----------------

UBOOT_ENV_SIZE = 0x4000  # each copy; the second at this offset
UBOOT_BOARD_ENV = {"bootcmd": "run ota_boot", "bootdelay": "0", "ota_default": "a",
                   "board_serial": "OTA-0042"}


def add_env_partition(image, workdir):
    """The U-Boot fixture's disk with a fifth partition, uboot-env (1 MiB),
    holding U-Boot's redundant env as a board is
    provisioned: copy 1 by mkenvimage -r, copy 2 erased."""
    subprocess.run(["truncate", "-s", "+2M", image], check=True)
    # (sfdisk's notes on the table it is told to fix go nowhere.)
    subprocess.run(["sfdisk", "-q", "--relocate", "gpt-bak-std", image], check=True, stderr=subprocess.DEVNULL)
    subprocess.run(["sfdisk", "-q", "--append", image], input="size=2048, name=uboot-env\n", text=True, check=True,
                   stderr=subprocess.DEVNULL)
    first, size = partitions(image)["uboot-env"]
    src = os.path.join(workdir, "board-env.txt")
    with open(src, "w") as f:
        f.write("".join("%s=%s\n" % kv for kv in UBOOT_BOARD_ENV.items()))
    copy = os.path.join(workdir, "board-env.bin")
    subprocess.run(["mkenvimage", "-r", "-s", str(UBOOT_ENV_SIZE), "-o", copy, src], check=True)
    with open(copy, "rb") as f:
        data = f.read()
    with open(image, "r+b") as f:
        f.seek(first * SECTOR)
        f.write(data + b"\xff" * UBOOT_ENV_SIZE)
    return first, size


def record_uboot_native(workdir):
    """ota-update's writes of U-Boot's native redundant env on a block
    device (a partition of the U-Boot fixture's disk; the machine itself
    still boots through file mode, which U-Boot reads): uboot-native-arm
    (install), uboot-native-rollback (the trial, reported on a faked
    /proc/cmdline as U-Boot's script would, marked bad while it runs),
    uboot-native-commit (a second install, its trial committed) and
    uboot-native-canary (both copies'
    headers zeroed in place, as no writer of ours does). No U-Boot counts
    tries here: no U-Boot built with a redundant env runs on this machine."""
    import cycle
    fixtures = os.path.join(BUILD, "vm", "uboot")
    bundle = os.path.join(fixtures, "good.otab")
    image = os.path.join(workdir, "native.img")
    subprocess.run(["cp", "--sparse=always", os.path.join(fixtures, "disk.img"), image], check=True)
    add_env_partition(image, workdir)
    conf = "/tmp/native.conf"
    flow = ("[bootflow]\ntype = uboot\nenv-mode = native\nenv = /dev/vda5\nenv-offset = 0\n"
            "env-size = 0x%x\nenv-redundant-offset = 0x%x\nproc = /tmp/p\n" % (UBOOT_ENV_SIZE, UBOOT_ENV_SIZE))

    def booted(group, trial):
        return "mkdir -p /tmp/p && echo 'ota.group=%s ota.slot=%s%s' > /tmp/p/cmdline" % (
            group, group, " ota.trial=1" if trial else "")

    with Recorder(workdir, image, firmware="uboot", extra_drives=[bundle]) as rec:
        m = rec.machine
        cycle.boot_until_agent(m, 1)
        m.run(conf_with_bootflow_cmd(conf, flow))
        e = arm_rollback_commit(rec, "uboot-native", conf, os.path.getsize(bundle), booted)
        m.run("dd if=/dev/zero of=/dev/vda5 bs=512 count=1 conv=notrunc 2>/dev/null && "
              "dd if=/dev/zero of=/dev/vda5 bs=512 count=1 seek=%d conv=notrunc 2>/dev/null"
              % (UBOOT_ENV_SIZE // SECTOR))
        f = rec.mark()
        rec.window("uboot-native-canary", e, f)
        m.reboot()
        rec.save()
    return {"uboot-env": "uboot-env", "slots": {"uboot-native-arm": ("system-b", "b")}}


def uboot_env_vars(image, scratch):
    """U-Boot's env in a replayed uboot-env partition as libubootenv's
    fw_printenv reads it (both copies; the valid one with the higher flag,
    as U-Boot's env_import_redund), or None when neither copy is valid."""
    cfg = os.path.join(scratch, "fw_env.config")
    with open(cfg, "w") as f:
        f.write("%s 0x0 0x%x\n%s 0x%x 0x%x\n" % (image, UBOOT_ENV_SIZE, image, UBOOT_ENV_SIZE, UBOOT_ENV_SIZE))
    r = subprocess.run(["fw_printenv", "-c", cfg], capture_output=True, text=True, timeout=30)
    if r.returncode != 0 or "Bad CRC" in r.stderr or "using default" in r.stderr.lower():
        return None
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def uboot_native_key(env):
    return " ".join("%s=%s" % (k, env.get(k, "")) for k in ("ota_default", "ota_trial", "ota_tries"))


def uboot_native_reference(image, mnt, info, scratch):
    env = uboot_env_vars(image, scratch)
    return env, (None if env else "no valid env copy")


def check_uboot_native_state(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    env = uboot_env_vars(c["img"], c["scratch"])
    if env is None:
        return fp, "no valid env copy: U-Boot would boot its built-in default env", None
    for k, v in UBOOT_BOARD_ENV.items():
        if k != "ota_default" and env.get(k) != v:
            return fp, "the board's %s is %r, not %r" % (k, env.get(k), v), None
    early = armed_too_early(c, env.get("ota_trial"), durable)
    if early:
        return fp, early, None
    allowed = {uboot_native_key(c["start"]), uboot_native_key(c["end"])}
    if uboot_native_key(env) not in allowed:
        return fp, "U-Boot would import %s; only %s allowed" % (uboot_native_key(env), " or ".join(sorted(allowed))), None
    return fp, None, None


# ---- the rpi-tryboot flow: autoboot.txt and the trial record on FAT ---------

TRYBOOT_PARTS = {"a": 2, "b": 3}
AUTOBOOT_MAX = 512  # the firmware reads at most this much


# rpi-tryboot's [bootflow] on the ESP (mounted at /tmp/fw), with a device
# tree the test sets (/tmp/dt: the firmware's side, faked:
# docs/boot-flows.md).
TRYBOOT_FLOW = ("[bootflow]\ntype = rpi-tryboot\nautoboot = /tmp/fw/autoboot.txt\npartition.a = %d\n"
                "partition.b = %d\nproc = /tmp/dt\n" % (TRYBOOT_PARTS["a"], TRYBOOT_PARTS["b"]))


def printf_text(text):
    """text as printf's format in single quotes, on one line (the agent
    takes one command line)."""
    return text.replace("\\", "\\\\").replace("%", "%%").replace("\n", "\\n")


def tryboot_dt_cmd(group, tryboot):
    """Shell: the firmware's report of this boot (big-endian u32 cells)."""
    d = "/tmp/dt/device-tree/chosen/bootloader"
    return ("mkdir -p %s && printf '\\000\\000\\000\\%03o' > %s/partition && "
            "printf '\\000\\000\\000\\%03o' > %s/tryboot" % (d, TRYBOOT_PARTS[group], d, int(tryboot), d))


def autoboot_text(default, tryboot):
    return "[all]\ntryboot_a_b=1\nboot_partition=%d\n[tryboot]\nboot_partition=%d\n" % (default, tryboot)


def record_tryboot(workdir):
    """The rpi-tryboot flow's writes on the GRUB fixture's disk (its ESP is
    the FAT partition; the Pi's firmware cannot run here, the device tree it
    leaves is faked in /tmp): tryboot-arm (install of the good bundle: the
    trial record), tryboot-rollback (the running trial marked bad),
    tryboot-reboot (a second install with --reboot: armed, the try marked
    used, the reboot), tryboot-commit (that trial committed: autoboot.txt
    rewritten, the record cleared) and tryboot-canary (autoboot.txt
    rewritten by truncating it first, as a naive writer does)."""
    import cycle
    fixtures = os.path.join(BUILD, "vm", "grub")
    bundle = os.path.join(fixtures, "good.otab")
    conf = "/tmp/tryboot.conf"
    setup = "mkdir -p /tmp/fw && mount -t vfat /dev/vda1 /tmp/fw && " + conf_with_bootflow_cmd(conf, TRYBOOT_FLOW)

    def install_reboot(rec, install):
        """tryboot-reboot: `install --reboot` arms, marks the one try used
        and reboots (QEMU exits: -no-reboot); the next power-on is the
        firmware's tryboot, faked as the others."""
        m = rec.machine
        a = rec.mark()
        m.sock.sendall((install.replace(" install - ", " install --reboot - ") + "\n").encode())
        m.wait_exit(600)
        cycle.boot_until_agent(m, 1)
        m.run(setup)
        m.run("grep -qx used=1 /tmp/fw/ota-tryboot.state")  # the write this window is for
        b = rec.mark()
        rec.window("tryboot-reboot", a, b)

    with Recorder(workdir, os.path.join(fixtures, "disk.img"), firmware="ovmf", extra_drives=[bundle]) as rec:
        m = rec.machine
        cycle.boot_until_agent(m, 1)
        # The shipped autoboot.txt (ota-image's rpi-tryboot bootfs): a is the default.
        m.run("%s && printf '%s' > /tmp/fw/autoboot.txt" % (setup, printf_text(autoboot_text(2, 3))))
        e = arm_rollback_commit(rec, "tryboot", conf, os.path.getsize(bundle), tryboot_dt_cmd, install_reboot)
        m.run("printf '%s' > /tmp/fw/autoboot.txt" % printf_text(autoboot_text(2, 3)))
        f = rec.mark()
        rec.window("tryboot-canary", e, f)
        status = m.output("ota-update --config %s status" % conf)
        m.run("umount /tmp/fw")
        m.reboot()
        rec.save()
    say("tryboot: status after the canary: %s" % " ".join(status.split()))
    return {"esp": "esp", "slots": {"tryboot-arm": ("system-b", "b"), "tryboot-reboot": ("system-b", "b")}}


def firmware_autoboot(data):
    """What the Raspberry Pi firmware boots by autoboot.txt (its documented
    syntax: config.txt's, the first 512 bytes, [all] and [tryboot]
    sections): "default=N tryboot=M", or why it boots partition 1 itself,
    which holds nothing else on our boards."""
    if data is None:
        return "no autoboot.txt: partition 1 itself"
    text = data[:AUTOBOOT_MAX].decode("ascii", errors="replace")
    section, parts, ab = "all", {}, False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        if section in ("all", "tryboot") and key == "boot_partition" and value.isdigit():
            parts[section] = int(value)
        elif section == "all" and key == "tryboot_a_b":
            ab = value == "1"
    if "all" not in parts or not ab:
        return "autoboot.txt without boot_partition and tryboot_a_b=1 in [all]: partition 1 itself"
    return "default=%d tryboot=%d" % (parts["all"], parts.get("tryboot", parts["all"]))


def tryboot_trial(data):
    """ota-update's reading of its trial record (bootflow/rpi-tryboot.c
    read_trial): the group, "" for none; a line it does not know is an
    error."""
    if data is None:
        return "", False
    group, used = "", False
    for line in data.decode("ascii", errors="replace").split("\n"):
        if not line:
            continue
        if line.startswith("trial=") and line[6:] in ("", *TRYBOOT_PARTS):
            group = line[6:]
        elif line in ("used=0", "used=1"):
            used = line == "used=1"
        else:
            raise ValueError("unexpected line %r" % line[:64])
    return group, used


def tryboot_decide(image):
    fw = firmware_autoboot(read_fat_file(image, "/autoboot.txt"))
    try:
        trial, used = tryboot_trial(read_fat_file(image, "/ota-tryboot.state"))
    except ValueError as e:
        return {"firmware": fw, "trial": None, "used": None, "error": "the trial record does not parse: %s" % e}
    default = fw.split()[0] if fw.startswith("default=") else ""
    if trial and default == "default=%d" % TRYBOOT_PARTS[trial]:
        trial, used = "", False  # a trial of the default is none (the commit's order)
    return {"firmware": fw, "trial": trial, "used": used and bool(trial), "error": None}


def tryboot_key(d):
    return "%s, trial %s%s" % (d["firmware"], d["trial"] or "none", " (its try used)" if d["used"] else "")


def tryboot_reference(image, mnt, info, scratch):
    d = tryboot_decide(image)
    return d, d["error"] or (None if d["firmware"].startswith("default=") else d["firmware"])


def check_tryboot_state(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    try:
        d = tryboot_decide(c["img"])
    except MountError as e:
        return fp, "the FAT does not mount: %s" % e, None
    if d["error"]:
        return fp, d["error"], None
    early = armed_too_early(c, d["trial"], durable)
    if early:
        return fp, early, None
    allowed = {tryboot_key(c["start"]), tryboot_key(c["end"])}
    if c["cls"] == "tryboot-reboot":
        allowed.add(tryboot_key(dict(c["end"], used=False)))  # armed, before the try was marked used
    if tryboot_key(d) not in allowed:
        return fp, "the firmware and ota-update would see %s; only %s allowed" % (
            tryboot_key(d), " or ".join(sorted(allowed))), None
    return fp, None, None


# ---- first-boot provisioning of a whole disk -------------------------------

PENDING_GUID = "4F544150-454E-4449-4E47-0000000A4F4B"


def record_provision(workdir):
    """The first boot of an image holding only system-a, written to a disk
    four times its size (tests/vm/test_provision.py's layout): ota-init
    creates system-b and data, formats data and mounts it. The whole disk is
    the checked device. The canary then writes into system-a, which nothing
    of ours ever does once it is booted."""
    from test_provision import layout_for
    extra = os.path.join(workdir, "extra")
    os.makedirs(os.path.join(extra, "etc", "ota"))
    layout = os.path.join(extra, "etc", "ota", "layout.conf")
    with open(layout, "w") as f:
        f.write(layout_for("amd64"))
    image = os.path.join(workdir, "image.img")
    subprocess.run([os.path.join(REPO, "tests", "vm", "mkimage.sh"), "--bin-dir", os.path.join(BUILD, "bin"),
                    "--out", image, "--extra-root", extra, "--system-a-only"], check=True, stdout=subprocess.DEVNULL)
    os.truncate(image, os.path.getsize(image) * 4)
    with Recorder(workdir, image) as rec:
        m = rec.machine
        m.boot()
        st = m.output("cat /run/ota/status")
        if "provision='done:" not in st:
            raise SystemExit("crash-states: provision: the recorded first boot did not provision: %s" % st)
        a = rec.mark()
        rec.window("provision", 0, a)
        m.run("dd if=/dev/urandom of=/dev/vda1 bs=4096 count=4 seek=2000 conv=notrunc 2>/dev/null")
        b = rec.mark()
        rec.window("provision-canary", a, b)
        m.reboot()
        rec.save()
    return {"layout": layout}


def gpt_of(path):
    out = subprocess.run(["sfdisk", "--json", path], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)["partitiontable"]


def probe_uuid(path, offset=0):
    r = subprocess.run(["blkid", "-p", "-o", "value", "-s", "UUID", "-O", str(offset), path],
                       capture_output=True, text=True, timeout=60)
    return r.stdout.strip() or None


def region_digest(path, first, size):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(first * SECTOR)
        left = size * SECTOR
        while left:
            b = f.read(min(left, 1 << 20))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def provision_verdict(c, img):
    """What the next boot's provisioning (ota-part: the library ota-init
    calls) makes of the disk img, and the invariants on its result."""
    before = gpt_of(img) or {"partitions": []}
    data = [p for p in before["partitions"] if p.get("name") == "data"]
    # A data partition with its final type holds a finished file system:
    # provisioning must never format it again.
    kept = None
    if data and data[0]["type"].upper() != PENDING_GUID:
        kept = probe_uuid(img, data[0]["start"] * SECTOR)
    dev = subprocess.run(["losetup", "--find", "--show", img], check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        # The kernel's view at the next boot: the partitions of the table on
        # the disk (partx reads it with libblkid; the host kernel may lack
        # a GPT parser).
        subprocess.run(["partx", "--add", dev], capture_output=True, timeout=60)
        r = subprocess.run([os.path.join(BUILD, "bin", "ota-part"), "--layout", c["layout"], "apply", dev],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            return "ota-part apply failed: %s" % (r.stderr.strip() or "exit %d" % r.returncode)
        t = gpt_of(dev)
        parts = t["partitions"] if t else []
        if [p.get("name") for p in parts] != ["system-a", "system-b", "data"]:
            return "partitions after provisioning: %s" % [p.get("name") for p in parts]
        if any(p["type"].upper() == PENDING_GUID for p in parts):
            return "a partition is still pending after provisioning"
        disk = os.path.getsize(img)
        if disk - (parts[-1]["start"] + parts[-1]["size"]) * SECTOR >= 2 << 20:
            return "data does not reach the end of the disk"
        uuid = probe_uuid(dev + "p3")
        if kept and uuid != kept:
            return "the data partition was formatted again (UUID %s, was %s)" % (uuid, kept)
        try:
            with mount_data(dev + "p3", c["mnt"]):
                pass
        except MountError as e:
            return "the data file system does not mount after provisioning: %s" % e
        first, size = c["system_a"]
        if region_digest(img, first, size) != c["system_a_digest"]:
            return "system-a changed"
        return None
    finally:
        subprocess.run(["partx", "--delete", dev], capture_output=True, timeout=60)
        subprocess.run(["losetup", "-d", dev], check=True)


def check_provision_state(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    return fp, provision_verdict(c, c["img"]), None


def overlays_of(log, start, states):
    """(CrashState, Overlay) for each of states, the durable part built up
    once in log order (a whole disk's window is too big to keep an overlay
    per state)."""
    durable, at = logwrites.Overlay(log), start
    for st in sorted(states, key=lambda x: x.durable):
        if st.durable != at:
            durable.add_range(at, st.durable)
            at = st.durable
        yield st, logwrites.state_overlay(st, durable)


def batches(items, n):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def check_provision_class(cls, workdir, info, quick, limit, jobs, max_states=None):
    """Every distinct crash state of the whole disk goes to the next boot's
    provisioning: it must converge to the layout, keep a data partition
    once formatted, and leave system-a as it was. The window holds mkfs's
    megabytes: states are checked in batches as they are enumerated, and
    --quick samples `limit` of all enumerated states (not told apart by
    content first, which takes minutes here). With max_states, a window
    with more distinct states than that has a uniform sample of max_states
    of its distinct states checked (issue 16's target is 10,000 a class)."""
    log = logwrites.read(os.path.join(workdir, "disk.log"))
    start, end = json.load(open(os.path.join(workdir, "windows.json")))[cls]
    scratch = tempfile.mkdtemp(prefix="check.", dir=workdir)
    try:
        base = os.path.join(scratch, "base.img")
        sparse_copy(os.path.join(workdir, "start.img"), base)
        logwrites.apply_entries(log, base, 0, start)
        system_a = partitions(base)["system-a"]
        ctx = dict(info, base=base, scratch=scratch, system_a=system_a,
                   system_a_digest=region_digest(os.path.join(workdir, "start.img"), *system_a))
        ctx["mnt"] = os.path.join(scratch, "mnt")
        os.mkdir(ctx["mnt"])
        for name, upto in (("start", start), ("end", end)):
            img = os.path.join(scratch, name + ".img")
            sparse_copy(base, img)
            logwrites.apply_entries(log, img, start, upto)
            why = provision_verdict(ctx, img)
            if why and not cls.endswith("-canary"):
                raise SystemExit("crash-states: %s: the window's %s state itself is broken: %s" % (cls, name, why))
            os.unlink(img)
        if quick:
            every = list(logwrites.enumerate_states(log, start, end))
            sample = random.Random(16).sample(every, min(limit, len(every)))
            source = ((o.fingerprint(), st, o) for st, o in overlays_of(log, start, sample))
            total = "<= %d" % len(every)  # enumerated; distinct ones not counted
        elif max_states:
            # Told apart first, keeping only the states (an overlay holds
            # megabytes); the sample's overlays are built again in log order.
            distinct = [st for _, st, _ in logwrites.distinct_states(log, start, end)]
            total = len(distinct)
            if total > max_states:
                distinct = random.Random(16).sample(distinct, max_states)
            source = ((o.fingerprint(), st, o) for st, o in overlays_of(log, start, distinct))
        else:
            source = logwrites.distinct_states(log, start, end)
        seen, chosen, violations = set(), [], []
        with multiprocessing.Pool(jobs, initializer=worker_init, initargs=(ctx,)) as pool:
            for batch in batches(((fp, st, o) for fp, st, o in source if fp not in seen), 4 * jobs):
                seen.update(fp for fp, _, _ in batch)
                chosen.extend((fp, st, None) for fp, st, _ in batch)
                for fp, why, _ in pool.imap_unordered(check_provision_state,
                                                      [(fp, o.sectors, st.durable) for fp, st, o in batch]):
                    if why:
                        violations.append((fp, why))
                if cls.endswith("-canary") and violations:
                    break  # heard; the canary's states need not all be checked
        r = report(cls, start, end, chosen, chosen, violations)
        if quick or max_states:
            r["distinct"] = total
        return r, {}
    finally:
        log.close()
        shutil.rmtree(scratch, ignore_errors=True)


def index_reference(image, mnt, info, scratch):
    status = read_status(image, mnt, ["system-a", "system-b"])
    return status, status.get("corrupt")


def check_index_state(job):
    fp, sectors, durable = job
    c = WCTX
    write_image(c["base"], c["img"], sectors)
    try:
        status = read_status(c["img"], c["mnt"], ["system-a", "system-b"])
    except MountError as e:
        return fp, "the data file system does not mount: %s" % e, None
    if "corrupt" in status:
        return fp, "the status file does not load: %s" % status["corrupt"], None
    return fp, index_violation(status, c["start"], c["end"]), None


KINDS = {
    "grub-index": {"partition": "data", "reference": index_reference, "check": check_index_state},
    "state": {"partition": "data", "reference": state_reference, "check": check_state_store},
    "grub": {"partition": "esp", "reference": grub_reference, "check": check_grub_state},
    "tryboot": {"partition": "esp", "reference": tryboot_reference, "check": check_tryboot_state},
    "uboot-native": {"partition": "uboot-env", "reference": uboot_native_reference,
                     "check": check_uboot_native_state},
}

GROUPS = {
    "state": (record_state, ["state-persist", "state-unpersist", "state-canary", "state-reset"]),
    "grub": (record_grub, ["grub-arm", "grub-install", "grub-trial-boot", "grub-commit", "grub-rollback",
                           "grub-canary", "grub-index-canary"]),
    "uboot": (record_uboot, ["uboot-arm", "uboot-trial-boot", "uboot-commit", "uboot-rollback", "uboot-canary"]),
    "provision": (record_provision, ["provision", "provision-canary"]),
    "tryboot": (record_tryboot, ["tryboot-arm", "tryboot-reboot", "tryboot-rollback", "tryboot-commit",
                                   "tryboot-canary"]),
    "uboot-native": (record_uboot_native, ["uboot-native-arm", "uboot-native-commit", "uboot-native-rollback",
                                           "uboot-native-canary"]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="check a sample of each class (CI)")
    ap.add_argument("--limit", type=int, default=150, help="states per class with --quick")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--workdir", default=os.path.join(BUILD, "crash"))
    ap.add_argument("--keep", action="store_true", help="keep recordings and images")
    ap.add_argument("--max-states", type=int, metavar="N",
                    help="without --quick: a provision window with more distinct states than N has a "
                         "uniform sample of N of them checked (default: all)")
    ap.add_argument("classes", nargs="*")
    a = ap.parse_args()
    need("qemu-system-x86_64", "sfdisk", "mcopy", "mdir", "e2fsck", "fw_printenv", "mkenvimage")
    if os.geteuid() != 0:
        print("crash-states: needs root (loop devices, mounts); skipped")
        return 77
    wanted = set(a.classes)
    known = {c for _, cs in GROUPS.values() for c in cs}
    if wanted - known:
        print("crash-states: unknown class(es) %s; known: %s" % (", ".join(sorted(wanted - known)),
                                                                 ", ".join(sorted(known))), file=sys.stderr)
        return 2
    results = []
    t0 = time.monotonic()
    for group, (record, classes) in GROUPS.items():
        classes = [c for c in classes if not wanted or c in wanted]
        if not classes:
            continue
        wd = os.path.join(a.workdir, group)
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(wd)
        tr = time.monotonic()
        info = record(wd)
        say("%s: recorded in %.0f s" % (group, time.monotonic() - tr))
        seen = {}
        for cls in classes:
            tc = time.monotonic()
            if cls == "grub-install":  # each state mounts and hashes two slot images: ~1 s
                r, files = check_install_class(cls, wd, info, a.quick, max(a.limit // 3, 10), a.jobs)
            elif group == "provision":
                r, files = check_provision_class(cls, wd, info, a.quick, max(a.limit // 2, 10), a.jobs,
                                                 a.max_states)
            elif group == "uboot":  # real U-Boot boots each state: a few seconds each
                r, files = check_uboot_class(cls, wd, info, a.quick, max(a.limit // 20, 4))
            else:
                r, files = check_class(cls, wd, info, a.quick, a.limit, a.jobs)
            seen.update(files)
            r["seconds"] = round(time.monotonic() - tc, 1)
            results.append(r)
            say("%-18s window %d..%d: %s distinct crash states, %d checked, %d violations (%.0f s)"
                % (cls, r["window"][0], r["window"][1], r["distinct"], r["checked"], r["violations"],
                   r["seconds"]))
        if group == "grub" and seen:  # only classes checked by the GRUB model add cases
            r = confirm_grub_model(seen, wd, 40 if a.quick else 400)
            results.append(r)
            say("%-18s real GRUB decided %d distinct environment states: %d disagree with the model"
                % (r["class"], r["checked"], r["violations"]))
        if not a.keep:
            shutil.rmtree(wd, ignore_errors=True)
    with open(os.path.join(a.workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    # A canary class records a write that is not crash-safe on purpose: the
    # checker must find violations there, or it could not find any.
    deaf = [r["class"] for r in results if r["class"].endswith("-canary") and not r["violations"]]
    for cls in deaf:
        say("FAIL %s: the planted unsafe write went unnoticed" % cls)
    bad = sum(r["violations"] for r in results if not r["class"].endswith("-canary")) + len(deaf)
    say("%d classes, %d crash states checked, %d violations, %d canaries heard (%.0f s)"
        % (len(results), sum(r["checked"] for r in results), bad,
           sum(1 for r in results if r["class"].endswith("-canary") and r["violations"]), time.monotonic() - t0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
