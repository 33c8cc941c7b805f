#!/usr/bin/env python3
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
window's start or as at its end, never missing or mixed.

Prints per class: crash states checked, distinct states in all, violations.
Exits 1 if any violation was found. --quick checks a deterministic sample of
at most --limit states per class (default 300); the full run checks all.
"""

import argparse
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

    def __init__(self, workdir, image):
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
        kernel_dir = os.environ.get("OTA_VM_KERNEL_DIR", os.path.join(BUILD, "vm", "kernel"))
        self.machine = vm.Machine(workdir, kernel_dir, self.disk, "crash", log_writes=self.log)
        self.windows = {}
        self.lock = open(vm.QEMU_LOCK, "w")

    def __enter__(self):
        import fcntl
        fcntl.flock(self.lock, fcntl.LOCK_EX)
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
    def __init__(self, image, mountpoint, fstype):
        self.image, self.mnt, self.fstype = image, mountpoint, fstype
        self.dev = None
        self.mounted = False

    def __enter__(self):
        self.dev = subprocess.run(["losetup", "--find", "--show", self.image], check=True,
                                  capture_output=True, text=True).stdout.strip()
        r = subprocess.run(["mount", "-t", self.fstype, self.dev, self.mnt], capture_output=True, text=True)
        if r.returncode != 0:
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


def recover_state(image, mnt, image_root):
    """Mounts a data partition image, runs the boot's recovery, and returns
    {path: digest of what the next boot binds}, the reset flag and errors.
    None for a path means it is not persisted."""
    tool = os.path.join(BUILD, "tests", "ota-test-state-recover")
    with LoopMount(image, mnt, "ext4"):
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
    with LoopMount(image, mnt, "ext4"):
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
    WCTX["img"] = os.path.join(scratch, "state.img")
    WCTX["mnt"] = os.path.join(scratch, "mnt")
    os.mkdir(WCTX["mnt"])


def check_one(job):
    fp, sectors = job
    c = WCTX
    shutil.copyfile(c["base"], c["img"])
    fd = os.open(c["img"], os.O_WRONLY)
    try:
        for s, data in sectors.items():
            os.pwrite(fd, data, s * SECTOR)
    finally:
        os.close(fd)
    try:
        got = recover_state(c["img"], c["mnt"], c["image_root"])
    except MountError as e:
        return fp, "the data file system does not mount: %s" % e
    why = state_violation(c["cls"], got, c["start"], c["end"])
    if not why and c["cls"] == "state-reset" and got["paths"] == c["end"]["paths"]:
        # Once the reset is done, what it replaced must be whole in the backup.
        start, end = c["start"]["paths"], c["end"]["paths"]
        replaced = [p for p in start if end.get(p) != start[p]]
        for p, d in backup_digests(c["img"], c["mnt"], replaced).items():
            if d != start[p]:
                return fp, "backup of %s is %s, was %s before the reset" % (p, d or "missing", start[p])
    return fp, why


def check_class(cls, workdir, info, quick, limit, jobs):
    log = logwrites.read(os.path.join(workdir, "disk.log"))
    start, end = json.load(open(os.path.join(workdir, "windows.json")))[cls]
    first, size = partitions(os.path.join(workdir, "start.img"))[info["data"]]
    scratch = tempfile.mkdtemp(prefix="check.", dir=workdir)
    try:
        base = os.path.join(scratch, "base.img")
        extract(os.path.join(workdir, "start.img"), first, size, base)
        logwrites.apply_entries(log, base, 0, start, first, size)
        mnt = os.path.join(scratch, "mnt")
        os.mkdir(mnt)
        ref_end = os.path.join(scratch, "end.img")
        shutil.copyfile(base, ref_end)
        logwrites.apply_entries(log, ref_end, start, end, first, size)
        ref_start = os.path.join(scratch, "start.img")
        shutil.copyfile(base, ref_start)
        s_ref = recover_state(ref_start, mnt, info["image_root"])
        e_ref = recover_state(ref_end, mnt, info["image_root"])
        for name, ref in (("start", s_ref), ("end", e_ref)):
            if "error" in ref or ref["errors"]:
                raise SystemExit("crash-states: %s: the window's %s state itself is broken: %s" % (cls, name, ref))
        if s_ref["paths"] == e_ref["paths"]:
            raise SystemExit("crash-states: %s: the operation changed nothing the check can see" % cls)
        states = list(logwrites.distinct_states(log, start, end, first, size))
        total = len(states)
        chosen = states
        if quick and total > limit:
            chosen = random.Random(16).sample(states, limit)
        ctx = {"base": base, "image_root": info["image_root"], "cls": cls, "start": s_ref, "end": e_ref,
               "scratch": scratch}
        jobs_list = [(fp, o.sectors) for fp, st, o in chosen]
        violations = []
        with multiprocessing.Pool(jobs, initializer=worker_init, initargs=(ctx,)) as pool:
            for fp, why in pool.imap_unordered(check_one, jobs_list, chunksize=4):
                if why:
                    violations.append((fp, why))
        by_fp = {fp: st for fp, st, o in chosen}
        for fp, why in violations[:10]:
            st = by_fp[fp]
            say("VIOLATION %s: crash after log entry %d (%s, durable up to %d, %d later writes landed): %s"
                % (cls, st.boundary, st.kind, st.durable, len(st.pieces), why))
        return {"class": cls, "window": [start, end], "distinct": total, "checked": len(chosen),
                "violations": len(violations)}
    finally:
        log.close()
        subprocess.run(["umount", "-q", os.path.join(scratch, "mnt")], stderr=subprocess.DEVNULL)
        shutil.rmtree(scratch, ignore_errors=True)


GROUPS = {
    "state": (record_state, ["state-persist", "state-unpersist", "state-reset"]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="check a sample of each class (CI)")
    ap.add_argument("--limit", type=int, default=300, help="states per class with --quick")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--workdir", default=os.path.join(BUILD, "crash"))
    ap.add_argument("--keep", action="store_true", help="keep recordings and images")
    ap.add_argument("classes", nargs="*")
    a = ap.parse_args()
    need("qemu-system-x86_64", "sfdisk")
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
        for cls in classes:
            tc = time.monotonic()
            r = check_class(cls, wd, info, a.quick, a.limit, a.jobs)
            r["seconds"] = round(time.monotonic() - tc, 1)
            results.append(r)
            say("%-18s window %d..%d: %d distinct crash states, %d checked, %d violations (%.0f s)"
                % (cls, r["window"][0], r["window"][1], r["distinct"], r["checked"], r["violations"],
                   r["seconds"]))
        if not a.keep:
            shutil.rmtree(wd, ignore_errors=True)
    with open(os.path.join(a.workdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    bad = sum(r["violations"] for r in results)
    say("%d classes, %d crash states checked, %d violations (%.0f s)"
        % (len(results), sum(r["checked"] for r in results), bad, time.monotonic() - t0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
