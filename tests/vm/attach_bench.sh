#!/bin/busybox sh
# /init for `VM_TIMEOUT=600 VM_INIT=tests/vm/attach_bench.sh tests/vm/run.sh 6.12`:
# what a row of `memsample --no-procs` attached to a cgroup of 1,000
# processes costs, against a C floor that reads memory.current, memory.peak
# and memory.stat through kept-open files and writes one line
# (tests/vm/cgroup_floor.c), at the same interval, in turns. CPU time per row
# (user + system, from busybox's `time`, 10 ms resolution over the run) as
# `vm-bench MODE US per row`. Under software emulation the
# absolute figures are many times a real machine's; the ratios are what this
# measures. Not a check: it prints `vm-done` and powers off.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
export PATH=/bin TMPDIR=/tmp
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t sysfs sys /sys
mount -t cgroup2 none /sys/fs/cgroup
echo "vm-info kernel $(uname -r)"
svc=/sys/fs/cgroup/svc
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir $svc
sh -c "echo \$\$ >$svc/cgroup.procs && exec fixture forks 1000 wait-file /tmp/go" &
i=0
while [ "$(wc -l <$svc/cgroup.procs)" -lt 1001 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
echo "vm-info $(wc -l <$svc/cgroup.procs) processes in $svc"
rows=1500
# CPU seconds (user + system) of a command, from busybox's `time`.
cpu_of() {
    time -f "%U %S" -o /tmp/time.out "$@" >/dev/null 2>&1
    awk '{ print $1 + $2 }' /tmp/time.out
}
for round in 1 2; do
    for mode in floor no-procs no-procs-breakdown; do
        case $mode in
        floor) cpu=$(cpu_of cgroup_floor $svc 10 $rows /tmp/f.out) ;;
        no-procs) cpu=$(cpu_of memsample -q --cgroup-path svc --no-procs -i 10ms \
            --samples $rows -o /tmp/b.csv) ;;
        no-procs-breakdown) cpu=$(cpu_of memsample -q --cgroup-path svc --no-procs \
            --breakdown -i 10ms --samples $rows -o /tmp/b.csv) ;;
        esac
        echo "vm-bench $mode $(awk -v s="$cpu" -v n=$rows 'BEGIN { printf "%.0f", s * 1e6 / n }') us per row ($rows rows, round $round)"
    done
done
touch /tmp/go
echo vm-done
poweroff -f
