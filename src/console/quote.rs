//! Commands shown in memsample's one-line messages, quoted as a POSIX shell
//! (bash, zsh, ksh) reads them back: each message stays on one line and the
//! command can be copied and pasted (docs/usage.md).
//!
//! A word of plain characters is shown as is; one with spaces or shell
//! syntax in single quotes; one with control characters, line separators,
//! bidirectional overrides or bytes that are not UTF-8 in `$'...'` with
//! escapes (`\n`, `\t`, `\x1b`, `\u202e`), so nothing in it can break the
//! line or reorder what the reader sees.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

/// The command and its arguments, each word quoted as needed, spaced.
pub(crate) fn command_line(args: &[OsString]) -> String {
    args.iter()
        .map(|arg| word(arg.as_bytes()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One word, quoted as needed.
pub(crate) fn word(bytes: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return escaped(bytes);
    };
    if text.chars().any(needs_escape) {
        return escaped(bytes);
    }
    if !text.is_empty() && text.chars().all(is_plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Characters a shell takes literally outside quotes.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_-./=:,+@%^".contains(c) || !c.is_ascii()
}

/// Characters that would break the line, or change how it reads, if shown.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Any text with the characters that would break a line, or change how it
/// reads, escaped as in `$'...'` (`\n`, `\x1b`, `\u202e`); the rest as is.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str(r"\n"),
        '\t' => out.push_str(r"\t"),
        '\r' => out.push_str(r"\r"),
        c if c.is_ascii_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

/// `$'...'` with every character that needs it escaped; bytes that are not
/// UTF-8 as `\xHH`.
fn escaped(bytes: &[u8]) -> String {
    let mut out = String::from("$'");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str(r"\\"),
                '\'' => out.push_str(r"\'"),
                c => push_escaped(&mut out, c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&[u8]]) -> String {
        let args: Vec<OsString> = args
            .iter()
            .map(|arg| std::ffi::OsStr::from_bytes(arg).to_os_string())
            .collect();
        command_line(&args)
    }

    #[test]
    fn plain_words_stay_as_they_are() {
        assert_eq!(
            line(&[b"./prog", b"--size=5", b"a,b:c@d"]),
            "./prog --size=5 a,b:c@d"
        );
        assert_eq!(line(&["café".as_bytes()]), "café");
    }

    #[test]
    fn spaces_and_shell_syntax_are_single_quoted() {
        assert_eq!(line(&[b"sh", b"-c", b"echo hi; ls"]), "sh -c 'echo hi; ls'");
        assert_eq!(line(&[b"echo", b"it's"]), r"echo 'it'\''s'");
        assert_eq!(line(&[b"printf", b""]), "printf ''");
        assert_eq!(line(&[b"echo", b"$HOME", b"*"]), "echo '$HOME' '*'");
    }

    #[test]
    fn control_characters_are_escaped_on_one_line() {
        let shown = line(&[b"sh", b"-c", b"echo 'a'\n\techo \x1b[31mb\\"]);
        assert_eq!(shown, r"sh -c $'echo \'a\'\n\techo \x1b[31mb\\'");
        assert!(!shown.contains('\n'));
        assert_eq!(line(&[b"a\xffb"]), r"$'a\xffb'");
        assert_eq!(
            line(&["x\u{202e}y\u{2028}".as_bytes()]),
            r"$'x\u202ey\u2028'"
        );
        assert_eq!(line(&["\u{85}".as_bytes()]), r"$'\u0085'");
    }

    #[test]
    fn any_text_is_kept_on_one_line() {
        assert_eq!(escape_controls("plain 'text' \\ é"), "plain 'text' \\ é");
        assert_eq!(
            escape_controls("process 7 (a\nb\x1b)"),
            r"process 7 (a\nb\x1b)"
        );
    }
}
