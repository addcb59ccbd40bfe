#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exfat-worker's standalone mode: the mount itself, its options, dirty volumes, signals."""

import errno
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import time

import itest
from itest import check, run


def expect_errno(err, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        check(e.errno == err, f"{fn.__name__}{args}: {os.strerror(e.errno)}, expected {os.strerror(err)}")
        return
    raise itest.TestFailure(f"{fn.__name__}{args} succeeded, expected {os.strerror(err)}")


def write_file(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def test_help_version(env):
    p = run(itest.WORKER, "--help")
    check("--service" in p.stdout and "MOUNTPOINT" in p.stdout, f"--help output: {p.stdout}")
    p = run(itest.WORKER, "--version")
    check(p.stdout.startswith("exfat-worker "), f"--version output: {p.stdout}")
    p = run(itest.WORKER, check_rc=False)
    check(p.returncode != 0, "no arguments accepted")


def test_mount_basic(env):
    dev = env.image(label="BASIC")
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    fm = run("findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "-M", mnt).stdout.split()
    check(fm[0] == dev and fm[1] == "fuseblk.exfat", f"findmnt: {fm}")
    check("allow_other" in fm[2] and "default_permissions" in fm[2], f"mount options: {fm[2]}")
    # READs below 1 MiB, or libfuse cannot splice their replies (daemon/common/readahead.h).
    check("max_read=983040" in fm[2].split(","), f"mount options: {fm[2]}")
    check(itest.dirty_flag(dev), "VolumeDirty not set while mounted read-write")
    os.mkdir(os.path.join(mnt, "dir"))
    write_file(os.path.join(mnt, "dir", "file"), b"hello\n" * 1000)
    st = os.stat(os.path.join(mnt, "dir", "file"))
    check(stat.S_IMODE(st.st_mode) == 0o755 and st.st_size == 6000, f"file stat {oct(st.st_mode)} {st.st_size}")
    check(stat.S_IMODE(os.stat(os.path.join(mnt, "dir")).st_mode) == 0o755, "directory mode")
    sv = os.statvfs(mnt)
    check(sv.f_blocks > 0 and 0 < sv.f_bfree < sv.f_blocks, f"statvfs {sv}")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "after unmount")
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "dir", "file")) == b"hello\n" * 1000, "content after remount")
    check(sorted(os.listdir(mnt)) == ["dir"], f"root listing {os.listdir(mnt)}")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "after ro mount")
    if shutil.which("fusermount3"):
        proc = env.mount_worker(dev, mnt)
        write_file(os.path.join(mnt, "via fusermount"), b"f")
        env.unmount_worker(mnt, proc, command=("fusermount3", "-u"))
        itest.fsck_clean(dev, "after fusermount3 -u")


def bdi_read_ahead(mnt):
    st = os.stat(mnt)
    path = f"/sys/class/bdi/{os.major(st.st_dev)}:{os.minor(st.st_dev)}-fuseblk/read_ahead_kb"
    with open(path) as f:
        return int(f.read())


def test_read_ahead(env):
    """FUSE INIT clamps a mount's read-ahead to 128 KiB; the worker raises it once INIT is done.
    EXFAT_WORKER_READAHEAD_KB=0 leaves the kernel's value (what the raise is measured against)."""
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    itest.wait_for(lambda: bdi_read_ahead(mnt) == 4096, 5, "read-ahead raised to 4096 KiB")
    env.unmount_worker(mnt, proc)
    os.environ["EXFAT_WORKER_READAHEAD_KB"] = "0"
    try:
        proc = env.mount_worker(dev, mnt)
    finally:
        del os.environ["EXFAT_WORKER_READAHEAD_KB"]
    os.statvfs(mnt)
    time.sleep(0.2)
    check(bdi_read_ahead(mnt) <= 1024, f"read-ahead {bdi_read_ahead(mnt)} KiB with the raise turned off")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "after the read-ahead mounts")


def test_reads_around_device_cache(env):
    """File data is read from the device with O_DIRECT (daemon/worker/direct-read.h): the mount's
    page cache holds what was read, the device's page cache does not hold it a second time. Also
    read-only, and for O_DIRECT readers of the mount whose READs start and end inside blocks.
    Reads through the device's cache (EXFAT_WORKER_DIRECT=0 EXFAT_WORKER_SPLICE=0) are the control
    that the count sees it."""
    dev = env.image(size_mb=96)
    mnt = env.mkdir("mnt")
    data = os.urandom(24 << 20)
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "f"), data)
    # Past ValidDataLength: zeros between and after data.
    with open(os.path.join(mnt, "sparse"), "wb") as f:
        f.write(b"head")
        f.truncate(3 << 20)
        f.seek((3 << 20) - 5)
        f.write(b"tail!")
        f.truncate(5 << 20)
    env.unmount_worker(mnt, proc)
    sparse = b"head" + bytes((3 << 20) - 9) + b"tail!" + bytes(2 << 20)

    def read_back(opts, variables):
        os.environ.update(variables)
        try:
            proc = env.mount_worker(dev, mnt, opts)
        finally:
            for name in variables:
                os.environ.pop(name, None)
        what = f"{opts or 'rw'}{''.join(f', {k}={v}' for k, v in variables.items())}"
        itest.drop_device_cache(dev)
        check(read_file(os.path.join(mnt, "f")) == data, f"data read back ({what})")
        cached = itest.device_cache_bytes(dev)
        itest.log(f"  device cache after reading 24 MiB ({what}): {cached >> 10} KiB")
        check(read_file(os.path.join(mnt, "sparse")) == sparse, f"sparse file read back ({what})")
        fd = os.open(os.path.join(mnt, "f"), os.O_RDONLY | os.O_DIRECT)
        try:
            for off, n in ((1, 100), (4095, 2), (12345, 1 << 20), ((24 << 20) - 7, 100), (65536, 4096)):
                check(os.pread(fd, n, off) == data[off:off + n], f"O_DIRECT read of {n} at {off} ({what})")
        finally:
            os.close(fd)
        env.unmount_worker(mnt, proc)
        return cached

    for opts in (None, "ro"):
        cached = read_back(opts, {})
        check(cached < (2 << 20), f"{cached >> 10} KiB of the device cached after reading 24 MiB ({opts or 'rw'})")
    # The fallbacks serve the same bytes: replies spliced from the device's page cache (the kernel
    # may move those pages into the file's cache, so their count says little), and copies.
    read_back(None, {"EXFAT_WORKER_DIRECT": "0"})
    cached = read_back(None, {"EXFAT_WORKER_DIRECT": "0", "EXFAT_WORKER_SPLICE": "0"})
    check(cached >= (20 << 20), f"control: only {cached >> 10} KiB of the device cached by reads through it")
    itest.fsck_clean(dev)


def test_unknown_option(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    err = env.mount_worker(dev, mnt, "bogus_option", expect_fail=True)
    check("bogus_option" in err, f"stderr does not name the option: {err}")
    env.mount_worker(dev, mnt, "umask=999", expect_fail=True)
    itest.fsck_clean(dev)


def test_not_exfat(env):
    img = env.path("zero.img")
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    dev = run("losetup", "-f", "--show", img).stdout.strip()
    env.callback(env._detach, dev)
    mnt = env.mkdir("mnt")
    err = env.mount_worker(dev, mnt, expect_fail=True)
    check("exFAT" in err, f"stderr: {err}")


def test_read_only(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "f"), b"x" * 100)
    env.unmount_worker(mnt, proc)
    before = read_file(dev)[:1 << 20]
    proc = env.mount_worker(dev, mnt, "ro")
    check(not itest.dirty_flag(dev), "read-only mount set VolumeDirty")
    check(read_file(os.path.join(mnt, "f")) == b"x" * 100, "read on ro mount")
    expect_errno(errno.EROFS, os.mkdir, os.path.join(mnt, "d"))
    expect_errno(errno.EROFS, open, os.path.join(mnt, "f"), "ab")
    expect_errno(errno.EROFS, open, os.path.join(mnt, "new"), "wb")
    expect_errno(errno.EROFS, os.unlink, os.path.join(mnt, "f"))
    env.unmount_worker(mnt, proc)
    check(read_file(dev)[:1 << 20] == before, "read-only mount changed the device")
    itest.fsck_clean(dev)


def test_owner_and_masks(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt, "uid=1234,gid=2345,dmask=027,fmask=137")
    os.mkdir(os.path.join(mnt, "d"))
    f = os.path.join(mnt, "d", "f")
    write_file(f, b"data")
    st, dst = os.stat(f), os.stat(os.path.join(mnt, "d"))
    check((st.st_uid, st.st_gid) == (1234, 2345), f"owner {st.st_uid}:{st.st_gid}")
    check(stat.S_IMODE(st.st_mode) == 0o640, f"file mode {oct(st.st_mode)}")
    check(stat.S_IMODE(dst.st_mode) == 0o750, f"dir mode {oct(dst.st_mode)}")
    # chown: only to the mount's owner; chmod: the owner's write bit is the READ_ONLY attribute.
    expect_errno(errno.EPERM, os.chown, f, 0, 0)
    os.chown(f, 1234, 2345)
    os.chmod(f, 0o444)
    check(stat.S_IMODE(os.stat(f).st_mode) == 0o440, f"after chmod 444: {oct(os.stat(f).st_mode)}")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)

    proc = env.mount_worker(dev, mnt, "umask=077,noexec")
    st = os.stat(f)
    check(stat.S_IMODE(st.st_mode) == 0o400, f"read-only file after remount: {oct(st.st_mode)}")
    check(stat.S_IMODE(os.stat(os.path.join(mnt, "d")).st_mode) == 0o700, "dir mode with umask=077")
    check((st.st_uid, st.st_gid) == (0, 0), "default owner is the caller")
    os.chmod(f, 0o644)
    check(stat.S_IMODE(os.stat(f).st_mode) == 0o600, f"noexec file after chmod 644: {oct(os.stat(f).st_mode)}")
    check("noexec" in run("findmnt", "-n", "-o", "OPTIONS", "-M", mnt).stdout, "noexec not a mount flag")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    # fmask=0 shows the stored attribute alone: the file is writable again.
    proc = env.mount_worker(dev, mnt, "fmask=0")
    check(stat.S_IMODE(os.stat(f).st_mode) == 0o777, f"fmask=0: {oct(os.stat(f).st_mode)}")
    env.unmount_worker(mnt, proc)


def test_dirty_volume(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    itest.set_dirty_flag(dev)
    proc = env.mount_worker(dev, mnt)
    expect_errno(errno.EROFS, os.mkdir, os.path.join(mnt, "d"))
    check("ro" in run("findmnt", "-n", "-o", "OPTIONS", "-M", mnt).stdout.split(",")[0:1], "not mounted ro")
    err = env.unmount_worker(mnt, proc)
    check("dirty" in err.lower() and "force" in err, f"no clear message on stderr: {err!r}")
    check(itest.dirty_flag(dev), "read-only mount cleared VolumeDirty")

    proc = env.mount_worker(dev, mnt, "force")
    os.mkdir(os.path.join(mnt, "d"))
    write_file(os.path.join(mnt, "d", "f"), b"forced")
    env.unmount_worker(mnt, proc)
    # The library keeps a flag it found set: the volume was not known clean before this mount.
    p = run("fsck.exfat", "-n", dev, check_rc=False)
    check(p.returncode == 0, f"fsck after forced mount: {p.stdout}")
    itest.set_dirty_flag(dev, False)
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "d", "f")) == b"forced", "data written with force")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)


def test_busy_device(env):
    dev = env.image()
    mnt, mnt2 = env.mkdir("mnt"), env.mkdir("mnt2")
    proc = env.mount_worker(dev, mnt)
    env.mount_worker(dev, mnt2, expect_fail=True)
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)


def test_signal_unmounts(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "f"), os.urandom(300000))
    data = read_file(os.path.join(mnt, "f"))
    proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        raise itest.TestFailure("worker did not exit after SIGTERM")
    check(proc.returncode == 0, f"worker exited {proc.returncode} after SIGTERM")
    check(not itest.is_mounted(mnt), "still mounted after SIGTERM")
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "f")) == data, "data after SIGTERM")
    env.unmount_worker(mnt, proc)


def test_signal_while_busy(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    busy = open(os.path.join(mnt, "open"), "wb")
    busy.write(b"b" * 5000)
    busy.flush()
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    check(proc.poll() is None and itest.is_mounted(mnt), "a busy mount went away on the first SIGTERM")
    proc.send_signal(signal.SIGTERM)  # the second one detaches lazily
    itest.wait_for(lambda: not itest.is_mounted(mnt), 10, "lazy detach")
    check(proc.poll() is None, "worker exited while a file was still open")
    busy.write(b"c" * 5000)
    busy.close()
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        raise itest.TestFailure("worker still running after the last file closed")
    check(proc.returncode == 0, f"worker exited {proc.returncode}: {err}")
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "open")) == b"b" * 5000 + b"c" * 5000, "data of the busy file")
    env.unmount_worker(mnt, proc)


def test_sync_and_times(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt, "sync")
    f = os.path.join(mnt, "f")
    write_file(f, b"sync" * 5000)
    os.utime(f, ns=(1_600_000_000_000_000_000, 1_600_000_000_120_000_000))
    # With sync every change is on the device at once: fsck sees a consistent volume now.
    p = run("fsck.exfat", "-n", dev, check_rc=False)
    check(p.returncode == 0, f"fsck while mounted with sync: {p.stdout}")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt)
    st = os.stat(f)
    check(st.st_mtime_ns == 1_600_000_000_120_000_000, f"mtime {st.st_mtime_ns}")
    check(read_file(f) == b"sync" * 5000, "content")
    before = time.time()
    os.utime(f)
    check(abs(os.stat(f).st_mtime - before) < 3, "utime(NULL) sets now")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)


def test_parallel_io(env):
    """Several writers and O_DIRECT readers at once: the loop is multi-threaded and the library
    must keep files apart."""
    import concurrent.futures
    import random
    dev = env.image(size_mb=256)
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    shared = os.urandom(16 << 20)
    write_file(os.path.join(mnt, "shared"), shared)

    def writer(i):
        rng = random.Random(i)
        data = bytearray(rng.randbytes(8 << 20))
        path = os.path.join(mnt, f"w{i}")
        with open(path, "wb") as f:
            f.write(data)
            for _ in range(200):
                off = rng.randrange(0, len(data) - 65536)
                chunk = rng.randbytes(rng.randrange(1, 65536))
                f.seek(off)
                f.write(chunk)
                data[off:off + len(chunk)] = chunk
        return path, hashlib.sha256(data).hexdigest()

    def reader(i):
        rng = random.Random(100 + i)
        fd = os.open(os.path.join(mnt, "shared"), os.O_RDONLY | os.O_DIRECT)
        try:
            for _ in range(300):
                off = rng.randrange(0, len(shared))
                n = rng.randrange(1, 1 << 20)
                got = os.pread(fd, n, off)
                if got != shared[off:off + n]:
                    return f"reader {i}: wrong data at {off}+{n}"
        finally:
            os.close(fd)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        writes = [pool.submit(writer, i) for i in range(4)]
        reads = [pool.submit(reader, i) for i in range(4)]
        for r in reads:
            check(r.result() is None, r.result())
        sums = [w.result() for w in writes]
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    for path, digest in sums:
        check(hashlib.sha256(read_file(path)).hexdigest() == digest, f"content of {path}")
    check(read_file(os.path.join(mnt, "shared")) == shared, "shared file")
    env.unmount_worker(mnt, proc)


def test_parallel_metadata(env):
    """Threads creating, renaming and deleting in one directory at once (PARALLEL_DIROPS)."""
    import concurrent.futures
    dev = env.image(size_mb=128)
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    shared = os.path.join(mnt, "shared dir")
    os.mkdir(shared)

    def churn(t):
        kept = set()
        for i in range(400):
            a = os.path.join(shared, f"t{t} n{i} é")
            write_file(a, f"{t}/{i}".encode())
            if i % 3 == 0:
                os.rename(a, a + " renamed")
                kept.add(os.path.basename(a) + " renamed")
            elif i % 3 == 1:
                os.unlink(a)
            else:
                kept.add(os.path.basename(a))
            if i % 50 == 0:
                os.listdir(shared)
        return kept

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        expected = set().union(*pool.map(churn, range(4)))
    check(set(os.listdir(shared)) == expected, "listing after parallel changes")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    check(set(os.listdir(shared)) == expected, "listing after remount")
    for n in sorted(expected)[:50]:
        t, i = n.split(" ")[0][1:], n.split(" ")[1][1:]
        check(read_file(os.path.join(shared, n)) == f"{t}/{i}".encode(), f"content of {n}")
    env.unmount_worker(mnt, proc)


def test_names_and_links(env):
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "Größe Ärger"), b"1")
    # Names are case-insensitive (through the volume's up-case table) and case-preserving.
    check(read_file(os.path.join(mnt, "GRÖSSE ÄRGER".replace("SS", "ß"))) == b"1", "lookup in other case")
    expect_errno(errno.EEXIST, os.open, os.path.join(mnt, "größe ärger"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    check(os.listdir(mnt) == ["Größe Ärger"], f"listing {os.listdir(mnt)}")
    for bad in ["a:b", "q?", "star*", "pipe|", "lt<", 'quote"', "back\\slash", "ctl\x01"]:
        expect_errno(errno.EINVAL, os.open, os.path.join(mnt, bad), os.O_CREAT | os.O_WRONLY)
    expect_errno(errno.ENAMETOOLONG, os.mkdir, os.path.join(mnt, "n" * 256))
    os.mkdir(os.path.join(mnt, "😀" * 127))  # 254 UTF-16 units (508 UTF-8 bytes): allowed
    expect_errno(errno.EPERM, os.link, os.path.join(mnt, "Größe Ärger"), os.path.join(mnt, "hard"))
    expect_errno(errno.EPERM, os.symlink, "target", os.path.join(mnt, "sym"))
    expect_errno(errno.EPERM, os.mkfifo, os.path.join(mnt, "fifo"))
    expect_errno(errno.EINVAL, os.rename, os.path.join(mnt, "Größe Ärger"), os.path.join(mnt, "x:y"))
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)


def test_big_directory(env):
    dev = env.image(size_mb=128)
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    d = os.path.join(mnt, "big")
    os.mkdir(d)
    names = {f"fichier numéro {i} 📁 {'x' * (i % 90)}" for i in range(3000)}
    for n in names:
        open(os.path.join(d, n), "wb").close()
    check(set(os.listdir(d)) == names, "listing of 3000 files")
    check(len(list(os.scandir(d))) == 3000, "scandir count")
    removed = sorted(names)[::2]
    for n in removed:
        os.unlink(os.path.join(d, n))
    names -= set(removed)
    check(set(os.listdir(d)) == names, "listing after deleting half")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    check(set(os.listdir(d)) == names, "listing after remount")
    st = [os.stat(os.path.join(d, n)).st_size for n in sorted(names)[:100]]
    check(st == [0] * 100, "stat of listed files")
    env.unmount_worker(mnt, proc)


def test_full_volume(env):
    dev = env.image(size_mb=16)
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "keep"), b"k" * 100000)
    failed = None
    try:
        with open(os.path.join(mnt, "huge"), "wb") as f:
            for _ in range(40):
                f.write(b"\xa5" * (1 << 20))
    except OSError as e:
        failed = e.errno
    check(failed == errno.ENOSPC, f"filling the volume gave {failed}, expected ENOSPC")
    sv = os.statvfs(mnt)
    # A write the volume cannot hold entirely may fail whole: less than one write stays free.
    check(sv.f_bavail * sv.f_frsize < (1 << 20), f"{sv.f_bavail} clusters still free")
    os.unlink(os.path.join(mnt, "huge"))
    write_file(os.path.join(mnt, "after"), b"a" * 1000000)
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev)
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "keep")) == b"k" * 100000, "file written before the volume filled")
    check(read_file(os.path.join(mnt, "after")) == b"a" * 1000000, "file written after freeing space")
    env.unmount_worker(mnt, proc)


def test_pinned_by_namespace(env):
    """Another mount namespace made while mounted keeps a copy of the mount: the host's umount
    then destroys nothing and no DESTROY comes. The worker must notice and finish anyway."""
    dev = env.image()
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    write_file(os.path.join(mnt, "f"), b"pinned" * 10000)
    holder = env.spawn("unshare", "-m", "--propagation", "private", "sleep", "60")
    time.sleep(0.3)
    check(holder.poll() is None, "unshare failed")
    err = env.unmount_worker(mnt, proc, timeout=20)
    check("another mount namespace" in err, f"worker stderr: {err!r}")
    holder.kill()
    holder.wait()
    itest.fsck_clean(dev, "after the pinned unmount")
    proc = env.mount_worker(dev, mnt, "ro")
    check(read_file(os.path.join(mnt, "f")) == b"pinned" * 10000, "data")
    env.unmount_worker(mnt, proc)


if __name__ == "__main__":
    itest.main([
        test_help_version,
        test_mount_basic,
        test_unknown_option,
        test_not_exfat,
        test_read_ahead,
        test_read_only,
        test_reads_around_device_cache,
        test_owner_and_masks,
        test_dirty_volume,
        test_busy_device,
        test_signal_unmounts,
        test_signal_while_busy,
        test_sync_and_times,
        test_parallel_io,
        test_parallel_metadata,
        test_names_and_links,
        test_big_directory,
        test_full_volume,
        test_pinned_by_namespace,
    ])
