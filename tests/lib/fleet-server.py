#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""fleet-server.py memfault|hawkbit ROOT STATE LOG PORT_FILE: a strict stand-in
for a fleet server on 127.0.0.1 (a free port, written to PORT_FILE).

Why a stand-in: the real servers cannot run on the test machines. Eclipse
hawkBit is a Java service shipped as a container image; Memfault is a hosted
service. So this server is written from their public API documentation
(docs/fleet.md cites it) and is *stricter* than the real ones: any request
whose method, path, headers, query or JSON body deviates from the documented
schema is answered 400 and logged with "violation", which the tests assert
never happens. Every request is appended to LOG as one JSON line
({"method", "path", "query", "auth", "body", "status", "violation"}), so the
tests can assert the sequence.

STATE is a JSON file the test writes and this server re-reads on every
request (and writes back, e.g. an action closed by feedback), so it survives
a restart of the server. ROOT holds the bundles.

memfault STATE: {"project_key", "hardware_version", "software_type",
  "device_serial", "release": null | {"version", "file"}, "format": "text" |
  "json", "busy": N (answer 503 N times), "retry_after": S,
  "expire": N (the first N download URLs handed out are already expired)}
  GET /api/v0/releases/latest/url?hardware_version&software_type&
      current_version&device_serial, header Memfault-Project-Key:
      200 + URL (text or {"data":{"url"}}), 204, 400, 403, 503 + Retry-After.
  GET|HEAD /cdn/TOKEN/FILE: the "CDN", Range and multi-range; 403 once
      expired; must not carry the project key.
hawkbit STATE: {"tenant", "controller", "auth": "TargetToken"|"GatewayToken",
  "token", "sleep": "HH:MM:SS", "config_requested": bool, "conflicts": N
  (the next N feedback POSTs get 409), "anonymous_download": bool (default
  false: as on a real hawkBit, an artifact download needs the same
  Authorization as every DDI resource),
  "cancel_on_download": bool (the first artifact request cancels the action),
  "action": null | {"id", "file", "version", "update", "cancel": bool,
  "status": "open"|"closed"|"canceled", "result", "details"}}
  GET  /T/controller/v1/C                                  base resource
  PUT  /T/controller/v1/C/configData                       {"mode"?, "data"}
  GET  /T/controller/v1/C/deploymentBase/ID[?c=...]         the deployment
  POST /T/controller/v1/C/deploymentBase/ID/feedback       feedback
  GET  /T/controller/v1/C/cancelAction/ID                  the cancel
  POST /T/controller/v1/C/cancelAction/ID/feedback         its feedback
  GET|HEAD /T/controller/v1/C/softwaremodules/1/artifacts/FILE   Range too
"""
import http.server
import json
import os
import re
import secrets
import socket
import sys
import threading
import urllib.parse

from byteranges import multipart, parse_ranges

MODE, ROOT, STATE, LOG, PORT_FILE = sys.argv[1:6]
lock = threading.Lock()
EXECUTIONS = {"closed", "proceeding", "canceled", "scheduled", "rejected", "resumed", "downloaded", "download"}
FINISHED = {"success", "failure", "none"}
SERIAL = re.compile(r"^[-a-zA-Z0-9_]{1,128}$")
SLEEP = re.compile(r"^\d\d:[0-5]\d:[0-5]\d$")


class Violation(Exception):
    pass


def load_state():
    with open(STATE) as f:
        return json.load(f)


def save_state(st):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.replace(tmp, STATE)


def check_feedback(body):
    """The DDI ActionFeedback schema: {"status": {"execution", "result":
    {"finished", "progress"?}, "details"?, "code"?}, "timestamp"?} (older
    servers: also "id", "time")."""
    if not isinstance(body, dict) or set(body) - {"status", "timestamp", "id", "time"}:
        raise Violation("feedback: unknown top-level keys %s" % sorted(set(body) - {"status"}))
    st = body.get("status")
    if not isinstance(st, dict) or set(st) - {"execution", "result", "details", "code"}:
        raise Violation("feedback: status is not an object of execution, result, details, code")
    if st.get("execution") not in EXECUTIONS:
        raise Violation("feedback: status.execution %r" % st.get("execution"))
    res = st.get("result")
    if not isinstance(res, dict) or set(res) - {"finished", "progress"} or res.get("finished") not in FINISHED:
        raise Violation("feedback: status.result %r" % res)
    if "progress" in res and not (isinstance(res["progress"], dict) and
                                  all(isinstance(res["progress"].get(k), int) for k in ("cnt", "of"))):
        raise Violation("feedback: status.result.progress %r" % res["progress"])
    if "details" in st and not (isinstance(st["details"], list) and all(isinstance(d, str) for d in st["details"])):
        raise Violation("feedback: status.details is not a list of strings")
    if "code" in st and not isinstance(st["code"], int):
        raise Violation("feedback: status.code is not an integer")
    return st


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, status, body=None, violation=None):
        entry = {"method": self.command, "path": self.url.path, "query": self.url.query,
                 "auth": self.headers.get("Authorization") or self.headers.get("Memfault-Project-Key"),
                 "body": body, "status": status, "violation": violation}
        with open(LOG, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def reply(self, status, body=b"", ctype=None, headers=(), req_body=None, violation=None):
        self.record(status, req_body, violation)
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), "application/hal+json;charset=UTF-8"
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def origin(self):
        """http://HOST:PORT as the client addressed the server (its Host
        header), as a server behind NAT links to itself: a VM guest reaches
        the host's 127.0.0.1 as 10.0.2.2."""
        host = self.headers.get("Host") or ""
        if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9a-fA-F:]+\](:\d+)?", host):
            raise Violation("Host header %r" % host)
        return "http://" + host

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding"):
            raise Violation("chunked request body")
        return self.rfile.read(n) if n else b""

    def json_body(self):
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            raise Violation("Content-Type %r, not application/json" % self.headers.get("Content-Type"))
        raw = self.read_body()
        try:
            return json.loads(raw)
        except ValueError:
            raise Violation("body is not JSON")

    def serve_file(self, name, extra=()):
        path = os.path.join(ROOT, os.path.basename(name))
        if not os.path.isfile(path):
            return self.reply(404, "no such file")
        data = open(path, "rb").read()
        size = len(data)
        etag = '"%x-%x"' % (size, int(os.path.getmtime(path)))
        spec = self.headers.get("Range")
        ranges = parse_ranges(spec, size) if spec else None
        if spec and ranges is None:
            raise Violation("Range %r is not a bytes range set" % spec)
        if spec and not ranges:
            return self.reply(416, headers=[("Content-Range", "bytes */%d" % size)])
        if self.headers.get("If-Range") not in (None, etag):
            ranges = None
        hdrs = [("ETag", etag), ("Accept-Ranges", "bytes")] + list(extra)
        if not ranges:
            return self.reply(200, data, "application/octet-stream", hdrs)
        if len(ranges) == 1:
            a, b = ranges[0]
            return self.reply(206, data[a:b + 1], "application/octet-stream",
                              hdrs + [("Content-Range", "bytes %d-%d/%d" % (a, b, size))])
        boundary = secrets.token_hex(8)
        return self.reply(206, multipart(data, ranges, boundary), "multipart/byteranges; boundary=" + boundary, hdrs)

    def handle_any(self):
        self.url = urllib.parse.urlsplit(self.path)
        try:
            with lock:
                st = load_state()
                (memfault if MODE == "memfault" else hawkbit)(self, st)
        except Violation as v:
            self.reply(400, {"violation": str(v)}, violation=str(v))
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = handle_any


def memfault(h, st):
    p = h.url.path
    if p.startswith("/cdn/"):
        if h.command not in ("GET", "HEAD"):
            raise Violation("CDN: method %s" % h.command)
        if h.headers.get("Memfault-Project-Key"):
            raise Violation("CDN: the download carries the project key")
        _, _, token, name = p.split("/", 3)
        if token in st.get("expired_tokens", []):
            return h.reply(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                           "application/xml")
        if token not in st.get("tokens", []):
            raise Violation("CDN: a token never handed out")
        return h.serve_file(name)
    if p != "/api/v0/releases/latest/url":
        raise Violation("path %s is not /api/v0/releases/latest/url" % p)
    if h.command != "GET":
        raise Violation("method %s, not GET" % h.command)
    if h.read_body():
        raise Violation("GET with a body")
    q = urllib.parse.parse_qs(h.url.query, keep_blank_values=True)
    want = {"hardware_version", "software_type", "current_version", "device_serial"}
    if set(q) != want or any(len(v) != 1 or not v[0] for v in q.values()):
        raise Violation("query keys %s, want each of %s once and non-empty" % (sorted(q), sorted(want)))
    q = {k: v[0] for k, v in q.items()}
    if h.headers.get("Accept") not in (None, "*/*", "text/plain", "application/json"):
        raise Violation("Accept %r" % h.headers.get("Accept"))
    if not SERIAL.match(q["device_serial"]):
        raise Violation("device_serial %r is not a Memfault device id" % q["device_serial"])
    if q["device_serial"] != st["device_serial"]:
        raise Violation("device_serial %r, expected %r" % (q["device_serial"], st["device_serial"]))
    if h.headers.get("Memfault-Project-Key") != st["project_key"]:
        return h.reply(403, {"error": {"message": "Project Key is missing or invalid"}})
    if q["hardware_version"] != st["hardware_version"] or q["software_type"] != st["software_type"]:
        return h.reply(400, {"error": {"message": "hardware_version or software_type does not exist"}})
    if st.get("busy", 0) > 0:
        st["busy"] -= 1
        save_state(st)
        return h.reply(503, "", headers=[("Retry-After", str(st.get("retry_after", 1)))])
    rel = st.get("release")
    if not rel or rel["version"] == q["current_version"]:
        return h.reply(204)
    token = secrets.token_hex(8)
    st.setdefault("tokens", []).append(token)
    if st.get("expire", 0) > 0:
        st["expire"] -= 1
        st.setdefault("expired_tokens", []).append(token)
    save_state(st)
    url = "%s/cdn/%s/%s" % (h.origin(), token, rel["file"])
    if st.get("format") == "json":
        return h.reply(200, {"data": {"url": url}})
    return h.reply(200, url, "text/plain")


def hawkbit(h, st):
    prefix = "/%s/controller/v1/%s" % (st["tenant"], st["controller"])
    p = h.url.path
    if p != prefix and not p.startswith(prefix + "/"):
        raise Violation("path %s is not under %s" % (p, prefix))
    rest = p[len(prefix):]
    base = h.origin() + prefix
    accept = h.headers.get("Accept")
    artifact = re.fullmatch(r"/softwaremodules/1/artifacts/([^/]+)", rest)
    if not artifact and accept not in (None, "application/hal+json", "application/json"):
        raise Violation("Accept %r" % accept)
    auth = h.headers.get("Authorization")
    if auth != "%s %s" % (st["auth"], st["token"]) and not (artifact and st.get("anonymous_download")):
        return h.reply(401, {"message": "Unauthorized"})
    act = st.get("action")
    m = re.fullmatch(r"/(deploymentBase|cancelAction)/(\d+)(/feedback)?", rest)
    if artifact:
        if h.command not in ("GET", "HEAD"):
            raise Violation("artifact: method %s" % h.command)
        if st.get("cancel_on_download") and act and not act.get("cancel"):
            act["cancel"] = True  # an operator cancels while the device downloads
            save_state(st)
        return h.serve_file(artifact.group(1))
    if rest == "":
        if h.command != "GET":
            raise Violation("base resource: method %s" % h.command)
        links = {}
        if st.get("config_requested"):
            links["configData"] = {"href": base + "/configData"}
        if act and act.get("status", "open") == "open":
            if act.get("cancel"):
                links["cancelAction"] = {"href": "%s/cancelAction/%s" % (base, act["id"])}
            else:
                links["deploymentBase"] = {"href": "%s/deploymentBase/%s?c=-2129030598" % (base, act["id"])}
        return h.reply(200, {"config": {"polling": {"sleep": st.get("sleep", "00:05:00")}}, "_links": links})
    if rest == "/configData":
        if h.command != "PUT":
            raise Violation("configData: method %s, not PUT" % h.command)
        body = h.json_body()
        if not isinstance(body, dict) or set(body) - {"mode", "data", "id", "time", "status"} or "data" not in body:
            raise Violation("configData: keys %s" % sorted(body) if isinstance(body, dict) else "not an object")
        if body.get("mode", "merge") not in ("merge", "replace", "remove"):
            raise Violation("configData: mode %r" % body.get("mode"))
        if not isinstance(body["data"], dict) or not all(isinstance(v, str) for v in body["data"].values()):
            raise Violation("configData: data is not an object of strings")
        st["config_requested"] = False
        st["attributes"] = body["data"]
        save_state(st)
        return h.reply(200, req_body=body)
    if not m:
        raise Violation("no DDI resource %s" % rest)
    kind, aid, fb = m.groups()
    if fb:
        if h.command != "POST":
            raise Violation("%s feedback: method %s, not POST" % (kind, h.command))
        body = h.json_body()
        status = check_feedback(body)
        if not act or act["id"] != aid:
            return h.reply(404, {"message": "action %s not found" % aid}, req_body=body)
        if act.get("status", "open") != "open":
            return h.reply(410, {"message": "action %s is not active" % aid}, req_body=body)
        if st.get("conflicts", 0) > 0:
            st["conflicts"] -= 1
            save_state(st)
            return h.reply(409, {"message": "conflict"}, req_body=body)
        if status["execution"] == "closed":
            act["status"] = "canceled" if kind == "cancelAction" else "closed"
            act["result"] = status["result"]["finished"]
            act["details"] = status.get("details", [])
            save_state(st)
        return h.reply(200, req_body=body)
    if h.command != "GET":
        raise Violation("%s: method %s" % (kind, h.command))
    if not act or act["id"] != aid:
        return h.reply(404, {"message": "action %s not found" % aid})
    if kind == "cancelAction":
        return h.reply(200, {"id": aid, "cancelAction": {"stopId": aid}})
    q = urllib.parse.parse_qs(h.url.query)
    if set(q) - {"c", "actionHistory"}:
        raise Violation("deploymentBase: query %s" % sorted(q))
    name = act["file"]
    size = os.path.getsize(os.path.join(ROOT, name))
    href = "%s/softwaremodules/1/artifacts/%s" % (base, name)
    return h.reply(200, {
        "id": aid,
        "deployment": {
            "download": act.get("download", "forced"), "update": act.get("update", "forced"),
            "maintenanceWindow": act.get("window", "available"),
            "chunks": [{"part": "os", "version": act["version"], "name": "board", "artifacts": [
                {"filename": name + ".sig", "size": 10, "hashes": {"sha1": "0" * 40, "md5": "0" * 32,
                                                                   "sha256": "0" * 64},
                 "_links": {"download-http": {"href": href + ".sig"}}},
                {"filename": name, "size": size, "hashes": {"sha1": "0" * 40, "md5": "0" * 32, "sha256": "0" * 64},
                 "_links": {"download": {"href": href.replace("http://", "https://", 1)},
                            "download-http": {"href": href}}}]}]},
        "actionHistory": {"status": "RUNNING", "messages": []}})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    port = int(os.environ.get("FLEET_PORT", "0"))
    srv = Server(("127.0.0.1", port), Handler)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write(str(srv.server_port))
    os.replace(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
