# Attaching to a cgroup memsample did not make (sourced by init.sh, which
# runs attach_v1_checks on 6.1 before cgroup2 is mounted and
# attach_v2_checks once it is, on $cg): a "service" made here as systemd
# would, with a memory limit and processes these checks control. Every
# figure is checked against the cgroup's own files.

# Waits (at most 30 s) until the shell command $1 succeeds.
wait_for() {
    i=0
    while ! eval "$1" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
    eval "$1"
}
rows_of() { grep -c . "$1" 2>/dev/null || echo 0; }
# Whether $1 and $2 are within 1 % of each other.
within_1_percent() {
    d=$(($1 - $2))
    [ $((${d#-} * 100)) -le $(($2)) ]
}
# The last row's column $2 of CSV $1 (not the exit row).
last() { col "$1" "$2" rows | tail -n 1; }
# Starts fixture STEPS inside cgroup $1 (as its own process, in the
# background); its pid is in $started.
start_in() {
    where=$1
    shift
    sh -c "echo \$\$ >$where/cgroup.procs && exec fixture $*" &
    started=$!
}

# cgroup v2: a service with a limit, attached by path, unit and pid.
attach_v2_checks() {
    svc=$cg/web.service
    echo +memory >$cg/cgroup.subtree_control
    mkdir $svc && echo 200M >$svc/memory.max
    start_in $svc hold 40 wait-file /tmp/att-go
    steady=$started
    # The OOM kill below must take the hog alone: under emulation a second
    # OOM can come before the first victim's memory is freed, and would take
    # one of the steady processes the later checks count.
    echo -1000 >/proc/$steady/oom_score_adj
    wait_for '[ "$(cat $svc/memory.current)" -ge $((40 * MIB)) ]'

    # What memsample could have written: the files that set limits, controls
    # and the cgroups under it (none may appear).
    settings() {
        cat $svc/memory.max $svc/memory.high $svc/memory.low $svc/memory.min \
            $svc/cgroup.subtree_control $svc/cgroup.type
        ls $svc
    }
    before=$(settings | md5sum)

    # Attached by a path relative to the mount, every second.
    memsample --cgroup-path web.service -i 1s -o /tmp/att.csv --json-summary /tmp/att.json \
        2>/tmp/att.err &
    recorder=$!
    wait_for '[ "$(rows_of /tmp/att.csv)" -ge 2 ]'
    # A child started after attach, then a 50 ms burst of 100 MiB.
    start_in $svc hold 30 wait-file /tmp/att-go
    child=$started
    echo -1000 >/proc/$child/oom_score_adj
    wait_for '[ "$(cat $svc/memory.current)" -ge $((70 * MIB)) ]'
    sh -c "echo \$\$ >$svc/cgroup.procs && exec fixture spike 100 50"
    rows=$(rows_of /tmp/att.csv)
    wait_for '[ "$(rows_of /tmp/att.csv)" -ge $((rows + 2)) ]'
    # A sample now, with everything steady, against the cgroup's own files.
    rows=$(rows_of /tmp/att.csv)
    kill -USR1 $recorder
    wait_for '[ "$(rows_of /tmp/att.csv)" -gt $rows ]'
    current=$(cat $svc/memory.current)
    peak=$(cat $svc/memory.peak)
    f=/tmp/att.csv
    check attach-start-line "$(grep -q "recording cgroup $svc (cgroup v2, peak since" /tmp/att.err &&
        echo ok || echo "$(cat /tmp/att.err)")"
    check attach-procs "$([ "$(last $f procs)" = 2 ] && [ "$(last $f rss_bytes)" -ge $((70 * MIB)) ] &&
        echo ok || echo "procs $(last $f procs), rss_bytes $(last $f rss_bytes)")"
    check attach-current-within-1-percent "$(within_1_percent "$(last $f cgroup_bytes)" "$current" &&
        echo ok || echo "cgroup_bytes $(last $f cgroup_bytes), memory.current $current")"
    check attach-limit "$([ "$(last $f cgroup_limit_bytes)" = $((200 * MIB)) ] && echo ok ||
        echo "cgroup_limit_bytes '$(last $f cgroup_limit_bytes)'")"
    check attach-peak-within-1-percent "$(within_1_percent "$(highest $f cgroup_peak_bytes)" "$peak" &&
        [ "$peak" -ge $((170 * MIB)) ] && echo ok ||
        echo "cgroup_peak_bytes $(highest $f cgroup_peak_bytes), memory.peak $peak")"
    if [ $reset = reset ]; then
        # The burst fell between two rows: only the interval peak saw it.
        check attach-burst-interval-peak "$([ "$(count_at_least $f cgroup_interval_peak_bytes $((160 * MIB)))" -ge 1 ] &&
            echo ok ||
            echo "$(col $f cgroup_interval_peak_bytes | tr '\n' ' ')")"
    else
        check attach-interval-empty "$([ "$(col $f cgroup_interval_peak_bytes | grep -c .)" -eq 0 ] &&
            grep -q 'peak since the cgroup was made' /tmp/att.err && echo ok ||
            echo "$(col $f cgroup_interval_peak_bytes | tr '\n' ' '); $(cat /tmp/att.err)")"
    fi
    # An OOM kill under the limit, counted since attach.
    sh -c "echo \$\$ >$svc/cgroup.procs && exec fixture hold 250"
    rows=$(rows_of /tmp/att.csv)
    kill -USR1 $recorder
    wait_for '[ "$(rows_of /tmp/att.csv)" -gt $rows ]'
    events=$(sed -n 's/^oom_kill //p' $svc/memory.events)
    check attach-oom-kill "$([ "$(last $f cgroup_oom_kills)" = 1 ] && [ "$events" = 1 ] && echo ok ||
        echo "cgroup_oom_kills '$(last $f cgroup_oom_kills)', memory.events oom_kill $events")"

    # --unit and --cgroup-of find the same cgroup; memsample writes nothing in it.
    memsample --unit web.service --samples 2 -i 100ms -o /tmp/unit.csv 2>/tmp/unit.err
    code=$?
    check attach-unit "$([ $code -eq 0 ] && grep -q "recording cgroup $svc " /tmp/unit.err &&
        [ "$(last /tmp/unit.csv procs)" = 2 ] && echo ok || echo "exit $code: $(cat /tmp/unit.err)")"
    memsample --cgroup-of $child --samples 2 -i 100ms -o /tmp/of.csv 2>/tmp/of.err
    code=$?
    check attach-cgroup-of "$([ $code -eq 0 ] && grep -q "recording cgroup $svc " /tmp/of.err &&
        within_1_percent "$(last /tmp/of.csv cgroup_bytes)" "$(cat $svc/memory.current)" &&
        echo ok || echo "exit $code: $(cat /tmp/of.err)")"
    check attach-writes-nothing "$([ "$(settings | md5sum)" = "$before" ] &&
        [ "$(cat $svc/memory.max)" = $((200 * MIB)) ] && echo ok || echo "the cgroup changed")"

    # The cgroup removed (the service stopped): an exit row, exit 0.
    touch /tmp/att-go
    wait $steady $child 2>/dev/null
    wait_for 'rmdir $svc 2>/dev/null'
    wait $recorder
    code=$?
    check attach-removed-exit-row "$([ $code -eq 0 ] && [ "$(col $f trigger | tail -n 1)" = exit ] &&
        [ "$(col $f procs exit)" = 0 ] && echo ok || echo "exit $code, last trigger $(col $f trigger | tail -n 1)")"
    check attach-summary "$(grep -q "cgroup $svc was removed" /tmp/att.err &&
        grep -q "the kernel's OOM killer killed 1 process of the cgroup" /tmp/att.err &&
        grep -q '"oom_kills": 1,' /tmp/att.json &&
        grep -q "\"cgroup_path\": \"$svc\"" /tmp/att.json &&
        grep -q "\"cgroup_limit_bytes\": $((200 * MIB))" /tmp/att.json && echo ok ||
        echo "$(cat /tmp/att.err) $(cat /tmp/att.json)")"
}

# cgroup v1, read-only: the memory controller bound to a v1 hierarchy, run
# before cgroup2 is mounted (once a cgroup2 cgroup has used the memory
# controller, what it left charged keeps the controller there).
attach_v1_checks() {
    mkdir -p /tmp/v1
    if mount -t cgroup -o memory none /tmp/v1 2>/tmp/v1-mount.err; then
        job=/tmp/v1/job
        mkdir $job && echo 100M >$job/memory.limit_in_bytes
        start_in $job hold 30 wait-file /tmp/v1-go
        v1pid=$started
        wait_for '[ "$(cat $job/memory.usage_in_bytes)" -ge $((30 * MIB)) ]'
        max_before=$(cat $job/memory.max_usage_in_bytes)
        memsample --cgroup-path job -i 100ms --samples 5 -o /tmp/v1.csv 2>/tmp/v1.err
        code=$?
        usage=$(cat $job/memory.usage_in_bytes)
        max_after=$(cat $job/memory.max_usage_in_bytes)
        f=/tmp/v1.csv
        check attach-v1-figures "$([ $code -eq 0 ] && grep -q "recording cgroup $job (cgroup v1, " /tmp/v1.err &&
            [ "$(last $f procs)" = 1 ] && within_1_percent "$(last $f cgroup_bytes)" "$usage" &&
            within_1_percent "$(last $f cgroup_peak_bytes)" "$max_after" &&
            [ "$(last $f cgroup_limit_bytes)" = $((100 * MIB)) ] && [ "$(last $f cgroup_oom_kills)" = 0 ] &&
            echo ok || echo "exit $code: $(tail -n 1 $f); usage $usage, max $max_after; $(cat /tmp/v1.err)")"
        check attach-v1-interval-empty "$([ "$(col $f cgroup_interval_peak_bytes | grep -c .)" -eq 0 ] &&
            echo ok || echo "$(col $f cgroup_interval_peak_bytes | tr '\n' ' ')")"
        check attach-v1-max-usage-untouched "$([ "$max_after" = "$max_before" ] && echo ok ||
            echo "memory.max_usage_in_bytes $max_before before, $max_after after")"
        memsample --cgroup-of $v1pid --samples 1 -o /tmp/v1-of.csv 2>/tmp/v1-of.err
        code=$?
        check attach-v1-cgroup-of "$([ $code -eq 0 ] && grep -q "recording cgroup $job (cgroup v1, " /tmp/v1-of.err &&
            echo ok || echo "exit $code: $(cat /tmp/v1-of.err)")"
        # Removed: the next row sees it gone.
        memsample --cgroup-path $job -i 100ms -o /tmp/v1-rm.csv 2>/tmp/v1-rm.err &
        recorder=$!
        wait_for '[ "$(rows_of /tmp/v1-rm.csv)" -ge 2 ]'
        touch /tmp/v1-go
        wait $v1pid
        wait_for 'rmdir $job 2>/dev/null'
        wait $recorder
        code=$?
        check attach-v1-removed "$([ $code -eq 0 ] && [ "$(col /tmp/v1-rm.csv trigger | tail -n 1)" = exit ] &&
            grep -q "cgroup $job was removed" /tmp/v1-rm.err && echo ok ||
            echo "exit $code: $(cat /tmp/v1-rm.err)")"
        umount /tmp/v1
        # The controller goes back to cgroup v2 (hierarchy 0 in
        # /proc/cgroups) once the v1 hierarchy is gone.
        wait_for '[ "$(awk '"'"'$1 == "memory" { print $2 }'"'"' /proc/cgroups)" = 0 ]'
        check attach-v1-released "$([ "$(awk '$1 == "memory" { print $2 }' /proc/cgroups)" = 0 ] &&
            echo ok || echo "$(cat /proc/cgroups)")"
    else
        fail attach-v1-mount "$(cat /tmp/v1-mount.err)"
    fi
}
