//! OS errors as people read them, for the one-line messages of every module.

use std::io;

/// An OS error as people read it: `No such file or directory`, without the
/// `(os error 2)` that `io::Error` appends.
pub(crate) fn reason(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(end) => text[..end].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_drop_the_os_error_number() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(reason(&err), "No such file or directory");
        assert_eq!(reason(&io::Error::other("plain")), "plain");
    }
}
