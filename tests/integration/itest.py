# SPDX-License-Identifier: MIT
"""Helpers shared by the integration tests: images on loop devices, exfat-worker and exfat-fuse
mounts, the fsck oracle, and cleanup that also runs when a test fails or is killed."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

WORKER = os.environ.get("EXFAT_WORKER", "exfat-worker")
LINK_DRIVER = os.environ.get("LINK_DRIVER", "link-driver")
# Set in a sanitizer build (meson.build's test setup): ASan, UBSan and LeakSanitizer end a process
# with this code after their report. Tests that expect a worker to fail must not take that for
# the failure they wanted.
SANITIZER_EXIT = int(os.environ.get("EXFAT_SANITIZER_EXITCODE") or 0) or None
# ASan and LeakSanitizer end their reports with a summary, UBSan's is one line.
SANITIZER_REPORT = re.compile(r"^SUMMARY: \w+Sanitizer:|: runtime error: ", re.MULTILINE)


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def log(msg):
    print(msg, flush=True)


def no_sanitizer_finding(returncode, what, output=""):
    """Fails when a process ended by a sanitizer's report: by its exit code, or by the report in
    its output (a process killed while it was dying has no exit code of its own)."""
    if (SANITIZER_EXIT is not None and returncode == SANITIZER_EXIT) or SANITIZER_REPORT.search(output):
        raise TestFailure(f"{what} exited {returncode}: a sanitizer finding\n{output}")


def run(*cmd, check_rc=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    no_sanitizer_finding(p.returncode, " ".join(cmd), p.stdout)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p


def _terminate(signum, frame):
    # meson's timeout sends SIGTERM: unwind so that every cleanup runs.
    raise SystemExit(f"killed by signal {signum}")


def require_root():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        log("SKIP: needs root, loop devices and /dev/fuse")
        sys.exit(77)
    for tool in ("mkfs.exfat", "fsck.exfat", "losetup", "findmnt"):
        if not shutil.which(tool):
            log(f"SKIP: {tool} missing")
            sys.exit(77)


def device_cache_bytes(dev):
    """Bytes of dev's page cache that are in memory (mincore over a shared mapping of it)."""
    import ctypes
    import mmap
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    fd = os.open(dev, os.O_RDONLY)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), f"mmap of {dev}")
        try:
            vec = (ctypes.c_ubyte * ((size + mmap.PAGESIZE - 1) // mmap.PAGESIZE))()
            if libc.mincore(addr, size, vec) != 0:
                raise OSError(ctypes.get_errno(), f"mincore of {dev}")
            return sum(v & 1 for v in vec) * mmap.PAGESIZE
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def drop_device_cache(dev):
    """Empties dev's page cache (it is clean: nothing written through it is pending)."""
    fd = os.open(dev, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def is_mounted(path):
    return subprocess.run(["findmnt", "-M", path], stdout=subprocess.DEVNULL).returncode == 0


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise TestFailure(f"timed out after {timeout}s waiting for {what}")


def dirty_flag(dev):
    with open(dev, "rb") as f:
        f.seek(106)
        return (f.read(1)[0] & 0x02) != 0


def set_dirty_flag(dev, on=True):
    # VolumeFlags is outside the boot checksum: flipping the bit keeps the volume valid.
    fd = os.open(dev, os.O_RDWR)
    try:
        b = os.pread(fd, 1, 106)[0]
        b = (b | 0x02) if on else (b & ~0x02)
        os.pwrite(fd, bytes([b]), 106)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsck_clean(dev, what=""):
    """The oracle: fsck.exfat -n finds nothing and VolumeDirty is clear."""
    p = run("fsck.exfat", "-n", dev, check_rc=False)
    check(p.returncode == 0, f"fsck.exfat -n {dev} {what} exited {p.returncode}:\n{p.stdout}")
    check(not dirty_flag(dev), f"VolumeDirty still set on {dev} {what}")


class Env(contextlib.ExitStack):
    """One test's scratch space: a directory, images, loop devices, mounts and processes, all
    released in reverse order on exit, whatever happened."""

    def __enter__(self):
        super().__enter__()
        signal.signal(signal.SIGTERM, _terminate)
        self.dir = tempfile.mkdtemp(prefix="exfat-itest-")
        self.callback(shutil.rmtree, self.dir, ignore_errors=True)
        return self

    def path(self, name):
        return os.path.join(self.dir, name)

    def mkdir(self, name):
        p = self.path(name)
        os.makedirs(p, exist_ok=True)
        return p

    def image(self, name="disk.img", size_mb=64, label=None, cluster=None):
        """Creates and formats an image and attaches it; returns the loop device."""
        img = self.path(name)
        with open(img, "wb") as f:
            f.truncate(size_mb * 1024 * 1024)
        args = ["mkfs.exfat"]
        if label:
            args += ["-L", label]
        if cluster:
            args += ["-c", cluster]
        run(*args, img)
        dev = run("losetup", "-f", "--show", img).stdout.strip()
        self.callback(self._detach, dev)
        return dev

    @staticmethod
    def _detach(dev):
        for _ in range(50):
            if subprocess.run(["losetup", "-d", dev], stderr=subprocess.DEVNULL).returncode == 0:
                return
            time.sleep(0.1)
        log(f"warning: could not detach {dev}")

    def _kill(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # Nobody read what it said: a worker that died in the middle of a test leaves only a broken
        # mount behind, its reason is here. The test may have seen the mount break before the
        # process had quite ended, and it was killed above: the report itself says it all.
        err = ""
        if proc.stderr and not proc.stderr.closed:
            err = proc.stderr.read()
            proc.stderr.close()
        no_sanitizer_finding(proc.returncode, " ".join(proc.args), err)

    def _unmount(self, mnt):
        if is_mounted(mnt):
            subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
        if is_mounted(mnt):
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)

    def spawn(self, *cmd, **kw):
        proc = subprocess.Popen(cmd, **kw)
        self.callback(self._kill, proc)
        return proc

    def mount_worker(self, dev, mnt, opts=None, expect_fail=False):
        """Starts exfat-worker DEV MNT [-o OPTS] and waits for the mount. Returns the process."""
        cmd = [WORKER, dev, mnt] + (["-o", opts] if opts else [])
        self.callback(self._unmount, mnt)
        proc = self.spawn(*cmd, stderr=subprocess.PIPE, text=True)
        if expect_fail:
            try:
                _, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                raise TestFailure(f"{' '.join(cmd)} did not fail")
            check(proc.returncode != 0, f"{' '.join(cmd)} succeeded but should have failed")
            no_sanitizer_finding(proc.returncode, " ".join(cmd), err)
            check(not is_mounted(mnt), f"{mnt} mounted although the worker failed")
            return err
        end = time.monotonic() + 20
        while not is_mounted(mnt):
            if proc.poll() is not None:
                raise TestFailure(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.read()}")
            check(time.monotonic() < end, f"{mnt} not mounted after 20 s")
            time.sleep(0.05)
        return proc

    def unmount_worker(self, mnt, proc, timeout=60, command=("umount",)):
        """umount (or command), then the worker must exit 0. Returns its stderr."""
        run(*command, mnt)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"worker for {mnt} still running {timeout}s after umount")
        check(proc.returncode == 0, f"worker for {mnt} exited {proc.returncode}: {err}")
        return err

    def mount_exfat_fuse(self, dev, mnt, opts=None):
        self.callback(self._unmount, mnt)
        run("mount.exfat-fuse", *(["-o", opts] if opts else []), dev, mnt)
        wait_for(lambda: is_mounted(mnt), 20, f"exfat-fuse mount on {mnt}")

    def unmount_exfat_fuse(self, mnt):
        run("umount", mnt)
        # mount.exfat-fuse daemonizes; fuseblk umount waits for its DESTROY, but it may still be
        # closing the device.
        time.sleep(0.3)


def private_mount_namespace():
    """Re-executes the test in a private mount namespace: a namespace someone else creates meanwhile
    (a test box, a benchmark, a systemd unit) would otherwise copy our FUSE mounts and keep their
    superblocks alive after our umount. unshare execs in place: same PID, same signals."""
    if os.environ.get("ITEST_PRIVATE_NS") == "1" or not shutil.which("unshare"):
        return
    os.environ["ITEST_PRIVATE_NS"] = "1"
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable] + sys.argv)


def main(tests):
    """Runs test functions (each taking an Env); prints and returns the failures."""
    require_root()
    private_mount_namespace()
    failed = []
    for t in tests:
        start = time.monotonic()
        log(f"=== {t.__name__}")
        try:
            with Env() as env:
                t(env)
            log(f"--- ok {t.__name__} ({time.monotonic() - start:.1f} s)")
        except (TestFailure, subprocess.SubprocessError, OSError, AssertionError) as e:
            log(f"FAIL: {t.__name__}: {e}")
            failed.append(t.__name__)
    if failed:
        log(f"FAILED: {', '.join(failed)}")
        sys.exit(1)
    log("all passed")
