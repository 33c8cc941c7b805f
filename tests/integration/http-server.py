#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""http-server.py ROOT PORT_FILE LOG [--tls CERT KEY]: a static file server on
127.0.0.1 (a free port, written to PORT_FILE) for the HTTP bundle tests.

Why not nginx or python's http.server: the tests need Range, multi-range
(multipart/byteranges), If-Range and ETag like a real server, *and* faults on
demand (drop the connection mid-body, answer 503, refuse multi-range), which
neither offers. This stays small and uses only python3 (already a dependency).

Each request re-reads the file, so replacing it changes ETag/Last-Modified.
GET /_ctl?key=value&... changes behaviour:
  multirange=0|1   0: a request for several ranges gets 200 and the whole file
  ranges=0|1       0: Range is ignored, every request gets 200 and the whole file
  etag=0|1         0: send Last-Modified only
  drop=N,COUNT     the next COUNT responses (-1: all) close after N body bytes
  status=CODE,COUNT the next COUNT responses are CODE with an empty body
  hostile=MODE     a misbehaving server, for the transfer bounds (all responses but /_ctl):
                   stall      send `after` body bytes in total, then hold every
                              connection open without sending more
                   drip       send `after` body bytes in total, then `rate` bytes per second
                   long       a single-range 206 carries its range twice (Content-Length
                              says so, Content-Range names the range once)
                   extrapart  a multipart/byteranges body gets one more, unrequested part
                   bighdr     every response has a header line of `hdr` bytes
  after=N, rate=N, hdr=N   parameters of hostile (defaults 0, 4, 200000)
  reset=1          back to defaults
Every request is logged to LOG as 'GET PATH range=... if-range=... -> STATUS bytes=N'
(N: body bytes sent).
"""
import email.utils
import http.server
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "lib"))
from byteranges import multipart, parse_ranges  # noqa: E402

ROOT, PORT_FILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
DEFAULTS = {"multirange": 1, "ranges": 1, "etag": 1, "drop": None, "status": None,
            "hostile": None, "after": 0, "rate": 4, "hdr": 200000}
HOLD_S = 120  # how long a stalled response keeps its connection
cfg = dict(DEFAULTS)


def take(key):
    """Returns the fault's value if it applies to this request (and counts it)."""
    with lock:
        f = cfg[key]
        if not f:
            return None
        value, count = f
        if count > 0:
            cfg[key] = (value, count - 1) if count > 1 else None
        return value


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def log(self, status, nbytes):
        with lock, open(LOG, "a") as f:
            f.write("%s %s range=%s if-range=%s -> %d bytes=%d\n" % (self.command, self.path, self.headers.get("Range"),
                                                                    self.headers.get("If-Range"), status, nbytes))

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up on a body: expected

    def allowance(self, n):
        """How many of the next n body bytes go out before a stall or drip starts."""
        with lock:
            k = max(0, min(n, cfg["after"]))
            cfg["after"] -= k
            return k

    def send_hostile(self, body):
        """stall or drip: the body up to the allowance, then hold or trickle."""
        k = self.allowance(len(body))
        self.wfile.write(body[:k])
        self.wfile.flush()
        if k == len(body):
            return
        if cfg["hostile"] == "stall":
            time.sleep(HOLD_S)
        else:
            for i in range(k, len(body), cfg["rate"]):
                self.wfile.write(body[i:i + cfg["rate"]])
                self.wfile.flush()
                time.sleep(1)
        self.close_connection = True

    def send_body(self, status, headers, body, faults=True):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        hostile = cfg["hostile"] if faults else None
        if hostile == "bighdr":
            self.send_header("X-Padding", "a" * cfg["hdr"])
        self.end_headers()
        if hostile in ("stall", "drip") and self.command == "GET":
            self.log(status, len(body))
            return self.send_hostile(body)
        drop = take("drop") if faults else None
        sent = 0 if self.command != "GET" else len(body) if drop is None else min(drop, len(body))
        self.log(status, sent)
        if drop is not None and self.command == "GET":
            self.wfile.write(body[:drop])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if self.command == "GET":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/_ctl":
            with lock:
                for k, v in urllib.parse.parse_qsl(url.query):
                    if k == "reset":
                        cfg.update(DEFAULTS)
                    elif k in ("drop", "status"):
                        a, b = v.split(",")
                        cfg[k] = (int(a), int(b))
                    elif k == "hostile":
                        cfg[k] = v
                    else:
                        cfg[k] = int(v)
            return self.send_body(200, [], b"ok\n", faults=False)
        status = take("status")
        if status is not None:
            return self.send_body(status, [], b"")
        path = os.path.join(ROOT, url.path.lstrip("/"))
        try:
            st = os.stat(path)
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            return self.send_body(404, [("Content-Type", "text/plain")], b"not found\n")
        etag = '"%x-%x-%x"' % (st.st_size, st.st_mtime_ns, st.st_ino)
        lastmod = email.utils.formatdate(st.st_mtime, usegmt=True)
        hdrs = [("Last-Modified", lastmod), ("Accept-Ranges", "bytes")]
        if cfg["etag"]:
            hdrs.append(("ETag", etag))
        ranges = None
        spec = self.headers.get("Range")
        if spec and cfg["ranges"]:
            ifr = self.headers.get("If-Range")
            if ifr is None or ifr == (etag if cfg["etag"] else None) or ifr == lastmod:
                ranges = parse_ranges(spec, len(data))
        if ranges is None or (len(ranges) > 1 and not cfg["multirange"]):
            return self.send_body(200, hdrs + [("Content-Type", "application/octet-stream")], data)
        if not ranges:
            return self.send_body(416, [("Content-Range", "bytes */%d" % len(data))], b"")
        if len(ranges) == 1:
            a, b = ranges[0]
            body = data[a:b + 1] * (2 if cfg["hostile"] == "long" else 1)
            return self.send_body(206, hdrs + [("Content-Range", "bytes %d-%d/%d" % (a, b, len(data)))], body)
        boundary = "otaroot%08x" % (st.st_ino & 0xffffffff)
        if cfg["hostile"] == "extrapart":
            ranges.append((0, min(len(data), 65536) - 1))
        body = multipart(data, ranges, boundary)
        return self.send_body(206, hdrs + [("Content-Type", "multipart/byteranges; boundary=" + boundary)], body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def die_with_parent():
    """A test killed by its timeout (SIGKILL: no EXIT trap) must not leave
    its server running: ask the kernel for SIGTERM when the parent dies."""
    import ctypes
    import signal
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:  # the parent died before we asked
        sys.exit(1)


die_with_parent()
srv = Server(("127.0.0.1", 0), Handler)
if len(sys.argv) > 4 and sys.argv[4] == "--tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
