# SPDX-License-Identifier: Apache-2.0
"""Drive an otaroot test machine in QEMU.

One Machine owns a disk image and boots it as often as a test needs; each boot
is one QEMU process (the guest's reboot ends it, thanks to -no-reboot), so a
test reboots by letting the guest reboot and calling boot() again.

The guest's console (ttyS0) goes to a log file per boot. The test agent
(tests/vm/rootfs/usr/libexec/ota-test-agent) listens on ttyS1, which QEMU
connects to a Unix socket here: run() sends one shell command line and returns
its output and exit status. The arm64 machine (arch="arm64", QEMU's virt) has
its console on ttyAMA0 and the agent on a virtio console (hvc0).
"""

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time

from need import MissingHostDependency, need

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

READY = b"@@AGENT-READY"
DONE = b"@@DONE "


QEMU_LOCK = "/tmp/otaroot-qemu.lock"
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# Debian's u-boot-qemu. The 32-bit qemu-x86 build, not qemu-x86_64: the
# 64-bit U-Boot cannot start a Linux kernel with zboot (it jumps into the
# 32-bit entry from long mode: triple fault), while the 32-bit one boots the
# 64-bit bzImage through its 64-bit entry.
UBOOT_ROM = "/usr/lib/u-boot/qemu-x86/u-boot.rom"
FIRMWARE_FILES = {"uboot": [UBOOT_ROM], "ovmf": [OVMF_CODE, OVMF_VARS]}
# Debian's u-boot-qemu for QEMU's arm64 virt machine (U-Boot 2023.01,
# qemu_arm64_defconfig): started as the firmware from flash bank 0 (-bios);
# its environment is in flash bank 1 (CONFIG_ENV_IS_IN_FLASH,
# CONFIG_ENV_ADDR=0x4000000, one copy of CONFIG_ENV_SIZE=0x40000 in one
# 256 KiB sector), which the harness gives it as a 64 MiB file that lives
# as long as the machine's disk.
UBOOT_ARM64 = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
# Debian's qemu-efi-aarch64: UEFI for the virt machine, GRUB's firmware.
AAVMF_CODE = "/usr/share/AAVMF/AAVMF_CODE.fd"
AAVMF_VARS = "/usr/share/AAVMF/AAVMF_VARS.fd"
ARM64_FIRMWARE_FILES = {"uboot": [UBOOT_ARM64], "aavmf": [AAVMF_CODE, AAVMF_VARS]}
VIRT_FLASH_BYTES = 64 * 1024 * 1024

# What differs between the architectures' machines. arm64 is QEMU's virt
# machine: one PL011 UART (the console, ttyAMA0), so the agent talks over a
# virtio console (hvc0 in the guest), and everything else is on PCI as on
# x86_64 (virtio disks, the i6300esb watchdog, virtio-net).
ARCHES = {
    "amd64": {"qemu": "qemu-system-x86_64", "console": "ttyS0", "firmware": FIRMWARE_FILES,
              "kernel": "kernel", "image": "base.img"},
    "arm64": {"qemu": "qemu-system-aarch64", "console": "ttyAMA0", "firmware": ARM64_FIRMWARE_FILES,
              "kernel": "kernel-arm64", "image": "base-arm64.img"},
}


# The arm64 VM cases run the QEMU that tests/vm/fetch-qemu.sh unpacks from
# bookworm-backports (ctest sets this to its wrapper): Debian 12's QEMU 7.2
# drops the buffered flash writes U-Boot's saveenv makes (see that script).
QEMU_ARM64_ENV = "OTA_QEMU_ARM64"


def qemu_program(arch):
    """The QEMU program for arch: for arm64 the one OTA_QEMU_ARM64 names
    when it is set, else the host's."""
    if arch == "arm64" and os.environ.get(QEMU_ARM64_ENV):
        return os.environ[QEMU_ARM64_ENV]
    return ARCHES[arch]["qemu"]


def host_files(arch, firmware):
    """The host's QEMU program and firmware files a machine of arch and
    firmware needs (a QEMU of ours is checked by check_qemu_program)."""
    a = ARCHES[arch]
    qemu = [] if qemu_program(arch) != a["qemu"] else [a["qemu"]]
    return [*qemu, *a["firmware"].get(firmware, [])]


def check_qemu_program(arch):
    """Raises MissingHostDependency when the QEMU OTA_QEMU_ARM64 names is
    not there."""
    qemu = qemu_program(arch)
    if qemu != ARCHES[arch]["qemu"] and not os.access(qemu, os.X_OK):
        raise MissingHostDependency("%s=%s is not an executable: make it with tests/vm/fetch-qemu.sh "
                                    "(ctest: vm.arm64.setup.qemu)" % (QEMU_ARM64_ENV, qemu))


class VMError(Exception):
    pass


def qemu_lock():
    """Takes the machine-wide QEMU lock (one QEMU at a time on this machine,
    across checkouts too: a second guest would starve the first one's
    timing: watchdog, timeouts); returns the open lock file, closing it
    releases the lock. Waits as long as the holder runs: ctest's timeout
    bounds the wait."""
    lock = open(QEMU_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def kvm_usable():
    """TCG by default: it works on every machine (on this project's build
    machines /dev/kvm exists but a guest under it stalls in early boot).
    OTA_VM_ACCEL=kvm opts in where KVM works."""
    return os.environ.get("OTA_VM_ACCEL") == "kvm"


class Machine:
    def __init__(self, workdir, kernel_dir, disk, name="vm", memory=512, extra_drives=(),
                 firmware=None, net=False, log_writes=None, arch="amd64", uboot_env=None):
        self.workdir = workdir
        if arch not in ARCHES:
            raise ValueError("unknown architecture %r" % arch)
        self.arch = arch
        # arm64 with firmware="uboot": the env image (mkenvimage) the flash
        # starts with, as provisioned; without it the flash is erased.
        self.uboot_env = uboot_env
        self.env_flash_readonly = False
        # log_writes=PATH: every write and flush the guest (firmware and
        # bootloader included) makes to the disk is appended to PATH in the
        # dm-log-writes format by QEMU's blklogwrites driver, across boots
        # (tests/crash). The disk then honours flushes (no cache=unsafe):
        # the guest sees a volatile write cache and issues them.
        self.log_writes = log_writes
        # network=True: a virtio NIC on QEMU user networking; the guest
        # reaches the host's 127.0.0.1 as 10.0.2.2 (see configure_network).
        self.network = net
        # firmware="ovmf": UEFI (Debian's ovmf) boots the disk's ESP, so the
        # bootloader on the disk (GRUB) picks kernel and command line; the
        # boot() arguments are then ignored. NVRAM lives in the workdir and
        # survives the machine's restarts, as on a real board.
        # firmware="uboot": Debian's U-Boot (UBOOT_ROM) as the BIOS; its
        # distro boot finds boot.scr on the disk's bootable FAT partition.
        # It runs on QEMU's i440fx machine ("pc"): on q35 it finds no PCI
        # virtio disk. There is no env storage, nothing persists but the
        # disk.
        self.firmware = firmware
        self.kernel = os.path.join(kernel_dir, "vmlinuz")
        self.initrd = os.path.join(kernel_dir, "initramfs.cpio.gz")
        self.disk = disk
        self.name = name
        self.memory = memory
        self.boots = 0
        self.proc = None
        self.sock = None
        self.buf = b""
        self.console_logs = []
        self.extra_drives = list(extra_drives)  # read-only raw disks: /dev/vdb, ...
        os.makedirs(workdir, exist_ok=True)
        need(*host_files(arch, firmware))
        check_qemu_program(arch)

    # ---- lifecycle -------------------------------------------------------
    def boot(self, cmdline_extra="", root="PARTLABEL=system-a", init="/sbin/ota-init",
             timeout=120):
        """Boots and waits for the agent. Returns the boot's console log path."""
        console = self.start(cmdline_extra, root, init)
        self.wait_agent(timeout)
        return console

    def wait_console(self, text, timeout=120):
        """Waits until the current boot's console log contains text."""
        deadline = time.monotonic() + timeout
        while text not in self.console_text():
            self._check_alive()
            if time.monotonic() > deadline:
                raise VMError("%r did not appear on the console" % text)
            time.sleep(0.02)

    def start(self, cmdline_extra="", root="PARTLABEL=system-a", init="/sbin/ota-init"):
        """Starts QEMU without waiting for anything."""
        if self.proc:
            raise VMError("machine is already running")
        self.boots += 1
        console = os.path.join(self.workdir, "console-%d.log" % self.boots)
        agent_sock = os.path.join(self.workdir, "agent.sock")
        if os.path.exists(agent_sock):
            os.unlink(agent_sock)
        append = "console=%s root=%s ro init=%s panic=-1 no_timer_check %s" % (
            ARCHES[self.arch]["console"], root, init, cmdline_extra)
        cmd = [*self._machine_args(), "-m", str(self.memory),
               "-smp", "1", "-nographic", "-no-reboot", "-nodefaults",
               *self._boot_args(append.strip()),
               *self._disk_args(),
               "-chardev", "file,id=console,path=%s" % console,
               "-serial", "chardev:console",
               "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % agent_sock,
               *self._agent_args(),
               *[arg for d in self.extra_drives
                 for arg in ("-drive", "file=%s,if=virtio,format=raw,readonly=on" % d)],
               "-device", "i6300esb",
               *(["-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0"] if self.network else []),
               "-monitor", "none"]
        self.console_logs.append(console)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.started = time.monotonic()
        self.agent_sock = agent_sock
        return console

    def _machine_args(self):
        if self.arch == "arm64":
            # TCG: this build machine is x86_64. cortex-a57: a plain ARMv8.0
            # core, as the boards we target; "max" would add features no board has.
            return [qemu_program("arm64"), "-accel", "tcg", "-machine", "virt", "-cpu", "cortex-a57"]
        accel = ["-accel", "kvm", "-cpu", "host"] if kvm_usable() else ["-accel", "tcg"]
        machine = "pc" if self.firmware == "uboot" else "q35"
        return ["qemu-system-x86_64", *accel, "-machine", machine]

    def _agent_args(self):
        if self.arch == "arm64":
            return ["-device", "virtio-serial-pci", "-device", "virtconsole,chardev=agent"]
        return ["-serial", "chardev:agent"]

    def _disk_args(self):
        if not self.log_writes:
            return ["-drive", "file=%s,if=virtio,format=raw,cache=unsafe" % self.disk]
        if not os.path.exists(self.log_writes):
            open(self.log_writes, "wb").close()  # log-append starts an empty log
        return ["-blockdev", "driver=file,node-name=disk0,filename=%s" % self.disk,
                "-blockdev", "driver=file,node-name=log0,filename=%s" % self.log_writes,
                "-blockdev", "driver=blklogwrites,node-name=logged0,file=disk0,log=log0,log-append=on",
                "-device", "virtio-blk-pci,drive=logged0"]

    def _boot_args(self, append):
        if self.arch == "arm64" and self.firmware == "uboot":
            env_flash = os.path.join(self.workdir, "uboot-env-flash.img")
            if not os.path.exists(env_flash):
                # Erased NOR flash reads as 0xff; the env at its start.
                env = b""
                if self.uboot_env:
                    with open(self.uboot_env, "rb") as f:
                        env = f.read()
                with open(env_flash, "wb") as f:
                    f.write(env + b"\xff" * (VIRT_FLASH_BYTES - len(env)))
            # env_flash_readonly: a write-protected env sector (the test of
            # a saveenv that fails).
            return ["-bios", UBOOT_ARM64,
                    "-drive", "if=pflash,unit=1,format=raw,file=%s%s"
                    % (env_flash, ",readonly=on" if self.env_flash_readonly else "")]
        if self.arch == "arm64" and self.firmware == "aavmf":
            # As OVMF: the NVRAM in the workdir survives the restarts.
            vars_fd = os.path.join(self.workdir, "aavmf-vars.fd")
            if not os.path.exists(vars_fd):
                shutil.copyfile(AAVMF_VARS, vars_fd)
            return ["-drive", "if=pflash,unit=0,format=raw,readonly=on,file=%s" % AAVMF_CODE,
                    "-drive", "if=pflash,unit=1,format=raw,file=%s" % vars_fd]
        if self.arch == "arm64" and self.firmware:
            raise VMError("firmware %r is not available for arm64" % self.firmware)
        if self.firmware == "uboot":
            return ["-bios", UBOOT_ROM]
        if self.firmware != "ovmf":
            return ["-kernel", self.kernel, "-initrd", self.initrd, "-append", append]
        vars_fd = os.path.join(self.workdir, "ovmf-vars.fd")
        if not os.path.exists(vars_fd):
            shutil.copyfile(OVMF_VARS, vars_fd)
        return ["-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
                "-drive", "if=pflash,format=raw,file=%s" % vars_fd]

    def wait_agent(self, timeout=120):
        agent_sock = self.agent_sock
        deadline = time.monotonic() + timeout
        while not os.path.exists(agent_sock):
            self._check_alive()
            if time.monotonic() > deadline:
                raise VMError("QEMU did not create the agent socket")
            time.sleep(0.05)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(agent_sock)
        except ConnectionRefusedError:
            # QEMU made the socket and died (e.g. it could not load its
            # firmware): say why rather than how the connect failed.
            self.proc.wait(timeout=10)
            self._check_alive()
            raise
        self.buf = b""
        self._read_until(READY, deadline)
        self.boot_seconds = time.monotonic() - self.started

    def run(self, command, timeout=60, check=True):
        """Runs a shell command line in the guest; returns (status, output)."""
        if "\n" in command:
            raise ValueError("one line per command")
        self.sock.sendall(command.encode() + b"\n")
        out = self._read_until(DONE, time.monotonic() + timeout)
        line_end = self.buf.find(b"\n")
        while line_end < 0:
            self._recv(time.monotonic() + timeout)
            line_end = self.buf.find(b"\n")
        status = int(self.buf[:line_end].strip())
        self.buf = self.buf[line_end + 1:]
        text = out.decode(errors="replace").replace("\r", "")
        if check and status != 0:
            raise VMError("guest command %r failed with status %d:\n%s" % (command, status, text))
        return status, text

    def output(self, command, timeout=60):
        return self.run(command, timeout)[1]

    def configure_network(self):
        """QEMU user networking's fixed addresses: the guest is 10.0.2.15,
        the host (its 127.0.0.1) is 10.0.2.2."""
        self.run("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2")

    def reboot(self, timeout=60):
        """Asks the guest's init to reboot and waits for QEMU to exit."""
        self.sock.sendall(b"reboot\n")
        self.wait_exit(timeout)

    def wait_exit(self, timeout=60):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise VMError("guest did not stop within %d s" % timeout)
        self._closed()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._closed()

    def console_text(self, boot=None):
        path = self.console_logs[(boot or self.boots) - 1]
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace").replace("\r", "")
        except FileNotFoundError:
            return ""

    # ---- internals -------------------------------------------------------
    def _closed(self):
        if self.sock:
            self.sock.close()
        self.sock = None
        self.proc = None

    def _check_alive(self):
        if self.proc.poll() is not None:
            out = self.proc.stdout.read().decode(errors="replace")
            raise VMError("QEMU exited with status %d before the agent answered\n%s"
                          % (self.proc.returncode, out))

    def _recv(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise VMError("timed out waiting for the guest agent")
        self.sock.settimeout(min(remaining, 1.0))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            self._check_alive()
            return
        if not data:
            self._check_alive()
            time.sleep(0.05)
            return
        self.buf += data

    def _read_until(self, marker, deadline):
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                before = self.buf[:i]
                self.buf = self.buf[i + len(marker):]
                return before
            self._recv(deadline)


class TestCase:
    """Per-test scratch directory with its own copy of the base image. The
    directory (console logs included) is kept when the test fails."""

    def __init__(self, name, image=None, firmware=None, arch="amd64"):
        self.lock = qemu_lock()
        build = os.environ.get("OTA_BUILD_DIR", os.path.join(REPO, "build"))
        self.build = build
        self.arch = arch
        self.kernel_dir = os.environ.get("OTA_VM_KERNEL_DIR", os.path.join(build, "vm", ARCHES[arch]["kernel"]))
        self.base_image = os.environ.get("OTA_VM_IMAGE", os.path.join(build, "vm", image or ARCHES[arch]["image"]))
        self.workdir = os.path.join(build, "vm", "work", name)
        self.name = name
        shutil.rmtree(self.workdir, ignore_errors=True)
        os.makedirs(self.workdir)
        self.disk = os.path.join(self.workdir, "disk.img")
        subprocess.run(["cp", "--sparse=always", self.base_image, self.disk], check=True)
        uboot_env = self.base_image + ".uboot-env"
        self.machine = Machine(self.workdir, self.kernel_dir, self.disk, name, firmware=firmware, arch=arch,
                               uboot_env=uboot_env if os.path.exists(uboot_env) else None)

    def finish(self, ok):
        self.machine.kill()
        self.lock.close()
        if ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            for log in self.machine.console_logs:
                print("---- console log kept: %s (last 40 lines) ----" % log)
                try:
                    with open(log, "rb") as f:
                        lines = f.read().decode(errors="replace").replace("\r", "").splitlines()
                    print("\n".join(lines[-40:]))
                except OSError as e:
                    print("(cannot read: %s)" % e)


def parse_status(text):
    """Parses /run/ota/status (key='value' lines) into a dict."""
    status = {}
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == "'" and value[-1] == "'":
            value = value[1:-1].replace("'\\''", "'")
        status[key] = value
    return status


def run_cases(cases, argv, **testcase_args):
    """Runs the named cases (all if none named); prints one line per case and
    the 'N passed, N failed' summary; exits non-zero on failure. A leading
    `--arch arm64` runs them on that architecture's machine (its kernel and
    image: ARCHES)."""
    argv = list(argv)
    if len(argv) > 2 and argv[1] == "--arch":
        testcase_args["arch"] = argv[2]
        del argv[1:3]
    names = argv[1:] or list(cases)
    try:
        arch = testcase_args.get("arch") or "amd64"
        need(*host_files(arch, testcase_args.get("firmware")))
        check_qemu_program(arch)
    except MissingHostDependency as e:
        print("FAIL %s: %s" % (" ".join(names), e))
        sys.exit(1)
    passed = failed = 0
    for name in names:
        if name not in cases:
            print("unknown case %r; known: %s" % (name, ", ".join(cases)))
            sys.exit(2)
        tc = TestCase(name, **testcase_args)
        ok = False
        t0 = time.monotonic()
        try:
            cases[name](tc)
            ok = True
        except Exception as e:  # report every failure the same way
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        finally:
            tc.finish(ok)
        print("%s %s (%.1f s, %d boot(s))" % ("ok  " if ok else "FAIL", name,
                                              time.monotonic() - t0, tc.machine.boots))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
