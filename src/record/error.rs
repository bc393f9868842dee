//! Errors of the recording modes and the exit codes they map to.
//!
//! memsample's own failures exit 125 so that they never collide with the
//! command's codes; a command that cannot be executed gives 126 and one that
//! is not found 127, as `env`, `nice` and `timeout` do.

use std::io;

pub(crate) use crate::console::reason::reason;
use crate::probe::AttachError;
use crate::sink::output::OutputError;

/// memsample failed or was misused.
pub(crate) const EXIT_FAILURE: u8 = 125;
/// The command was found but cannot be executed.
pub(crate) const EXIT_CANNOT_EXECUTE: u8 = 126;
/// The command was not found.
pub(crate) const EXIT_NOT_FOUND: u8 = 127;

/// A recording that could not start or go on. Each renders as one line.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error("{0}")]
    Usage(String),
    #[error("cannot run {}: {}", crate::console::quote::word(program.as_bytes()), reason(source))]
    Spawn { program: String, source: io::Error },
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error("{what}: {}", reason(source))]
    System { what: String, source: io::Error },
}

impl RecordError {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            RecordError::Spawn { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => EXIT_NOT_FOUND,
                _ => EXIT_CANNOT_EXECUTE,
            },
            _ => EXIT_FAILURE,
        }
    }

    pub(crate) fn system(what: impl Into<String>, source: io::Error) -> RecordError {
        RecordError::System {
            what: what.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        let spawn = RecordError::Spawn {
            program: "./nope".into(),
            source: err,
        };
        assert_eq!(
            spawn.to_string(),
            "cannot run ./nope: No such file or directory"
        );
        assert_eq!(spawn.exit_code(), EXIT_NOT_FOUND);
        let denied = RecordError::Spawn {
            program: "./x".into(),
            source: io::Error::from_raw_os_error(libc::EACCES),
        };
        assert_eq!(denied.exit_code(), EXIT_CANNOT_EXECUTE);
    }
}
