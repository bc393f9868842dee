//! How memsample ends after a recording: the exit rules of docs/exit-status.md,
//! in one pure function.

use crate::record::error::EXIT_FAILURE;
use crate::record::target::ExitStatus;

/// How memsample itself should end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(u8),
    /// Die of this signal (after everything is flushed).
    Signal(i32),
}

/// Why a recording ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The target ended: with its status when memsample is its parent (spawn
    /// mode), without in attach mode; with the kernel's high-water mark of
    /// the command when known.
    TargetExited {
        status: Option<ExitStatus>,
        max_rss: Option<u64>,
    },
    /// Attach mode: memsample was told to stop by this signal.
    Signalled(i32),
    /// Sampling is over (`--duration`, `--samples`, the output failed) and
    /// the target is left running.
    LeftRunning,
}

/// The exit of memsample: the command's own status (or death by the same
/// signal), 0 in attach mode, or death by the signal that stopped an attach
/// recording. `failed` (the output or the chart could not be written) turns
/// a success into 125, never a failure of the command into another.
pub(crate) fn exit_policy(end: End, failed: bool) -> Exit {
    match end {
        End::TargetExited {
            status: Some(ExitStatus::Code(code)),
            ..
        } => match u8::try_from(code) {
            Ok(0) if failed => Exit::Code(EXIT_FAILURE),
            Ok(code) => Exit::Code(code),
            Err(_) => Exit::Code(EXIT_FAILURE),
        },
        End::TargetExited {
            status: Some(ExitStatus::Signal(signal)),
            ..
        }
        | End::Signalled(signal) => Exit::Signal(signal),
        End::TargetExited { status: None, .. } | End::LeftRunning if failed => {
            Exit::Code(EXIT_FAILURE)
        }
        End::TargetExited { status: None, .. } | End::LeftRunning => Exit::Code(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exited(status: ExitStatus) -> End {
        End::TargetExited {
            status: Some(status),
            max_rss: None,
        }
    }

    const ATTACH_EXITED: End = End::TargetExited {
        status: None,
        max_rss: None,
    };

    #[test]
    fn the_command_code_is_memsample_code() {
        for code in [0, 1, 3, 42, 255] {
            let expected = Exit::Code(u8::try_from(code).expect("fits"));
            assert_eq!(exit_policy(exited(ExitStatus::Code(code)), false), expected);
        }
    }

    #[test]
    fn a_failed_output_turns_only_success_into_125() {
        let ok = exited(ExitStatus::Code(0));
        assert_eq!(exit_policy(ok, true), Exit::Code(EXIT_FAILURE));
        assert_eq!(
            exit_policy(exited(ExitStatus::Code(3)), true),
            Exit::Code(3)
        );
    }

    #[test]
    fn a_command_killed_by_a_signal_is_mirrored() {
        let killed = exited(ExitStatus::Signal(libc::SIGKILL));
        assert_eq!(exit_policy(killed, false), Exit::Signal(libc::SIGKILL));
        assert_eq!(exit_policy(killed, true), Exit::Signal(libc::SIGKILL));
    }

    #[test]
    fn attach_ends_with_0_unless_something_failed() {
        assert_eq!(exit_policy(ATTACH_EXITED, false), Exit::Code(0));
        assert_eq!(exit_policy(ATTACH_EXITED, true), Exit::Code(EXIT_FAILURE));
        // --duration or --samples reached: the target is left running.
        assert_eq!(exit_policy(End::LeftRunning, false), Exit::Code(0));
        // The output failed, or the chart could not be written.
        assert_eq!(
            exit_policy(End::LeftRunning, true),
            Exit::Code(EXIT_FAILURE)
        );
    }

    #[test]
    fn attach_stopped_by_a_signal_dies_of_it() {
        let end = End::Signalled(libc::SIGINT);
        assert_eq!(exit_policy(end, false), Exit::Signal(libc::SIGINT));
        assert_eq!(exit_policy(end, true), Exit::Signal(libc::SIGINT));
    }

    #[test]
    fn a_code_out_of_range_is_a_failure() {
        let odd = exited(ExitStatus::Code(-1));
        assert_eq!(exit_policy(odd, false), Exit::Code(EXIT_FAILURE));
    }
}
