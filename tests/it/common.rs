//! Shared helpers of the integration tests: the fixture program, the
//! memsample binary, reading CSVs back, and waiting on conditions with a
//! deadline instead of sleeping and hoping.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1 << 20;

/// The memsample binary under test.
pub fn memsample() -> Command {
    default_signals();
    Command::new(env!("CARGO_BIN_EXE_memsample"))
}

/// SIGINT and SIGQUIT back to their default action in the test process, and
/// so in everything it starts. A shell without job control starts a job in
/// the background (`cargo test &` in a script) with both ignored, and an
/// ignored signal stays ignored for memsample and its command, as it should
/// (docs/exit-status.md): the tests of Ctrl-C would then test
/// their runner. Tests of an ignored signal ignore it in their own child.
fn default_signals() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for signal in [libc::SIGINT, libc::SIGQUIT] {
            // SAFETY: setting a disposition to SIG_DFL installs no handler;
            // nothing in this process relies on these two being ignored.
            unsafe { libc::signal(signal, libc::SIG_DFL) };
        }
    });
}

/// The fixture program (`examples/fixture.rs`). `cargo test` builds examples;
/// when a single test target is run, build it here.
pub fn fixture() -> PathBuf {
    default_signals();
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test path");
        // target/debug/deps/it-xxxx -> target/debug/examples/fixture
        let path = exe
            .parent()
            .and_then(Path::parent)
            .expect("target dir")
            .join("examples/fixture");
        if !path.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--example", "fixture"])
                .status()
                .expect("cargo build --example fixture");
            assert!(status.success(), "building the fixture failed");
        }
        path
    })
    .clone()
}

/// Waits until `condition` holds, failing the test after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for a child with a deadline, killing it if the deadline passes.
pub fn wait_child(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not end within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` to `pid`.
pub fn send(pid: u32, signal: i32) {
    // SAFETY: kill(2) with a pid this test started.
    let rc = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal})");
}

/// Whether `pid` is a live process (not gone, not a zombie).
pub fn is_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim().chars().next());
            !matches!(state, Some('Z' | 'X') | None)
        }
        Err(_) => false,
    }
}

/// One CSV row as column name -> text.
pub type Row = HashMap<String, String>;

/// Reads a CSV written by memsample; checks every row is complete.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
    let text = std::fs::read_to_string(path).expect("CSV readable");
    parse_csv(&text)
}

pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Row>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.expect("a complete row");
            assert_eq!(record.len(), header.len(), "row {record:?} is incomplete");
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Reads a recording in either format (JSON Lines when its first
/// non-blank character is `{`) as the header and rows of CSV text: a JSON
/// number is its text, `null` is empty. Checks that every JSON Lines row
/// has the same keys.
pub fn parse_recording(text: &str) -> (Vec<String>, Vec<Row>) {
    if !text.trim_start().starts_with('{') {
        return parse_csv(text);
    }
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line:?}"));
        let keys = json_keys(line);
        match &header {
            Some(header) => assert_eq!(header, &keys, "{line}"),
            None => header = Some(keys.clone()),
        }
        let row = keys
            .iter()
            .map(|key| {
                let text = match &object[key] {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (key.clone(), text)
            })
            .collect();
        rows.push(row);
    }
    (header.unwrap_or_default(), rows)
}

/// The keys of one JSON object, in the order of the text (serde_json's map
/// sorts them).
pub fn json_keys(line: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>();
    if let Some(Ok(serde_json::Value::Object(object))) = stream.next() {
        // Find each key in the text and sort by position.
        let mut found: Vec<(usize, String)> = object
            .keys()
            .map(|key| {
                let quoted = serde_json::to_string(key).expect("a key");
                (
                    line.find(&format!("{quoted}:")).expect("key in text"),
                    key.clone(),
                )
            })
            .collect();
        found.sort();
        keys = found.into_iter().map(|(_, key)| key).collect();
    }
    keys
}

/// Writes a CSV recording as JSON Lines, as memsample would have: the
/// header's names as keys, in order; timestamp, trigger and command as
/// strings; empty fields as null; other fields as numbers, their text kept.
pub fn csv_to_jsonl(csv: &str) -> String {
    let (header, rows) = parse_csv(csv);
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = header
            .iter()
            .map(|key| {
                let text = &row[key];
                let value = match key.as_str() {
                    "timestamp" | "trigger" | "command" => {
                        serde_json::to_string(text).expect("a string")
                    }
                    _ if text.is_empty() => "null".to_string(),
                    _ => text.clone(),
                };
                format!("{}:{value}", serde_json::to_string(key).expect("a key"))
            })
            .collect();
        out.push_str(&format!("{{{}}}\n", fields.join(",")));
    }
    out
}

/// Number of complete lines in a file that is being written.
pub fn line_count(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|text| text.matches('\n').count())
        .unwrap_or(0)
}

pub fn num(row: &Row, column: &str) -> u64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?} is not an integer", row[column]))
}

pub fn float(row: &Row, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?} is not a number", row[column]))
}

/// The pid in memsample's start line: `... (pid 4242) every ...`.
pub fn pid_from_start_line(stderr: &str) -> u32 {
    let start = stderr.find("(pid ").expect("start line with a pid") + 5;
    let end = start + stderr[start..].find(')').expect(")");
    stderr[start..end].parse().expect("pid")
}

/// The rows that are samples: all but the `exit` row, which closes a
/// recording with what is left of the tree and the final peaks.
pub fn sampled(rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .filter(|row| row["trigger"] != "exit")
        .cloned()
        .collect()
}

/// The header memsample writes with these options, from its own column
/// registry (the one list of columns; its unit tests pin the exact text).
pub fn layout_header(per_process: bool, pss: bool) -> String {
    memsample::schema::Layout {
        per_process,
        pss,
        ..Default::default()
    }
    .header()
    .join(",")
}

/// A memsample started in the background, its stdout and stderr collected
/// as they come.
pub struct Running {
    pub child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

fn collect(
    mut source: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&text);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = source.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

impl Running {
    pub fn start(command: &mut Command) -> Running {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("memsample starts");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("lock").clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("lock").clone()
    }

    /// The spawned command's pid, from the start line.
    pub fn command_pid(&self) -> u32 {
        wait_until("the start line", Duration::from_secs(20), || {
            self.stderr().contains("(pid ")
        });
        pid_from_start_line(&self.stderr())
    }

    /// Waits for memsample to end; also waits for its output to be read.
    pub fn finish(mut self, limit: Duration) -> (ExitStatus, String, String) {
        let status = wait_child(&mut self.child, limit);
        // The pipes close when memsample and everything holding them end;
        // give the reader threads a moment with a deadline.
        let deadline = Instant::now() + Duration::from_secs(5);
        while (std::sync::Arc::strong_count(&self.stderr) > 1
            || std::sync::Arc::strong_count(&self.stdout) > 1)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        (status, self.stdout(), self.stderr())
    }
}

/// Field `index` (0-based, counting from the state after the command name)
/// of `/proc/PID/stat`: 0 is the state, 1 the ppid, 2 the process group.
pub fn stat_field(pid: u32, index: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(index))
        .map(str::to_string)
}

/// Whether `pid` is a zombie: exited, not reaped yet.
pub fn is_zombie(pid: u32) -> bool {
    stat_field(pid, 0).as_deref() == Some("Z")
}

/// How many write syscalls `pid` has made (`syscw` in `/proc/PID/io`).
pub fn write_syscalls(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("/proc/PID/io");
    io.lines()
        .find_map(|line| line.strip_prefix("syscw:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("syscw in /proc/PID/io")
}

/// Kills a whole process group when dropped, so that a failing test leaves
/// no fixture (nor its children) behind.
pub struct KillGroupOnDrop(pub u32);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        // SAFETY: kill(2) of a process group this test created.
        unsafe { libc::kill(-(self.0 as i32), libc::SIGKILL) };
    }
}

/// The uid and gid of `nobody`, for tests that need an unprivileged user.
pub const NOBODY: u32 = 65534;

/// `setpriv` arguments that switch to user and group `nobody`.
fn nobody_setpriv() -> Command {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg("--");
    command
}

/// Whether `test ARGS` holds for user `nobody` (`-x PATH`, `-w DIR`, ...):
/// a work tree under a directory closed to other users cannot be used.
pub fn nobody_may(args: &[&std::ffi::OsStr]) -> bool {
    nobody_setpriv()
        .arg("test")
        .args(args)
        .status()
        .is_ok_and(|status| status.success())
}

/// A command that runs `program` as user and group `nobody` through
/// `setpriv`, or `None` (with the reason printed) when that cannot be done:
/// this test not running as root, `setpriv` missing, or `program` out of
/// nobody's reach.
pub fn as_nobody(program: impl AsRef<std::ffi::OsStr>) -> Option<Command> {
    let program = program.as_ref();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("as nobody: not running as root, cannot switch to nobody");
        return None;
    }
    let works = Command::new("setpriv")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !works {
        eprintln!("as nobody: setpriv (util-linux) is not installed");
        return None;
    }
    if !nobody_may(&["-x".as_ref(), program]) {
        eprintln!(
            "as nobody: nobody cannot execute {} (a parent directory is closed to other users)",
            Path::new(program).display()
        );
        return None;
    }
    let mut command = nobody_setpriv();
    command.arg(program);
    Some(command)
}

/// Every process as (pid, parent pid, state letter), read from `/proc`.
pub fn processes() -> Vec<(u32, u32, char)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next());
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if let (Some(state), Some(ppid)) = (state, ppid) {
            found.push((pid, ppid, state));
        }
    }
    found
}

/// A fixture started by the test itself (an attach-mode target) that runs
/// its `steps`, then waits for [`Waiting::release`] before exiting.
pub struct Waiting {
    pub child: Child,
    go: PathBuf,
}

impl Waiting {
    /// Starts `fixture STEPS... touch READY wait-file GO` in `dir`, with
    /// `configure` applied to the command, and waits until it is ready.
    pub fn start(dir: &Path, steps: &[&str], configure: impl FnOnce(&mut Command)) -> Waiting {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let ready = dir.join(format!("ready-{n}"));
        let go = dir.join(format!("go-{n}"));
        let mut command = Command::new(fixture());
        command
            .args(steps)
            .arg("touch")
            .arg(&ready)
            .arg("wait-file")
            .arg(&go);
        configure(&mut command);
        let child = command.spawn().expect("the fixture starts");
        wait_until("the fixture to be ready", Duration::from_secs(60), || {
            ready.exists()
        });
        Waiting { child, go }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the fixture go on past `wait-file` (to its exit).
    pub fn release(&self) {
        std::fs::write(&self.go, b"").expect("the go file");
    }
}

/// A CSV kept in `tests/data/`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// How a short memsample run ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs memsample with `args` (in `dir` when given) to its end.
pub fn run(dir: Option<&Path>, args: &[&str]) -> Run {
    let mut command = memsample();
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let output = command.args(args).output().expect("memsample runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

impl Waiting {
    /// Lets the fixture exit and checks that it exited 0 without having
    /// received any of the signals it counts (it prints a line per signal).
    pub fn release_and_check_no_signal(mut self) {
        self.release();
        let status = wait_child(&mut self.child, Duration::from_secs(60));
        assert_eq!(status.code(), Some(0));
        let mut stdout = String::new();
        if let Some(mut pipe) = self.child.stdout.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stdout).expect("read");
        }
        assert_eq!(stdout, "", "the target received signals");
    }
}

/// Sends `signal` to the process group `pgid` (`kill -SIG -- -PGID`).
pub fn send_group(pgid: u32, signal: i32) {
    // SAFETY: kill(2) of a process group this test created.
    let rc = unsafe { libc::kill(-(pgid as i32), signal) };
    assert_eq!(rc, 0, "kill(-{pgid}, {signal})");
}

/// Starts `command` with a file size limit (RLIMIT_FSIZE) of `bytes`: its
/// writes past that fail with EFBIG (SIGXFSZ is memsample's to handle).
pub fn limit_file_size(command: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One step of the fixture's script (`examples/fixture.rs` lists what each
/// does); sizes in MiB, times in ms.
#[derive(Debug, Clone, Copy)]
#[allow(dead_code, reason = "the fixture's whole script; each test uses a few")]
pub enum Step<'a> {
    Hold(u64),
    Free,
    MapFile(&'a Path, u64),
    Shm(u64),
    Threads(u32),
    Spike(u64, u64),
    Sleep(u64),
    /// `children N MIB MS`.
    Children(u32, u64, u64),
    Daemonize(u64, u64),
    Orphans(u32),
    /// `fork-share MIB N MS`.
    ForkShare(u64, u32, u64),
    Forks(u32),
    ReleaseForks,
    Thread,
    Wait,
    Ignore(&'a str),
    Count(&'a str),
    UntilSignal(u64),
    Rename(&'a str),
    Touch(&'a Path),
    WaitFile(&'a Path),
    PrintHwm,
    /// `wait-lines PATH N`.
    WaitLines(&'a str, u32),
    /// `mark NAME`: a phase starts (docs/phases.md).
    Mark(&'a str),
    /// `marks N PREFIX`.
    Marks(u32, &'a str),
    NoDeathSignal,
    Kill(&'a str),
    Exit(i32),
}

impl Step<'_> {
    /// The step as the fixture's arguments.
    pub fn args(self) -> Vec<std::ffi::OsString> {
        let words: Vec<String> = match self {
            Step::Hold(mib) => vec!["hold".into(), mib.to_string()],
            Step::Free => vec!["free".into()],
            Step::MapFile(path, mib) => {
                return vec!["map-file".into(), path.into(), mib.to_string().into()];
            }
            Step::Shm(mib) => vec!["shm".into(), mib.to_string()],
            Step::Threads(n) => vec!["threads".into(), n.to_string()],
            Step::Spike(mib, ms) => vec!["spike".into(), mib.to_string(), ms.to_string()],
            Step::Sleep(ms) => vec!["sleep".into(), ms.to_string()],
            Step::Children(n, mib, ms) => {
                vec![
                    "children".into(),
                    n.to_string(),
                    mib.to_string(),
                    ms.to_string(),
                ]
            }
            Step::Daemonize(mib, ms) => vec!["daemonize".into(), mib.to_string(), ms.to_string()],
            Step::Orphans(n) => vec!["orphans".into(), n.to_string()],
            Step::ForkShare(mib, n, ms) => {
                vec![
                    "fork-share".into(),
                    mib.to_string(),
                    n.to_string(),
                    ms.to_string(),
                ]
            }
            Step::Forks(n) => vec!["forks".into(), n.to_string()],
            Step::ReleaseForks => vec!["release-forks".into()],
            Step::Thread => vec!["thread".into()],
            Step::Wait => vec!["wait".into()],
            Step::Ignore(signal) => vec!["ignore".into(), signal.into()],
            Step::Count(signal) => vec!["count".into(), signal.into()],
            Step::UntilSignal(ms) => vec!["until-signal".into(), ms.to_string()],
            Step::Rename(name) => vec!["rename".into(), name.into()],
            Step::Touch(path) => return vec!["touch".into(), path.into()],
            Step::WaitFile(path) => return vec!["wait-file".into(), path.into()],
            Step::PrintHwm => vec!["print-hwm".into()],
            Step::WaitLines(path, n) => vec!["wait-lines".into(), path.into(), n.to_string()],
            Step::Mark(name) => vec!["mark".into(), name.into()],
            Step::Marks(n, prefix) => vec!["marks".into(), n.to_string(), prefix.into()],
            Step::NoDeathSignal => vec!["no-death-signal".into()],
            Step::Kill(signal) => vec!["kill".into(), signal.into()],
            Step::Exit(code) => vec!["exit".into(), code.to_string()],
        };
        words.into_iter().map(Into::into).collect()
    }
}

/// `fixture STEPS...` as arguments, for a command line of one's own.
pub fn script(steps: &[Step]) -> Vec<std::ffi::OsString> {
    steps.iter().flat_map(|step| step.args()).collect()
}

/// A recording of the fixture, run to its end: `memsample FLAGS -o OUT --
/// fixture STEPS`, in a temporary directory of its own.
pub struct Recorded {
    /// Kept so that the directory lives as long as the recording.
    _dir: tempfile::TempDir,
    /// The recording (`mem.csv`, or the name given to [`record_as`]).
    pub out: PathBuf,
    pub code: Option<i32>,
    /// The signal memsample died of, if it did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Recorded {
    /// The recording's header and rows (CSV or JSON Lines).
    pub fn rows(&self) -> (Vec<String>, Vec<Row>) {
        let text = std::fs::read_to_string(&self.out)
            .unwrap_or_else(|err| panic!("{}: {err}; stderr: {}", self.out.display(), self.stderr));
        parse_recording(&text)
    }

    /// Asserts that memsample exited with `code`, showing its stderr if not.
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "stderr: {}", self.stderr);
        self
    }
}

/// Records the fixture running `steps` with memsample's `flags`, into
/// `mem.csv`.
pub fn record(flags: &[&str], steps: &[Step]) -> Recorded {
    record_as("mem.csv", flags, steps)
}

/// As [`record`], into the file `name` of the temporary directory.
pub fn record_as(name: &str, flags: &[&str], steps: &[Step]) -> Recorded {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join(name);
    let output = memsample()
        .current_dir(dir.path())
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .arg(fixture())
        .args(script(steps))
        .output()
        .expect("memsample runs");
    Recorded {
        _dir: dir,
        out,
        code: output.status.code(),
        signal: std::os::unix::process::ExitStatusExt::signal(&output.status),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
