//! How a chart file is written: checked before a recording starts, then
//! written whole to a temporary file beside it and renamed over the final
//! name, so a symlink planted at that name is replaced, never followed, and
//! a reader never sees half a chart (docs/reading-back.md).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::console::reason::reason;

/// Tries this many temporary names before giving up.
const ATTEMPTS: u32 = 100;

/// The directory a chart at `svg` goes to.
fn directory_of(svg: &Path) -> &Path {
    match svg.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A new file beside `svg`, created with `O_EXCL` (so nothing planted is
/// followed) and mode 0666 less the umask, as a plain `create` would be.
fn create_temporary(svg: &Path) -> io::Result<(File, PathBuf)> {
    let dir = directory_of(svg);
    let stem = svg
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "chart".into());
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    for attempt in 0..ATTEMPTS {
        let path = dir.join(format!(".{stem}.{}-{attempt}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o666)
            .open(&path)
        {
            Ok(file) => return Ok((file, path)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => last = err,
            Err(err) => return Err(err),
        }
    }
    Err(last)
}

/// How a chart reaches its name.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/dev/stdout`, `/dev/fd/2`...: the inherited descriptor, as `-o` does.
    Inherited(u8),
    /// A device, FIFO or socket named directly (`/dev/null`, a named pipe):
    /// written into; there is nothing to replace.
    Direct,
    /// Anything else, a symlink included: a temporary file and a rename.
    Replace,
}

fn route(svg: &Path) -> Route {
    if let Some(fd) = crate::sink::output::standard_fd_alias(svg) {
        return Route::Inherited(fd);
    }
    match svg.symlink_metadata() {
        Ok(meta) if !meta.is_file() && !meta.is_dir() && !meta.is_symlink() => Route::Direct,
        _ => Route::Replace,
    }
}

/// Writes `contents` to `svg`: through a temporary file and a rename, or,
/// for a standard descriptor or a device, into it.
pub(crate) fn write(svg: &Path, contents: &[u8]) -> io::Result<()> {
    match route(svg) {
        Route::Inherited(fd) => write_inherited(fd, contents),
        Route::Direct => OpenOptions::new()
            .write(true)
            .open(svg)
            .and_then(|mut file| file.write_all(contents)),
        Route::Replace => replace(svg, contents),
    }
}

fn write_inherited(fd: u8, contents: &[u8]) -> io::Result<()> {
    if crate::sink::stdfds::was_closed(fd) {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    if fd == 2 {
        let mut stderr = io::stderr().lock();
        stderr.write_all(contents).and_then(|()| stderr.flush())
    } else {
        let mut stdout = io::stdout().lock();
        stdout.write_all(contents).and_then(|()| stdout.flush())
    }
}

fn replace(svg: &Path, contents: &[u8]) -> io::Result<()> {
    let (mut file, temporary) = create_temporary(svg)?;
    let written = file
        .write_all(contents)
        .and_then(|()| file.flush())
        .and_then(|()| std::fs::rename(&temporary, svg));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Checks, before a recording starts, that a chart can be written at `svg`:
/// not a directory, in a directory that exists and takes new files (a
/// temporary file is created there and removed). The error is the message.
pub(crate) fn check_writable(svg: &Path) -> Result<(), String> {
    check_writable_as(svg, "the chart")
}

/// [`check_writable`] for any file written at the end of a recording the
/// same way (`--json-summary`): `what` names it in the message.
pub(crate) fn check_writable_as(svg: &Path, what: &str) -> Result<(), String> {
    let cannot = |why: String| format!("cannot write {what} to {}: {why}", svg.display());
    match route(svg) {
        Route::Inherited(fd) if crate::sink::stdfds::was_closed(fd) => {
            return Err(cannot("Bad file descriptor".into()));
        }
        Route::Inherited(_) | Route::Direct => return Ok(()),
        Route::Replace => {}
    }
    if svg.is_dir() {
        return Err(cannot("Is a directory".into()));
    }
    let dir = directory_of(svg);
    if !dir.is_dir() {
        return Err(cannot(format!("No such directory {}", dir.display())));
    }
    let (file, temporary) = create_temporary(svg).map_err(|err| cannot(reason(&err)))?;
    drop(file);
    let _ = std::fs::remove_file(&temporary);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").expect("victim");
        let svg = dir.path().join("chart.svg");
        std::os::unix::fs::symlink(&victim, &svg).expect("symlink");
        write(&svg, b"<svg/>").expect("written");
        assert_eq!(
            std::fs::read_to_string(&victim).expect("victim"),
            "precious"
        );
        assert!(!svg.symlink_metadata().expect("chart").is_symlink());
        assert_eq!(std::fs::read_to_string(&svg).expect("chart"), "<svg/>");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 2);
    }

    #[test]
    fn devices_and_standard_descriptors_are_written_into() {
        assert_eq!(route(Path::new("/dev/stdout")), Route::Inherited(1));
        assert_eq!(route(Path::new("/proc/self/fd/2")), Route::Inherited(2));
        assert_eq!(route(Path::new("/dev/null")), Route::Direct);
        assert_eq!(route(Path::new("chart.svg")), Route::Replace);
        write(Path::new("/dev/null"), b"<svg/>").expect("written");
        assert_eq!(check_writable(Path::new("/dev/null")), Ok(()));
    }

    #[test]
    fn a_directory_that_takes_no_files_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svg = dir.path().join("chart.svg");
        assert_eq!(check_writable(&svg), Ok(()));
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
        let refused = check_writable(Path::new("/proc/chart.svg")).expect_err("refused");
        assert!(refused.starts_with("cannot write the chart to /proc/chart.svg: "));
    }
}
