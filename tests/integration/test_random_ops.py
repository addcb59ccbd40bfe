#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seeded random file and directory operations on an exfat-worker mount, mirrored on tmpfs.

Every operation runs on both trees and must give the same result (or the same errno). At a
third and at two thirds the volume is unmounted, checked, remounted and compared; at the end it
is checked again and the whole tree (names, types, sizes, contents, write bits, set modification
times) compared with the mirror. EXFAT_SEED and EXFAT_OPS reproduce a run."""

import os
import random
import shutil
import tempfile

import itest
from randomops import Runner, compare_trees

SEED = int(os.environ.get("EXFAT_SEED", random.SystemRandom().randrange(1 << 32)))
OPS = int(os.environ.get("EXFAT_OPS", "15000"))


def test_random_ops(env):
    itest.log(f"seed {SEED}, {OPS} operations (EXFAT_SEED={SEED} EXFAT_OPS={OPS} to reproduce)")
    rng = random.Random(SEED)
    dev = env.image(size_mb=512, cluster=rng.choice(["4K", "32K", "128K"]))
    mnt = env.mkdir("mnt")
    mirror = tempfile.mkdtemp(prefix="exfat-mirror-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env.callback(shutil.rmtree, mirror, ignore_errors=True)

    runner = Runner(rng, mnt, mirror)
    proc = env.mount_worker(dev, mnt)
    for i in range(OPS):
        if i in (OPS // 3, 2 * OPS // 3):
            env.unmount_worker(mnt, proc)
            itest.fsck_clean(dev, f"after {i} operations")
            proc = env.mount_worker(dev, mnt)
            compare_trees(runner, mnt, mirror)
        runner.step()
    env.unmount_worker(mnt, proc)
    itest.fsck_clean(dev, "at the end")
    proc = env.mount_worker(dev, mnt, "ro")
    n = compare_trees(runner, mnt, mirror)
    env.unmount_worker(mnt, proc)
    itest.log(f"{n} entries identical; operations: {dict(runner.stats)}")


if __name__ == "__main__":
    itest.main([test_random_ops])
