//! Base64 (RFC 4648 §4, the standard alphabet) for CloudEvents' `data_base64`: a dozen lines
//! rather than a dependency. Padding is optional; ASCII whitespace (line-wrapped encoders) is
//! skipped.

use super::DecodeError;

/// The 6-bit value of a base64 character.
fn sextet(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// Decodes base64 text.
pub(super) fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let invalid = DecodeError::InvalidBase64;
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut acc = 0u32;
    let mut held = 0u32;
    let mut padding = 0usize;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            // Nothing may follow the padding.
            return Err(invalid);
        }
        acc = (acc << 6) | sextet(c).ok_or(invalid)?;
        held += 1;
        if held == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            held = 0;
        }
    }
    // A final group of 2 or 3 characters carries 1 or 2 bytes; padding, if any, completes it.
    match (held, padding) {
        (0, 0) => {}
        (2, 0 | 2) => out.push((acc >> 4) as u8),
        (3, 0 | 1) => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => return Err(invalid),
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4648_test_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(decode(encoded), Ok(plain.as_bytes().to_vec()), "{encoded}");
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(
                decode(unpadded),
                Ok(plain.as_bytes().to_vec()),
                "{unpadded}"
            );
        }
    }

    #[test]
    fn binary_bytes_and_line_breaks() {
        assert_eq!(
            decode("/+8A\r\n//8="),
            Ok(vec![0xff, 0xef, 0x00, 0xff, 0xff])
        );
    }

    #[test]
    fn malformed_text_is_invalid_base64() {
        for bad in ["Z", "Zg=", "Zg===", "Zm9=v", "Zm9v-A==", "Zm8=Zm8=", "é"] {
            assert_eq!(decode(bad), Err(DecodeError::InvalidBase64), "{bad}");
        }
    }
}
