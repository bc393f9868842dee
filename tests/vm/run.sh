#!/usr/bin/env bash
# Runs memsample inside real Linux kernels booted under QEMU: Debian's cloud
# kernels 6.12 (bookworm-backports, resettable memory.peak) and 6.1
# (bookworm, read-only memory.peak), each with a busybox initramfs holding a
# statically linked memsample, the test fixture and the checks (init.sh).
# cgroups are created and processes moved only inside those machines.
#
#   tests/vm/run.sh            # both kernels
#   tests/vm/run.sh 6.1        # one kernel (6.12 or 6.1)
#   VM_INIT=tests/vm/bench.sh tests/vm/run.sh 6.12   # the cost of the cgroup
#                              # reads per sample, in `vm-bench` lines of the
#                              # serial log (target/vm/serial-6.12.log)
#
# Needs root the first time (apt-get install of qemu-system-x86, cpio, gcc).
# The kernels and busybox-static are downloaded from the Debian archive apt
# already uses and, with the builds, cached under target/vm/; VM_REFRESH=1
# fetches them again. Ends with the line `N passed, M failed` and exits 1 if
# any check failed or a machine did not finish within VM_TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
cache=$repo/target/vm
mkdir -p "$cache"
boot_timeout=${VM_TIMEOUT:-240}

log() { printf 'vm: %s\n' "$*" >&2; }

install_tools() {
    local missing=()
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v cpio >/dev/null || missing+=(cpio)
    command -v cc >/dev/null || missing+=(gcc)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# The Debian archive apt already uses (never a host written here).
debian_mirror() {
    local uri
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources 2>/dev/null |
        grep -v '^\s*#' |
        grep -oE '(^deb(\s+\[[^]]*\])?|^URIs:)\s+\S+' | awk '{print $NF}' |
        grep -E '/debian/?$' | head -n 1)
    [ -n "$uri" ] || { log "no Debian archive in /etc/apt/sources.list*"; exit 1; }
    printf '%s\n' "${uri%/}"
}

# apt options for a private package list of SUITE under target/vm (the
# system's sources, lists and package cache stay untouched); fetches the list
# once per run.
use_suite() {
    local suite=$1
    apt_dir=$cache/apt-$suite
    apt_opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root" -o "APT::Get::List-Cleanup=0")
    [ -e "$apt_dir/updated-$run_id" ] && return
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "$(debian_mirror)" "$suite" >"$apt_dir/sources.list"
    log "fetching the package list of $suite"
    apt-get "${apt_opts[@]}" update -qq
    rm -f "$apt_dir"/updated-*
    : >"$apt_dir/updated-$run_id"
}

# Downloads PACKAGE of SUITE and copies the file matching PATTERN out of it
# to OUT, unless OUT is cached.
fetch_file() {
    local suite=$1 package=$2 pattern=$3 out=$4
    if [ -s "$out" ] && [ -z "${VM_REFRESH:-}" ]; then
        return
    fi
    use_suite "$suite"
    if [ -z "$package" ]; then
        # The newest cloud kernel: what the metapackage depends on.
        package=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-amd64 |
            awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
        [ -n "$package" ] || { log "no cloud kernel in $suite"; exit 1; }
    fi
    log "downloading $package"
    rm -rf "$apt_dir/deb" && mkdir -p "$apt_dir/deb/x"
    (cd "$apt_dir/deb" && apt-get "${apt_opts[@]}" download -qq "$package")
    dpkg-deb --fsys-tarfile "$apt_dir"/deb/*.deb |
        tar -x -C "$apt_dir/deb/x" --wildcards "$pattern"
    # shellcheck disable=SC2086 # the pattern is a glob on purpose
    cp $apt_dir/deb/x/$pattern "$out.new" && mv "$out.new" "$out"
    rm -rf "$apt_dir/deb"
}

# memsample, the fixture and the checks, linked statically, in a target dir of
# their own so that the normal build is not invalidated.
build_static() {
    log "building memsample statically"
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release --locked \
        --target x86_64-unknown-linux-gnu --target-dir "$cache/build" \
        --bin memsample --example fixture --example cgroup_check
    cc -static -O2 -Wall -o "$cache/as_user" tests/vm/as_user.c
    cc -static -O2 -Wall -o "$cache/cgroup_floor" tests/vm/cgroup_floor.c
}

build_initramfs() {
    local root=$cache/initramfs bin=$cache/build/x86_64-unknown-linux-gnu/release
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,tmp}
    chmod 755 "$root"
    chmod 1777 "$root/tmp"
    cp "$cache/busybox" "$root/bin/busybox"
    cp "$bin/memsample" "$bin/examples/fixture" "$bin/examples/cgroup_check" \
        "$cache/as_user" "$cache/cgroup_floor" "$root/bin/"
    install -m 755 "${VM_INIT:-tests/vm/init.sh}" "$root/init"
    install -m 644 tests/vm/attach.sh "$root/attach.sh"
    install -m 644 tests/vm/phases.sh "$root/phases.sh"
    (cd "$root" && find . -print0 | cpio --null -o -H newc --owner 0:0 --quiet) \
        >"$cache/initramfs.cpio"
}

# Boots KERNEL with the initramfs; the checks' lines go to the serial log.
# A kernel that dies before it runs /init is booted again (twice at most):
# under emulation Debian's 6.12 now and then oopses in early boot, before
# anything under test has run. So it does, more rarely, later on (a double
# fault in the kernel's own allocator, seen once in a few runs): a machine
# whose kernel oopsed (`Oops:` on its console) before it finished is run
# again too, and says so; any other way of not finishing counts. `oops=panic`
# ends such a machine at once (`panic=-1` with `-no-reboot`) rather than at
# the timeout.
boot() {
    local name=$1 kernel=$2 reset=$3 serial=$cache/serial-$1.log attempt
    for attempt in 1 2 3; do
        log "booting $name"
        : >"$serial"
        # `-cpu max`: Debian's 6.12 oopses early on QEMU's default CPU model.
        # `-cx16`: with CMPXCHG16B, 6.12's slab allocator (its per-CPU
        # `cmpxchg16b` fast path) corrupted its state under emulation: double
        # faults and oopses in `kmem_cache_alloc` in most boots of
        # 6.12.95+deb12; without it the allocator takes its plain path, which
        # changes nothing memsample reads.
        timeout "$boot_timeout" qemu-system-x86_64 -accel tcg -cpu max,-cx16 -m 768 -smp 1 \
            -nodefaults -display none -no-reboot \
            -chardev "file,id=serial,path=$serial" -serial chardev:serial \
            -kernel "$kernel" -initrd "$cache/initramfs.cpio" \
            -append "console=ttyS0 oops=panic panic=-1 quiet rdinit=/init vmcheck_reset=$reset" \
            </dev/null >/dev/null 2>"$cache/qemu-$name.err" || true
        if ! grep -q '^vm-info' "$serial"; then
            cp "$serial" "$cache/serial-$name.failed-boot-$attempt.log"
            log "$name: the kernel died before /init (attempt $attempt)"
        elif ! grep -q '^vm-done' "$serial" && grep -aq '\] Oops: ' "$serial"; then
            cp "$serial" "$cache/serial-$name.kernel-oops-$attempt.log"
            log "$name: the kernel oopsed before the checks ended (attempt $attempt)"
        else
            break
        fi
    done
    if ! grep -q '^vm-done' "$serial"; then
        echo "vm-check FAIL $name-boot: no result in ${boot_timeout}s (see $serial)"
    fi
    { grep '^vm-check ' "$serial" || true; } | tr -d '\r' |
        sed "s/^vm-check \(PASS\|FAIL\) /vm-check \1 $name: /"
}

main() {
    local only=${1:-}
    install_tools
    run_id=$$
    # busybox-static from the archive rather than installed: on Debian it
    # would replace the system's own busybox.
    fetch_file bookworm busybox-static './bin/busybox' "$cache/busybox"
    build_static
    build_initramfs
    local results=$cache/results.txt
    : >"$results"
    local start=$SECONDS
    local kernel
    if [ -z "$only" ] || [ "$only" = 6.12 ]; then
        kernel=$cache/vmlinuz-6.12
        fetch_file bookworm-backports '' './boot/vmlinuz-*' "$kernel"
        boot 6.12 "$kernel" reset | tee -a "$results"
    fi
    if [ -z "$only" ] || [ "$only" = 6.1 ]; then
        kernel=$cache/vmlinuz-6.1
        fetch_file bookworm '' './boot/vmlinuz-*' "$kernel"
        boot 6.1 "$kernel" no-reset | tee -a "$results"
    fi
    local passed failed
    passed=$(grep -c '^vm-check PASS' "$results" || true)
    failed=$(grep -c '^vm-check FAIL' "$results" || true)
    log "machines took $((SECONDS - start)) s"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

main "$@"
