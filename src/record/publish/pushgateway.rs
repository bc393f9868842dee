//! `--push URL`: the Pushgateway's grouping key as a URL path
//! (docs/publishing.md, "Pushgateway"): `/metrics/job/<job>{/<label>/<value>}`,
//! each value that is not plain URL text in the `<label>@base64/<value>`
//! form (base64url), an empty one as `@base64/=`.

/// `base` (no trailing slash needed) with the grouping key's path.
pub(crate) fn group_url(base: &str, job: &str, labels: &[(String, String)]) -> String {
    let mut url = base.trim_end_matches('/').to_string();
    url.push_str("/metrics");
    url.push_str(&segment("job", job));
    for (name, value) in labels {
        url.push_str(&segment(name, value));
    }
    url
}

/// `/name/value`, or `/name@base64/...` for a value that is empty or holds
/// anything but unreserved URL characters (a `/` above all).
fn segment(name: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if plain {
        format!("/{name}/{value}")
    } else if value.is_empty() {
        format!("/{name}@base64/=")
    } else {
        format!("/{name}@base64/{}", base64url(value.as_bytes()))
    }
}

/// RFC 4648 base64url, with padding (the Pushgateway takes either).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    encode(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

/// RFC 4648 base64, with padding (HTTP basic authentication).
pub(crate) fn base64(bytes: &[u8]) -> String {
    encode(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    )
}

fn encode(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648_says() {
        for (text, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
            ("user:pa ss", "dXNlcjpwYSBzcw=="),
        ] {
            assert_eq!(base64(text.as_bytes()), expected);
        }
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8=");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn the_grouping_key_as_a_path() {
        let labels = vec![
            ("instance".to_string(), "node-1".to_string()),
            ("branch".to_string(), "feature/x".to_string()),
            ("empty".to_string(), String::new()),
            ("sp".to_string(), "a b".to_string()),
        ];
        assert_eq!(
            group_url("http://127.0.0.1:9091/", "nightly-build", &labels),
            "http://127.0.0.1:9091/metrics/job/nightly-build/instance/node-1\
             /branch@base64/ZmVhdHVyZS94/empty@base64/=/sp@base64/YSBi"
        );
        assert_eq!(
            group_url("http://h/prefix", "a/b", &[]),
            "http://h/prefix/metrics/job@base64/YS9i"
        );
    }
}
