# SPDX-License-Identifier: Apache-2.0
"""Write logs in the dm-log-writes format, and the crash states they imply.

The log format is the one of Linux's dm-log-writes target
(Documentation/admin-guide/device-mapper/log-writes.rst), which QEMU's
`blklogwrites` block driver writes too (block/blklogwrites.c): all fields
little-endian; sector 0 holds the super block

    u64 magic (0x6a736677736872), u64 version (1), u64 nr_entries, u32 sectorsize

and entries follow from sector 1, each one sector of header

    u64 sector, u64 nr_sectors, u64 flags, u64 data_len

then, unless it is a discard, nr_sectors sectors of data (a mark's data is
its name, data_len bytes). Sectors are `sectorsize` bytes, in the log and on
the logged device alike. nr_entries is brought up to date at each flush, so
entries written after the last flush lie beyond it: read() takes every
well-formed entry up to the end of the file and says how many were past the
super block's count.

Crash states. A disk guarantees only what a completed flush covers (a write
with FUA is durable on completion, but QEMU's driver does not record FUA, so
those count as plain writes: never unsafe). A power cut right after entry i
can leave: every write before the last flush F <= i, plus any subset of the
writes logged after F up to i, in any order (the disk may reorder or drop
them), and any of those may be torn: only a prefix of its sectors reached the
medium. CrashStates enumerates such states for every i in a window, all
subsets when there are few, otherwise a deterministic random sample, and
counts distinct ones by the content they put on the disk.
"""

import hashlib
import os
import random
import struct

MAGIC = 0x6A736677736872
VERSION = 1
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8
SUPER = struct.Struct("<QQQI")
ENTRY = struct.Struct("<QQQQ")


class LogError(Exception):
    pass


class Entry:
    __slots__ = ("index", "sector", "nr_sectors", "flags", "data_offset", "mark")

    def __init__(self, index, sector, nr_sectors, flags, data_offset, mark=None):
        self.index = index
        self.sector = sector
        self.nr_sectors = nr_sectors
        self.flags = flags
        self.data_offset = data_offset  # byte offset of the data in the log file
        self.mark = mark

    @property
    def is_write(self):
        return not self.flags & (FLUSH | DISCARD | MARK) and self.nr_sectors > 0

    @property
    def is_flush(self):
        return bool(self.flags & FLUSH)

    def __repr__(self):
        return "Entry(%d, sector=%d, n=%d, flags=%#x)" % (self.index, self.sector, self.nr_sectors, self.flags)


class Log:
    """A parsed log file: entries in log order, and their data read on demand."""

    def __init__(self, path, sectorsize, entries, counted):
        self.path = path
        self.sectorsize = sectorsize
        self.entries = entries
        self.counted = counted  # nr_entries in the super block
        self._f = open(path, "rb")

    def close(self):
        self._f.close()

    def data(self, entry, first=0, count=None):
        """The data of sectors [first, first + count) of a write."""
        if count is None:
            count = entry.nr_sectors - first
        if first < 0 or count < 0 or first + count > entry.nr_sectors:
            raise LogError("entry %d has %d sectors, asked for %d+%d" % (entry.index, entry.nr_sectors, first, count))
        self._f.seek(entry.data_offset + first * self.sectorsize)
        data = self._f.read(count * self.sectorsize)
        if len(data) != count * self.sectorsize:
            raise LogError("%s: entry %d: data cut short" % (self.path, entry.index))
        return data


def read(path, device_bytes=None):
    """Parses the log at path. device_bytes (the logged device's size), when
    given, bounds every write. Raises LogError on anything malformed."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(SUPER.size)
        if len(head) < SUPER.size:
            raise LogError("%s: %d bytes, too short for a super block" % (path, size))
        magic, version, counted, sectorsize = SUPER.unpack(head)
        if magic != MAGIC:
            raise LogError("%s: bad magic %#x (not a dm-log-writes log)" % (path, magic))
        if version != VERSION:
            raise LogError("%s: unsupported version %d" % (path, version))
        if sectorsize < 512 or sectorsize > 1 << 20 or sectorsize & (sectorsize - 1):
            raise LogError("%s: bad sector size %d" % (path, sectorsize))
        entries = []
        pos = sectorsize
        while pos + ENTRY.size <= size:
            f.seek(pos)
            sector, nr_sectors, flags, data_len = ENTRY.unpack(f.read(ENTRY.size))
            index = len(entries)
            where = "%s: entry %d at byte %d" % (path, index, pos)
            if flags & ~(FLUSH | FUA | DISCARD | MARK):
                if index >= counted:
                    break  # stale bytes past the last flush of an earlier run
                raise LogError("%s: unknown flags %#x" % (where, flags))
            if nr_sectors > (1 << 40) // sectorsize or sector > (1 << 50):
                raise LogError("%s: implausible write of %d sectors at %d" % (where, nr_sectors, sector))
            data_offset = pos + sectorsize
            mark = None
            if flags & MARK:
                if data_len > sectorsize * max(nr_sectors, 1):
                    raise LogError("%s: mark of %d bytes" % (where, data_len))
                f.seek(data_offset)
                mark = f.read(data_len).rstrip(b"\0").decode(errors="replace")
            span = 0 if flags & DISCARD else nr_sectors * sectorsize
            if data_offset + span > size:
                if index >= counted:
                    break  # the run stopped while this entry was being written
                raise LogError("%s: data runs past the end of the file" % where)
            if device_bytes is not None and not flags & (FLUSH | MARK) and \
                    (sector + nr_sectors) * sectorsize > device_bytes:
                raise LogError("%s: write past the end of the device (%d bytes)" % (where, device_bytes))
            entries.append(Entry(index, sector, nr_sectors, flags, data_offset, mark))
            pos = data_offset + span
        if len(entries) < counted:
            raise LogError("%s: super block counts %d entries, file holds %d" % (path, counted, len(entries)))
    return Log(path, sectorsize, entries, counted)


def count_entries(path):
    """The number of well-formed entries in the log right now (a recorder's
    mark: the host reads it while the guest is idle after a sync)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    log = read(path)
    n = len(log.entries)
    log.close()
    return n


# ---- crash states --------------------------------------------------------

class Piece:
    """One write as it lands in a crash state: sectors [first, first+count)
    of log entry `entry` (a torn write has count < entry.nr_sectors)."""
    __slots__ = ("entry", "count")

    def __init__(self, entry, count=None):
        self.entry = entry
        self.count = entry.nr_sectors if count is None else count


class CrashState:
    """Writes [0, durable) of the log all landed; of the writes after it,
    `pieces` landed (in log order). boundary: the entry after which power
    was cut."""

    def __init__(self, boundary, durable, pieces, kind):
        self.boundary = boundary
        self.durable = durable
        self.pieces = sorted(pieces, key=lambda p: p.entry.index)  # applied in log order
        self.kind = kind  # "flushed", "subset", "torn"


def window_entries(log, start, end):
    if not 0 <= start <= end <= len(log.entries):
        raise LogError("window [%d, %d) outside the log's %d entries" % (start, end, len(log.entries)))
    return log.entries[start:end]


def enumerate_states(log, start, end, per_boundary=64, seed=1, keep=None):
    """Yields CrashStates for power cuts after each entry in [start, end)
    (and right at start). Writes before `start` are taken as durable: the
    recorder marks a window only after a sync. keep(entry), when given,
    selects the writes that matter to the check (the others are left out of
    the enumeration, not out of the flushes)."""
    rng = random.Random(seed)
    last_flush = start  # writes before this index are durable
    pending = []  # writes since the last flush, in log order
    yield CrashState(start, start, [], "flushed")
    for e in window_entries(log, start, end):
        if e.is_flush:
            last_flush = e.index + 1
            pending = []
            yield CrashState(e.index + 1, last_flush, [], "flushed")
            continue
        if not e.is_write or (keep and not keep(e)):
            continue
        pending.append(e)
        boundary = e.index + 1
        for subset in _subsets(pending, per_boundary, rng):
            yield CrashState(boundary, last_flush, [Piece(w) for w in subset], "subset")
        # Torn writes: one write cut short, with any subset of the others.
        for w in pending:
            if w.nr_sectors < 2:
                continue
            others = [x for x in pending if x is not w]
            for count in _tear_points(w.nr_sectors, rng):
                for subset in _subsets(others, max(per_boundary // 4, 2), rng):
                    yield CrashState(boundary, last_flush, [Piece(x) for x in subset] + [Piece(w, count)], "torn")


def _subsets(pending, limit, rng):
    """All subsets of pending when there are at most `limit`; otherwise the
    in-order prefixes, each single write dropped, and random subsets: up to
    `limit` in all. The newest write is always the one just logged, so every
    subset yielded here contains it or is new for this boundary."""
    n = len(pending)
    if n <= 16 and (1 << n) <= limit:
        for bits in range(1 << n):
            yield [w for i, w in enumerate(pending) if bits >> i & 1]
        return
    yield list(pending)
    yield pending[:-1]
    left = limit - 2
    for i in range(n - 1):
        if left <= 0:
            return
        yield pending[:i] + pending[i + 1:]
        left -= 1
    while left > 0:
        yield [w for w in pending if rng.random() < 0.5]
        left -= 1


def _tear_points(nr_sectors, rng):
    """Prefix lengths of a torn write: every one for short writes, else the
    first and last sector and a few in between."""
    if nr_sectors <= 8:
        return range(1, nr_sectors)
    points = {1, nr_sectors // 2, nr_sectors - 1}
    points.update(rng.randrange(1, nr_sectors) for _ in range(3))
    return sorted(points)


class Overlay:
    """What a set of writes puts on the device: sector -> data (later
    writes over earlier ones), restricted to [first_sector, first_sector +
    nr_sectors) and rebased to it (a partition of a logged whole disk)."""

    def __init__(self, log, first_sector=0, nr_sectors=None):
        self.log = log
        self.first = first_sector
        self.n = nr_sectors
        self.sectors = {}

    def add(self, entry, count=None):
        count = entry.nr_sectors if count is None else count
        lo, hi = entry.sector, entry.sector + count
        if self.n is not None:
            lo, hi = max(lo, self.first), min(hi, self.first + self.n)
        if lo >= hi:
            return
        data = self.log.data(entry, lo - entry.sector, hi - lo)
        ss = self.log.sectorsize
        for s in range(lo, hi):
            off = (s - lo) * ss
            self.sectors[s - self.first] = data[off:off + ss]

    def add_range(self, start, end):
        for e in self.log.entries[start:end]:
            if e.is_write:
                self.add(e)

    def copy(self):
        o = Overlay(self.log, self.first, self.n)
        o.sectors = dict(self.sectors)
        return o

    def fingerprint(self, base_digest=b""):
        h = hashlib.sha256(base_digest)
        for s in sorted(self.sectors):
            h.update(struct.pack("<Q", s))
            h.update(hashlib.sha256(self.sectors[s]).digest())
        return h.hexdigest()

    def write_to(self, path):
        ss = self.log.sectorsize
        fd = os.open(path, os.O_WRONLY)
        try:
            for s, data in self.sectors.items():
                os.pwrite(fd, data, s * ss)
        finally:
            os.close(fd)


def state_overlay(state, durable_overlay):
    """The overlay of a crash state on top of the window's start: the durable
    writes (given as an overlay of [window start, state.durable), which the
    caller caches) plus the pieces that landed."""
    o = durable_overlay.copy()
    for p in state.pieces:
        o.add(p.entry, p.count)
    return o


def distinct_states(log, start, end, first_sector=0, nr_sectors=None, per_boundary=64, seed=1, keep=None):
    """Yields (fingerprint, CrashState, Overlay) for each distinct crash
    state of the window: two states that put the same bytes on the
    (partition of the) device count once. The overlay is relative to the
    content at the window's start."""
    seen = set()
    durable_at = start
    durable = Overlay(log, first_sector, nr_sectors)
    for st in enumerate_states(log, start, end, per_boundary, seed, keep):
        if st.durable != durable_at:
            for e in log.entries[durable_at:st.durable]:
                if e.is_write and (not keep or keep(e)):
                    durable.add(e)
            durable_at = st.durable
        o = state_overlay(st, durable)
        fp = o.fingerprint()
        if fp in seen:
            continue
        seen.add(fp)
        yield fp, st, o


def apply_entries(log, image, start, end, first_sector=0, nr_sectors=None):
    """Writes log entries [start, end) into image (a whole-disk image, or with
    first_sector/nr_sectors a partition image)."""
    o = Overlay(log, first_sector, nr_sectors)
    o.add_range(start, end)
    o.write_to(image)
