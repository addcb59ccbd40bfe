#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Interoperability with exfat-fuse (mount.exfat-fuse): a tree written by exfat-worker reads back
identically through exfat-fuse, and the other way round; fsck.exfat is clean after each."""

import hashlib
import os
import random
import shutil

import itest
from itest import check

NAMES = ["plain.txt", "café au lait", "naïve résumé.doc", "😀 smile", "日本語", "Ελληνικά.txt",
         "🎉🎉🎉", "ñandú", "UPPER lower MiXeD", "a" * 200, "x.y.z", "Ünïcödé 🦄 mix"]


def make_tree(rng, root):
    """Writes a tree below root; returns {relpath: ("dir",) | ("file", size, sha256, mtime_s)}."""
    tree = {}
    dirs = [""]
    for i in range(12):
        parent = rng.choice(dirs)
        if parent.count("/") >= 4:
            parent = ""
        rel = os.path.join(parent, f"{rng.choice(NAMES)} d{i}")
        os.mkdir(os.path.join(root, rel))
        dirs.append(rel)
        tree[rel] = ("dir",)
    sizes = [0, 1, 511, 4096, 4097, 65536, 100_000, 1 << 20, 3 * (1 << 20) + 123]
    for i in range(40):
        rel = os.path.join(rng.choice(dirs), f"{rng.choice(NAMES)} f{i}")
        data = rng.randbytes(rng.choice(sizes))
        p = os.path.join(root, rel)
        with open(p, "wb") as f:
            f.write(data)
        mtime = rng.randrange(400_000_000, 4_000_000_000)
        os.utime(p, (mtime, mtime))
        tree[rel] = ("file", len(data), hashlib.sha256(data).hexdigest(), mtime)
    return tree


def read_tree(root):
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            tree[os.path.relpath(os.path.join(dirpath, d), root)] = ("dir",)
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                data = fh.read()
            st = os.stat(p)
            tree[os.path.relpath(p, root)] = ("file", st.st_size, hashlib.sha256(data).hexdigest(),
                                              int(st.st_mtime))
    return tree


def compare(expected, got, what):
    if expected != got:
        diff = [f"{k}: expected {expected.get(k)} got {got.get(k)}"
                for k in sorted(set(expected) | set(got)) if expected.get(k) != got.get(k)]
        raise itest.TestFailure(f"{what}: {len(diff)} differences:\n  " + "\n  ".join(diff[:20]))


def require_exfat_fuse():
    if not shutil.which("mount.exfat-fuse"):
        itest.log("SKIP: mount.exfat-fuse missing")
        raise SystemExit(77)


def test_worker_to_exfat_fuse(env):
    rng = random.Random(1)
    dev = env.image(size_mb=128, label="WORKER")
    mnt = env.mkdir("mnt")
    proc = env.mount_worker(dev, mnt)
    tree = make_tree(rng, mnt)
    compare(tree, read_tree(mnt), "exfat-worker before unmount")
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "after exfat-worker wrote")
    env.mount_exfat_fuse(dev, mnt, "ro")
    compare(tree, read_tree(mnt), "exfat-fuse reading exfat-worker's tree")
    env.unmount_exfat_fuse(mnt)
    itest.fsck_clean(dev, "after exfat-fuse read")


def test_exfat_fuse_to_worker(env):
    rng = random.Random(2)
    dev = env.image(size_mb=128, label="FUSE", cluster="64K")
    mnt = env.mkdir("mnt")
    env.mount_exfat_fuse(dev, mnt)
    tree = make_tree(rng, mnt)
    env.unmount_exfat_fuse(mnt)
    itest.fsck_clean(dev, "after exfat-fuse wrote")
    proc = env.mount_worker(dev, mnt)
    compare(tree, read_tree(mnt), "exfat-worker reading exfat-fuse's tree")
    # Change it through the worker and hand it back.
    victims = sorted(k for k, v in tree.items() if v[0] == "file")[:5]
    for rel in victims:
        os.unlink(os.path.join(mnt, rel))
        del tree[rel]
    base = os.path.join(next(k for k, v in sorted(tree.items()) if v[0] == "dir"), "added by worker 🛠")
    os.mkdir(os.path.join(mnt, base))
    tree[base] = ("dir",)
    more = make_tree(random.Random(3), os.path.join(mnt, base))
    tree.update({os.path.join(base, k): v for k, v in more.items()})
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "after exfat-worker changed it")
    env.mount_exfat_fuse(dev, mnt, "ro")
    got = read_tree(mnt)
    compare(tree, got, "exfat-fuse reading the changed tree")
    env.unmount_exfat_fuse(mnt)
    itest.fsck_clean(dev, "at the end")


if __name__ == "__main__":
    require_exfat_fuse()
    itest.main([test_worker_to_exfat_fuse, test_exfat_fuse_to_worker])
