#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Unit test of logwrites.py: made-up logs in the dm-log-writes format are
parsed, malformed ones refused, and the crash states of a window are exactly
the ones a disk may be left in."""

import os
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import logwrites as lw  # noqa: E402

SS = 512
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


def make_log(path, ops, counted=None, sectorsize=SS):
    """ops: ("w", sector, bytes-per-sector list) | ("f",) | ("d", sector, n)."""
    body = b""
    n = 0
    for op in ops:
        if op[0] == "w":
            data = b"".join(bytes([b]) * sectorsize for b in op[2])
            head = struct.pack("<QQQQ", op[1], len(op[2]), 0, 0)
            body += head.ljust(sectorsize, b"\0") + data
        elif op[0] == "f":
            body += struct.pack("<QQQQ", 0, 0, lw.FLUSH, 0).ljust(sectorsize, b"\0")
        elif op[0] == "d":
            body += struct.pack("<QQQQ", op[1], op[2], lw.DISCARD, 0).ljust(sectorsize, b"\0")
        n += 1
    sb = struct.pack("<QQQI", lw.MAGIC, lw.VERSION, n if counted is None else counted, sectorsize)
    with open(path, "wb") as f:
        f.write(sb.ljust(sectorsize, b"\0") + body)


def contents(log, states, nsect=8):
    """The disk contents (bytes per sector, 0 = untouched) of each state."""
    out = set()
    for fp, st, o in states:
        disk = [0] * nsect
        for s, data in o.sectors.items():
            disk[s] = data[0]
        out.add(tuple(disk))
    return out


def main():
    d = tempfile.mkdtemp(prefix="logwrites-test.")
    try:
        p = os.path.join(d, "log")
        # Parse: writes, flushes, discards; data read back per sector.
        make_log(p, [("w", 2, [1, 2, 3]), ("f",), ("d", 0, 4), ("w", 7, [9])])
        log = lw.read(p)
        check([e.is_write for e in log.entries] == [True, False, False, True], "entry kinds")
        check(log.entries[1].is_flush and log.entries[2].flags == lw.DISCARD, "flags")
        check(log.data(log.entries[0], 1, 2) == bytes([2]) * SS + bytes([3]) * SS, "data of sectors 1..2")
        log.close()

        # Entries past the super block's count (after the last flush) are read.
        make_log(p, [("w", 0, [1]), ("f",), ("w", 1, [2])], counted=2)
        log = lw.read(p)
        check(len(log.entries) == 3 and log.counted == 2, "entries past the counted ones")
        log.close()

        # Malformed: bad magic, count larger than the file, write past the device.
        make_log(p, [("w", 0, [1])])
        with open(p, "r+b") as f:
            f.write(b"\1")
        refused(p, "bad magic")
        make_log(p, [("w", 0, [1])], counted=5)
        refused(p, "counted entries missing")
        make_log(p, [("w", 6, [1, 2, 3])])
        refused(p, "write past the device", device_bytes=8 * SS)
        make_log(p, [("w", 0, [1])], sectorsize=SS)
        with open(p, "r+b") as f:
            f.seek(24)
            f.write(struct.pack("<I", 1000))
        refused(p, "sector size not a power of two")
        with open(p, "wb") as f:
            f.write(b"\0" * 10)
        refused(p, "file too short")
        # A write whose data is cut short is refused when it is counted ...
        make_log(p, [("w", 0, [1, 2])])
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) - 10)
        refused(p, "data cut short")
        # ... and dropped when it lies past the last flush (the run ended).
        make_log(p, [("w", 0, [1]), ("f",), ("w", 1, [2, 3])], counted=2)
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) - 10)
        log = lw.read(p)
        check(len(log.entries) == 2, "a torn last uncounted entry is dropped")
        log.close()

        # Crash states: w1(s0) F w2(s1) w3(s2,s3) F w4(s1).
        make_log(p, [("w", 0, [1]), ("f",), ("w", 1, [2]), ("w", 2, [3, 4]), ("f",), ("w", 1, [5])])
        log = lw.read(p)
        got = contents(log, list(lw.distinct_states(log, 0, len(log.entries))))
        want = {
            (0, 0, 0, 0, 0, 0, 0, 0),  # cut at the start
            (1, 0, 0, 0, 0, 0, 0, 0),  # w1 durable or landed
            # after w2, w3: any subset over the durable w1, w3 also torn
            (1, 2, 0, 0, 0, 0, 0, 0), (1, 0, 3, 4, 0, 0, 0, 0), (1, 2, 3, 4, 0, 0, 0, 0),
            (1, 0, 3, 0, 0, 0, 0, 0), (1, 2, 3, 0, 0, 0, 0, 0),
            # after the second flush, w4 lands or not
            (1, 5, 3, 4, 0, 0, 0, 0),
        }
        check(got == want, "crash states:\n got  %s\n want %s" % (sorted(got), sorted(want)))
        # A state never lacks a write made durable by a flush before its cut.
        for fp, st, o in lw.distinct_states(log, 0, len(log.entries)):
            if st.boundary > 4:
                check(o.sectors.get(2, b"\0")[0] == 3, "w3 lost after its flush")
        # A window starting after the first flush takes w1 as given.
        got = contents(log, list(lw.distinct_states(log, 2, 4)))
        check((0, 2, 0, 0, 0, 0, 0, 0) in got and all(s[0] == 0 for s in got),
              "window overlays are relative to the window's start")
        # A partition (sectors 2..3) of the logged disk, rebased to 0.
        part = list(lw.distinct_states(log, 0, len(log.entries), first_sector=2, nr_sectors=2))
        got = {tuple(o.sectors.get(i, b"\0")[0] for i in range(2)) for fp, st, o in part}
        check(got == {(0, 0), (3, 4), (3, 0)}, "partition states: %s" % sorted(got))

        # Many writes since a flush: sampled, bounded, and still contain the
        # full set, the in-order prefix and each single write dropped.
        ops = [("w", i, [i + 1]) for i in range(20)]
        make_log(p, ops)
        log = lw.read(p)
        states = list(lw.distinct_states(log, 0, 20, per_boundary=32))
        check(len(states) <= 20 * 32 + 1, "bounded: %d states" % len(states))
        sets = {frozenset(o.sectors) for fp, st, o in states}
        check(frozenset(range(20)) in sets and frozenset(range(19)) in sets
              and frozenset(set(range(20)) - {7}) in sets, "key subsets present")
        log.close()
    finally:
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
        os.rmdir(d)
    print("%s" % ("ok" if not failures else "%d failure(s)" % failures))
    return 1 if failures else 0


def refused(p, what, **kw):
    try:
        lw.read(p, **kw).close()
    except lw.LogError:
        return
    check(False, "not refused: " + what)


if __name__ == "__main__":
    sys.exit(main())
