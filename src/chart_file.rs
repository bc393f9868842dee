//! How a chart file is written: checked before a recording starts, then
//! written whole to a temporary file beside it and renamed over the final
//! name, so a symlink planted at that name is replaced, never followed, and
//! a reader never sees half a chart (README, "Reading a recording back").

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::reason;

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

/// Writes `contents` to `svg` through a temporary file and a rename.
pub(crate) fn write(svg: &Path, contents: &[u8]) -> io::Result<()> {
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
    let cannot = |why: String| format!("cannot write the chart to {}: {why}", svg.display());
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
    fn a_directory_that_takes_no_files_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let svg = dir.path().join("chart.svg");
        assert_eq!(check_writable(&svg), Ok(()));
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
        let refused = check_writable(Path::new("/proc/chart.svg")).expect_err("refused");
        assert!(refused.starts_with("cannot write the chart to /proc/chart.svg: "));
    }
}
