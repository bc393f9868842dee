#!/bin/busybox sh
# /init for `VM_INIT=tests/vm/bench.sh tests/vm/run.sh 6.12`: what the cgroup
# columns cost per sample. memsample records the same steady command at
# 10 ms with `--cgroup off` and `--cgroup require`, in turns, and prints its
# own CPU time per row (utime + stime from /proc, read once sampling is over
# and before it exits) as `vm-bench MODE US`; `leaves` is `require` with
# memsample alone in a cgroup of its own. Under software emulation the
# absolute figures are many times a real machine's; the ratio of the two
# modes is what this measures. Not a check: it prints `vm-done` and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin TMPDIR=/tmp
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t sysfs sys /sys
mount -t cgroup2 none /sys/fs/cgroup
echo "vm-info kernel $(uname -r)"
hz=100
# `leaves`: memsample alone in a cgroup of its own (a delegated scope), where
# it makes memsample-PID/sampler and job; `require` is the root cgroup's
# layout, the command's cgroup right under it.
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir /sys/fs/cgroup/scope
for round in 1 2 3; do
    for mode in off require leaves; do
        # Sampling stops after 5 s (500 rows); the command lives 1 s longer,
        # time in which memsample's CPU time is read.
        into=/sys/fs/cgroup
        cgroup=$mode
        [ $mode = leaves ] && into=/sys/fs/cgroup/scope cgroup=require
        sh -c "echo \$\$ >$into/cgroup.procs && exec memsample -q --cgroup $cgroup -i 10ms \
            --duration 5s -o /tmp/b.csv -- fixture hold 64 sleep 6000" &
        pid=$!
        sleep 5.5
        ticks=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
        wait $pid
        rows=$(($(wc -l </tmp/b.csv) - 1))
        echo "vm-bench $mode $(awk -v t="$ticks" -v n="$rows" -v hz=$hz 'BEGIN { printf "%.0f", t / hz * 1e6 / n }') us per row ($rows rows, round $round)"
    done
done
echo vm-done
poweroff -f
