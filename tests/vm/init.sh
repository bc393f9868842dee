#!/bin/busybox sh
# /init of the test machines booted by tests/vm/run.sh: runs the checks and
# prints one line each on the serial console, `vm-check PASS name` or
# `vm-check FAIL name: why`, then `vm-done`, and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin TMPDIR=/tmp
mount -t devtmpfs dev /dev
# The kernel found no /dev/console in the archive: take the console now.
exec </dev/console >/dev/console 2>&1
mount -t sysfs sys /sys

MIB=1048576
reset=no-reset
grep -q 'vmcheck_reset=reset' /proc/cmdline && reset=reset
echo "vm-info kernel $(uname -r), memory.peak: $reset"

pass() { echo "vm-check PASS $1"; }
fail() { echo "vm-check FAIL $1: $2"; }

# Before cgroup2 is mounted this is a machine without cgroup v2, like a
# cgroup v1 one: no placement, and the reason the start line will show.
cgroup_check unavailable no-cgroup-v2 "no cgroup v2 memory controller"

mount -t cgroup2 none /sys/fs/cgroup
cg=/sys/fs/cgroup

# As root in the root cgroup: create, join, read, remove.
cgroup_check run root /bin/fixture "$reset"

# The kernel's OOM killer inside the cgroup, counted in memory.events.
cgroup_check oom oom /bin/fixture

# memsample records the fixture; its CSV's peak is the 50 MiB held.
if memsample -i 100ms -o /tmp/rec.csv -- fixture hold 50 sleep 300 2>/tmp/rec.err; then
    peak=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "peak_rss_bytes") c = i; next }
        $c > max { max = $c } END { print max + 0 }' /tmp/rec.csv)
    if [ "$peak" -ge $((50 * MIB)) ]; then
        pass record-peak
    else
        fail record-peak "peak_rss_bytes $peak"
    fi
else
    fail record-peak "memsample failed: $(cat /tmp/rec.err)"
fi

# A user in a subtree delegated to it, as systemd lays it out: the user
# owns user-1000 (memory given to its children) and lives in its leaf.
mkdir $cg/user-1000 && echo +memory >$cg/user-1000/cgroup.subtree_control &&
    mkdir $cg/user-1000/leaf &&
    chown 1000:1000 $cg/user-1000 $cg/user-1000/cgroup.procs \
        $cg/user-1000/cgroup.subtree_control $cg/user-1000/cgroup.threads \
        $cg/user-1000/leaf $cg/user-1000/leaf/cgroup.procs
sh -c "echo \$\$ >$cg/user-1000/leaf/cgroup.procs &&
    exec as_user 1000 /bin/cgroup_check run delegated /bin/fixture $reset"
rmdir $cg/user-1000/leaf $cg/user-1000

# The same user outside any delegated subtree may not create a cgroup.
as_user 1000 /bin/cgroup_check unavailable non-root "no permission to create a cgroup"

left=$(ls -d $cg/memsample-* $cg/*/memsample-* 2>/dev/null)
if [ -z "$left" ]; then pass no-cgroup-left; else fail no-cgroup-left "$left"; fi

echo vm-done
sync
reboot -f
