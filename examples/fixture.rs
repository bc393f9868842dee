//! The test fixture: a program of known memory behaviour, driven by a small
//! script of steps on its command line. memsample's integration tests build
//! it (cargo builds examples with the tests) and record it.
//!
//! ```text
//! fixture hold 100 sleep 2000 exit 3
//! fixture spike 200 50 sleep 1500
//! fixture children 4 50 3000 wait
//! ```
//!
//! Steps, run in order:
//! - `hold MIB`: map and touch MIB MiB, kept until `free`;
//! - `free`: unmap everything held;
//! - `map-file PATH MIB`: write a file of MIB MiB at PATH, map it shared and
//!   read every page (file-backed RSS), kept until `free`;
//! - `shm MIB`: map MIB MiB of shared anonymous memory and touch it (shmem
//!   RSS), kept until `free`;
//! - `threads N`: start N threads that park for the rest of the run;
//! - `spike MIB MS`: map and touch MIB MiB, keep it MS ms, unmap it;
//! - `sleep MS`;
//! - `children N MIB MS`: start N copies of itself that each hold MIB MiB for MS ms;
//! - `daemonize MIB MS`: start a child that starts a grandchild holding MIB MiB
//!   for MS ms and exits at once, orphaning it;
//! - `orphans N`: double-fork N grandchildren, one after the other, each
//!   orphaned at once and exiting a few ms later (a build's helpers);
//! - `fork-share MIB N MS`: map MIB MiB shared, touch it, and fork N children
//!   that read every page of it (so it counts in each one's RSS) and keep it MS ms;
//! - `forks N`: fork N children that block on a pipe (no memory of their own
//!   beyond what fork shares) until `release-forks`;
//! - `release-forks`: close that pipe, so they exit, and wait for them;
//! - `thread`: start a thread that prints `tid TID` on stdout and parks;
//! - `wait`: wait for the children started so far;
//! - `ignore SIG` (INT, TERM, HUP, QUIT): ignore a signal;
//! - `count SIG`: count deliveries of SIG; printed at exit as `SIGINT 1`;
//! - `until-signal MS`: sleep until a counted signal arrives (at most MS ms);
//! - `rename NAME`: set its own name (`prctl(PR_SET_NAME)`, what `comm` and
//!   `ps` show), as worker processes do;
//! - `touch PATH`: create PATH (the test waits for it instead of sleeping);
//! - `wait-file PATH`: wait until PATH exists (at most 60 s);
//! - `wait-lines PATH N`: wait until PATH has N lines (at most 60 s): a
//!   recording's first rows are written;
//! - `print-hwm`: print `VmHWM BYTES` on stdout;
//! - `mark NAME`: send NAME as one datagram to `$MEMSAMPLE_CONTROL` (a
//!   phase starts; docs/phases.md), as any program may without memsample;
//! - `marks N PREFIX`: send N marks, PREFIX0 to PREFIX(N-1), as fast as it can;
//! - `no-death-signal`: clear its parent-death signal, as the exec of a
//!   set-uid program (`su`, `sudo`) does;
//! - `kill SIG`: die of SIG;
//! - `exit K`: exit with code K (default 0 after the last step).

use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

static COUNTS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
const SIGNALS: [(&str, i32); 4] = [
    ("INT", libc::SIGINT),
    ("TERM", libc::SIGTERM),
    ("HUP", libc::SIGHUP),
    ("QUIT", libc::SIGQUIT),
];

extern "C" fn count_signal(signal: i32) {
    if let Some(index) = SIGNALS.iter().position(|(_, s)| *s == signal) {
        COUNTS[index].fetch_add(1, Ordering::SeqCst);
    }
}

fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "INT" => libc::SIGINT,
        "TERM" => libc::SIGTERM,
        "HUP" => libc::SIGHUP,
        "QUIT" => libc::SIGQUIT,
        "KILL" => libc::SIGKILL,
        "SEGV" => libc::SIGSEGV,
        "USR1" => libc::SIGUSR1,
        other => panic!("fixture: unknown signal {other}"),
    }
}

/// Anonymous memory, touched page by page so that all of it is resident.
struct Mapping {
    address: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    /// `mib` MiB of private anonymous memory, touched: RSS of kind anon.
    fn new(mib: usize) -> Mapping {
        Mapping::anonymous(mib, libc::MAP_PRIVATE)
    }

    /// `mib` MiB of shared anonymous memory, touched: RSS of kind shmem.
    fn shared(mib: usize) -> Mapping {
        Mapping::anonymous(mib, libc::MAP_SHARED)
    }

    fn anonymous(mib: usize, sharing: libc::c_int) -> Mapping {
        let len = mib * MIB;
        // SAFETY: a fresh anonymous mapping, checked for failure.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                sharing | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(address, libc::MAP_FAILED, "fixture: mmap failed");
        // SAFETY: the mapping is `len` bytes, readable and writable.
        unsafe { std::ptr::write_bytes(address.cast::<u8>(), 1, len) };
        Mapping { address, len }
    }

    /// A file of `mib` MiB at `path`, mapped read-only and read page by
    /// page: RSS of kind file (its pages come from the page cache).
    fn file(path: &str, mib: usize) -> Mapping {
        use std::os::fd::AsRawFd;
        let len = mib * MIB;
        std::fs::write(path, vec![7u8; len]).expect("fixture: write the file");
        let file = std::fs::File::open(path).expect("fixture: open the file");
        // SAFETY: mapping `len` bytes of a file that is `len` bytes long;
        // checked for failure; the mapping outlives the descriptor.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        assert_ne!(address, libc::MAP_FAILED, "fixture: mmap failed");
        let mut sum = 0u64;
        for offset in (0..len).step_by(4096) {
            // SAFETY: within the mapping.
            sum += u64::from(unsafe { std::ptr::read_volatile(address.cast::<u8>().add(offset)) });
        }
        std::hint::black_box(sum);
        Mapping { address, len }
    }
}

/// One mark to the recording's control socket, waiting for room when its
/// buffer is full; nothing without one.
fn send_mark(name: &[u8]) {
    let Some(path) = std::env::var_os("MEMSAMPLE_CONTROL") else {
        return;
    };
    let socket = std::os::unix::net::UnixDatagram::unbound().expect("fixture: socket");
    socket.send_to(name, path).expect("fixture: send the mark");
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.address, self.len) };
    }
}

fn vm_hwm_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn wait_for_file(path: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !std::path::Path::new(path).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until the file at `path` has `lines` lines (a recording's first
/// rows), at most 60 s.
fn wait_for_lines(path: &str, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let count =
        || std::fs::read(path).map_or(0, |text| text.iter().filter(|&&b| b == b'\n').count());
    while count() < lines && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Forks a child that forks a grandchild and exits at once; the grandchild
/// sleeps 2 ms and exits, an orphan by then.
fn orphan_one() {
    // SAFETY: the fixture is single-threaded; the forked processes only
    // fork, sleep and call _exit.
    unsafe {
        let middle = libc::fork();
        assert!(middle >= 0, "fixture: fork failed");
        if middle == 0 {
            if libc::fork() == 0 {
                libc::usleep(2000);
            }
            libc::_exit(0);
        }
        libc::waitpid(middle, std::ptr::null_mut(), 0);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let me = std::env::current_exe().expect("fixture: own path");
    let mut held: Vec<Mapping> = Vec::new();
    let mut children: Vec<Child> = Vec::new();
    let mut forked: Vec<libc::pid_t> = Vec::new();
    let mut release: Option<libc::c_int> = None;
    let mut steps = args.iter().map(String::as_str);
    let number = |value: Option<&str>| -> u64 {
        value
            .and_then(|v| v.parse().ok())
            .expect("fixture: a number is missing")
    };
    let mut exit_code = 0;
    while let Some(step) = steps.next() {
        match step {
            "hold" => held.push(Mapping::new(number(steps.next()) as usize)),
            "free" => held.clear(),
            "map-file" => {
                let path = steps.next().expect("fixture: path");
                held.push(Mapping::file(path, number(steps.next()) as usize));
            }
            "shm" => held.push(Mapping::shared(number(steps.next()) as usize)),
            "threads" => {
                for _ in 0..number(steps.next()) {
                    std::thread::spawn(|| {
                        loop {
                            std::thread::park();
                        }
                    });
                }
            }
            "spike" => {
                let mapping = Mapping::new(number(steps.next()) as usize);
                std::thread::sleep(Duration::from_millis(number(steps.next())));
                drop(mapping);
            }
            "sleep" => std::thread::sleep(Duration::from_millis(number(steps.next()))),
            "children" => {
                let count = number(steps.next());
                let mib = number(steps.next()).to_string();
                let ms = number(steps.next()).to_string();
                for _ in 0..count {
                    let child = Command::new(&me)
                        .args(["hold", &mib, "sleep", &ms])
                        .spawn()
                        .expect("fixture: spawn child");
                    children.push(child);
                }
            }
            "daemonize" => {
                let mib = number(steps.next()).to_string();
                let ms = number(steps.next()).to_string();
                let mut parent = Command::new(&me)
                    .args(["orphan", &mib, &ms])
                    .spawn()
                    .expect("fixture: spawn");
                let _ = parent.wait();
            }
            // Internal: the middle process of `daemonize`.
            "orphan" => {
                let mib = number(steps.next()).to_string();
                let ms = number(steps.next()).to_string();
                Command::new(&me)
                    .args(["hold", &mib, "sleep", &ms])
                    .spawn()
                    .expect("fixture: spawn grandchild");
                std::process::exit(0);
            }
            "orphans" => {
                for _ in 0..number(steps.next()) {
                    orphan_one();
                }
            }
            "fork-share" => {
                let len = number(steps.next()) as usize * MIB;
                let count = number(steps.next());
                let ms = number(steps.next());
                // SAFETY: a fresh shared anonymous mapping, checked for failure.
                let address = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                };
                assert_ne!(address, libc::MAP_FAILED, "fixture: mmap failed");
                // SAFETY: the mapping is `len` bytes, readable and writable.
                unsafe { std::ptr::write_bytes(address.cast::<u8>(), 1, len) };
                for _ in 0..count {
                    // SAFETY: the fixture is single-threaded here; the child
                    // only reads memory, sleeps and calls _exit.
                    let pid = unsafe { libc::fork() };
                    assert!(pid >= 0, "fixture: fork failed");
                    if pid == 0 {
                        let mut sum = 0u64;
                        for offset in (0..len).step_by(4096) {
                            // SAFETY: within the mapping.
                            sum += u64::from(unsafe {
                                std::ptr::read_volatile(address.cast::<u8>().add(offset))
                            });
                        }
                        std::hint::black_box(sum);
                        std::thread::sleep(Duration::from_millis(ms));
                        // SAFETY: leaving the forked child without running
                        // the parent's exit handlers.
                        unsafe { libc::_exit(0) };
                    }
                    forked.push(pid);
                }
            }
            "forks" => {
                let count = number(steps.next());
                let mut fds = [0 as libc::c_int; 2];
                // SAFETY: pipe writes two descriptors into the array.
                assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "fixture: pipe");
                for _ in 0..count {
                    // SAFETY: the fixture is single-threaded here; the child
                    // only closes, reads and calls _exit.
                    let pid = unsafe { libc::fork() };
                    assert!(pid >= 0, "fixture: fork failed");
                    if pid == 0 {
                        let mut byte = 0u8;
                        // SAFETY: closing our copy of the write end, then
                        // reading one byte into a local: returns at EOF.
                        unsafe {
                            libc::close(fds[1]);
                            libc::read(fds[0], (&raw mut byte).cast(), 1);
                            libc::_exit(0);
                        }
                    }
                    forked.push(pid);
                }
                // SAFETY: the parent keeps only the write end.
                unsafe { libc::close(fds[0]) };
                release = Some(fds[1]);
            }
            "release-forks" => {
                if let Some(fd) = release.take() {
                    // SAFETY: closing the write end this process holds.
                    unsafe { libc::close(fd) };
                }
                for pid in forked.drain(..) {
                    // SAFETY: waiting for a child this process forked.
                    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                }
            }
            "thread" => {
                let (sender, receiver) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    // SAFETY: gettid has no arguments and cannot fail.
                    let tid = unsafe { libc::gettid() };
                    let _ = sender.send(tid);
                    loop {
                        std::thread::park();
                    }
                });
                let tid = receiver.recv().expect("fixture: thread id");
                use std::io::Write;
                println!("tid {tid}");
                let _ = std::io::stdout().flush();
            }
            "wait" => {
                for mut child in children.drain(..) {
                    let _ = child.wait();
                }
                for pid in forked.drain(..) {
                    // SAFETY: waiting for a child this process forked.
                    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
                }
            }
            "ignore" => {
                let signal = signal_number(steps.next().expect("fixture: signal"));
                // SAFETY: setting a disposition; no handler code involved.
                unsafe { libc::signal(signal, libc::SIG_IGN) };
            }
            "count" => {
                let signal = signal_number(steps.next().expect("fixture: signal"));
                let handler = count_signal as extern "C" fn(i32);
                // SAFETY: the handler only touches atomics.
                unsafe { libc::signal(signal, handler as libc::sighandler_t) };
            }
            "until-signal" => {
                let deadline = Instant::now() + Duration::from_millis(number(steps.next()));
                while COUNTS.iter().all(|c| c.load(Ordering::SeqCst) == 0)
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            "rename" => {
                let name = std::ffi::CString::new(steps.next().expect("fixture: name"))
                    .expect("fixture: a name without NUL");
                // SAFETY: PR_SET_NAME reads a NUL-terminated string, which
                // `name` is, and keeps its first 15 bytes.
                let rc = unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
                assert_eq!(rc, 0, "fixture: prctl(PR_SET_NAME) failed");
            }
            "touch" => {
                std::fs::write(steps.next().expect("fixture: path"), b"").expect("fixture: touch");
            }
            "wait-file" => wait_for_file(steps.next().expect("fixture: path")),
            "wait-lines" => {
                let path = steps.next().expect("fixture: path");
                wait_for_lines(path, number(steps.next()) as usize);
            }
            "print-hwm" => println!("VmHWM {}", vm_hwm_bytes()),
            "mark" => send_mark(steps.next().expect("fixture: name").as_bytes()),
            "marks" => {
                let count = number(steps.next());
                let prefix = steps.next().expect("fixture: prefix");
                for n in 0..count {
                    send_mark(format!("{prefix}{n}").as_bytes());
                }
            }
            // SAFETY: prctl on this process's own attribute.
            "no-death-signal" => unsafe {
                libc::prctl(libc::PR_SET_PDEATHSIG, 0);
            },
            "kill" => {
                let signal = signal_number(steps.next().expect("fixture: signal"));
                // SAFETY: restoring the default action, then raising.
                unsafe {
                    libc::signal(signal, libc::SIG_DFL);
                    libc::raise(signal);
                }
            }
            "exit" => {
                exit_code = number(steps.next()) as i32;
                break;
            }
            other => panic!("fixture: unknown step {other}"),
        }
    }
    for (index, (name, _)) in SIGNALS.iter().enumerate() {
        let count = COUNTS[index].load(Ordering::SeqCst);
        if count > 0 {
            println!("SIG{name} {count}");
        }
    }
    std::process::exit(exit_code);
}
