#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mountd-sandbox-cost.py [N [VARIANT,...]] — not a test: what each sandbox property of the worker
# unit (daemon/mountd/units.c) costs at start-up, run inside the box:
#   tests/box/run --build BUILD tests/box/mountd-sandbox-cost.py 25
#   tests/box/run --build BUILD tests/box/mountd-sandbox-cost.py 40 "full,- ProtectKernelTunables"
# Each variant starts /bin/echo in a transient unit with systemd-run --pipe; the time to the first
# byte on its stdout is the unit's start-up (systemd-run's own start-up is the same in every
# variant). Variants are interleaved (rotated round-robin). Keep FULL in step with units.c.
import statistics, subprocess, sys, time, os

FULL = {
    "DynamicUser": "yes", "NoNewPrivileges": "yes", "PrivateDevices": "yes", "PrivateNetwork": "yes",
    "PrivateTmp": "yes", "PrivateIPC": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes", "ProtectHostname": "yes",
    "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes", "RemoveIPC": "yes", "PrivateUsers": "yes",
    "CapabilityBoundingSet": "", "AmbientCapabilities": "", "RestrictNamespaces": "yes", "UMask": "0077",
    "MemoryMax": "512M", "TasksMax": "64", "SystemCallArchitectures": "native",
    "RestrictAddressFamilies": "AF_UNIX", "SystemCallFilter": "@system-service",
    "SystemCallFilter ": "~@privileged @mount @resources", "SystemCallErrorNumber": "EPERM",
    "ProtectSystem": "strict", "ProtectHome": "yes", "ProtectProc": "invisible", "ProcSubset": "pid",
    "DevicePolicy": "closed", "KeyringMode": "private", "Type": "exec", "User": "exfat-worker-bench",
}

def without(*keys):
    return {k: v for k, v in FULL.items() if k.strip() not in keys}

def plus(**kw):
    d = dict(FULL); d.update({k.replace("_", " "): v for k, v in kw.items()}); return d

VARIANTS = {
    "full (units.c)": FULL,
    "- ProtectKernelTunables": without("ProtectKernelTunables"),
    "- ProtectKernelModules": without("ProtectKernelModules"),
    "- ProtectKernelLogs": without("ProtectKernelLogs"),
    "- ProtectControlGroups": without("ProtectControlGroups"),
    "- PrivateNetwork": without("PrivateNetwork"),
    "- PrivateDevices": without("PrivateDevices", "DevicePolicy"),
    "- PrivateIPC": without("PrivateIPC"),
    "- PrivateUsers": without("PrivateUsers"),
    "- ProtectClock": without("ProtectClock"),
    "- ProtectHostname": without("ProtectHostname"),
    "- ProtectProc/ProcSubset": without("ProtectProc", "ProcSubset"),
    "- ProtectSystem/ProtectHome": without("ProtectSystem", "ProtectHome"),
    "- DynamicUser (User=nobody)": dict(without("DynamicUser"), User="nobody"),
    "- SystemCallFilter": without("SystemCallFilter", "SystemCallErrorNumber"),
    "+ TemporaryFileSystem=/sys:ro": dict(FULL, TemporaryFileSystem="/sys:ro"),
    "+ InaccessiblePaths=/sys": dict(FULL, InaccessiblePaths="/sys"),
    "no sandbox": {"Type": "exec"},
    "- all file-system namespacing": without("ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
        "ProtectControlGroups", "PrivateDevices", "DevicePolicy", "PrivateTmp", "ProtectSystem", "ProtectHome",
        "ProtectProc", "ProcSubset", "DynamicUser", "ProtectHostname", "ProtectClock", "PrivateIPC", "PrivateNetwork",
        "PrivateUsers", "User") | {"User": "nobody"},
    "only DynamicUser": {"Type": "exec", "DynamicUser": "yes"},
    "only ProtectKernelTunables": {"Type": "exec", "ProtectKernelTunables": "yes"},
    "only PrivateNetwork": {"Type": "exec", "PrivateNetwork": "yes"},
    "only PrivateUsers": {"Type": "exec", "PrivateUsers": "yes"},
    "only PrivateTmp": {"Type": "exec", "PrivateTmp": "yes"},
    "only PrivateDevices": {"Type": "exec", "PrivateDevices": "yes"},
    "only ProtectSystem=strict": {"Type": "exec", "ProtectSystem": "strict"},
}

def once(props):
    cmd = ["systemd-run", "--pipe", "-q", "--collect"]
    for k, v in props.items():
        cmd += ["-p", f"{k.strip()}={v}"]
    cmd += ["/bin/echo", "x"]
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = p.stdout.read(1)
    secs = time.monotonic() - t
    p.wait()
    if not first:
        raise SystemExit(f"variant failed: {p.stderr.read().decode()} {cmd}")
    return secs

def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    names = list(VARIANTS)
    only = sys.argv[2] if len(sys.argv) > 2 else None
    if only:
        names = [x for x in names if any(o in x for o in only.split(","))]
    res = {k: [] for k in names}
    for i in range(n):
        rot = names[i % len(names):] + names[:i % len(names)]
        for k in rot:
            res[k].append(once(VARIANTS[k]))
    base = statistics.median(res[names[0]])
    print(f"| variant | n | median ms | p90 ms | vs full ms |\n|---|---|---|---|---|")
    for k in names:
        xs = sorted(res[k])
        med = statistics.median(xs)
        p90 = xs[min(len(xs) - 1, -(-9 * len(xs) // 10) - 1)]
        print(f"| {k} | {len(xs)} | {med*1000:.1f} | {p90*1000:.1f} | {(med-base)*1000:+.1f} |")
    print("/sys submounts in the box:", sum(1 for l in open("/proc/self/mountinfo") if l.split()[4].startswith("/sys")))

main()
