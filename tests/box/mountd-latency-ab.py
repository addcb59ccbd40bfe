#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mountd-latency-ab.py BIN_A BIN_B [BLOCKS [PER_BLOCK]] — not a test: an A/B measurement of Mount and
# Unmount latency (busctl call, as root and as alice) of two exfat-mountd binaries, run inside the
# box. The binaries take turns in blocks (A B, B A, ...; the daemon is restarted on each switch with
# the binary bind-mounted over the installed one), so load swings of a shared machine hit both
# alike. Both binaries must lie inside the build directory (the only host path visible in the box):
#   cp OLD_BUILD/daemon/mountd/exfat-mountd BUILD/exfat-mountd-A
#   BOX_POLKIT_RULES=tests/bench/bench-alice.rules tests/box/run --build BUILD \
#       tests/box/mountd-latency-ab.py BUILD/exfat-mountd-A BUILD/daemon/mountd/exfat-mountd 10 5
import os, statistics, subprocess, sys, time

BUS, MGR, IFACE = "org.exfat.Mountd1", "/org/exfat/Mountd1", "org.exfat.Mountd1.Manager"
INSTALLED = "/usr/libexec/exfat-mountd"

def sh(*c):
    return subprocess.run(c, check=True, text=True, capture_output=True).stdout

def as_user(user, cmd):
    if user == "root":
        return cmd
    addr = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/dbus/system_bus_socket")
    return ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "env",
            f"DBUS_SYSTEM_BUS_ADDRESS={addr}", "HOME=/"] + cmd

def call(user, *a):
    cmd = as_user(user, ["busctl", "--system", "--timeout=60", "call", BUS, MGR, IFACE] + list(a))
    t = time.monotonic()
    r = subprocess.run(cmd, text=True, capture_output=True)
    s = time.monotonic() - t
    if r.returncode:
        raise SystemExit(f"{a} as {user}: {r.stderr}")
    return s

def use(binary):
    subprocess.run(["systemctl", "stop", "exfat-mountd.service"], check=True)
    subprocess.run(["umount", INSTALLED], stderr=subprocess.DEVNULL)
    sh("mount", "--bind", binary, INSTALLED)
    sh("busctl", "--system", "introspect", BUS, MGR)  # activation

def p90(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, -(-9 * len(xs) // 10) - 1)]

def main():
    a, b = sys.argv[1], sys.argv[2]
    blocks = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    sh("mount", "-t", "tmpfs", "-o", "size=300m", "ab", "/mnt")
    img = "/mnt/img"
    open(img, "wb").close()
    os.truncate(img, 256 << 20)
    sh("mkfs.exfat", "-L", "AB", img)
    dev = sh("losetup", "-f", "--show", img).strip()
    os.makedirs("/etc/exfat-mountd", exist_ok=True)
    open("/etc/exfat-mountd/removable-devices", "a").write(dev + "\n")
    res = {}
    try:
        for i in range(blocks):
            for name, binary in ((("A", a), ("B", b)) if i % 2 == 0 else (("B", b), ("A", a))):
                use(binary)
                for user in ("root", "alice"):
                    for _ in range(per):
                        res.setdefault((name, user, "Mount"), []).append(call(user, "Mount", "sa{sv}", dev, "0"))
                        res.setdefault((name, user, "Unmount"), []).append(call(user, "Unmount", "sa{sv}", dev, "0"))
    finally:
        subprocess.run(["systemctl", "stop", "exfat-mountd.service"])
        subprocess.run(["umount", INSTALLED])
        subprocess.run(["losetup", "-d", dev])
    print(f"A = {a}\nB = {b}\n{blocks} blocks of {per} cycles per user, alternating A/B; load {os.getloadavg()[0]:.1f}\n")
    print("| call | A median | A p90 | B median | B p90 | B − A median |\n|---|---|---|---|---|---|")
    for user in ("root", "alice"):
        for op in ("Mount", "Unmount"):
            xa, xb = res[("A", user, op)], res[("B", user, op)]
            ma, mb = statistics.median(xa), statistics.median(xb)
            print(f"| {op} ({user}, n={len(xa)}) | {ma*1000:.1f} | {p90(xa)*1000:.1f} | {mb*1000:.1f} | {p90(xb)*1000:.1f} | {(mb-ma)*1000:+.1f} |")

main()
