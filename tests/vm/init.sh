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
check() { if [ "$2" = ok ]; then pass "$1"; else fail "$1" "$2"; fi; }

# Column NAME of a CSV, one value a line (empty fields as empty lines);
# `col FILE NAME exit` gives the exit row's alone, `col FILE NAME rows` the others'.
col() {
    awk -F, -v name="$2" -v which="${3:-all}" '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == name) c = i; if ($i == "trigger") t = i }; next }
        which == "all" || (which == "exit") == ($t == "exit") { print $c }' "$1"
}
# How many values of column NAME (not the exit row) are at least BYTES.
count_at_least() { col "$1" "$2" rows | awk -v min="$3" '$1 != "" && $1 >= min { n++ } END { print n + 0 }'; }
highest() { col "$1" "$2" | awk '$1 > max { max = $1 } END { print max + 0 }'; }
# memsample's cgroups anywhere in the hierarchy (none should outlive a run).
memsample_cgroups() { find /sys/fs/cgroup -type d -name 'memsample-*' 2>/dev/null; }
no_memsample_cgroup() { [ -z "$(memsample_cgroups)" ]; }
# The cgroup of a process, as a path under /sys/fs/cgroup.
cgroup_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }

# `--cgroup require` where there is no cgroup v2: 125, one line, nothing made.
memsample --cgroup require -o /tmp/req.csv -- fixture touch /tmp/req-ran 2>/tmp/req.err
code=$?
if [ $code -eq 125 ] && [ "$(wc -l </tmp/req.err)" -eq 1 ] &&
    grep -q 'no cgroup v2 memory controller' /tmp/req.err && [ ! -e /tmp/req.csv ] &&
    [ ! -e /tmp/req-ran ]; then
    pass require-without-cgroup2
else
    fail require-without-cgroup2 "exit $code: $(cat /tmp/req.err)"
fi

# Before cgroup2 is mounted this is a machine without cgroup v2, like a
# cgroup v1 one: no placement, and the reason the start line will show.
cgroup_check unavailable no-cgroup-v2 "no cgroup v2 memory controller"

# Attaching to a cgroup memsample did not make: cgroup v1 on 6.1, before
# cgroup2 is mounted (tests/vm/attach.sh).
. /attach.sh
[ $reset = no-reset ] && attach_v1_checks

mount -t cgroup2 none /sys/fs/cgroup
cg=/sys/fs/cgroup

# As root in the root cgroup: create right under it, join, read, remove;
# the root's cgroup.subtree_control is as it was.
cgroup_check layout root under-root
cgroup_check run root /bin/fixture "$reset"
root_control=$(cat $cg/cgroup.subtree_control)

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

# The burst case: a shell running ten 300 MiB children of ~50 ms each,
# 0.25 s apart (a build's compiler jobs), recorded every second.
burst='for i in 1 2 3 4 5 6 7 8 9 10; do fixture hold 300 sleep 50; sleep 0.25; done'
if memsample --cgroup require -i 1s -o /tmp/burst.csv --json-summary /tmp/burst.json \
    -- sh -c "$burst" 2>/tmp/burst.err; then
    f=/tmp/burst.csv
    peak=$(highest $f cgroup_peak_bytes)
    check burst-cgroup-peak "$([ "$peak" -ge $((300 * MIB)) ] && echo ok || echo "cgroup_peak_bytes $peak")"
    sampled=$(count_at_least $f rss_bytes $((290 * MIB)))
    # The exit row's interval peak counts too: the last burst may top out
    # after the last interval row.
    bursts=$(col $f cgroup_interval_peak_bytes | awk -v min=$((290 * MIB)) '$1 != "" && $1 >= min { n++ } END { print n + 0 }')
    rows=$(col $f trigger rows | grep -c interval)
    check burst-sampling-misses "$([ "$sampled" -le 5 ] && echo ok || echo "$sampled rows caught a burst")"
    if [ $reset = reset ]; then
        # Each of the ten bursts' tops is in the peak of the interval it fell
        # in (two when it spans a row): none is missed, unlike sampling.
        check burst-interval-peaks "$([ "$bursts" -ge 10 ] && [ "$bursts" -gt "$sampled" ] &&
            echo ok || echo "$bursts of $rows interval rows show a burst, $sampled sampled")"
    else
        filled=$(col $f cgroup_interval_peak_bytes | grep -c .)
        check burst-interval-empty "$([ "$filled" -eq 0 ] && echo ok || echo "$filled values")"
    fi
    exit_peak=$(col $f peak_rss_bytes exit)
    exit_procs=$(col $f procs exit)
    check burst-exit-row "$([ "${exit_peak:-0}" -ge $((300 * MIB)) ] && [ "$exit_procs" = 0 ] &&
        echo ok || echo "exit row peak ${exit_peak:-none}, procs ${exit_procs:-none}")"
    # The true whole-tree peak: the largest child's own kernel peak (the exit
    # row, from wait4), give or take the shell beside it, the kernel's share
    # and the program's file pages (charged to whoever read them first, so
    # counted in a process's RSS but not always in the cgroup): within 2 %.
    diff=$((peak - ${exit_peak:-0}))
    check burst-peak-within-2-percent "$([ $((${diff#-} * 100)) -le $((${exit_peak:-0} * 2)) ] &&
        echo ok || echo "cgroup_peak_bytes $peak against the largest child's ${exit_peak:-none}")"
    check burst-summary "$(grep -q 'whole-tree peak 3[0-9][0-9]\.[0-9] MiB (cgroup, incl. page cache)' /tmp/burst.err &&
        echo ok || echo "$(cat /tmp/burst.err)")"
    check burst-cgroup-removed "$(no_memsample_cgroup && echo ok || echo "$(memsample_cgroups)")"
    check burst-json-summary "$(grep -q "\"cgroup_peak_bytes\": $peak," /tmp/burst.json &&
        grep -q '"oom_kills": 0,' /tmp/burst.json && echo ok || echo "$(cat /tmp/burst.json)")"
    memsample report --fail-above-cgroup 280MiB $f >/dev/null 2>&1
    code=$?
    check burst-fail-above-cgroup "$([ $code -eq 1 ] && echo ok || echo "report exited $code")"
else
    fail burst "memsample failed: $(cat /tmp/burst.err)"
fi

# SIGTERM to memsample mid-run: relayed, the command ends, the cgroup goes.
memsample --cgroup require -i 100ms -o /tmp/term.csv -- fixture hold 20 sleep 60000 2>/tmp/term.err &
recorder=$!
i=0
while [ "$(cat /tmp/term.csv 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -TERM $recorder
wait $recorder
code=$?
check sigterm-cgroup-removed "$([ $code -eq 143 ] && no_memsample_cgroup && echo ok ||
    echo "exit $code; left: $(memsample_cgroups); $(cat /tmp/term.err)")"
# memsample enabled the memory controller in the root's subtree_control for
# the runs above and disabled it again each time, SIGTERM included.
now=$(cat $cg/cgroup.subtree_control)
check root-control-after-runs "$([ "$now" = "$root_control" ] && echo ok ||
    echo "'$root_control' before, '$now' after")"

# An OOM kill in the tree, said by the summary: memsample runs alone in a
# leaf of a cgroup limited to 64 MiB, so the command's cgroup goes inside
# the leaf, under the limit, and its 100 MiB child is killed.
echo +memory >$cg/cgroup.subtree_control
mkdir $cg/lim && echo 64M >$cg/lim/memory.max && echo +memory >$cg/lim/cgroup.subtree_control &&
    mkdir $cg/lim/leaf
sh -c "echo \$\$ >$cg/lim/leaf/cgroup.procs &&
    exec memsample --cgroup require -i 100ms -o /tmp/oom.csv --json-summary /tmp/oom.json \
        -- fixture hold 100" 2>/tmp/oom.err
code=$?
check oom-summary "$([ $code -eq 137 ] &&
    grep -q "the kernel's OOM killer killed 1 process of the tree" /tmp/oom.err &&
    grep -q '"oom_kills": 1,' /tmp/oom.json && echo ok || echo "exit $code; $(cat /tmp/oom.err)")"
rmdir $cg/lim/leaf $cg/lim

# A descendant left running when the command exits keeps the cgroup, and
# the summary names it; it is removed by hand once that process is gone.
memsample --cgroup require -i 100ms -o /tmp/kept.csv \
    -- sh -c 'fixture hold 10 sleep 60000 & sleep 0.5' 2>/tmp/kept.err
kept=$(ls -d $cg/memsample-* 2>/dev/null)
check kept-while-running "$([ -n "$kept" ] &&
    grep -q "cgroup $kept kept: processes of the tree still run in it" /tmp/kept.err &&
    echo ok || echo "left: ${kept:-none}; $(cat /tmp/kept.err)")"
if [ -n "$kept" ]; then
    for pid in $(cat $kept/cgroup.procs); do kill -KILL $pid; done
    i=0
    while ! rmdir $kept 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
fi

# `off` never makes one.
memsample --cgroup off -q -o /tmp/off.csv -- fixture hold 10 2>/tmp/off.err
check cgroup-off "$(head -n 1 /tmp/off.csv | grep -q cgroup && echo "cgroup columns" || echo ok)"

# A service with a memory limit, made here as systemd would: memsample in
# it never takes the command out. Alone in it (the service's main process),
# it makes memsample-PID/{sampler,job} inside it: the 150 MiB command is
# killed by the service's limit, and the service and the root are left as
# they were.
echo +memory >$cg/cgroup.subtree_control
mkdir $cg/svc && echo 64M >$cg/svc/memory.max
root_before=$(cat $cg/cgroup.subtree_control)
svc_before=$(cat $cg/svc/cgroup.subtree_control)
sh -c "echo \$\$ >$cg/svc/cgroup.procs &&
    exec memsample -i 100ms -o /tmp/svc.csv --json-summary /tmp/svc.json \
        -- sh -c 'sed -n s/^0:://p /proc/self/cgroup >/tmp/svc.cgroup; exec fixture hold 150 sleep 300'" \
    2>/tmp/svc.err
code=$?
inside=$(cat /tmp/svc.cgroup 2>/dev/null)
check service-limit-holds "$([ $code -eq 137 ] && [ "${inside#/svc/memsample-*/job}" = "" ] &&
    [ -n "$inside" ] && grep -q '"oom_kills": 1,' /tmp/svc.json &&
    echo ok || echo "exit $code, the command ran in '$inside': $(cat /tmp/svc.err)")"
root_after=$(cat $cg/cgroup.subtree_control)
svc_after=$(cat $cg/svc/cgroup.subtree_control)
check service-controls-restored "$([ "$root_after" = "$root_before" ] &&
    [ "$svc_after" = "$svc_before" ] && no_memsample_cgroup && echo ok ||
    echo "root '$root_before' -> '$root_after', svc '$svc_before' -> '$svc_after'; left: $(memsample_cgroups)")"
# Shared with another process of the service: no cgroup, the start line says
# why, and the command is still killed by the service's limit.
sh -c "echo \$\$ >$cg/svc/cgroup.procs && exec fixture sleep 600000" &
sibling=$!
i=0
while [ "$(cgroup_of $sibling)" != /svc ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sh -c "echo \$\$ >$cg/svc/cgroup.procs &&
    exec memsample -i 100ms -o /tmp/svc2.csv -- fixture hold 150 sleep 300" 2>/tmp/svc2.err
code=$?
check service-shared-limit-holds "$([ $code -eq 137 ] &&
    grep -q "whole-tree peak: sampled; other processes share memsample's cgroup; for one of its own: systemd-run --user --scope -p Delegate=yes memsample" /tmp/svc2.err &&
    [ "$(cat $cg/svc/cgroup.subtree_control)" = "$svc_before" ] && no_memsample_cgroup &&
    echo ok || echo "exit $code: $(cat /tmp/svc2.err)")"
sh -c "echo \$\$ >$cg/svc/cgroup.procs &&
    exec memsample --cgroup require -o /tmp/svc3.csv -- fixture touch /tmp/svc3-ran" 2>/tmp/svc3.err
code=$?
check service-shared-require "$([ $code -eq 125 ] && grep -q 'other processes share' /tmp/svc3.err &&
    [ ! -e /tmp/svc3-ran ] && echo ok || echo "exit $code: $(cat /tmp/svc3.err)")"
kill -KILL $sibling
wait $sibling 2>/dev/null
i=0
while ! rmdir $cg/svc 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

# memsample inside memsample: the inner one is alone in the outer's cgroup,
# so it makes its own inside it; the outer's whole-tree peak covers the
# inner's 100 MiB command.
memsample --cgroup require -i 100ms -o /tmp/outer.csv \
    -- memsample --cgroup require -i 100ms -o /tmp/inner.csv -- fixture hold 100 sleep 500 \
    2>/tmp/nested.err
code=$?
outer=$(highest /tmp/outer.csv cgroup_peak_bytes)
inner=$(highest /tmp/inner.csv cgroup_peak_bytes)
check nested-outer-covers-inner "$([ $code -eq 0 ] && [ "$outer" -ge $((100 * MIB)) ] &&
    [ "$inner" -ge $((100 * MIB)) ] && [ "$outer" -ge "$inner" ] && no_memsample_cgroup &&
    echo ok || echo "exit $code, outer peak $outer, inner peak $inner; left: $(memsample_cgroups); $(cat /tmp/nested.err)")"

# A command that makes a cgroup of its own inside its cgroup and moves into
# it: its memory still counts, nothing is left behind, and the summary does
# not say that processes still run there.
inner_cgroup='c=/sys/fs/cgroup$(sed -n s/^0:://p /proc/self/cgroup)/inner
    mkdir $c && echo $$ >$c/cgroup.procs && exec fixture hold 40 sleep 300'
memsample --cgroup require -i 100ms -o /tmp/sub.csv -- sh -c "$inner_cgroup" 2>/tmp/sub.err
code=$?
peak=$(highest /tmp/sub.csv cgroup_peak_bytes)
check sub-cgroup-removed "$([ $code -eq 0 ] && [ "$peak" -ge $((40 * MIB)) ] && no_memsample_cgroup &&
    ! grep -q 'still run' /tmp/sub.err && echo ok ||
    echo "exit $code, peak $peak; left: $(memsample_cgroups); $(cat /tmp/sub.err)")"

# A command that leaves its cgroup (as root it may move itself anywhere):
# the summary says the whole-tree peak misses it, rather than give 0.7 MiB
# for a tree of 60 MiB silently, and the emptied cgroup is removed.
memsample --cgroup require -i 100ms -o /tmp/esc.csv \
    -- sh -c 'echo $$ >/sys/fs/cgroup/cgroup.procs && exec fixture hold 60 sleep 300' 2>/tmp/esc.err
code=$?
check escaped-command-said "$([ $code -eq 0 ] &&
    grep -q 'the whole-tree peak misses part of the tree, which left the cgroup: one process alone peaked at [6-9][0-9]\.[0-9] MiB' /tmp/esc.err &&
    ! grep -q 'still run' /tmp/esc.err && no_memsample_cgroup &&
    ! grep -q 'misses part' /tmp/nested.err /tmp/sub.err &&
    echo ok || echo "exit $code; left: $(memsample_cgroups); $(cat /tmp/esc.err)")"

# A user in a scope delegated to it, as systemd lays it out: the user owns
# its scope (user-1000/leaf, memory given to it by its parent) and is alone
# in it.
mkdir $cg/user-1000 && echo +memory >$cg/user-1000/cgroup.subtree_control &&
    mkdir $cg/user-1000/leaf &&
    chown 1000:1000 $cg/user-1000/leaf $cg/user-1000/leaf/cgroup.procs \
        $cg/user-1000/leaf/cgroup.subtree_control $cg/user-1000/leaf/cgroup.threads
leaf=$cg/user-1000/leaf
leaf_before=$(cat $leaf/cgroup.subtree_control)
sh -c "echo \$\$ >$leaf/cgroup.procs && exec as_user 1000 /bin/cgroup_check layout delegated leaves"
sh -c "echo \$\$ >$leaf/cgroup.procs &&
    exec as_user 1000 /bin/cgroup_check run delegated /bin/fixture $reset"
# memsample itself, run by that user there: memsample-PID/{sampler,job}
# inside its scope, the command's peak, all removed afterwards, the scope's
# subtree_control as it was.
sh -c "echo \$\$ >$leaf/cgroup.procs &&
    exec as_user 1000 /bin/memsample --cgroup require -q -i 100ms -o /tmp/user.csv \
        -- sh -c 'sed -n s/^0:://p /proc/self/cgroup >/tmp/user.cgroup; exec /bin/fixture hold 50 sleep 300'" \
    2>/tmp/user.err
code=$?
peak=$(highest /tmp/user.csv cgroup_peak_bytes 2>/dev/null)
inside=$(cat /tmp/user.cgroup 2>/dev/null)
check delegated-memsample "$([ $code -eq 0 ] && [ "${peak:-0}" -ge $((50 * MIB)) ] &&
    [ -n "$inside" ] && [ "${inside#/user-1000/leaf/memsample-*/job}" = "" ] &&
    [ "$(cat $leaf/cgroup.subtree_control)" = "$leaf_before" ] && no_memsample_cgroup &&
    echo ok || echo "exit $code, cgroup_peak_bytes ${peak:-none}, in '$inside': $(cat /tmp/user.err)")"
# The same, stopped by SIGTERM mid-run: cleaned up all the same.
sh -c "echo \$\$ >$leaf/cgroup.procs &&
    exec as_user 1000 /bin/memsample --cgroup require -q -i 100ms -o /tmp/user-term.csv \
        -- /bin/fixture hold 20 sleep 600000" 2>/tmp/user-term.err &
recorder=$!
i=0
while [ "$(cat /tmp/user-term.csv 2>/dev/null | wc -l)" -lt 3 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
during=$(ls -d $leaf/memsample-*/sampler $leaf/memsample-*/job 2>/dev/null | wc -l)
kill -TERM $recorder
wait $recorder
code=$?
check delegated-sigterm-restored "$([ $code -eq 143 ] && [ "$during" -eq 2 ] &&
    [ "$(cat $leaf/cgroup.subtree_control)" = "$leaf_before" ] && no_memsample_cgroup &&
    [ -z "$(cat $leaf/cgroup.procs)" ] &&
    echo ok || echo "exit $code, $during leaves while running, subtree_control '$(cat $leaf/cgroup.subtree_control)'; left: $(memsample_cgroups); $(cat /tmp/user-term.err)")"
# A command that cannot be found: 127, and memsample's scope as it was.
sh -c "echo \$\$ >$leaf/cgroup.procs &&
    exec as_user 1000 /bin/memsample --cgroup require -q -o /tmp/user-nf.csv -- /bin/no-such-command" \
    2>/tmp/user-nf.err
code=$?
check delegated-not-found-restored "$([ $code -eq 127 ] &&
    [ "$(cat $leaf/cgroup.subtree_control)" = "$leaf_before" ] && no_memsample_cgroup &&
    echo ok || echo "exit $code; left: $(memsample_cgroups); $(cat /tmp/user-nf.err)")"
# A descendant left running: its cgroup (memsample-PID/job) is kept and
# named, memsample still gives its scope back as it was.
sh -c "echo \$\$ >$leaf/cgroup.procs &&
    exec as_user 1000 /bin/memsample --cgroup require -i 100ms -o /tmp/user-kept.csv \
        -- sh -c '/bin/fixture hold 10 sleep 60000 & sleep 0.5'" 2>/tmp/user-kept.err
kept=$(ls -d $leaf/memsample-*/job 2>/dev/null)
check delegated-kept-named "$([ -n "$kept" ] && [ -n "$(cat $kept/cgroup.procs)" ] &&
    grep -q "cgroup $kept kept: processes of the tree still run in it" /tmp/user-kept.err &&
    [ "$(cat $leaf/cgroup.subtree_control)" = "$leaf_before" ] &&
    [ -z "$(ls -d $leaf/memsample-*/sampler 2>/dev/null)" ] &&
    echo ok || echo "kept: ${kept:-none}, subtree_control '$(cat $leaf/cgroup.subtree_control)'; $(cat /tmp/user-kept.err)")"
if [ -n "$kept" ]; then
    for pid in $(cat $kept/cgroup.procs); do kill -KILL $pid; done
    i=0
    while ! rmdir $kept 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    rmdir ${kept%/job}
fi
rmdir $leaf $cg/user-1000

# Outside it, the same user gets the reason, exit 125, and nothing runs.
as_user 1000 /bin/memsample --cgroup require -o /tmp/user2.csv -- /bin/fixture touch /tmp/user2-ran \
    2>/tmp/user2.err
code=$?
check non-root-memsample-require "$([ $code -eq 125 ] && grep -q 'no permission to write /sys/fs/cgroup' /tmp/user2.err &&
    [ ! -e /tmp/user2-ran ] && echo ok || echo "exit $code: $(cat /tmp/user2.err)")"

# The same user outside any delegated subtree may not create a cgroup.
as_user 1000 /bin/cgroup_check unavailable non-root "no permission to write /sys/fs/cgroup"

# Attaching to a cgroup memsample did not make (cgroup v2).
attach_v2_checks

# Phases: each one's peak, exact on 6.12, sampled on 6.1 (tests/vm/phases.sh).
. /phases.sh
phases_checks
phases_attach_checks

left=$(memsample_cgroups)
if [ -z "$left" ]; then pass no-cgroup-left; else fail no-cgroup-left "$left"; fi

echo vm-done
sync
reboot -f
