//! Rewriting the JSON numbers simd-json refuses although JSON allows them — and the
//! non-standard `NaN`, `Infinity` and `-Infinity` that Python's `json` writes and KServe accepts —
//! so that one such number costs one value, not the payload.
//!
//! simd-json fails the whole document on an integer past 64 bits (`123456789012345678901`) and
//! on a literal that overflows `f64` (`1e999`). [`patch`] rewrites, in the parse buffer and
//! without moving anything else:
//! - a long integer as the shortest `digits` `e` `exponent` form of its `f64` (which is never
//!   longer: at least 19 digits become at most 17 digits and a short exponent), padded with
//!   spaces;
//! - an overflowing literal, `Infinity` or `-Infinity` as a string of the same length, whose
//!   position is returned among the non-finite marks;
//! - `NaN` as the string `"x"`, its position returned among the missing marks (a NaN is how
//!   these clients write a missing value).
//!
//! The decoder tells the markers from real strings by their address in the buffer (simd-json
//! leaves strings without escapes where they are), so no string content can forge one.

/// Where [`patch`] put its marker strings: offsets of their contents, each list increasing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Marks {
    /// Values that are not finite numbers: overflowing literals, `Infinity`, `-Infinity`.
    pub non_finite: Vec<usize>,
    /// `NaN`: missing values.
    pub missing: Vec<usize>,
}

/// A bare word outside strings, at `i`, that stands for a number: the word and what it is.
fn special_word(buf: &[u8], i: usize) -> Option<(usize, bool)> {
    for (word, missing) in [
        (&b"NaN"[..], true),
        (&b"Infinity"[..], false),
        (&b"-Infinity"[..], false),
    ] {
        let ends = buf
            .get(i + word.len())
            .is_none_or(|b| !b.is_ascii_alphanumeric());
        if buf.get(i..i + word.len()) == Some(word) && ends {
            return Some((word.len(), missing));
        }
    }
    None
}

/// Rewrites the numbers of `buf` as the module says; returns where the markers are.
pub(super) fn patch(buf: &mut [u8]) -> Marks {
    let mut marks = Marks::default();
    let mut i = 0;
    while let Some(&byte) = buf.get(i) {
        match byte {
            b'"' => i = string_end(buf, i + 1),
            b'N' | b'I' | b'-' if special_word(buf, i).is_some() => {
                let Some((len, missing)) = special_word(buf, i) else {
                    break;
                };
                if let Some(token) = buf.get_mut(i..i + len) {
                    token.fill(b'x');
                    token[0] = b'"';
                    token[len - 1] = b'"';
                }
                if missing {
                    marks.missing.push(i + 1);
                } else {
                    marks.non_finite.push(i + 1);
                }
                i += len;
            }
            b'-' | b'0'..=b'9' => {
                let end = token_end(buf, i);
                if let Some(token) = buf.get_mut(i..end)
                    && rewrite(token)
                {
                    marks.non_finite.push(i + 1);
                }
                i = end;
            }
            _ => i += 1,
        }
    }
    marks
}

/// Index just past the string whose contents start at `i`.
fn string_end(buf: &[u8], mut i: usize) -> usize {
    while let Some(&byte) = buf.get(i) {
        match byte {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    buf.len()
}

/// Index just past the number-like token starting at `i`.
fn token_end(buf: &[u8], mut i: usize) -> usize {
    while buf
        .get(i)
        .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
    {
        i += 1;
    }
    i
}

/// What a JSON number literal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Literal {
    /// No fraction or exponent, this many digits.
    Integer(usize),
    Float,
}

/// Checks the JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn literal(token: &[u8]) -> Option<Literal> {
    let digits = |from: usize| {
        token
            .get(from..)
            .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count())
    };
    let mut i = usize::from(token.first() == Some(&b'-'));
    let int = digits(i);
    if int == 0 || (int > 1 && token.get(i) == Some(&b'0')) {
        return None;
    }
    i += int;
    let mut kind = Literal::Integer(int);
    if token.get(i) == Some(&b'.') {
        let frac = digits(i + 1);
        if frac == 0 {
            return None;
        }
        i += 1 + frac;
        kind = Literal::Float;
    }
    if matches!(token.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(token.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp = digits(i);
        if exp == 0 {
            return None;
        }
        i += exp;
        kind = Literal::Float;
    }
    (i == token.len()).then_some(kind)
}

/// Rewrites one number token in place if simd-json would refuse it; returns whether it became
/// an overflow marker.
fn rewrite(token: &mut [u8]) -> bool {
    let Some(kind) = literal(token) else {
        return false;
    };
    // simd-json takes every integer of up to 18 digits (past that, u64 and i64 run out
    // somewhere in the 19th and 20th) and every finite float.
    if let Literal::Integer(digits) = kind
        && digits < 19
    {
        return false;
    }
    let Some(v) = std::str::from_utf8(token)
        .ok()
        .and_then(|t| t.parse::<f64>().ok())
    else {
        return false;
    };
    if v.is_infinite() {
        // The shortest overflowing literal (`1e309`) is five bytes, room for `"..."`.
        if token.len() < 3 {
            return false;
        }
        token.fill(b'x');
        if let Some(first) = token.first_mut() {
            *first = b'"';
        }
        if let Some(last) = token.last_mut() {
            *last = b'"';
        }
        return true;
    }
    if kind == Literal::Float {
        return false;
    }
    let short = exponent_form(v);
    if short.len() <= token.len() {
        token.fill(b' ');
        if let Some(head) = token.get_mut(..short.len()) {
            head.copy_from_slice(short.as_bytes());
        }
    }
    false
}

/// `v` as `[-]digits e exponent` with no decimal point: the shortest digits that give back `v`.
fn exponent_form(v: f64) -> String {
    let scientific = format!("{v:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    format!("{int}{frac}e{}", exponent - frac.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patched(json: &str) -> (String, Vec<usize>) {
        let mut buf = json.as_bytes().to_vec();
        let marks = patch(&mut buf);
        assert!(marks.missing.is_empty(), "{json}");
        (
            String::from_utf8(buf).expect("ASCII stays ASCII"),
            marks.non_finite,
        )
    }

    #[test]
    fn python_s_nan_and_infinities_become_markers() {
        let mut buf = br#"[NaN, Infinity, -Infinity, "NaN", 1, NaNa, {"a": NaN}]"#.to_vec();
        let marks = patch(&mut buf);
        assert_eq!(
            String::from_utf8(buf).expect("ASCII"),
            r#"["x", "xxxxxx", "xxxxxxx", "NaN", 1, NaNa, {"a": "x"}]"#
        );
        assert_eq!(marks.missing, vec![2, 50]);
        assert_eq!(marks.non_finite, vec![7, 17]);
    }

    #[test]
    fn overflowing_literals_become_markers_of_the_same_length() {
        let (json, marks) = patched(r#"[1e999, -2.5E+400, 1.5, "1e999"]"#);
        assert_eq!(json, r#"["xxx", "xxxxxxx", 1.5, "1e999"]"#);
        assert_eq!(marks, vec![2, 9]);
    }

    #[test]
    fn long_integers_get_their_shortest_exponent_form() {
        let original = "[123456789012345678901, -100000000000000000000, 12]";
        let (json, marks) = patched(original);
        assert!(marks.is_empty());
        assert_eq!(json.len(), original.len());
        assert!(
            json.starts_with("[12345678901234568e4 ") && json.contains(", -1e20 "),
            "{json}"
        );
        let parsed: Vec<f64> = serde_json::from_str(&json).expect("valid JSON");
        assert_eq!(parsed, vec![123456789012345678901.0, -1e20, 12.0]);
    }

    #[test]
    fn integers_of_many_hundred_digits_overflow() {
        let (json, marks) = patched(&format!("[{}]", "9".repeat(400)));
        assert_eq!(marks, vec![2]);
        assert!(json.starts_with("[\"xx") && json.ends_with("x\"]"));
    }

    #[test]
    fn malformed_numbers_and_strings_are_left_alone() {
        for json in [
            "[01e999]",
            "[1.e999]",
            "[-]",
            "[1e]",
            "[1e999e1]",
            r#"{"a\"1e999": "\\"}"#,
        ] {
            let (out, marks) = patched(json);
            assert_eq!(out, json);
            assert!(marks.is_empty(), "{json}");
        }
        assert_eq!(patched("[1e999"), ("[\"xxx\"".to_string(), vec![2]));
        assert_eq!(patched("\"1e999"), ("\"1e999".to_string(), vec![]));
    }

    #[test]
    fn exponent_form_round_trips() {
        for v in [
            1e20,
            1.2345678901234567e22,
            -9.99e300,
            18446744073709551616.0,
        ] {
            let s = exponent_form(v);
            assert!(!s.contains('.'), "{s}");
            assert_eq!(s.parse::<f64>(), Ok(v), "{s}");
        }
    }
}
