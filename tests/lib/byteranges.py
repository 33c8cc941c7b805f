# SPDX-License-Identifier: Apache-2.0
"""Range requests for the test servers (tests/integration/http-server.py,
tests/lib/fleet-server.py): one parser of the Range header and one writer of
multipart/byteranges bodies (RFC 9110 14.2, 14.6), so that the stand-ins
answer ranges alike."""


def parse_ranges(spec, size):
    """The satisfiable (first, last) byte ranges of a Range header value for
    a representation of size bytes: None if the header is not a valid
    bytes range set (a server then ignores it), [] if no range in it is
    satisfiable (416)."""
    if not spec.startswith("bytes="):
        return None
    out = []
    for part in spec[6:].split(","):
        a, dash, b = part.strip().partition("-")
        if not dash or not (a.isdigit() or a == "") or not (b.isdigit() or b == "") or a == b == "":
            return None
        if a == "":
            first, last = max(0, size - int(b)), size - 1
        else:
            first, last = int(a), min(int(b) if b else size - 1, size - 1)
            if b and int(b) < int(a):
                return None
        if first <= last and first < size:
            out.append((first, last))
    return out


def multipart(data, ranges, boundary, ctype="application/octet-stream"):
    """A multipart/byteranges body of data's ranges."""
    body = b""
    for a, b in ranges:
        body += ("\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                 % (boundary, ctype, a, b, len(data))).encode() + data[a:b + 1]
    return body + ("\r\n--%s--\r\n" % boundary).encode()
