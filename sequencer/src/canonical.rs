//! RFC 8785 JSON Canonicalization Scheme (JCS) over [`serde_json::Value`], and a strict
//! JSON parser to feed it.
//!
//! * Object keys are sorted by UTF-16 code units; no whitespace; strings escape only `"`,
//!   `\`, and control characters (short forms `\b \t \n \f \r`, otherwise `\u00xx`);
//!   non-ASCII text is emitted as UTF-8.
//! * Numbers are printed as ECMAScript doubles (`1.0` → `1`, `1e21` → `1e+21`, `-0` → `0`).
//! * Integers beyond ±(2^53−1) are rejected with [`CanonicalError::IntegerOutOfRange`]
//!   instead of being rounded silently. This covers integer literals of any size and also
//!   doubles with 2^53 ≤ |x| < 10^21 however they were written (`5.4e19`), because JCS would
//!   print those as integer literals (`54000000000000000000`) that no strict reader accepts:
//!   so the set of accepted documents is closed under canonicalisation, and a value is
//!   accepted or refused the same way whichever client language produced it. From 10^21 on,
//!   JCS uses exponent form and the number is accepted (`1e21` → `1e+21`).
//!
//! [`parse_strict`] additionally rejects duplicate object keys (I-JSON), so that two
//! implementations can never disagree about which duplicate "wins", and rejects out-of-range
//! integer literals even when they exceed `u64`/`i64` (which `serde_json` would otherwise
//! silently turn into a double).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::CanonicalError;

/// Largest integer that survives a round trip through an IEEE-754 double: 2^53 − 1.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Maximum nesting depth accepted by [`canonicalize`] (parsed JSON is limited to 128 by
/// `serde_json` already).
pub const MAX_DEPTH: usize = 128;

/// Canonical JSON text of `value`.
pub fn canonicalize(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

/// Canonical JSON of `value` as UTF-8 bytes.
pub fn canonicalize_to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    canonicalize(value).map(String::into_bytes)
}

/// Parses JSON text strictly: valid JSON, no duplicate keys, no integer literal beyond
/// ±(2^53−1), nesting ≤ 128.
pub fn parse_strict(text: &str) -> Result<Value, CanonicalError> {
    check_number_literals(text)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let StrictValue(value) = StrictValue::deserialize(&mut de)
        .map_err(|e| CanonicalError::InvalidJson(e.to_string()))?;
    de.end()
        .map_err(|e| CanonicalError::InvalidJson(e.to_string()))?;
    Ok(value)
}

/// [`parse_strict`] on bytes, which must be UTF-8.
pub fn parse_strict_slice(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| CanonicalError::InvalidJson(format!("not UTF-8: {e}")))?;
    parse_strict(text)
}

fn write_value(out: &mut String, value: &Value, depth: usize) -> Result<(), CanonicalError> {
    if depth > MAX_DEPTH {
        return Err(CanonicalError::TooDeep(MAX_DEPTH));
    }
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, depth + 1)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item, depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(out: &mut String, n: &Number) -> Result<(), CanonicalError> {
    if let Some(u) = n.as_u64() {
        if u > MAX_SAFE_INTEGER {
            return Err(CanonicalError::IntegerOutOfRange(u.to_string()));
        }
        out.push_str(&u.to_string());
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(CanonicalError::IntegerOutOfRange(i.to_string()));
        }
        out.push_str(&i.to_string());
    } else {
        let f = n.as_f64().ok_or(CanonicalError::NonFiniteNumber)?;
        check_double(f)?;
        out.push_str(&format_double(f)?);
    }
    Ok(())
}

/// Rejects non-finite doubles and doubles whose canonical form would be an integer literal
/// beyond ±(2^53−1) (2^53 ≤ |x| < 10^21).
fn check_double(f: f64) -> Result<(), CanonicalError> {
    if !f.is_finite() {
        return Err(CanonicalError::NonFiniteNumber);
    }
    let magnitude = f.abs();
    if magnitude > MAX_SAFE_INTEGER as f64 && magnitude < 1e21 {
        return Err(CanonicalError::IntegerOutOfRange(format_double(f)?));
    }
    Ok(())
}

/// ECMAScript `Number.prototype.toString` of a finite double (`-0` prints as `0`).
pub fn format_double(f: f64) -> Result<String, CanonicalError> {
    if !f.is_finite() {
        return Err(CanonicalError::NonFiniteNumber);
    }
    if f == 0.0 {
        return Ok("0".to_owned());
    }
    let mut buf = ryu_js::Buffer::new();
    Ok(buf.format_finite(f).to_owned())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lexical pass over JSON text: every number token written without `.`, `e` or `E` must be
/// within ±(2^53−1), and every other number token must pass [`check_double`]. Runs before
/// the real parse (so errors are typed); it only needs to find tokens correctly in valid
/// JSON, and on invalid JSON the parser reports the error.
fn check_number_literals(text: &str) -> Result<(), CanonicalError> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                check_number_token(&text[start..i])?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn check_number_token(token: &str) -> Result<(), CanonicalError> {
    let digits = token.trim_start_matches('-');
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        // A fraction or exponent: a double (unparsable tokens are left to the parser).
        return match token.parse::<f64>() {
            Ok(f) => check_double(f),
            Err(_) => Ok(()),
        };
    }
    let in_range = digits.len() <= 16 && digits.parse::<u64>().is_ok_and(|v| v <= MAX_SAFE_INTEGER);
    if in_range {
        Ok(())
    } else {
        Err(CanonicalError::IntegerOutOfRange(token.to_owned()))
    }
}

/// A `serde_json::Value` deserialized with duplicate-key and integer-range checks.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StrictValue, E> {
        if v.unsigned_abs() > MAX_SAFE_INTEGER {
            return Err(E::custom(CanonicalError::IntegerOutOfRange(v.to_string())));
        }
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StrictValue, E> {
        if v > MAX_SAFE_INTEGER {
            return Err(E::custom(CanonicalError::IntegerOutOfRange(v.to_string())));
        }
        Ok(StrictValue(Value::Number(v.into())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        check_double(v).map_err(E::custom)?;
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom(CanonicalError::NonFiniteNumber))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(StrictValue(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictValue, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate object key {key:?}")));
            }
            let StrictValue(item) = access.next_value()?;
            map.insert(key, item);
        }
        Ok(StrictValue(Value::Object(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jcs(text: &str) -> String {
        canonicalize(&parse_strict(text).unwrap()).unwrap()
    }

    #[test]
    fn numbers_as_ecmascript() {
        assert_eq!(
            jcs("[1.0,1e21,1e-7,-0,0.1,100,-5,1.5e300,123456789012.5]"),
            "[1,1e+21,1e-7,0,0.1,100,-5,1.5e+300,123456789012.5]"
        );
        assert_eq!(
            jcs("[9007199254740991,-9007199254740991]"),
            "[9007199254740991,-9007199254740991]"
        );
        assert_eq!(
            jcs("[4.5e15, 0.000001, 1e-6]"),
            "[4500000000000000,0.000001,0.000001]"
        );
    }

    #[test]
    fn integers_beyond_2_pow_53_rejected() {
        for text in [
            "9007199254740992",
            "-9007199254740992",
            "{\"a\":[18446744073709551616]}",
            "123456789012345678901234567890",
        ] {
            assert!(
                matches!(
                    parse_strict(text),
                    Err(CanonicalError::IntegerOutOfRange(_))
                ),
                "{text}"
            );
        }
        let big = Value::from(9_007_199_254_740_992u64);
        assert!(matches!(
            canonicalize(&big),
            Err(CanonicalError::IntegerOutOfRange(_))
        ));
        let neg = Value::from(-9_007_199_254_740_992i64);
        assert!(matches!(
            canonicalize(&neg),
            Err(CanonicalError::IntegerOutOfRange(_))
        ));
        // Doubles whose canonical form is such an integer are refused too; 1e21 is fine.
        for text in [
            "5.4e19",
            "-9007199254740992.0",
            "9.007199254740992e15",
            "[1e20]",
        ] {
            assert!(
                matches!(
                    parse_strict(text),
                    Err(CanonicalError::IntegerOutOfRange(_))
                ),
                "{text}"
            );
            let v = Value::from(text.trim_matches(['[', ']']).parse::<f64>().unwrap());
            assert!(matches!(
                canonicalize(&v),
                Err(CanonicalError::IntegerOutOfRange(_))
            ));
        }
        assert_eq!(
            jcs("[1e21,9007199254740991.0,-1.5e300]"),
            "[1e+21,9007199254740991,-1.5e+300]"
        );
        // Digits inside strings are not numbers.
        assert!(parse_strict("{\"a\":\"99999999999999999999\"}").is_ok());
        assert!(parse_strict("{\"a\\\"99999999999999999999\":1}").is_ok());
    }

    #[test]
    fn keys_sorted_by_utf16_and_strings_escaped() {
        // U+E000 sorts before U+1F600 in UTF-16 (0xE000 < 0xD83D is false!) -> check order.
        let text = "{\"\u{1F600}\":1,\"\u{E000}\":2,\"a\":3,\"B\":4}";
        // UTF-16: "B"=0x42 < "a"=0x61 < 0xD83D (surrogate) < 0xE000.
        assert_eq!(
            jcs(text),
            "{\"B\":4,\"a\":3,\"\u{1F600}\":1,\"\u{E000}\":2}"
        );
        assert_eq!(
            jcs("\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/\u{7f}\u{2028}\""),
            "\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/\u{7f}\u{2028}\""
        );
    }

    #[test]
    fn duplicate_keys_and_garbage_rejected() {
        assert!(
            matches!(parse_strict("{\"a\":1,\"a\":2}"), Err(CanonicalError::InvalidJson(m)) if m.contains("duplicate"))
        );
        assert!(parse_strict("{\"a\":1} x").is_err());
        assert!(parse_strict("").is_err());
        assert!(parse_strict_slice(&[0xff, 0xfe]).is_err());
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_strict(&deep).is_err());
    }
}
