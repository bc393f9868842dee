//! Phases (docs/phases.md): the control socket a job sends its marks to,
//! the thread that receives them, and `memsample mark`, which sends one.
//!
//! A mark is one datagram of UTF-8, the phase's name. The receiving thread
//! only queues names (bounded: a flood waits in the kernel's socket buffer,
//! then its senders wait); the interval thread takes each queued mark as
//! a `mark` row, so a mark never delays a tick more than the sample it is.

use std::collections::VecDeque;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::record::spare::Spare;

/// The variable that gives the job the socket's path.
pub(crate) const ENV: &str = "MEMSAMPLE_CONTROL";
/// The longest name, in bytes.
pub(crate) const LONGEST: usize = 200;
/// Marks received and not yet recorded; beyond, the receiver waits.
const PENDING_MAX: usize = 4096;
/// How long `memsample mark` waits for room in a full socket buffer.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Marks received, in order, waiting for their row. The socket is read
/// only under the queue's lock, so that marks keep their order whoever
/// reads them: the receiving thread, or the session taking them all (at a
/// trigger, and before the exit row: a job's last marks are not lost).
#[derive(Debug)]
pub(crate) struct Marks {
    queue: Mutex<VecDeque<String>>,
    room: Condvar,
    /// Non-blocking.
    socket: Option<UnixDatagram>,
}

impl Marks {
    /// Marks read from `socket` (none without).
    pub(crate) fn new(socket: Option<UnixDatagram>) -> Marks {
        Marks {
            queue: Mutex::default(),
            room: Condvar::new(),
            socket,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<String>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves what the socket holds into the queue, while there is room.
    /// Whether the socket failed (memsample is ending).
    fn fill(&self, queue: &mut VecDeque<String>) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        // Room for a name far over the limit: it is cut, not refused.
        let mut buffer = [0u8; 4096];
        while queue.len() < PENDING_MAX {
            match socket.recv(&mut buffer) {
                Ok(len) => queue.push_back(clean(buffer.get(..len).unwrap_or_default())),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return err.kind() != io::ErrorKind::WouldBlock,
            }
        }
        false
    }

    /// Every mark received, oldest first.
    pub(crate) fn take_all(&self) -> Vec<String> {
        let mut queue = self.lock();
        let _ = self.fill(&mut queue);
        let taken: Vec<String> = queue.drain(..).collect();
        drop(queue);
        self.room.notify_all();
        taken
    }

    /// The receiving thread: waits for datagrams, queues them and calls
    /// `wake`; while the queue is full it waits for room, and a flood waits
    /// in the kernel's socket buffer (its senders then wait too).
    fn receive(&self, wake: &dyn Fn()) {
        let Some(socket) = &self.socket else {
            return;
        };
        loop {
            let (failed, queued, full) = {
                let mut queue = self.lock();
                let failed = self.fill(&mut queue);
                let full = queue.len() >= PENDING_MAX;
                if full {
                    let _ = self
                        .room
                        .wait_timeout(queue, Duration::from_millis(100))
                        .unwrap_or_else(PoisonError::into_inner);
                    (failed, true, true)
                } else {
                    (failed, !queue.is_empty(), false)
                }
            };
            if failed {
                return;
            }
            if queued {
                wake();
            }
            if !full && !wait_readable(socket) {
                return;
            }
        }
    }
}

/// Blocks until the socket has a datagram; false when it cannot wait.
fn wait_readable(socket: &UnixDatagram) -> bool {
    use rustix::event::{PollFd, PollFlags, poll};
    loop {
        let mut fds = [PollFd::new(socket, PollFlags::IN)];
        match poll(&mut fds, None) {
            Ok(_) => return true,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

/// The socket, bound; removed (with its private directory) when dropped.
#[derive(Debug)]
pub(crate) struct Control {
    socket: UnixDatagram,
    path: PathBuf,
    /// The private directory made for it; `None` with `--control PATH`.
    dir: Option<PathBuf>,
}

impl Control {
    /// Binds the socket at `at` (`--control PATH`), or in a directory of
    /// mode 0700 made for it under `$XDG_RUNTIME_DIR`, `$TMPDIR` or `/tmp`.
    pub(crate) fn create(at: Option<&Path>) -> Result<Control, String> {
        if let Some(path) = at {
            let socket = UnixDatagram::bind(path).map_err(|err| {
                format!(
                    "--control {}: cannot make the socket: {}",
                    path.display(),
                    crate::console::reason::reason(&err)
                )
            })?;
            return Ok(Control {
                socket,
                path: path.to_path_buf(),
                dir: None,
            });
        }
        let dir = private_dir().map_err(|err| {
            format!(
                "--phases: cannot make a private directory for the control socket: {}",
                crate::console::reason::reason(&err)
            )
        })?;
        let path = dir.join("control");
        match UnixDatagram::bind(&path) {
            Ok(socket) => Ok(Control {
                socket,
                path,
                dir: Some(dir),
            }),
            Err(err) => {
                let _ = std::fs::remove_dir(&dir);
                Err(format!(
                    "--phases: cannot make the control socket: {}",
                    crate::console::reason::reason(&err)
                ))
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The queue of marks, reading a non-blocking copy of the socket.
    pub(crate) fn marks(&self) -> Arc<Marks> {
        let socket = self
            .socket
            .try_clone()
            .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
            .ok();
        Arc::new(Marks::new(socket))
    }
}

/// Makes `spare` (started before the command, src/record/spare.rs) the
/// receiving thread: each mark is queued in `marks`, then `wake` asks the
/// interval thread to record it. The thread is not joined: it waits on the
/// socket until memsample exits around it.
pub(crate) fn listen(spare: Spare, marks: Arc<Marks>, wake: impl Fn() + Send + 'static) {
    drop(spare.run(move || marks.receive(&wake)));
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A name as it came, made one line of at most [`LONGEST`] bytes: a final
/// newline dropped, control characters escaped (`\n`, `\u{1b}`), invalid
/// UTF-8 replaced, the rest cut at a character's boundary.
pub(crate) fn clean(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    let text = String::from_utf8_lossy(raw);
    let mut name = String::with_capacity(text.len().min(LONGEST));
    for c in text.chars() {
        let piece: String = if c.is_control() {
            c.escape_default().collect()
        } else {
            c.to_string()
        };
        if name.len() + piece.len() > LONGEST {
            break;
        }
        name.push_str(&piece);
    }
    if name.is_empty() {
        name.push_str("(unnamed)");
    }
    name
}

/// A directory only this user can enter, with a name no one can guess in
/// advance; retried on a clash.
fn private_dir() -> io::Result<PathBuf> {
    let base = ["XDG_RUNTIME_DIR", "TMPDIR"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .find(|dir| dir.is_absolute() && dir.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for attempt in 0..16u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = base.join(format!(
            "memsample-{}-{:08x}",
            std::process::id(),
            nanos ^ attempt.wrapping_mul(0x9e37_79b9)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = err,
            Err(err) => return Err(err),
        }
    }
    Err(last)
}

/// Why `memsample mark` refuses a name (exit 2).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("mark: the name is empty".into());
    }
    if name.len() > LONGEST {
        return Err(format!(
            "mark: the name is {} bytes, at most {LONGEST}",
            name.len()
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "mark: the name has control characters: {}",
            crate::schema::quoted(name)
        ));
    }
    Ok(())
}

/// Sends a mark to `socket`; an error only when a running recording could
/// not be told (a socket that is gone means the recording has ended).
pub(crate) fn send(socket: &Path, name: &str) -> Result<(), String> {
    let sender = UnixDatagram::unbound().map_err(|err| err.to_string())?;
    let _ = sender.set_write_timeout(Some(SEND_TIMEOUT));
    match sender.send_to(name.as_bytes(), socket) {
        Ok(_) => Ok(()),
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            Ok(())
        }
        Err(err) => Err(format!(
            "mark: cannot send to {}: {}",
            socket.display(),
            crate::console::reason::reason(&err)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_names_are_made_one_short_line() {
        assert_eq!(clean(b"load\n"), "load");
        assert_eq!(clean(b"a\nb\x1b[2J"), "a\\nb\\u{1b}[2J");
        assert_eq!(clean(b""), "(unnamed)");
        assert_eq!(clean(&[b'x'; 500]).len(), LONGEST);
        let accents = "\u{e9}".repeat(150);
        let cut = clean(accents.as_bytes());
        assert_eq!(cut.len(), LONGEST);
        assert_eq!(clean(b"\xff!"), "\u{fffd}!");
    }

    #[test]
    fn names_are_checked_before_sending() {
        assert!(check_name("test:a.py::b[1-2]").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(201)).is_err());
        assert!(check_name(&"x".repeat(200)).is_ok());
        assert!(check_name("a\tb").is_err());
    }

    #[test]
    fn marks_are_taken_in_order_from_the_socket() {
        let (receiver, sender) = UnixDatagram::pair().expect("a pair");
        receiver.set_nonblocking(true).expect("non-blocking");
        let marks = Marks::new(Some(receiver));
        for n in 0..100 {
            sender.send(format!("m{n}").as_bytes()).expect("sent");
        }
        let expected: Vec<String> = (0..100).map(|n| format!("m{n}")).collect();
        assert_eq!(marks.take_all(), expected);
        assert!(marks.take_all().is_empty());
    }
}
