#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""host-deps-check.py REPO: fails when a script of the build, the tests or the
benchmarks uses a host program or file that tools/deps.list does not list.

A dependency nobody listed is invisible on the machine where it was installed
by hand and breaks a fresh one (issue 14: u-boot.rom). This check finds them
on every machine, from the scripts' text:

- absolute host paths (/usr/lib/..., /usr/share/..., /bin/busybox, ...) must
  be listed, or lie under a listed directory;
- every name a script passes to need (tools/need.sh, tests/vm/need.py) must
  be listed by that name, or need fails at run time;
- words that name a program on this machine must come from a package of
  Debian's "required" or "important" priority (on every Debian system) or
  from a listed package. Words that are English in our scripts' text and
  happen to name a program (e.g. "file", "size", "time" in prose or
  strings) are in PROSE, with the reason.

Guest-side paths (a prefix variable before the path: $root/usr/lib/...) and
otaroot's own installed paths are not host dependencies and are skipped.
"""

import os
import re
import shutil
import subprocess
import sys

SCANNED_DIRS = ["tests", "tools", "bench", ".ci"]
SKIPPED_DIRS = {"corpus", "rootfs", "debian-root"}  # fuzz inputs and guest file trees
BASELINE_PRIORITIES = {"required", "important"}

# Host paths that are otaroot's own (what its packages install) or that the
# tests create; never a host dependency.
OWN_PATH = re.compile(r"^/usr/(lib|libexec|share/doc)/ota(root)?(/|$)|^/usr/share/doc/otaroot")

# Words that name a program on a Debian machine but are text in our scripts:
# prose in strings, option values, guest commands. Each is checked to stay
# a word, not a command we run on the host.
PROSE = {
    "as", "size", "strings", "write", "file", "w", "top", "free", "uptime", "more",
    "man", "pc",         # QEMU's machine type "pc"
    "kvm",               # QEMU's -accel kvm
    "opt", "node", "GET", "HEAD", "POST", "dir", "python",  # HTTP methods (fleet-server.py)
    "route", "mt", "tc",
    "ssh-keyscan", "systemd-analyze",  # run inside the Debian guest, not on the host
    "unzip",             # U-Boot's command in the arm64 test board's boot.scr (tests/vm/mkimage.sh)
    "gettext", "autoreconf", "autoconf", "automake", "autopoint",  # build-util-linux-static.sh's opt-in regeneration mode installs these itself
}

HOST_PATH = re.compile(r"(?<![\w$}/.-])(/(?:usr/(?:lib|share|libexec|bin|sbin)|bin|sbin|lib)/[\w.+-]+(?:/[\w.+-]+)*)")
WORD = re.compile(r"(?<![\w./$-])([A-Za-z][\w.+-]*)")


NEED_SH = re.compile(r"^\s*need\s+(.+)$")
NEED_PY = re.compile(r"\bneed\(([^)]*)\)")


def needed_names(line):
    """The literal names a line passes to need (shell or Python)."""
    m = NEED_SH.match(line)
    if m:
        return [w for w in m.group(1).split() if not w.startswith("$") and not w.startswith('"$')]
    names = []
    for args in NEED_PY.findall(line):
        names += re.findall(r'(?:^|,)\s*"([^"]+)"', args)  # literal arguments only
    return names


def listed(repo):
    entries = {}
    with open(os.path.join(repo, "tools", "deps.list")) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if words:
                entries[words[0]] = words[1:]
    return entries


def scanned_files(repo):
    for top in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(repo, top)):
            dirnames[:] = [d for d in dirnames if d not in SKIPPED_DIRS]
            for name in filenames:
                path = os.path.join(dirpath, name)
                if name.endswith((".sh", ".py")) or (top == ".ci" and os.access(path, os.X_OK)):
                    yield path


def code_lines(path):
    with open(path, errors="replace") as f:
        for line in f:
            yield re.sub(r"(^|\s)#.*", "", line)


def candidates(path):
    """The names dpkg may know PATH by (merged /usr: /bin/x is /usr/bin/x)."""
    names = {path, os.path.realpath(path)}
    for n in list(names):
        if n.startswith(("/bin/", "/sbin/", "/lib/")):
            names.add("/usr" + n)
        elif n.startswith("/usr/"):
            names.add(n[4:])
    return names


def owners(paths):
    """{path: [package, ...]} for the paths dpkg knows, in one dpkg-query."""
    names = {c: p for p in paths for c in candidates(p)}
    r = subprocess.run(["dpkg-query", "-S", *sorted(names)], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        if line.startswith("diversion by") or ": " not in line:
            continue
        pkgs, name = line.split(": ", 1)
        if name in names:
            found.setdefault(names[name], set()).update(k.strip().split(":")[0] for k in pkgs.split(","))
    return {p: sorted(k) for p, k in found.items()}


def priorities(pkgs):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Priority}\n", *sorted(pkgs)],
                       capture_output=True, text=True)
    return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    entries = listed(repo)
    listed_paths = [p for items in entries.values() for p in items if p.startswith("/")]
    search_path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
    words, paths, needed = {}, {}, {}
    for f in scanned_files(repo):
        rel = os.path.relpath(f, repo)
        for line in code_lines(f):
            for name in needed_names(line):
                needed.setdefault(name, set()).add(rel)
            for p in HOST_PATH.findall(line):
                paths.setdefault(p, set()).add(rel)
            for m in WORD.finditer(line):
                # In Python, name( is a function call (zip(), open(), ...);
                # a program would be a string in a subprocess argv.
                if f.endswith(".py") and line[m.end():].lstrip().startswith("("):
                    continue
                words.setdefault(m.group(1), set()).add(rel)

    host_paths = {p: where for p, where in paths.items()
                  if not OWN_PATH.match(p) and os.path.exists(p)
                  and not any(p == lp or p.startswith(lp.rstrip("/") + "/") for lp in listed_paths)}
    programs = {}
    for w, where in words.items():
        if w in PROSE or any(w in items for items in entries.values()):
            continue
        exe = shutil.which(w, path=search_path)
        if exe:
            programs[exe] = (w, where)
    owned = owners(list(host_paths) + list(programs))
    prio = priorities({k for pkgs in owned.values() for k in pkgs})

    def baseline_or_listed(pkgs):
        return any(prio.get(k) in BASELINE_PRIORITIES or k in entries for k in pkgs)

    problems = []
    listed_items = {i for items in entries.values() for i in items}
    for name, where in sorted(needed.items()):
        if name not in listed_items:
            problems.append("need %s in %s: tools/deps.list does not list %s" % (name, ", ".join(sorted(where)), name))
    for p, where in sorted(host_paths.items()):
        pkgs = owned.get(p)
        if pkgs and not baseline_or_listed(pkgs):
            problems.append("%s (package %s) is used by %s but not listed in tools/deps.list"
                            % (p, ", ".join(pkgs), ", ".join(sorted(where))))
    for exe, (w, where) in sorted(programs.items(), key=lambda kv: kv[1][0]):
        pkgs = owned.get(exe)
        if pkgs and not baseline_or_listed(pkgs):
            problems.append("program %s (package %s) is used by %s but not listed in tools/deps.list"
                            % (w, ", ".join(pkgs), ", ".join(sorted(where))))

    for p in problems:
        print("host-deps-check: " + p)
    print("host-deps-check: %d files scanned, %d problem(s)"
          % (len(list(scanned_files(repo))), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
