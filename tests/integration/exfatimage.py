# SPDX-License-Identifier: MIT
"""A small, independent reader of exFAT images for the integration tests (Microsoft exFAT
specification: boot sector, FAT, allocation bitmap, directory entry sets). It shares nothing with
libexfat or exfatprogs, so that a misreading in either does not hide itself.

Image(path).walk() returns every file and directory with its stream fields, and accounts for
clusters: every cluster reachable from an entry (files, directories, bitmap, up-case table,
vendor allocations) is compared with the allocation bitmap:
  leaked       marked in use, owned by nothing (what a crash before an entry is written leaves)
  unmarked     owned, but free in the bitmap (a later allocation would hand it out twice)
  crosslinked  owned twice (two files, or one file twice)
and structural problems (bad chains, bad checksums, ValidDataLength > DataLength, ...) are listed
in Walk.errors. Image.read(entry) reads a file's contents (zeros past ValidDataLength)."""

import dataclasses
import datetime
import struct

EOC = 0xFFFFFFFF
BAD = 0xFFFFFFF7


@dataclasses.dataclass
class Entry:
    path: str
    is_dir: bool
    attributes: int
    first_cluster: int
    data_length: int
    valid_length: int
    no_fat_chain: bool
    mtime: datetime.datetime    # LastModified: timestamp + 10 ms field + UTC offset (UTC)
    mtime_raw: tuple            # (timestamp, 10 ms increment, UTC offset byte) as stored
    clusters: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Walk:
    entries: dict               # path -> Entry
    leaked: int = 0
    unmarked: int = 0
    crosslinked: int = 0
    errors: list = dataclasses.field(default_factory=list)
    owners: dict = dataclasses.field(default_factory=dict)    # cluster -> first owner's path


def set_checksum(raw):
    s = 0
    for i, b in enumerate(raw):
        if i in (2, 3):
            continue
        s = (((s & 1) << 15) | (s >> 1)) + b
        s &= 0xFFFF
    return s


def decode_time(ts, ten_ms, utc):
    """A DOS timestamp, its 10 ms increment (0-199) and UTC offset byte, as an aware datetime."""
    year = 1980 + (ts >> 25)
    month = (ts >> 21) & 0xF
    day = (ts >> 16) & 0x1F
    hour = (ts >> 11) & 0x1F
    minute = (ts >> 5) & 0x3F
    sec = (ts & 0x1F) * 2
    try:
        t = datetime.datetime(year, month, day, hour, minute, sec, tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    t += datetime.timedelta(milliseconds=10 * ten_ms)
    if utc & 0x80:
        off = utc & 0x7F
        if off & 0x40:
            off -= 0x80
        t -= datetime.timedelta(minutes=15 * off)
    return t


class Image:
    def __init__(self, path):
        self.f = open(path, "rb")
        b = self.pread(0, 512)
        if b[3:11] != b"EXFAT   " or b[510:512] != b"\x55\xaa":
            raise ValueError(f"{path}: not an exFAT boot sector")
        (self.volume_length, self.fat_offset, self.fat_length, self.heap_offset, self.cluster_count,
         self.root_cluster, self.serial) = struct.unpack_from("<QIIIIII", b, 72)
        self.flags = struct.unpack_from("<H", b, 106)[0]
        self.sector = 1 << b[108]
        self.cluster = self.sector << b[109]
        self.fats = b[110]
        self.fat = self.pread(self.fat_offset * self.sector, (self.cluster_count + 2) * 4)

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def pread(self, off, n):
        self.f.seek(off)
        return self.f.read(n)

    @property
    def dirty(self):
        return bool(self.flags & 2)

    def fat_get(self, c):
        return struct.unpack_from("<I", self.fat, 4 * c)[0]

    def cluster_offset(self, c):
        return self.heap_offset * self.sector + (c - 2) * self.cluster

    def chain(self, first, length, no_fat_chain, what, errors, directory=False):
        """The clusters of a stream of length bytes (for a FAT-chained directory of unknown length,
        directory=True follows the chain to its end)."""
        if first == 0:
            if length:
                errors.append(f"{what}: DataLength {length} without a first cluster")
            return []
        if not 2 <= first < self.cluster_count + 2:
            errors.append(f"{what}: first cluster {first} out of range")
            return []
        n = -(-length // self.cluster)
        if no_fat_chain:
            if first + n > self.cluster_count + 2:
                errors.append(f"{what}: contiguous run {first}+{n} past the end of the heap")
                return []
            return list(range(first, first + n))
        out, seen, c = [], set(), first
        while directory or len(out) < n:
            if not 2 <= c < self.cluster_count + 2:
                errors.append(f"{what}: FAT link to {c:#x} after {len(out)} of {n} clusters")
                return out
            if c in seen:
                errors.append(f"{what}: FAT chain loops at cluster {c}")
                return out
            seen.add(c)
            out.append(c)
            c = self.fat_get(c)
            if c == EOC:
                break
        if not directory and len(out) < n:
            errors.append(f"{what}: FAT chain of {len(out)} clusters for DataLength {length} ({n} clusters)")
        if not directory and len(out) == n and c != EOC:
            errors.append(f"{what}: FAT chain goes on past DataLength {length} ({n} clusters; next {c:#x})")
        return out

    def read_clusters(self, clusters, length):
        parts, left = [], length
        for c in clusters:
            if left <= 0:
                break
            k = min(left, self.cluster)
            parts.append(self.pread(self.cluster_offset(c), k))
            left -= k
        return b"".join(parts)

    def read(self, e, raw=False):
        """A file's DataLength bytes: what is stored up to ValidDataLength, then zeros (raw: what
        is stored in the clusters all the way, as a reader ignoring ValidDataLength sees it)."""
        data = self.read_clusters(e.clusters, e.data_length)
        if raw:
            return data
        return data[:e.valid_length] + bytes(e.data_length - min(e.valid_length, e.data_length))

    def walk(self):
        w = Walk(entries={})
        owners = w.owners

        def own(clusters, path):
            for c in clusters:
                if c in owners:
                    w.crosslinked += 1
                    w.errors.append(f"cluster {c} owned by {owners[c]!r} and {path!r}")
                else:
                    owners[c] = path

        def walk_dir(clusters, length, dpath, depth):
            if depth > 64:
                w.errors.append(f"{dpath!r}: directories nested too deep")
                return
            data = self.read_clusters(clusters, length)
            i, n = 0, len(data) // 32
            while i < n:
                t = data[32 * i]
                if t == 0:
                    break
                if t < 0x80:                    # deleted / unused
                    i += 1
                    continue
                e = data[32 * i: 32 * i + 32]
                if t in (0x81, 0x82) and dpath == "":
                    first, dl = struct.unpack_from("<IQ", e, 20)
                    own(self.chain(first, dl, False, f"{'bitmap' if t == 0x81 else 'up-case table'}", w.errors),
                        "<bitmap>" if t == 0x81 else "<up-case>")
                    if t == 0x81:
                        self.bitmap_first, self.bitmap_length = first, dl
                    i += 1
                elif t == 0x85:
                    count = e[1]
                    raw = data[32 * i: 32 * (i + 1 + count)]
                    i += 1 + count
                    if count < 2 or len(raw) < 32 * (1 + count):
                        w.errors.append(f"{dpath!r}: file entry with SecondaryCount {count}")
                        continue
                    if set_checksum(raw) != struct.unpack_from("<H", raw, 2)[0]:
                        w.errors.append(f"{dpath!r}: entry set with a bad SetChecksum")
                        continue
                    attributes = struct.unpack_from("<H", raw, 4)[0]
                    mts, m10, mutc = struct.unpack_from("<I", raw, 12)[0], raw[21], raw[23]
                    s = raw[32:64]
                    if s[0] != 0xC0:
                        w.errors.append(f"{dpath!r}: file entry without a stream extension")
                        continue
                    flags, name_len = s[1], s[3]
                    vdl, first, dl = struct.unpack_from("<Q", s, 8)[0], *struct.unpack_from("<IQ", s, 20)
                    units = b"".join(raw[32 * k + 2: 32 * k + 32] for k in range(2, 1 + count)
                                     if raw[32 * k] == 0xC1)
                    name = units[: 2 * name_len].decode("utf-16-le", "surrogatepass")
                    path = f"{dpath}/{name}" if dpath else name
                    if path in w.entries:
                        w.errors.append(f"{path!r}: two entries of this name")
                    is_dir = bool(attributes & 0x10)
                    if vdl > dl:
                        w.errors.append(f"{path!r}: ValidDataLength {vdl} > DataLength {dl}")
                    ent = Entry(path, is_dir, attributes, first, dl, vdl, bool(flags & 2),
                                decode_time(mts, m10, mutc), (mts, m10, mutc))
                    ent.clusters = self.chain(first, dl, bool(flags & 2), repr(path), w.errors)
                    own(ent.clusters, path)
                    for k in range(2, 1 + count):        # vendor allocations
                        x = raw[32 * k: 32 * k + 32]
                        if x[0] == 0xE1 and x[1] & 1:
                            f1, l1 = struct.unpack_from("<IQ", x, 20)
                            own(self.chain(f1, l1, bool(x[1] & 2), f"{path!r} vendor allocation", w.errors), path)
                    w.entries[path] = ent
                    if is_dir:
                        walk_dir(ent.clusters, dl, path, depth + 1)
                else:
                    i += 1 + (e[1] if 0x80 <= t < 0xC0 else 0)

        root = self.chain(self.root_cluster, 0, False, "root directory", w.errors, directory=True)
        own(root, "<root>")
        self.bitmap_first = None
        walk_dir(root, len(root) * self.cluster, "", 0)
        if self.bitmap_first is None:
            w.errors.append("no allocation bitmap entry in the root")
            return w
        bm = self.pread(self.cluster_offset(self.bitmap_first), (self.cluster_count + 7) // 8)
        for k in range(self.cluster_count):
            used = (bm[k >> 3] >> (k & 7)) & 1
            owned = (k + 2) in owners
            if used and not owned:
                w.leaked += 1
            elif owned and not used:
                w.unmarked += 1
        return w
