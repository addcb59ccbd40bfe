# SPDX-License-Identifier: MIT
"""Seeded random file and directory operations mirrored on a second tree (tmpfs), shared by
test_random_ops (exfat-worker alone) and test_interop_random (exfat-worker and exfat-fuse on one
volume). Runner.step() runs one operation on both trees; the results or errnos must agree.
compare_trees() compares a mounted tree with the mirror."""

import collections
import errno
import hashlib
import os
import stat

import itest
from itest import check

DATA_BUDGET = 160 << 20

NAME_BASES = [
    "a", "file", "café", "naïve", "Ünïcödé", "😀", "🎉 party", "日本語テキスト", "ñandú", "Ελληνικά",
    "emoji🙂mix", "dots.in.name.txt", "with  spaces", "x" * 180, "🦄" * 50, "Crème brûlée",
]


class Mismatch(itest.TestFailure):
    pass


class Runner:
    data_budget = DATA_BUDGET

    def __init__(self, rng, mnt, mirror):
        self.rng = rng
        self.roots = (mirror, mnt)
        self.files = {}         # relpath -> {"ro": bool, "mtime": ns or None}
        self.dirs = {""}
        self.counter = 0
        self.history = collections.deque(maxlen=25)
        self.stats = collections.Counter()

    # -- helpers -------------------------------------------------------------------------
    def name(self):
        self.counter += 1
        return f"{self.rng.choice(NAME_BASES)}_{self.counter}"

    def pick_dir(self):
        return self.rng.choice(sorted(self.dirs))

    def pick_file(self):
        return self.rng.choice(sorted(self.files)) if self.files else None

    @staticmethod
    def join(parent, name):
        return f"{parent}/{name}" if parent else name

    def data_size(self):
        return sum(os.path.getsize(os.path.join(self.roots[0], f)) for f in self.files)

    def both(self, desc, fn):
        """Runs fn(root) on the mirror then on the mount; results and errnos must agree."""
        self.history.append(desc)
        out = []
        for root in self.roots:
            try:
                out.append(("ok", fn(root)))
            except OSError as e:
                out.append(("err", errno.errorcode.get(e.errno, e.errno)))
        if out[0] != out[1]:
            shown = [(k, v if not isinstance(v, bytes) else f"<{len(v)} bytes>") for k, v in out]
            raise Mismatch(f"{desc}: mirror {shown[0]} vs exfat {shown[1]}\nlast operations:\n  " +
                           "\n  ".join(self.history))
        return out[0][0] == "ok"

    def writable(self, rel):
        if self.files[rel]["ro"]:
            self.both(f"chmod u+w {rel}", lambda r: os.chmod(os.path.join(r, rel), 0o644))
            self.files[rel]["ro"] = False

    def payload(self):
        kind = self.rng.random()
        if kind < 0.45:
            n = self.rng.randrange(0, 200)
        elif kind < 0.9:
            n = self.rng.randrange(200, 200_000)
        else:
            n = self.rng.randrange(1 << 20, 6 << 20)
        return self.rng.randbytes(n)

    # -- operations ----------------------------------------------------------------------
    def op_create(self):
        rel = self.join(self.pick_dir(), self.name())
        data = self.payload()

        def f(root):
            with open(os.path.join(root, rel), "xb") as fh:
                fh.write(data)
        if self.both(f"create {rel} ({len(data)} bytes)", f):
            self.files[rel] = {"ro": False, "mtime": None}

    def op_write(self):
        rel = self.pick_file()
        if not rel:
            return
        self.writable(rel)
        size = os.path.getsize(os.path.join(self.roots[0], rel))
        off = self.rng.randrange(0, size + (1 << 20) if self.rng.random() < 0.2 else size + 1)
        data = self.payload()[: self.rng.choice([1, 100, 5000, 70000, 1 << 21])]

        def f(root):
            with open(os.path.join(root, rel), "r+b") as fh:
                fh.seek(off)
                fh.write(data)
        self.both(f"write {rel} @{off} +{len(data)}", f)
        self.files[rel]["mtime"] = None

    def op_append(self):
        rel = self.pick_file()
        if not rel:
            return
        self.writable(rel)
        data = self.payload()[:100_000]

        def f(root):
            with open(os.path.join(root, rel), "ab") as fh:
                fh.write(data)
        self.both(f"append {rel} +{len(data)}", f)
        self.files[rel]["mtime"] = None

    def op_truncate(self):
        rel = self.pick_file()
        if not rel:
            return
        self.writable(rel)
        size = os.path.getsize(os.path.join(self.roots[0], rel))
        new = self.rng.randrange(0, size + 1) if self.rng.random() < 0.6 else size + self.rng.randrange(1, 3 << 20)
        def f(root):
            path = os.path.join(root, rel)
            if size == new == 0:
                # The mirror's quirk: tmpfs leaves the mtime of an empty file truncated to 0 by path
                # (ext4 and exfat-worker stamp it, as for every other truncate); by fd it stamps it.
                # Same SETATTR for the worker.
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.ftruncate(fd, 0)
                finally:
                    os.close(fd)
            else:
                os.truncate(path, new)
        self.both(f"truncate {rel} {size}->{new}", f)
        self.files[rel]["mtime"] = None

    def op_read(self):
        rel = self.pick_file()
        if not rel:
            return

        def f(root):
            # On the exFAT side O_DIRECT bypasses the page cache: the bytes come from the worker.
            direct = os.O_DIRECT if root == self.roots[1] else 0
            fd = os.open(os.path.join(root, rel), os.O_RDONLY | direct)
            try:
                h = hashlib.sha256()
                while chunk := os.read(fd, 1 << 20):
                    h.update(chunk)
                return h.hexdigest()
            finally:
                os.close(fd)
        self.both(f"read {rel}", f)

    def op_rename_file(self):
        rel = self.pick_file()
        if not rel:
            return
        r = self.rng.random()
        if r < 0.3 and len(self.files) > 1:
            target = self.pick_file()      # replace an existing file (maybe itself)
        elif r < 0.4:
            target = self.pick_dir() or rel  # over a directory: EISDIR (or onto itself)
        elif r < 0.7:
            target = self.join(os.path.dirname(rel), self.name())
        else:
            target = self.join(self.pick_dir(), self.name())
        ok = self.both(f"rename {rel} -> {target}",
                       lambda root: os.rename(os.path.join(root, rel), os.path.join(root, target)))
        if ok and target != rel:
            self.files[target] = self.files.pop(rel)

    def op_rename_dir(self):
        src = self.pick_dir()
        if not src:
            return
        r = self.rng.random()
        if r < 0.3:
            target = self.pick_dir()       # over a directory (empty or not, maybe inside itself)
        else:
            target = self.join(self.pick_dir(), self.name())
        if not target:
            return
        ok = self.both(f"rename dir {src} -> {target}",
                       lambda root: os.rename(os.path.join(root, src), os.path.join(root, target)))
        if ok and target != src:
            def move(p):
                return target + p[len(src):] if p == src or p.startswith(src + "/") else p
            self.dirs.discard(target)  # an empty directory it replaced
            self.dirs = {move(d) for d in self.dirs}
            self.files = {move(f): v for f, v in self.files.items()}

    def op_mkdir(self):
        parent = self.pick_dir()
        if parent.count("/") >= 8:
            return
        rel = self.join(parent, self.name())
        if self.both(f"mkdir {rel}", lambda r: os.mkdir(os.path.join(r, rel))):
            self.dirs.add(rel)

    def op_rmdir(self):
        rel = self.pick_dir()
        if not rel:
            return
        if self.both(f"rmdir {rel}", lambda r: os.rmdir(os.path.join(r, rel))):
            self.dirs.discard(rel)

    def op_unlink(self):
        rel = self.pick_file()
        if not rel:
            return
        if self.both(f"unlink {rel}", lambda r: os.unlink(os.path.join(r, rel))):
            del self.files[rel]

    def op_chmod(self):
        rel = self.pick_file()
        if not rel:
            return
        ro = self.rng.random() < 0.5
        self.both(f"chmod {'a-w' if ro else 'u+w'} {rel}",
                  lambda r: os.chmod(os.path.join(r, rel), 0o444 if ro else 0o644))
        self.files[rel]["ro"] = ro

    def op_utime(self):
        rel = self.pick_file()
        if not rel:
            return
        # exFAT keeps modification times to 10 ms, from 1980 to 2107.
        mtime = self.rng.randrange(315_532_800_00, 4_354_819_199_00) * 10_000_000
        self.both(f"utime {rel} {mtime}", lambda r: os.utime(os.path.join(r, rel), ns=(mtime, mtime)))
        self.files[rel]["mtime"] = mtime

    def op_listdir(self):
        rel = self.pick_dir()
        self.both(f"listdir {rel}", lambda r: sorted(os.listdir(os.path.join(r, rel))))

    def weights(self):
        """The operation mix: (operation, weight). Subclasses change it."""
        return [(self.op_create, 14), (self.op_write, 10), (self.op_append, 6), (self.op_truncate, 6),
                (self.op_read, 8), (self.op_rename_file, 8), (self.op_rename_dir, 3), (self.op_mkdir, 6),
                (self.op_rmdir, 3), (self.op_unlink, 6), (self.op_chmod, 4), (self.op_utime, 5),
                (self.op_listdir, 4)]

    def step(self):
        ops = self.weights()
        if self.data_size() > self.data_budget:
            ops = [(o, w) for o, w in ops if o not in (self.op_create, self.op_append, self.op_write)]
            ops.append((self.op_unlink, 20))
        op = self.rng.choices([o for o, _ in ops], weights=[w for _, w in ops])[0]
        self.stats[op.__name__] += 1
        op()


def snapshot(root, runner):
    tree, mtimes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            tree[os.path.relpath(os.path.join(dirpath, d), root)] = ("dir",)
        for f in filenames:
            p = os.path.join(dirpath, f)
            rel = os.path.relpath(p, root)
            st = os.stat(p)
            with open(p, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
            meta = runner.files.get(rel, {})
            tree[rel] = ("file", st.st_size, digest, bool(st.st_mode & stat.S_IWUSR),
                         meta.get("mtime") and st.st_mtime_ns)
            mtimes[rel] = st.st_mtime
    return tree, mtimes


def compare_trees(runner, mnt, mirror):
    (a, mtimes_a), (b, mtimes_b) = snapshot(mirror, runner), snapshot(mnt, runner)
    if a != b:
        diff = [f"{k}: mirror {a.get(k)} exfat {b.get(k)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        raise itest.TestFailure(f"{len(diff)} differences:\n  " + "\n  ".join(diff[:20]))
    for rel, meta in runner.files.items():
        if meta["mtime"] is not None:
            got = os.stat(os.path.join(mnt, rel)).st_mtime_ns
            check(got == meta["mtime"], f"mtime of {rel}: {got}, set {meta['mtime']}")
        else:
            # Changed by writes: both trees were changed by the same operation, moments apart.
            check(abs(mtimes_a[rel] - mtimes_b[rel]) < 2, f"mtime of {rel}: mirror {mtimes_a[rel]} exfat {mtimes_b[rel]}")
    return len(a)
