//! `--textfile FILE.prom`: the exposition for node_exporter's textfile
//! collector, written to `FILE.prom.tmp` beside it and renamed over
//! `FILE.prom`, so the collector never reads half a file
//! (docs/publishing.md, "node_exporter").

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::record::error::reason;

/// Before the command starts: a name node_exporter reads (`*.prom`), in a
/// directory that exists and memsample may write to. The error is the
/// message.
pub(crate) fn check(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.extension().is_none_or(|ext| ext != "prom") {
        return Err(format!(
            "--textfile {shown}: node_exporter reads only files ending in .prom"
        ));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(format!(
                "--textfile {shown}: {} is not a directory",
                dir.display()
            ));
        }
        Err(err) => {
            return Err(format!(
                "--textfile {shown}: {}: {}",
                dir.display(),
                reason(&err)
            ));
        }
    }
    rustix::fs::access(
        dir,
        rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
    )
    .map_err(|err| {
        format!(
            "--textfile {shown}: {}: {}",
            dir.display(),
            reason(&err.into())
        )
    })
}

/// `FILE.prom.tmp`.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Writes `text` whole to the temporary file (never through a symlink
/// planted there) and renames it over `path`.
pub(crate) fn write(path: &Path, text: &str) -> io::Result<()> {
    let tmp = temporary(path);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_whole_through_a_temporary_and_a_rename() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("job.prom");
        check(&path).expect("a good textfile");
        write(&path, "a 1\n").expect("written");
        write(&path, "b 2\n").expect("written again");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "b 2\n");
        assert!(!temporary(&path).exists());
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("job.prom");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").expect("victim");
        std::os::unix::fs::symlink(&victim, temporary(&path)).expect("symlink");
        assert!(write(&path, "x 1\n").is_err());
        assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep");
    }

    #[test]
    fn bad_textfiles_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope/job.prom");
        let err = check(&missing).expect_err("missing directory");
        assert!(err.ends_with("No such file or directory"), "{err}");
        let wrong = check(&dir.path().join("job.txt")).expect_err("not .prom");
        assert!(wrong.contains("ending in .prom"), "{wrong}");
    }
}
