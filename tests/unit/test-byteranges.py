#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""unit.byteranges: tests/lib/byteranges.py, the Range parser and the
multipart/byteranges writer both test servers (http-server.py,
fleet-server.py) answer with."""
import email.parser
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "lib"))
from byteranges import multipart, parse_ranges  # noqa: E402

failed = 0


def expect(name, got, want):
    global failed
    if got == want:
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s: got %r, want %r" % (name, got, want))


size = 1000
expect("first-last", parse_ranges("bytes=10-19", size), [(10, 19)])
expect("open end", parse_ranges("bytes=990-", size), [(990, 999)])
expect("suffix", parse_ranges("bytes=-5", size), [(995, 999)])
expect("suffix longer than the file", parse_ranges("bytes=-5000", size), [(0, 999)])
expect("last clamped", parse_ranges("bytes=900-5000", size), [(900, 999)])
expect("several, spaces", parse_ranges("bytes=0-0, 500-501 ,-1", size), [(0, 0), (500, 501), (999, 999)])
expect("unsatisfiable part dropped", parse_ranges("bytes=2000-2100,3-4", size), [(3, 4)])
expect("none satisfiable: 416", parse_ranges("bytes=1000-", size), [])
for spec in ("items=0-1", "bytes=a-b", "bytes=5-3", "bytes=-", "bytes=7", "bytes=1-2,x"):
    expect("malformed %r: ignored" % spec, parse_ranges(spec, size), None)

data = bytes(range(256)) * 4
body = multipart(data, [(0, 9), (1000, 1023)], "B0UND")
msg = email.parser.BytesParser().parsebytes(b"Content-Type: multipart/byteranges; boundary=B0UND\r\n\r\n" + body)
parts = msg.get_payload()
expect("multipart: two parts", len(parts), 2)
expect("multipart: ranges", [p["Content-Range"] for p in parts], ["bytes 0-9/1024", "bytes 1000-1023/1024"])
expect("multipart: bytes", [p.get_payload(decode=True) for p in parts], [data[0:10], data[1000:1024]])
sys.exit(1 if failed else 0)
