# SPDX-License-Identifier: Apache-2.0
"""need(): the Python harness's check of host programs and files, the same as
tools/need.sh's: before a test uses something that is not part of otaroot
(QEMU, firmware images, ...) it calls need(); a missing one ends the test with
its name and the Debian package that provides it, from tools/deps.list, and so
does one that the list does not name, on every machine."""

import os
import shutil

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPS_LIST = os.path.join(REPO, "tools", "deps.list")
SBIN_PATH = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"


class MissingHostDependency(Exception):
    pass


def package_of(name):
    """The package tools/deps.list names for NAME, or None."""
    with open(DEPS_LIST) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if name in words[1:]:
                return words[0]
    return None


def need(*names):
    """Raises MissingHostDependency, whose text names the package, unless
    every NAME (a program, or an absolute path) is listed and present."""
    for name in names:
        pkg = package_of(name)
        if pkg is None:
            raise MissingHostDependency(
                f"need: {name} is used but tools/deps.list does not list it: "
                "add it under the Debian package that provides it")
        if name.startswith("/"):
            found, kind = os.path.exists(name), "file"
        else:
            found, kind = shutil.which(name, path=SBIN_PATH) is not None, "program"
        if not found:
            raise MissingHostDependency(
                f"missing host {kind} {name}: install the Debian package {pkg} "
                "(tools/deps.sh installs what the build, tests and benchmarks need)")
