//! Checks of `memsample::cgroup` on a real kernel, run inside the virtual
//! machines of `tests/vm/run.sh` (never on a development machine: it creates
//! cgroups and moves a process). Prints one line per check on stdout,
//! `vm-check PASS name` or `vm-check FAIL name: why`, and exits 1 if any
//! failed.
//!
//! ```text
//! cgroup_check run NAME FIXTURE reset|no-reset   # create, join, read, remove
//! cgroup_check oom NAME FIXTURE                  # an OOM kill is counted
//! cgroup_check unavailable NAME "REASON"         # Placement::find gives REASON
//! cgroup_check layout NAME under-root|leaves     # Placement::find's layout
//! ```

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use memsample::cgroup::{Cgroup, Layout, Left, Placement};

const MIB: u64 = 1 << 20;

/// Prints the result of each check, named `PREFIX-NAME`.
struct Checks {
    prefix: String,
    failed: usize,
}

impl Checks {
    fn check(&mut self, name: &str, result: Result<(), String>) {
        let prefix = &self.prefix;
        match result {
            Ok(()) => println!("vm-check PASS {prefix}-{name}"),
            Err(why) => {
                self.failed += 1;
                println!("vm-check FAIL {prefix}-{name}: {why}");
            }
        }
    }
}

fn ensure(condition: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(why()) }
}

fn wait_for(path: &Path) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if Instant::now() > deadline {
            return Err(format!("{} never appeared", path.display()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// The fixture, started inside the cgroup through the pre_exec write.
fn spawn_in(cgroup: &Cgroup, fixture: &Path, steps: &[&str]) -> std::io::Result<Child> {
    let joiner = cgroup.joiner();
    let mut command = Command::new(fixture);
    command.args(steps);
    // SAFETY: `Joiner::join` makes one write(2) and allocates nothing.
    unsafe { command.pre_exec(move || joiner.join()) };
    command.spawn()
}

fn cgroup_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default()
}

/// `/sys/fs/cgroup/a/b` as the cgroup path `/a/b` (the VMs mount cgroup2
/// there).
fn cgroup_of_path(dir: &Path) -> String {
    let relative = dir.strip_prefix("/sys/fs/cgroup").unwrap_or(dir);
    format!("/{}", relative.display())
}

fn run(fixture: &Path, expect_reset: bool, checks: &mut Checks) -> Result<(), String> {
    let own_before = cgroup_of(std::process::id());
    let placement = Placement::find().map_err(|why| format!("placement: {why}"))?;
    let control = placement.own.join("cgroup.subtree_control");
    let control_before = std::fs::read(&control).map_err(|e| e.to_string())?;
    let name = format!("memsample-{}", std::process::id());
    let mut cgroup = Cgroup::create(&placement, &name).map_err(|err| err.to_string())?;
    checks.check(
        "cgroup-created",
        ensure(cgroup.path().is_dir(), || "no directory".into()),
    );
    checks.check(
        "interval-peak-support",
        ensure(cgroup.has_interval_peak() == expect_reset, || {
            format!("reset supported: {}", cgroup.has_interval_peak())
        }),
    );
    let tmp = PathBuf::from(std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into()));
    let (held, release) = (
        tmp.join(format!("{name}-held")),
        tmp.join(format!("{name}-go")),
    );
    let fixture_steps = [
        "hold",
        "50",
        "touch",
        held.to_str().unwrap_or_default(),
        "wait-file",
        release.to_str().unwrap_or_default(),
    ];
    let mut child = spawn_in(&cgroup, fixture, &fixture_steps).map_err(|e| e.to_string())?;
    wait_for(&held)?;
    // The kernel's word for where the child is: the new cgroup, inside
    // memsample's own.
    let seen = cgroup_of(child.id());
    let own_path = cgroup_of_path(&placement.own);
    let top = format!("{}/{name}", own_path.trim_end_matches('/'));
    let (job, sampler) = match placement.layout {
        Layout::UnderRoot => (top.clone(), own_path.clone()),
        Layout::Leaves => (format!("{top}/job"), format!("{top}/sampler")),
    };
    checks.check(
        "child-joined",
        ensure(seen.trim_end() == format!("0::{job}"), || {
            format!("child in {seen:?}")
        }),
    );
    let own = cgroup_of(std::process::id());
    checks.check(
        "memsample-placed",
        ensure(own.trim_end() == format!("0::{sampler}"), || {
            format!("memsample in {own:?}")
        }),
    );
    let current = cgroup.current_bytes().map_err(|e| e.to_string())?;
    checks.check(
        "current-while-held",
        ensure(current >= 50 * MIB, || format!("memory.current {current}")),
    );
    // (Removing it while populated keeps it: checked through memsample in
    // init.sh, since it also gives the memory controller up.)
    let first = cgroup.interval_peak_bytes().map_err(|e| e.to_string())?;
    std::fs::write(&release, b"").map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    checks.check(
        "fixture-exited",
        ensure(status.success(), || format!("{status}")),
    );
    after_exit(&mut cgroup, first, expect_reset, checks)?;
    let left = cgroup.remove();
    let top_dir = placement.own.join(&name);
    checks.check(
        "removed-when-empty",
        ensure(left == Left::default() && !top_dir.exists(), || {
            format!("{left:?}")
        }),
    );
    let own = cgroup_of(std::process::id());
    checks.check(
        "memsample-back",
        ensure(own == own_before, || format!("memsample in {own:?}")),
    );
    let control_after = std::fs::read(&control).map_err(|e| e.to_string())?;
    checks.check(
        "subtree-control-restored",
        ensure(control_after == control_before, || {
            format!(
                "{:?} before, {:?} after",
                String::from_utf8_lossy(&control_before),
                String::from_utf8_lossy(&control_after)
            )
        }),
    );
    Ok(())
}

/// The figures once the child that held 50 MiB has exited.
fn after_exit(
    cgroup: &mut Cgroup,
    first: Option<u64>,
    expect_reset: bool,
    checks: &mut Checks,
) -> Result<(), String> {
    let peak = cgroup.peak_bytes().map_err(|e| e.to_string())?;
    checks.check(
        "peak-after-exit",
        ensure(peak.is_some_and(|p| p >= 50 * MIB), || {
            format!("memory.peak {peak:?}")
        }),
    );
    let current = cgroup.current_bytes().map_err(|e| e.to_string())?;
    checks.check(
        "current-after-exit",
        ensure(current < 50 * MIB, || format!("memory.current {current}")),
    );
    // Held across the first read and after it: both intervals saw it. The
    // third saw nothing, which only a real reset shows.
    let second = cgroup.interval_peak_bytes().map_err(|e| e.to_string())?;
    let third = cgroup.interval_peak_bytes().map_err(|e| e.to_string())?;
    let expected = |value: Option<u64>, high: bool| match (expect_reset, value) {
        (true, Some(bytes)) => (bytes >= 50 * MIB) == high,
        (false, None) => true,
        _ => false,
    };
    checks.check(
        "interval-peaks",
        ensure(
            expected(first, true) && expected(second, true) && expected(third, false),
            || format!("{first:?} {second:?} {third:?}"),
        ),
    );
    let kills = cgroup.oom_kills().map_err(|e| e.to_string())?;
    checks.check(
        "no-oom-kill",
        ensure(kills == 0, || format!("oom_kill {kills}")),
    );
    Ok(())
}

/// A cgroup limited to 32 MiB, a child that touches 50: the kernel's OOM
/// killer kills it inside the cgroup, and `memory.events` counts it.
fn oom(fixture: &Path, checks: &mut Checks) -> Result<(), String> {
    let placement = Placement::find().map_err(|why| format!("placement: {why}"))?;
    let name = format!("memsample-{}-oom", std::process::id());
    let mut cgroup = Cgroup::create(&placement, &name).map_err(|err| err.to_string())?;
    std::fs::write(cgroup.path().join("memory.max"), "32M").map_err(|e| e.to_string())?;
    let mut child = spawn_in(&cgroup, fixture, &["hold", "50"]).map_err(|e| e.to_string())?;
    let status = child.wait().map_err(|e| e.to_string())?;
    checks.check(
        "killed",
        ensure(status.signal() == Some(libc::SIGKILL), || {
            format!("{status}")
        }),
    );
    let kills = cgroup.oom_kills().map_err(|e| e.to_string())?;
    checks.check(
        "kill-counted",
        ensure(kills == 1, || format!("oom_kill {kills}")),
    );
    let peak = cgroup.peak_bytes().map_err(|e| e.to_string())?;
    checks.check(
        "peak-within-limit",
        ensure(peak.is_some_and(|p| p <= 32 * MIB), || {
            format!("memory.peak {peak:?}")
        }),
    );
    let left = cgroup.remove();
    checks.check(
        "removed",
        ensure(left == Left::default(), || format!("{left:?}")),
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut checks = Checks {
        prefix: args.get(1).cloned().unwrap_or_default(),
        failed: 0,
    };
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["run", _, fixture, reset] => {
            if let Err(why) = run(Path::new(fixture), reset == "reset", &mut checks) {
                checks.check("module", Err(why));
            }
        }
        ["oom", _, fixture] => {
            if let Err(why) = oom(Path::new(fixture), &mut checks) {
                checks.check("module", Err(why));
            }
        }
        ["unavailable", _, reason] => {
            let found = Placement::find();
            checks.check(
                "reason",
                ensure(
                    found
                        .as_ref()
                        .err()
                        .is_some_and(|e| e.to_string() == reason),
                    || format!("{found:?}"),
                ),
            );
        }
        ["layout", _, expected] => {
            let found = Placement::find();
            let layout = match found.as_ref().map(|placement| placement.layout) {
                Ok(Layout::UnderRoot) => "under-root",
                Ok(Layout::Leaves) => "leaves",
                Err(_) => "none",
            };
            checks.check(
                "layout",
                ensure(layout == expected, || format!("{found:?}")),
            );
        }
        _ => {
            eprintln!(
                "usage: cgroup_check run NAME FIXTURE reset|no-reset | oom NAME FIXTURE \
                 | unavailable NAME REASON | layout NAME under-root|leaves"
            );
            std::process::exit(2);
        }
    }
    std::process::exit(i32::from(checks.failed > 0));
}
