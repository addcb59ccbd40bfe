#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exfat-worker --service through link-driver, which plays exfat-mountd's part of the protocol:
HELLO/DEVICE/PROBED/FUSE/READY, SET_LABEL while mounted and unmounted, SHUTDOWN -> CLEAN, a
closed socket, SIGTERM, and garbage from the "daemon"."""

import errno
import os
import select
import subprocess

import itest
from itest import check, run


class Driver:
    def __init__(self, env, dev, mnt):
        self.mnt = mnt
        env.callback(env._unmount, mnt)
        self.proc = env.spawn(itest.LINK_DRIVER, itest.WORKER, dev, mnt, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, bufsize=1)

    def cmd(self, line, expect=None, timeout=30):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        check(ready, f"link-driver: no answer to '{line}' within {timeout} s")
        out = self.proc.stdout.readline().strip()
        itest.log(f"  {line} -> {out}")
        if out.startswith("EXIT "):
            # Its report, if any, went to our stderr: the worker inherits link-driver's.
            itest.no_sanitizer_finding(int(out.split()[1]), "the worker")
        if expect is not None:
            check(out.startswith(expect), f"'{line}': got '{out}', expected '{expect}'")
        return out

    def mount(self, device_args=""):
        self.cmd(f"device {device_args}".strip(), "PROBED 0 ")
        self.cmd("fuse", "READY 0")
        check(itest.is_mounted(self.mnt), "not mounted after READY")


def label_of(dev):
    return run("exfatlabel", dev).stdout.strip().splitlines()[-1].split(":", 1)[-1].strip()


def write_synced(path, data):
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def test_mount_label_unmount(env):
    dev = env.image(label="OLD")
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    out = d.cmd("device", "PROBED 0 dirty=0 ro=0")
    check(out.endswith("label=OLD"), f"label in PROBED: {out}")
    d.cmd("fuse", "READY 0")
    fm = run("findmnt", "-n", "-o", "SOURCE,FSTYPE", "-M", mnt).stdout.split()
    check(fm == [dev, "fuseblk.exfat"], f"findmnt: {fm}")
    os.makedirs(os.path.join(mnt, "a/b/c"))
    data = os.urandom(5 << 20)
    with open(os.path.join(mnt, "a/b/c/big"), "wb") as f:
        f.write(data)
    d.cmd("label NEW 😀", "LABEL_SET 0")
    d.cmd("label TWELVE_CHARS", f"LABEL_SET {-errno.ENAMETOOLONG}")
    d.cmd("umount", "UMOUNT 0")
    # The worker saw the unmount: it flushed and sent CLEAN by itself; SHUTDOWN finds it.
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    itest.fsck_clean(dev)
    check(label_of(dev) == "NEW 😀", f"exfatlabel says {label_of(dev)!r}")
    proc = env.mount_worker(dev, mnt, "ro")
    with open(os.path.join(mnt, "a/b/c/big"), "rb") as f:
        check(f.read() == data, "data after service-mode unmount")
    env.unmount_worker(mnt, proc)


def test_shutdown_while_mounted(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.mount()
    write_synced(os.path.join(mnt, "f"), b"durable" * 1000)
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    # Clean before the kernel mount is even gone.
    itest.fsck_clean(dev, "after CLEAN")
    d.cmd("umount", "UMOUNT 0")
    proc = env.mount_worker(dev, mnt, "ro")
    with open(os.path.join(mnt, "f"), "rb") as f:
        check(f.read() == b"durable" * 1000, "data after SHUTDOWN")
    env.unmount_worker(mnt, proc)


def test_shutdown_right_after_ready(env):
    """SHUTDOWN racing the start of the FUSE loop must still stop it."""
    dev = env.image()
    mnt = env.mkdir("mnt")
    for _ in range(5):
        d = Driver(env, dev, mnt)
        d.mount()
        d.cmd("shutdown", "CLEAN 0")
        d.cmd("wait", "EXIT 0")
        d.cmd("umount", "UMOUNT 0")
        d.cmd("close", "CLOSED")
    itest.fsck_clean(dev)


def test_socket_closed_flushes(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.mount()
    write_synced(os.path.join(mnt, "f"), b"x" * 100000)
    d.cmd("close", "CLOSED")
    d.cmd("wait", "EXIT 0")
    itest.fsck_clean(dev, "after the socket closed")
    d.cmd("umount", "UMOUNT 0")


def test_sigterm_flushes(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.mount()
    os.mkdir(os.path.join(mnt, "dir"))
    write_synced(os.path.join(mnt, "dir", "f"), b"y" * 100000)
    d.cmd("term", "TERM")
    d.cmd("wait", "EXIT 0")
    itest.fsck_clean(dev, "after SIGTERM")
    d.cmd("umount", "UMOUNT 0")


def test_garbage_from_daemon(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.mount()
    write_synced(os.path.join(mnt, "f"), b"z" * 100000)
    d.cmd("garbage", "SENT")
    out = d.cmd("wait", "EXIT ")
    check(out != "EXIT 0", "worker exited 0 after garbage")
    itest.fsck_clean(dev, "after garbage")
    d.cmd("umount", "UMOUNT 0")
    proc = env.mount_worker(dev, mnt, "ro")
    with open(os.path.join(mnt, "f"), "rb") as f:
        check(f.read() == b"z" * 100000, "data after garbage")
    env.unmount_worker(mnt, proc)


def test_garbage_before_fuse(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.cmd("device", "PROBED 0")
    d.cmd("garbage", "SENT")
    out = d.cmd("wait", "EXIT ")
    check(out != "EXIT 0", "worker exited 0 after garbage")
    itest.fsck_clean(dev)


def test_probe_only_label(env):
    dev = env.image(label="BEFORE")
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.cmd("device probe-only", "PROBED 0 dirty=0 ro=0")
    d.cmd("label Été", "LABEL_SET 0")
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    itest.fsck_clean(dev)
    check(label_of(dev) == "Été", f"exfatlabel says {label_of(dev)!r}")


def test_dirty_volume(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    itest.set_dirty_flag(dev)
    d = Driver(env, dev, mnt)
    d.cmd("device", "PROBED 0 dirty=1 ro=1")
    d.cmd("fuse", "READY 0")
    try:
        os.mkdir(os.path.join(mnt, "d"))
        raise itest.TestFailure("mkdir succeeded on a dirty volume mounted without force")
    except OSError as e:
        check(e.errno == errno.EROFS, f"mkdir: {e}")
    d.cmd("label X", f"LABEL_SET {-errno.EROFS}")
    d.cmd("umount", "UMOUNT 0")
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    check(itest.dirty_flag(dev), "read-only serving cleared VolumeDirty")

    d = Driver(env, dev, mnt)
    d.cmd("device force", "PROBED 0 dirty=1 ro=0")
    d.cmd("fuse", "READY 0")
    os.mkdir(os.path.join(mnt, "d"))
    d.cmd("umount", "UMOUNT 0")
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    check(run("fsck.exfat", "-n", dev, check_rc=False).returncode == 0, "fsck after forced mount")


def test_options_view(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.mount("uid=1000 gid=1000 dmask=077 fmask=0133 noexec")
    p = os.path.join(mnt, "f")
    write_synced(p, b"1")
    st = os.stat(p)
    check((st.st_uid, st.st_gid, st.st_mode & 0o777) == (1000, 1000, 0o644), f"file {st}")
    st = os.stat(mnt)
    check((st.st_uid, st.st_mode & 0o777) == (1000, 0o700), f"root {st}")
    d.cmd("umount", "UMOUNT 0")
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")
    itest.fsck_clean(dev)


def test_not_exfat(env):
    img = env.path("zero.img")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    dev = run("losetup", "-f", "--show", img).stdout.strip()
    env.callback(env._detach, dev)
    mnt = env.mkdir("mnt")
    d = Driver(env, dev, mnt)
    d.cmd("device", f"PROBED {-errno.EINVAL}")
    d.cmd("label X", f"LABEL_SET {-errno.EINVAL}")
    d.cmd("shutdown", "CLEAN 0")
    d.cmd("wait", "EXIT 0")


def test_hostile_daemon(env):
    """Random packets from the "daemon", before and while serving: the worker must answer or exit
    non-zero, never crash, and leave the volume clean."""
    import random
    import struct
    rng = random.Random(int(os.environ.get("EXFAT_SEED", "4242")))
    dev = env.image()
    mnt = env.mkdir("mnt")
    sizes = {1: 8, 2: 20, 3: 128, 4: 0, 5: 8, 6: 64, 7: 8, 8: 0, 9: 8}
    for i in range(24):
        d = Driver(env, dev, mnt)
        serving = i % 2 == 1
        if serving:
            d.mount()
            write_synced(os.path.join(mnt, f"f{i}"), b"h" * 3000)
        else:
            d.cmd("device", "PROBED 0")
        kind = rng.randrange(4)
        t = rng.randrange(0, 12)
        if kind == 0:      # a known type with a wrong size
            body = struct.pack("<IIII", 0x45584654, t, sizes.get(t, 0) + 1, 0) + rng.randbytes(sizes.get(t, 0) + 1)
        elif kind == 1:    # right size, random payload (a SET_LABEL may be valid or not)
            body = struct.pack("<IIII", 0x45584654, t, sizes.get(t, 0), 0) + rng.randbytes(sizes.get(t, 0))
        elif kind == 2:    # bad magic
            body = rng.randbytes(rng.randrange(1, 200))
        else:              # a header alone, claiming a huge payload
            body = struct.pack("<IIII", 0x45584654, t, 0xFFFFFFF0, 0)
        d.cmd(f"raw {body.hex()}", "SENT")
        out = d.cmd("recv", timeout=10)
        if out == "CLEAN 0":       # it was a well-formed SHUTDOWN
            d.cmd("wait", "EXIT 0")
        elif out.startswith("LABEL_SET"):
            d.cmd("shutdown" if not serving else "umount")
            if serving:
                d.cmd("shutdown", "CLEAN 0")
            out = d.cmd("wait", "EXIT 0")
        else:
            check(out == "EOF", f"after a bad packet: {out}")
            out = d.cmd("wait", "EXIT ")
            check(out != "EXIT 0", f"worker exited 0 after packet {body.hex()}")
        if serving:
            d.cmd("umount", "UMOUNT")
        d.cmd("close", "CLOSED")
        itest.fsck_clean(dev, f"after hostile packet {i}")


if __name__ == "__main__":
    itest.main([
        test_mount_label_unmount,
        test_shutdown_while_mounted,
        test_shutdown_right_after_ready,
        test_socket_closed_flushes,
        test_sigterm_flushes,
        test_garbage_from_daemon,
        test_garbage_before_fuse,
        test_probe_only_label,
        test_dirty_volume,
        test_options_view,
        test_not_exfat,
        test_hostile_daemon,
    ])
