# Phases on a real kernel (sourced by init.sh once cgroup2 is mounted, on
# $cg; docs/phases.md): a job marks three phases of known memory, each
# spike in a child of the command, and `memsample report --json` must give
# each phase the peak the kernel saw: exact on 6.12, where memory.peak is
# reset per open file, sampled (and said so) on 6.1.

# The value of FIELD of phase NAME in a `report --json` ($1 the file).
phase_field() {
    awk -v name="$2" -v field="\"$3\":" '
        /"phases": \[/ { inside = 1 }
        inside && $1 == "\"name\":" { n = $2; gsub(/[",]/, "", n) }
        inside && n == name && $1 == field { v = $2; gsub(/,/, "", v); print v; exit }' "$1"
}
# The VmHWM a fixture printed (`print-hwm`) into file $1.
hwm_of() { sed -n 's/^VmHWM //p' "$1" 2>/dev/null; }
# Whether $1 is within $3 MiB of $2.
within_mib() {
    d=$(($1 - $2))
    [ $((${d#-})) -le $(($3 * MIB)) ]
}
# The highest rss_bytes of the rows of phase $2 in CSV $1 (its mark row and
# the interval rows after it): what sampling saw of it.
sampled_in() {
    awk -F, -v name="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "phase") p = i; if ($i == "rss_bytes") r = i }; next }
        $p == name && $r > max { max = $r } END { print max + 0 }' "$1"
}

# The job, recorded every 5 s: every mark's row is waited for (a mark
# returns before its row is taken), then the phase's memory. `load`: a
# 120 MiB spike of 20 ms in a child, well within the 5 s to the next row
# (emulated, touching 120 MiB takes about 2 s), so no row samples it.
# `train`: 60 MiB held in a child until the next row (an interval row, which
# reads and resets the peak), then freed, and the phase ends a row later:
# its peak is in the rows inside it, not in the row that closes it. `save`:
# a 30 MiB spike. Each child prints its own VmHWM: the kernel's figure for
# the phase.
phases_job() {
    cat <<'EOF'
row() {
    i=0
    while ! grep -q ",mark,$1," "$CSV" && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
}
lines_after() {
    n=$(($(wc -l <"$CSV") + $1)) i=0
    while [ "$(wc -l <"$CSV")" -lt $n ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
}
echo "$MEMSAMPLE_CONTROL" >/tmp/ph.ctl
memsample mark load; row load
fixture spike 120 20 print-hwm >/tmp/ph-load.hwm
memsample mark train; row train
fixture hold 60 print-hwm wait-lines "$CSV" $(($(wc -l <"$CSV") + 1)) >/tmp/ph-train.hwm
lines_after 1
memsample mark save; row save
fixture spike 30 20 print-hwm >/tmp/ph-save.hwm
EOF
}

# The phase table's peaks against the children's VmHWM: on 6.12 exact and
# within 4 MiB (the shell beside the child, the kernel's share of the
# cgroup, the program's file pages counted in VmHWM but charged elsewhere);
# on 6.1 sampled, every one, and none above the kernel's figure. $1 the report, $2 the recording, $3 a prefix
# for the checks' names, then the phases and the files their VmHWM is in.
phase_peaks_check() {
    report=$1 csv=$2 what=$3
    shift 3
    if [ $reset = reset ]; then
        why=
        while [ $# -ge 2 ]; do
            peak=$(phase_field "$report" "$1" peak_bytes)
            exact=$(phase_field "$report" "$1" peak_exact)
            hwm=$(hwm_of "$2")
            if [ "$exact" != true ] || [ -z "$hwm" ] || ! within_mib "${peak:-0}" "$hwm" 4; then
                why="$why $1: peak ${peak:-none} exact ${exact:-none}, the child's VmHWM ${hwm:-none};"
            fi
            shift 2
        done
        check $what-phase-peaks-exact "$([ -z "$why" ] && echo ok || echo "$why")"
        # Every phase exact, the start too; the highest is the cgroup's own
        # memory.peak over the run.
        inexact=$(grep -c '"peak_exact": false' "$report")
        top=$(awk '/"phases": \[/ { inside = 1 } inside && $1 == "\"peak_bytes\":" { v = $2 + 0; if (v > max) max = v } END { print max + 0 }' "$report")
        lifetime=$(highest "$csv" cgroup_peak_bytes)
        check $what-phases-all-exact "$([ "$inexact" -eq 0 ] && within_1_percent "$top" "$lifetime" &&
            echo ok || echo "$inexact phases sampled, highest phase peak $top, memory.peak $lifetime")"
    else
        exact=$(grep -c '"peak_exact": true' "$report")
        sampled=$(grep -c '"peak_exact": false' "$report")
        check $what-phases-sampled "$([ "$exact" -eq 0 ] && [ "$sampled" -ge $(($# / 2)) ] &&
            echo ok || echo "$exact phases exact, $sampled sampled")"
        # A sampled peak is a lower bound: never above what the kernel saw
        # in the phase (another phase's child counts for none).
        why=
        while [ $# -ge 2 ]; do
            peak=$(phase_field "$report" "$1" peak_bytes)
            hwm=$(hwm_of "$2")
            if [ -z "$hwm" ] || [ "${peak:-0}" -gt $((hwm + 4 * MIB)) ]; then
                why="$why $1: peak ${peak:-none}, the child's VmHWM ${hwm:-none};"
            fi
            shift 2
        done
        check $what-phases-sampled-at-most-the-kernels "$([ -z "$why" ] && echo ok || echo "$why")"
    fi
}

phases_checks() {
    f=/tmp/ph.csv
    CSV=$f memsample --phases --cgroup require -i 5s -o $f -- sh -c "$(phases_job)" 2>/tmp/ph.err
    code=$?
    memsample report --json $f >/tmp/ph.json 2>>/tmp/ph.err
    names=$(col $f phase | awk '$1 != prev { printf "%s ", $1; prev = $1 }')
    check phases-recorded "$([ $code -eq 0 ] && [ "$names" = "start load train save " ] &&
        [ "$(col $f trigger | grep -c mark)" = 3 ] && echo ok ||
        echo "exit $code, phases '$names': $(cat /tmp/ph.err)")"
    # The spike fell between two rows: no sample saw it, only the kernel.
    load_sampled=$(sampled_in $f load)
    check phases-load-spike-between-rows "$([ "$load_sampled" -lt $((100 * MIB)) ] && echo ok ||
        echo "a row of load sampled $load_sampled")"
    phase_peaks_check /tmp/ph.json $f phases \
        load /tmp/ph-load.hwm train /tmp/ph-train.hwm save /tmp/ph-save.hwm
    # The cgroup, the socket and its private directory are gone.
    ctl=$(cat /tmp/ph.ctl)
    check phases-nothing-left "$(no_memsample_cgroup && [ -n "$ctl" ] && [ ! -e "$ctl" ] &&
        [ ! -e "${ctl%/control}" ] && echo ok ||
        echo "left: $(memsample_cgroups) $(ls -d "$ctl" "${ctl%/control}" 2>/dev/null); socket '$ctl'")"
}

# Attached to a cgroup (`--control PATH`): a job in it marks two phases, a
# 80 MiB spike in a child, then nothing; SIGTERM ends the recording (its
# `stop` row closes the last phase, the cgroup still there).
phases_attach_checks() {
    svc=$cg/batch.service
    echo +memory >$cg/cgroup.subtree_control
    mkdir $svc
    start_in $svc wait-file /tmp/pha-go
    keeper=$started
    f=/tmp/pha.csv
    memsample --cgroup-path batch.service --control /tmp/pha.sock -i 1s -o $f 2>/tmp/pha.err &
    recorder=$!
    wait_for '[ -S /tmp/pha.sock ] && [ "$(rows_of $f)" -ge 2 ]'
    sh -c "echo \$\$ >$svc/cgroup.procs && MEMSAMPLE_CONTROL=/tmp/pha.sock CSV=$f exec sh -c '
        row() {
            i=0
            while ! grep -q \",mark,\$1,\" \"\$CSV\" && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
        }
        memsample mark spike; row spike
        fixture spike 80 20 print-hwm >/tmp/pha-spike.hwm
        memsample mark idle; row idle'"
    kill -TERM $recorder
    wait $recorder
    code=$?
    touch /tmp/pha-go
    wait $keeper 2>/dev/null
    wait_for 'rmdir $svc 2>/dev/null'
    memsample report --json $f >/tmp/pha.json 2>>/tmp/pha.err
    names=$(col $f phase | awk '$1 != prev { printf "%s ", $1; prev = $1 }')
    check phases-attach-recorded "$([ $code -eq 143 ] && [ "$names" = "start spike idle " ] &&
        [ ! -e /tmp/pha.sock ] && echo ok || echo "exit $code, phases '$names': $(cat /tmp/pha.err)")"
    phase_peaks_check /tmp/pha.json $f phases-attach spike /tmp/pha-spike.hwm
}
