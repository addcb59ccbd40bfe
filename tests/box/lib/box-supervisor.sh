#!/bin/bash
# SPDX-License-Identifier: MIT
# Owns one box's life, in a session of its own so that neither Ctrl-C nor a test runner killing
# tests/box/run's process group can cut a teardown short: starts the box, then tears it down when its
# standard input reaches end of file — when run closes the pipe, or when run dies in any way, even by
# SIGKILL. Exit status 0 when nothing was left behind, 99 otherwise.
#
# Environment (from tests/box/run): BOX_DIR, BOX_STAGE, BOX_UNITS, BOX_KEEP, BOX_POLKIT_RULES,
# BOX_MARKER (a file in the host's /tmp that must survive), BOX_TAG (cgroup name), BOX_INIT.
# Writes $BOX_DIR/supervisor.pid (stale sweeps of other runs leave the box alone while it lives) and
# $BOX_DIR/unshare.pid once the box is started.
#
# Teardown releases what killing the box's processes would not, touching only what the box made:
#  - FUSE connections of mounts in any of the box's mount namespaces whose device the host has not
#    mounted (a server can hang at exit waiting for a DESTROY from itself, keeping the PID namespace
#    and its loop device alive forever): aborted through the box's fusectl;
#  - loop devices whose backing file, looked up in the box, is that very inode on a file system the
#    host has not mounted (the box's tmpfs or overlays).
set -u
# One compound command, read whole before it runs: editing this file while boxes are up (the tree
# is shared) cannot change what a running instance does next.
{
trap '' PIPE HUP INT

say() {
        echo "box: $*" >&2 2>/dev/null
}

status=0
unshare_pid=
cg_dirs=()

field3() {
        local stat
        stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
        stat=${stat##*) }
        echo "${stat%% *}"
}

alive() {
        local s
        s=$(field3 "$1") && [ "$s" != Z ] && [ "$s" != X ]
}

# ---- cgroups: one below ours in every hierarchy, the box's cgroup namespace root -----------------

make_cgroups() {
        local mnt fstype opts ctl path d f
        while read -r mnt fstype opts; do
                case "$fstype" in
                cgroup2) ctl= ;;
                cgroup) ctl=$(tr ',' '\n' <<<"$opts" |
                        grep -vxE 'rw|ro|nosuid|nodev|noexec|relatime|clone_children|xattr|nsdelegate|memory_recursiveprot|favordynmods' |
                        paste -sd,) ;;
                *) continue ;;
                esac
                # /proc/self/cgroup lists "id:controllers:path"; the cgroup2 line has no controllers.
                path=$(awk -F: -v c="$ctl" '$2 == c { print $3 }' /proc/self/cgroup)
                [ -n "$path" ] || continue
                d=$(readlink -m "$mnt/$path/$BOX_TAG")
                mkdir "$d" || return 1
                cg_dirs+=("$d")
                # A v1 cpuset cgroup takes no process until it has CPUs and memory nodes.
                for f in cpuset.cpus cpuset.mems; do
                        [ -e "$d/$f" ] && cat "$(dirname "$d")/$f" >"$d/$f"
                done
        done < <(awk '$5 ~ "^/sys/fs/cgroup" { for (i = 7; $i != "-"; i++) ; print $5, $(i + 1), $(i + 3) }' /proc/self/mountinfo)
        [ ${#cg_dirs[@]} -gt 0 ]
}

remove_cgroups() {
        local d
        for d in "${cg_dirs[@]}"; do
                [ -d "$d" ] || continue
                find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
                if [ -d "$d" ]; then
                        say "LEFTOVER: cgroup $d could not be removed"
                        status=99
                fi
        done
}

# ---- teardown ------------------------------------------------------------------------------------

release_box_resources() {
        local box_pid=$1 pidns p ns seen=" " majmin mnt fstype conn name ino file
        local -A host_dev=() conns=()
        while read -r majmin; do
                host_dev[$majmin]=1
        done < <(awk '{print $3}' /proc/self/mountinfo)
        pidns=$(readlink "/proc/$box_pid/ns/pid") || return 0
        local root="/proc/$box_pid/root"

        for p in /proc/[0-9]*; do
                [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$pidns" ] || continue
                ns=$(readlink "$p/ns/mnt" 2>/dev/null) || continue
                case "$seen" in *" $ns "*) continue ;; esac
                seen+="$ns "
                while read -r majmin mnt fstype; do
                        case "$fstype" in fuse | fuse.* | fuseblk | fuseblk.*) ;; *) continue ;; esac
                        [[ "$majmin" =~ ^[0-9]+:[0-9]+$ ]] || continue
                        [ -z "${host_dev[$majmin]:-}" ] || continue
                        conn=$(((${majmin%%:*} << 20) | ${majmin##*:}))
                        conns[$conn]="$(printf '%b' "$mnt") ($fstype)"
                done < <(awk '{ for (i = 7; $i != "-"; i++) ; print $3, $5, $(i + 1) }' 2>/dev/null <"$p/mountinfo")
        done
        for conn in "${!conns[@]}"; do
                # fusectl names a connection by the kernel's dev_t: major << 20 | minor.
                if [ -w "$root/sys/fs/fuse/connections/$conn/abort" ] &&
                        echo 1 2>/dev/null >"$root/sys/fs/fuse/connections/$conn/abort"; then
                        say "cleanup: aborted FUSE connection $conn of ${conns[$conn]}"
                fi
        done

        while read -r name majmin ino file; do
                [[ "$majmin" =~ ^[0-9]+:[0-9]+$ ]] && [ -n "$file" ] || continue
                [ -z "${host_dev[$majmin]:-}" ] || continue
                [ "$(stat -c '%Hd:%Ld %i' -- "$root$file" 2>/dev/null)" = "$majmin $ino" ] || continue
                losetup -d "$name" 2>/dev/null && say "cleanup: detached loop device $name ($file)"
        done < <(losetup --list --noheadings --output NAME,BACK-MAJ:MIN,BACK-INO,BACK-FILE 2>/dev/null)
}

teardown() {
        local box_pid= i
        trap '' TERM
        if [ -n "$unshare_pid" ]; then
                read -r box_pid _ 2>/dev/null <"/proc/$unshare_pid/task/$unshare_pid/children"
                if [ -n "$box_pid" ] && alive "$box_pid"; then
                        release_box_resources "$box_pid"
                        # PID 1's death takes the whole PID namespace with it.
                        kill -KILL "$box_pid" 2>/dev/null
                fi
                for i in $(seq 200); do
                        alive "$unshare_pid" || break
                        sleep 0.05
                done
                if alive "$unshare_pid"; then
                        say "LEFTOVER: the box (unshare pid $unshare_pid, box pid $box_pid) did not exit within 10 s;" \
                                "stuck: $(ps -o pid=,stat=,wchan=,comm= --ppid "$box_pid" 2>/dev/null | tr '\n' ';')"
                        status=99
                fi
                wait "$unshare_pid" 2>/dev/null
        fi
        remove_cgroups
        if [ ! -e "$BOX_MARKER" ]; then
                say "HOST /tmp WAS MODIFIED: marker $BOX_MARKER is gone"
                status=99
        fi
        rm -f "$BOX_MARKER"
        # Last: while it exists, its supervisor.pid tells other runs' sweeps that this box is ours.
        rm -rf --one-file-system "$BOX_DIR"
        exit "$status"
}
trap teardown TERM

# ---- start ---------------------------------------------------------------------------------------

echo "$$" >"$BOX_DIR/supervisor.pid"

if ! make_cgroups; then
        say "cannot create the box's cgroups"
        status=99
        teardown
fi
(
        for d in "${cg_dirs[@]}"; do
                echo "$BASHPID" >"$d/cgroup.procs" || exit 1
        done
        [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && export BOX_CGROUP_LAYOUT=unified
        # UTS and IPC namespaces of its own: the box's systemd sets a hostname at boot and cleans up
        # the IPC objects of dynamic users. Last resort if this supervisor is killed outright: the box
        # dies with it.
        exec setpriv --pdeathsig KILL \
                unshare --pid --fork --kill-child --mount --mount-proc --cgroup --uts --ipc --propagation private \
                bash "$BOX_INIT" </dev/null >>"$BOX_DIR/console.log" 2>&1
) &
unshare_pid=$!
echo "$unshare_pid" >"$BOX_DIR/unshare.pid"

# Anything arriving on stdin is ignored; end of file means: tear down now.
while read -r _; do :; done
teardown
exit
}
