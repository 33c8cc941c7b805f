#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""kconfig-check.py REPO: checks the BR2_EXTERNAL tree in REPO/kconfig with
kconfiglib (Debian's python3-kconfiglib) on top of stub-Config.in:

- the tree parses without a single warning;
- every symbol it references is defined (by the tree or by the stub);
- each defconfig in kconfig/configs/ loads without warnings, every line of
  it survives (what Buildroot's "defconfig is not valid" check does), and
  BR2_PACKAGE_OTAROOT ends up enabled;
- every $(BR2_EXTERNAL_OTAROOT_PATH)/... path a defconfig names exists.
Prints one line per check; exits 1 on the first class of failure found."""
import os
import re
import sys

import kconfiglib

repo = os.path.abspath(sys.argv[1])
tree = os.path.join(repo, "kconfig")
os.environ["BR2_EXTERNAL_OTAROOT_PATH"] = tree
os.environ["CONFIG_"] = ""  # Buildroot writes .config lines without a CONFIG_ prefix
here = os.path.dirname(os.path.abspath(__file__))
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def load():
    k = kconfiglib.Kconfig(os.path.join(here, "stub-Config.in"), warn_to_stderr=False)
    k.warn_assign_undef = True
    k.warn_assign_override = True
    k.warn_assign_redun = True
    return k


kconf = load()
check(not kconf.warnings, "Config.in parses without warnings" +
      "".join("\n     " + w for w in kconf.warnings))

undefined = sorted(s.name for s in kconf.unique_defined_syms + list(kconf.syms.values())
                   if not s.nodes and s.name not in ("y", "n", "m", "MODULES"))
undefined = sorted(set(undefined))
check(not undefined, "every referenced symbol is defined" +
      "".join("\n     undefined: " + u for u in undefined))

ours = [s for s in kconf.unique_defined_syms
        if any(n.filename.startswith(tree) or "$BR2_EXTERNAL" in n.filename for n in s.nodes)]
check(any(s.name == "BR2_PACKAGE_OTAROOT" for s in ours), "BR2_PACKAGE_OTAROOT comes from the tree")
check(all(s.name.startswith(("BR2_PACKAGE_OTAROOT", "BR2_PACKAGE_HOST_OTAROOT")) for s in ours),
      "the tree defines only BR2_PACKAGE_OTAROOT* / BR2_PACKAGE_HOST_OTAROOT* symbols" +
      "".join("\n     " + s.name for s in ours
              if not s.name.startswith(("BR2_PACKAGE_OTAROOT", "BR2_PACKAGE_HOST_OTAROOT"))))

line_re = re.compile(r'^(BR2_\w+)=(.*)$|^# (BR2_\w+) is not set$')
configs = os.path.join(tree, "configs")
defconfigs = sorted(f for f in os.listdir(configs) if f.endswith("_defconfig"))
check(len(defconfigs) >= 2, "defconfigs found: " + " ".join(defconfigs))
for name in defconfigs:
    path = os.path.join(configs, name)
    k = load()
    k.load_config(path)
    check(not k.warnings, f"{name} loads without warnings" + "".join("\n     " + w for w in k.warnings))
    lost = []
    missing_files = []
    for line in open(path):
        m = line_re.match(line.strip())
        if not m:
            continue
        sym_name = m.group(1) or m.group(3)
        want = "n" if m.group(3) else m.group(2)
        if want.startswith('"'):
            want = want[1:-1]
            for p in re.findall(r"\$\(BR2_EXTERNAL_OTAROOT_PATH\)(\S*)", want):
                for part in p.split():
                    if not os.path.exists(tree + part):
                        missing_files.append(tree + part)
        sym = k.syms.get(sym_name)
        have = sym.str_value if sym else None
        if have is None or (have != want and not (want == "n" and have == "")):
            lost.append(f"{sym_name}: wanted {want!r}, got {have!r}")
    check(not lost, f"{name}: every line survives" + "".join("\n     " + l for l in lost))
    check(not missing_files, f"{name}: every board file it names exists" +
          "".join("\n     missing: " + f for f in missing_files))
    check(k.syms["BR2_PACKAGE_OTAROOT"].str_value == "y", f"{name}: BR2_PACKAGE_OTAROOT=y")
    check(k.syms["BR2_PACKAGE_HOST_OTAROOT"].str_value == "y", f"{name}: BR2_PACKAGE_HOST_OTAROOT=y")
    check(k.syms["BR2_PACKAGE_HOST_UTIL_LINUX"].str_value == "y",
          f"{name}: selects BR2_PACKAGE_HOST_UTIL_LINUX (host libfdisk for ota-image)")
    for lib in ("UTIL_LINUX_LIBBLKID", "UTIL_LINUX_LIBMOUNT", "UTIL_LINUX_LIBFDISK", "LIBINIH", "JSON_C",
                "ZSTD", "OPENSSL", "LIBCURL", "E2FSPROGS"):
        check(k.syms["BR2_PACKAGE_" + lib].str_value == "y", f"{name}: selects BR2_PACKAGE_{lib}")

# The package refuses a shared-only build (ota-init is static).
k = load()
k.syms["BR2_SHARED_LIBS"].set_value("y")
check(k.syms["BR2_PACKAGE_OTAROOT"].visibility == 0, "BR2_PACKAGE_OTAROOT is hidden with BR2_SHARED_LIBS")

if failures:
    print(f"kconfig-check: {len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("kconfig-check: all passed")
