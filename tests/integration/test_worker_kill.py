#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Crash consistency of exfat-worker: kill -9 at a random moment of a random workload.

Each round: a fresh volume (256 MiB, a cluster size drawn from the round's seed) mounted by the
standalone worker; a separate process (this file with --workload) runs random operations on it
(creates, writes anywhere, appends, truncates down and up, renames with and without replacing,
directory renames, mkdir, rmdir, unlink, fsync of files and directories, pauses that let the idle
write-back run) and journals every operation before issuing it and again once it returned. A timer
thread of that process sends the worker SIGKILL a random delay after an operation drawn from the
seed starts: any operation (delay up to 50 ms, sometimes 0.5 s or into a pause, when the idle
write-back runs), or the first fsync from there on (up to 10 ms: metadata write-back and device
flush in progress), or the first large write or truncate (up to 10 ms: write-behind in flight).
The workload's next call fails (ENOTCONN) and it stops; the dead mount is unmounted.
Then, on the volume the dead worker left:
  - fsck.exfat -n finds at most what an unclean unmount may leave: its only complaints may be
    "more clusters are allocated" (a FAT chain grown before the new size reached the entry: clusters
    allocated, not yet referenced). fsck.exfat 1.2 checks neither leaked clusters nor VolumeDirty;
  - an independent walk of the image (exfatimage.py) finds no cluster owned twice, no owned
    cluster free in the bitmap, no broken chain, checksum or size (leaked clusters are counted:
    allowed);
  - read-only through the worker: every name listed is one the workload gave (as a file or as a
    directory), stats and reads back (and equals what exfatimage reads from the image); every
    byte of every file is zero or a byte that a write to that file (under any of its names) put at
    that offset: each write's data is a pattern of 8-byte units (write tag, unit index), so a
    stray byte (another file's, a deleted file's, an older file's at another offset) is recognised;
  - every file fsynced and not touched since (no write, truncate, rename of it or of a directory
    above it, unlink, replace) reads back exactly, at its path.

Environment: EXFAT_SEED (first round's seed; round i uses seed + i), EXFAT_KILL_ROUNDS (6),
EXFAT_KILL_SECONDS (time box: no round starts after it, 60), EXFAT_KEEP_IMAGE (a directory: a failed
round's image and journal are copied there). The moment of the kill depends on timing as well as on
the seed: a failure's seed reruns the same workload and kill point, not always the same interleaving;
the kept image and journal are the exact reproducer. tests/integration/soak-worker-kill runs many
rounds."""

import array
import collections
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

NAMES = ["a", "file", "café", "naïve", "😀", "日本語", "Ελληνικά", "with  spaces", "x" * 120, "🦄" * 30]
DATA_BUDGET = 64 << 20
IMAGE_MB = 256


def pattern(tag, off, n):
    """n bytes of write tag's data at file offset off: 8-byte units (tag, unit index), little-endian."""
    if n == 0:
        return b""
    k0, k1 = off // 8, (off + n + 7) // 8
    a = array.array("I", bytes(8 * (k1 - k0)))
    a[0::2] = array.array("I", [tag]) * (k1 - k0)
    a[1::2] = array.array("I", range(k0 & 0xFFFFFFFF, k1 & 0xFFFFFFFF))
    if sys.byteorder != "little":
        a.byteswap()
    b = a.tobytes()
    return b[off - 8 * k0: off - 8 * k0 + n]


# ---- the workload (a separate process) --------------------------------------------------------

class Workload:
    def __init__(self, mnt, journal, seed):
        self.mnt = mnt
        self.rng = random.Random(seed ^ 0x5EED)
        self.fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.files = {}          # id -> [path, size]
        self.dirs = {""}
        self.counter = 0
        self.tag = 0
        self.n = 0

    def log(self, rec):
        os.write(self.fd, (json.dumps(rec, ensure_ascii=False) + "\n").encode())

    def p(self, rel):
        return os.path.join(self.mnt, rel)

    def name(self):
        self.counter += 1
        return f"{self.rng.choice(NAMES)}_{self.counter}"

    @staticmethod
    def join(parent, name):
        return f"{parent}/{name}" if parent else name

    def pick_file(self):
        return self.rng.choice(sorted(self.files)) if self.files else None

    def pick_dir(self):
        return self.rng.choice(sorted(self.dirs))

    def size_drawn(self):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.randrange(0, 300)
        if r < 0.85:
            return self.rng.randrange(300, 300_000)
        return self.rng.randrange(1 << 20, 4 << 20)

    def live(self):
        return sum(s for _, s in self.files.values())

    def write_all(self, fd, data, off):
        mv = memoryview(data)
        while mv:
            k = os.pwrite(fd, mv, off)
            mv, off = mv[k:], off + k

    # each op_* returns the journal record (written before the call) and a function doing it
    def op_create(self):
        rel = self.join(self.pick_dir(), self.name())
        fid, n = self.counter, self.size_drawn()
        self.tag += 1
        tag = self.tag

        def do():
            fd = os.open(self.p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                self.write_all(fd, pattern(tag, 0, n), 0)
            finally:
                os.close(fd)
            self.files[fid] = [rel, n]
        return {"op": "create", "id": fid, "path": rel, "tag": tag, "len": n}, do

    def op_write(self, append=False):
        fid = self.pick_file()
        if fid is None:
            return None
        rel, size = self.files[fid]
        if append:
            off = size
        elif self.rng.random() < 0.25:
            off = size + self.rng.randrange(0, 1 << 20)          # past the end, maybe after a gap
        else:
            off = self.rng.randrange(0, size + 1)
        n = min(self.size_drawn(), 2 << 20)
        self.tag += 1
        tag = self.tag

        def do():
            fd = os.open(self.p(rel), os.O_WRONLY | (os.O_APPEND if append else 0))
            try:
                if append:
                    data = pattern(tag, off, n)
                    mv = memoryview(data)
                    while mv:
                        mv = mv[os.write(fd, mv):]
                else:
                    self.write_all(fd, pattern(tag, off, n), off)
            finally:
                os.close(fd)
            self.files[fid][1] = max(size, off + n)
        return {"op": "append" if append else "write", "id": fid, "path": rel, "tag": tag, "off": off,
                "len": n}, do

    def op_append(self):
        return self.op_write(append=True)

    def op_truncate(self):
        fid = self.pick_file()
        if fid is None:
            return None
        rel, size = self.files[fid]
        new = (self.rng.randrange(0, size + 1) if self.rng.random() < 0.5
               else size + self.rng.randrange(1, 3 << 20))

        def do():
            os.truncate(self.p(rel), new)
            self.files[fid][1] = new
        return {"op": "truncate", "id": fid, "path": rel, "size": new}, do

    def op_fsync(self):
        fid = self.pick_file()
        if fid is None:
            return None
        rel = self.files[fid][0]

        def do():
            fd = os.open(self.p(rel), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return {"op": "fsync", "id": fid, "path": rel}, do

    def op_fsync_dir(self):
        rel = self.pick_dir()

        def do():
            fd = os.open(self.p(rel) if rel else self.mnt, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return {"op": "fsync_dir", "path": rel}, do

    def op_rename(self):
        fid = self.pick_file()
        if fid is None:
            return None
        src = self.files[fid][0]
        victim = None
        if self.rng.random() < 0.3 and len(self.files) > 1:
            victim = self.rng.choice(sorted(set(self.files) - {fid}))
            dst = self.files[victim][0]
        else:
            dst = self.join(self.pick_dir(), self.name())

        def do():
            os.rename(self.p(src), self.p(dst))
            if victim is not None:
                del self.files[victim]
            self.files[fid][0] = dst
        return {"op": "rename", "id": fid, "src": src, "dst": dst, "replaced": victim}, do

    def op_rename_dir(self):
        src = self.pick_dir()
        if not src:
            return None
        parents = [d for d in sorted(self.dirs) if d != src and not d.startswith(src + "/")]
        dst = self.join(self.rng.choice(parents), self.name())

        def move(p):
            return dst + p[len(src):] if p == src or p.startswith(src + "/") else p

        def do():
            os.rename(self.p(src), self.p(dst))
            self.dirs = {move(d) for d in self.dirs}
            for f in self.files.values():
                f[0] = move(f[0])
        return {"op": "rename_dir", "src": src, "dst": dst}, do

    def op_mkdir(self):
        parent = self.pick_dir()
        if parent.count("/") >= 5:
            return None
        rel = self.join(parent, self.name())

        def do():
            os.mkdir(self.p(rel))
            self.dirs.add(rel)
        return {"op": "mkdir", "path": rel}, do

    def op_rmdir(self):
        empty = [d for d in sorted(self.dirs) if d and not any(x.startswith(d + "/") for x in self.dirs)
                 and not any(f[0].startswith(d + "/") for f in self.files.values())]
        if not empty:
            return None
        rel = self.rng.choice(empty)

        def do():
            os.rmdir(self.p(rel))
            self.dirs.discard(rel)
        return {"op": "rmdir", "path": rel}, do

    def op_unlink(self):
        fid = self.pick_file()
        if fid is None:
            return None
        rel = self.files[fid][0]

        def do():
            os.unlink(self.p(rel))
            del self.files[fid]
        return {"op": "unlink", "id": fid, "path": rel}, do

    def op_pause(self):
        s = self.rng.uniform(1.5, 2.6)     # past the idle write-back's 2 s
        return {"op": "pause", "s": s}, lambda: time.sleep(s)

    def armed(self, rec, kill):
        """Whether the kill is armed at this operation: at operation kill["at"] ("any"), or at the
        first fsync ("fsync") or large write, create or growing truncate ("write") from there on."""
        if self.n < kill["at"]:
            return False
        kind = kill["kind"]
        if kind == "fsync":
            return rec["op"] in ("fsync", "fsync_dir")
        if kind == "write":
            return rec.get("len", 0) >= 256 << 10 or rec["op"] == "truncate"
        return True

    def run(self, kill, max_ops=100_000):
        ops = [(self.op_create, 14), (self.op_write, 14), (self.op_append, 6), (self.op_truncate, 10),
               (self.op_fsync, 10), (self.op_fsync_dir, 2), (self.op_rename, 7), (self.op_rename_dir, 2),
               (self.op_mkdir, 5), (self.op_rmdir, 2), (self.op_unlink, 7), (self.op_pause, 0.4)]
        timer = None
        while self.n < max_ops:
            choice = ops
            if self.live() > DATA_BUDGET:
                choice = [(o, w) for o, w in ops if o not in (self.op_create, self.op_write, self.op_append)]
                choice.append((self.op_unlink, 30))
            op = self.rng.choices([o for o, _ in choice], weights=[w for _, w in choice])[0]
            got = op()
            if got is None:
                continue
            rec, do = got
            self.n += 1
            rec["n"] = self.n
            self.log(rec)
            if timer is None and self.armed(rec, kill):
                # SIGKILL to the worker kill["delay"] s after this call starts, from another thread.
                self.log({"kill": self.n, "kind": kill["kind"], "delay": kill["delay"]})
                timer = threading.Timer(kill["delay"], os.kill, (kill["pid"], signal.SIGKILL))
                timer.start()
            t = time.monotonic()
            try:
                do()
            except OSError as e:
                self.log({"n": self.n, "err": errno.errorcode.get(e.errno, str(e.errno))})
                return
            self.log({"n": self.n, "ok": 1, "ms": round(1000 * (time.monotonic() - t), 2)})
        self.log({"end": self.n})


def workload_main(argv):
    mnt, journal, seed, kill = argv[0], argv[1], int(argv[2]), json.loads(argv[3])
    Workload(mnt, journal, seed).run(kill)


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--workload":
    workload_main(sys.argv[2:])
    sys.exit(0)


# ---- the test ---------------------------------------------------------------------------------

import exfatimage  # noqa: E402
import itest       # noqa: E402
from itest import check  # noqa: E402

SEED = int(os.environ.get("EXFAT_SEED", random.SystemRandom().randrange(1 << 32)))
ROUNDS = int(os.environ.get("EXFAT_KILL_ROUNDS", "6"))
SECONDS = float(os.environ.get("EXFAT_KILL_SECONDS", "60"))
FSCK_ALLOWED = ("more clusters are allocated",)


class Model:
    """The journal replayed: what each file (by id) was given, under which names, and which files
    were fsynced and not touched since."""

    def __init__(self, records):
        self.writes = collections.defaultdict(list)   # id -> [(tag, off, len)]
        self.names = collections.defaultdict(set)     # basename -> ids that had it
        self.dir_names = set()
        self.content = {}                             # id -> bytearray, after every returned call
        self.before = {}                              # id -> content before the call in flight
        self.path = {}                                # id -> path (live files)
        self.synced = {}                              # id -> (path, bytes) fsynced, untouched since
        self.ops = 0
        self.in_flight = None
        self.error = None
        done = {r["n"] for r in records if "ok" in r}
        self.armed = None
        for r in records:
            if "kill" in r:
                self.armed = r["kill"]
            if "err" in r:
                self.error = r
            if "op" not in r:
                continue
            self.ops = r["n"]
            returned = r["n"] in done
            if not returned:
                self.in_flight = r
                self.before = {i: bytes(c) for i, c in self.content.items()}
            self.apply(r, returned)

    def touch(self, fid):
        self.synced.pop(fid, None)

    def apply(self, r, returned):
        op = r["op"]
        base = os.path.basename
        if op == "create":
            fid = r["id"]
            self.names[base(r["path"])].add(fid)
            self.writes[fid].append((r["tag"], 0, r["len"]))
            self.content[fid] = bytearray(pattern(r["tag"], 0, r["len"]))
            self.path[fid] = r["path"]
        elif op in ("write", "append"):
            fid, off, n = r["id"], r["off"], r["len"]
            self.touch(fid)
            self.writes[fid].append((r["tag"], off, n))
            c = self.content[fid]
            if len(c) < off:
                c.extend(bytes(off - len(c)))
            c[off:off + n] = pattern(r["tag"], off, n)
        elif op == "truncate":
            fid = r["id"]
            self.touch(fid)
            c = self.content[fid]
            if r["size"] < len(c):
                del c[r["size"]:]
            else:
                c.extend(bytes(r["size"] - len(c)))
        elif op == "fsync":
            if returned:
                self.synced[r["id"]] = (self.path[r["id"]], bytes(self.content[r["id"]]))
        elif op == "rename":
            fid = r["id"]
            self.touch(fid)
            self.names[base(r["dst"])].add(fid)
            if r["replaced"] is not None:
                self.touch(r["replaced"])
                self.path.pop(r["replaced"], None)
            self.path[fid] = r["dst"]
        elif op == "rename_dir":
            src, dst = r["src"], r["dst"]
            self.dir_names.add(base(dst))
            for fid, p in list(self.path.items()):
                if p.startswith(src + "/"):
                    self.touch(fid)
                    self.path[fid] = dst + p[len(src):]
        elif op == "mkdir":
            self.dir_names.add(base(r["path"]))
        elif op == "unlink":
            self.touch(r["id"])
            self.path.pop(r["id"], None)


def stray_bytes(page, off, writes, limit=8):
    """Offsets of the bytes of page (a file's bytes from off, a multiple of 8) that are neither zero
    nor what one of writes [(tag, offset, length)] put there (at most limit of them)."""
    by_tag = collections.defaultdict(list)
    for tag, o, n in writes:
        if o + n > off and o < off + len(page):
            by_tag[tag].append((o - off, o + n - off))
    n = len(page)
    pad = bytes(page) + bytes(-n % 8)
    words = memoryview(pad).cast("I")
    base = off // 8
    bad = []
    for k in range(len(pad) // 8):
        lo, hi = words[2 * k], words[2 * k + 1]
        if lo == 0 and hi == 0:
            continue
        a, b = 8 * k, min(8 * k + 8, n)
        unit = (base + k) & 0xFFFFFFFF
        if hi == unit and any(o <= a and b <= e for o, e in by_tag.get(lo, ())):
            continue
        for j in range(a, b):           # a unit made of several writes, or a stray one
            v = pad[j]
            if v == 0:
                continue
            ok = False
            for tag, ranges in by_tag.items():
                if any(o <= j < e for o, e in ranges):
                    w = unit if j % 8 >= 4 else tag
                    if (w >> (8 * (j % 4))) & 0xFF == v:
                        ok = True
                        break
            if not ok:
                bad.append(off + j)
                if len(bad) >= limit:
                    return bad
    return bad


def check_file(data, cands, model):
    """Offsets of bytes (a few) of a file's contents that no write gave it: cands are the ids that
    had its name."""
    writes = [w for fid in cands for w in model.writes[fid]]
    # Fast path, 64 KiB at a time: a piece equal to a candidate's content (after the last call
    # that returned, or before the call in flight) is made of given bytes, and so is zeros.
    refs = [model.content[f] for f in cands if f in model.content] + \
           [model.before[f] for f in cands if f in model.before]
    for off in range(0, len(data), 65536):
        piece = data[off:off + 65536]
        if not any(piece) or any(ref[off:off + 65536] == piece for ref in refs):
            continue
        bad = stray_bytes(piece, off, writes)
        if bad:
            return bad
    return []


def classify_fsck(output):
    """fsck.exfat -n's complaints that an unclean unmount may not leave."""
    bad = []
    for line in output.splitlines():
        if not line.startswith("ERROR:"):
            continue
        if any(a in line for a in FSCK_ALLOWED):
            continue
        bad.append(line)
    return bad


def kill_round(env, seed):
    t0 = time.monotonic()
    rng = random.Random(seed)
    cluster = rng.choice([None, "4K", "32K", "128K"])
    kill_at = rng.randrange(1, 300)
    r = rng.random()
    if r < 0.35:     # inside an fsync: metadata write-back and device flush
        kind, delay = "fsync", rng.uniform(0, 0.01)
    elif r < 0.5:    # inside a large write (write-behind in flight) or a truncate
        kind, delay = "write", rng.uniform(0, 0.01)
    else:            # anywhere, sometimes during the idle write-back of a pause
        kind = "any"
        r = rng.random()
        delay = rng.uniform(0, 0.05) if r < 0.7 else rng.uniform(0, 0.5) if r < 0.9 else rng.uniform(1.5, 2.6)
    img = env.path("disk.img")
    dev = env.image(size_mb=IMAGE_MB, cluster=cluster)
    mnt = env.mkdir("mnt")
    journal = env.path("journal")
    proc = env.mount_worker(dev, mnt)
    out_path = env.path("workload.out")
    kill = {"pid": proc.pid, "at": kill_at, "kind": kind, "delay": delay}
    with open(out_path, "w") as out:
        child = env.spawn(sys.executable, os.path.abspath(__file__), "--workload", mnt, journal, str(seed),
                          json.dumps(kill), stdout=out, stderr=subprocess.STDOUT)

    def child_output():
        with open(out_path) as f:
            return f.read()

    def records():
        with open(journal, encoding="utf-8") as f:
            return [json.loads(x) for x in f.read().splitlines() if x.endswith("}")]

    try:
        child.wait(timeout=180)
    except subprocess.TimeoutExpired:
        raise itest.TestFailure(f"the workload was still running 180 s after it started; last records: "
                                f"{records()[-4:]}")
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise itest.TestFailure(f"the worker still runs after the workload ended: {child_output()}\n"
                                f"last journal records: {records()[-4:]}")
    if proc.returncode != -signal.SIGKILL:
        raise itest.TestFailure(f"the worker exited {proc.returncode} before it was killed: "
                                f"{proc.stderr.read()}\nlast journal records: {records()[-4:]}")
    if child.returncode != 0:
        raise itest.TestFailure(f"the workload exited {child.returncode}: {child_output()}")
    # The dead mount: plain umount once nothing is open (the workload has exited); lazily if not.
    if subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL).returncode != 0:
        itest.run("umount", "-l", mnt)
    itest.wait_for(lambda: not itest.is_mounted(mnt), 10, f"{mnt} to be unmounted")

    recs = records()
    model = Model(recs)
    check(model.error is not None and model.error["n"] == model.ops,
          f"the workload stopped without an error from the dead mount: {recs[-3:]}")
    # The workload's error must come from the dead connection: at or after the operation during
    # which the kill was armed, and ENOTCONN (a new request), ECONNABORTED or EIO (a request the
    # kernel aborted in flight: seen once for a write, seed 7043).
    check(model.armed is not None and model.error["n"] >= model.armed and
          model.error["err"] in ("ENOTCONN", "ECONNABORTED", "EIO"),
          f"operation {model.error['n']} failed with {model.error['err']}, the kill armed at operation "
          f"{model.armed}: {[x for x in recs if x.get('n') == model.error['n']]}")
    t_kill = time.monotonic()
    desc = (f"killed after {model.ops} operations ({kind} kill armed at {model.armed}, "
            f"+{delay * 1000:.1f} ms), in flight: {model.in_flight}")
    problems = []

    p = itest.run("fsck.exfat", "-n", dev, check_rc=False)
    bad = classify_fsck(p.stdout)
    if bad or (p.returncode != 0 and not any(a in p.stdout for a in FSCK_ALLOWED)):
        problems.append(f"fsck.exfat -n exited {p.returncode}:\n{p.stdout}")
    fsck_note = "clean" if p.returncode == 0 else f"exit {p.returncode}, allowed: chain longer than size"

    with exfatimage.Image(dev) as im:
        walk = im.walk()
        raw = {path: im.read(e) for path, e in walk.entries.items() if not e.is_dir}
    errors = [e for e in walk.errors if "goes on past DataLength" not in e]
    if walk.crosslinked or walk.unmarked or errors:
        problems.append(f"image walk: {walk.crosslinked} clusters owned twice, {walk.unmarked} owned but free "
                        f"in the bitmap; " + "; ".join(errors[:10]))

    worker = env.mount_worker(dev, mnt, "ro")
    seen = set()
    for dirpath, dirnames, filenames in os.walk(mnt, onerror=lambda e: problems.append(f"listing: {e}")):
        for d in dirnames:
            rel = os.path.relpath(os.path.join(dirpath, d), mnt)
            if d not in model.dir_names:
                problems.append(f"{rel}: a directory of a name the workload never gave a directory")
        for f in filenames:
            rel = os.path.relpath(os.path.join(dirpath, f), mnt)
            seen.add(rel)
            cands = model.names.get(f)
            if not cands:
                problems.append(f"{rel}: a file of a name the workload never gave a file")
                continue
            try:
                st = os.stat(os.path.join(mnt, rel))
                with open(os.path.join(mnt, rel), "rb") as fh:
                    data = fh.read()
            except OSError as e:
                problems.append(f"{rel}: listed, but {e}")
                continue
            if st.st_size != len(data):
                problems.append(f"{rel}: stat says {st.st_size} bytes, read gives {len(data)}")
            if raw.get(rel) != data:
                problems.append(f"{rel}: the worker reads {len(data)} bytes, the image walk "
                                f"{len(raw[rel]) if rel in raw else 'no such file'} (or other bytes)")
            bad = check_file(data, cands, model)
            if bad:
                problems.append(f"{rel} (size {len(data)}, file ids {sorted(cands)}): bytes no write gave it "
                                f"at offsets {bad}")
    synced = 0
    for fid, (path, content) in model.synced.items():
        synced += 1
        if path not in seen:
            problems.append(f"{path}: fsynced and untouched since, but missing")
            continue
        with open(os.path.join(mnt, path), "rb") as fh:
            data = fh.read()
        if data != content:
            off = next((i for i, (x, y) in enumerate(zip(data, content)) if x != y), min(len(data), len(content)))
            problems.append(f"{path}: fsynced and untouched since, reads {len(data)} bytes, "
                            f"{len(content)} written; first difference at {off}")
    env.unmount_worker(mnt, worker)

    if problems:
        keep = os.environ.get("EXFAT_KEEP_IMAGE")
        kept = ""
        if keep:
            shutil.copyfile(img, os.path.join(keep, f"kill-{seed}.img"))
            shutil.copyfile(journal, os.path.join(keep, f"kill-{seed}.journal"))
            kept = f"\nimage and journal kept in {keep}/kill-{seed}.img, .journal"
        raise itest.TestFailure(f"{desc}:\n  " + "\n  ".join(problems[:20]) + kept)
    itest.log(f"  seed {seed}: killed after {model.ops} operations ({kind} +{delay * 1000:.1f} ms), "
              f"{len(seen)} files read back, {synced} fsynced ones exact, {walk.leaked} clusters leaked, "
              f"fsck {fsck_note} "
              f"({t_kill - t0:.1f} s to the kill, {time.monotonic() - t_kill:.1f} s of checks)")


def main():
    itest.require_root()
    itest.private_mount_namespace()
    itest.log(f"seed {SEED}, up to {ROUNDS} rounds, {SECONDS:.0f} s "
              f"(EXFAT_SEED={SEED} EXFAT_KILL_ROUNDS={ROUNDS} to reproduce)")
    start = time.monotonic()
    failed = []
    done = 0
    for i in range(ROUNDS):
        if time.monotonic() - start > SECONDS:
            break
        seed = (SEED + i) & 0xFFFFFFFF
        try:
            with itest.Env() as env:
                kill_round(env, seed)
        except (itest.TestFailure, subprocess.SubprocessError, OSError, AssertionError) as e:
            itest.log(f"FAIL: round seed {seed}: {e}\nreproduce: EXFAT_SEED={seed} EXFAT_KILL_ROUNDS=1 "
                      f"EXFAT_WORKER=<build>/daemon/worker/exfat-worker python3 {os.path.abspath(__file__)}"
                      f" (the kill's moment also depends on timing: rerun a few times)")
            failed.append(seed)
        done += 1
    itest.log(f"{done} rounds in {time.monotonic() - start:.0f} s, {len(failed)} failed")
    if failed:
        itest.log(f"FAILED rounds: {' '.join(map(str, failed))}")
        sys.exit(1)
    itest.log("all passed")


if __name__ == "__main__":
    main()
