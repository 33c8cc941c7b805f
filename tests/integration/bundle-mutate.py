#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bundle-mutate.py: rewrites parts of an otaroot bundle for the bad-input
corpus (tests/integration/bundle.sh). Knows the format of
docs/bundle-format.md well enough to edit the header, manifest fields,
chunk tables and chunk data, and to report section offsets."""
import struct
import sys

HDR = 64


def load(path):
    b = bytearray(open(path, "rb").read())
    msize, ssize = struct.unpack(">QQ", b[16:32])
    return b, msize, ssize


def fields(buf):
    out, i = [], 0
    while i < len(buf):
        tag, ln = struct.unpack(">HI", buf[i:i + 6])
        out.append([tag, bytes(buf[i + 6:i + 6 + ln])])
        i += 6 + ln
    return out


def encode(fl):
    return b"".join(struct.pack(">HI", t, len(v)) + v for t, v in fl)


def offsets(path):
    """Prints section boundaries: name offset per line."""
    b, msize, ssize = load(path)
    data = HDR + msize + ssize
    print("header", 0)
    print("manifest", HDR)
    print("signature", HDR + msize)
    print("data", data)
    for t, v in fields(b[HDR:HDR + msize]):
        if t != 0x8010:
            continue
        p = {pt: pv for pt, pv in fields(v)}
        cls = p[0x8011].decode()
        toff = struct.unpack(">Q", p[0x8017])[0]
        count = struct.unpack(">Q", p[0x8015])[0]
        print("table." + cls, data + toff)
        print("chunks." + cls, data + toff + 48 * count)
    print("end", len(b))


def set_manifest(b, msize, ssize, new):
    # Drops the signature: the caller re-signs with `ota-bundle sign`.
    b[16:32] = struct.pack(">QQ", len(new), 0)
    return b[:HDR] + new + b[HDR + msize + ssize:]


def edit_payload(fl, cls, tag, value):
    for f in fl:
        if f[0] != 0x8010:
            continue
        p = fields(f[1])
        if [pv for pt, pv in p if pt == 0x8011][0].decode() != cls:
            continue
        if value is None:
            p = [x for x in p if x[0] != tag]
        elif any(pt == tag for pt, _ in p):
            p = [[pt, value if pt == tag else pv] for pt, pv in p]
        else:
            p.append([tag, value])
        f[1] = encode(p)
    return fl


def patches(path):
    """Prints the base region of each entry of the patches field: offset size per line."""
    b, msize, ssize = load(path)
    for t, v in fields(b[HDR:HDR + msize]):
        if t != 0x8010:
            continue
        for pt, pv in fields(v):
            if pt == 0x0020:
                for i in range(0, len(pv), 64):
                    print(*struct.unpack(">QI", pv[i + 8:i + 20]))


def moves(path):
    """Prints each run of the moves field: base count, and where in the earlier
    image its first and last chunks start (first_offset last_offset last_size)."""
    b, msize, ssize = load(path)
    data = HDR + msize + ssize
    for t, v in fields(b[HDR:HDR + msize]):
        if t != 0x8010:
            continue
        p = {pt: pv for pt, pv in fields(v)}
        toff = struct.unpack(">Q", p[0x8017])[0]
        count = struct.unpack(">Q", p[0x8015])[0]
        sizes = [struct.unpack(">I", b[data + toff + 48 * i + 44:data + toff + 48 * i + 48])[0] for i in range(count)]
        mv = p.get(0x0021, b"")
        for i in range(0, len(mv), 20):
            chunk, n, base, boff = struct.unpack(">IIIQ", mv[i:i + 20])
            last = boff + sum(sizes[chunk:chunk + n - 1])
            print(base, n, boff, last, sizes[chunk + n - 1])


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "offsets":
        return offsets(path)
    if cmd == "patches":
        return patches(path)
    if cmd == "moves":
        return moves(path)
    out = sys.argv[3]
    b, msize, ssize = load(path)
    m = b[HDR:HDR + msize]
    a = sys.argv[4:]
    if cmd == "flip":          # flip OFFSET
        b[int(a[0])] ^= 0x01
    elif cmd == "truncate":    # truncate LENGTH
        b = b[:int(a[0])]
    elif cmd == "append":      # append BYTES
        b += b"\0" * int(a[0])
    elif cmd == "header64":    # header64 FIELD_OFFSET VALUE
        b[int(a[0]):int(a[0]) + 8] = struct.pack(">Q", int(a[1], 0))
    elif cmd == "field":       # field TAG HEX|u32:N|u64:N|del : top-level field
        fl = fields(m)
        tag, v = int(a[0], 0), val(a[1])
        fl = [f for f in fl if f[0] != tag] if v is None else \
            ([[t, v if t == tag else x] for t, x in fl] if any(t == tag for t, _ in fl) else fl + [[tag, v]])
        b = set_manifest(b, msize, ssize, encode(fl))
    elif cmd == "pfield":      # pfield CLASS TAG VALUE
        fl = edit_payload(fields(m), a[0], int(a[1], 0), val(a[2]))
        b = set_manifest(b, msize, ssize, encode(fl))
    elif cmd == "retag":       # retag CLASS FROM TO : rename a payload field's tag
        fl = fields(m)
        for f in fl:
            if f[0] == 0x8010:
                p = fields(f[1])
                if [pv for pt, pv in p if pt == 0x8011][0].decode() == a[0]:
                    f[1] = encode([[int(a[2], 0) if pt == int(a[1], 0) else pt, pv] for pt, pv in p])
        b = set_manifest(b, msize, ssize, encode(fl))
    elif cmd == "dup-payload":  # the first payload twice
        fl = fields(m)
        first = [f for f in fl if f[0] == 0x8010][0]
        b = set_manifest(b, msize, ssize, encode(fl + [first]))
    elif cmd == "rawlen":      # rawlen VALUE : length of the first manifest field
        m2 = bytearray(m)
        m2[2:6] = struct.pack(">I", int(a[0], 0))
        b = set_manifest(b, msize, ssize, bytes(m2))
    else:
        sys.exit("unknown command " + cmd)
    open(out, "wb").write(b)


def val(s):
    if s == "del":
        return None
    if s.startswith("u32:"):
        return struct.pack(">I", int(s[4:], 0))
    if s.startswith("u64:"):
        return struct.pack(">Q", int(s[4:], 0))
    if s.startswith("str:"):
        return s[4:].encode()
    return bytes.fromhex(s)


if __name__ == "__main__":
    main()
