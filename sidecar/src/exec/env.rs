//! Validation of request environment variables (`NAME=value`).

/// Most variables a request may set.
pub const MAX_ENV_VARS: usize = 256;
/// Most bytes (names plus values) a request's environment may hold.
pub const MAX_ENV_BYTES: usize = 128 * 1024;

/// True for names matching `[A-Za-z_][A-Za-z0-9_]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits and checks `NAME=value` entries.
pub fn validate_env(entries: &[String]) -> Result<Vec<(String, String)>, String> {
    if entries.len() > MAX_ENV_VARS {
        return Err(format!(
            "too many variables ({}; at most {MAX_ENV_VARS})",
            entries.len()
        ));
    }
    let total: usize = entries.iter().map(String::len).sum();
    if total > MAX_ENV_BYTES {
        return Err(format!(
            "too large ({total} bytes; at most {MAX_ENV_BYTES})"
        ));
    }
    entries
        .iter()
        .map(|e| {
            if e.contains('\0') {
                return Err("entries must not contain NUL".to_string());
            }
            let (name, value) = e
                .split_once('=')
                .ok_or_else(|| format!("entry {e:?} is not NAME=value"))?;
            if !valid_name(name) {
                return Err(format!("invalid variable name {name:?}"));
            }
            Ok((name.to_string(), value.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_limits() {
        assert!(valid_name("_A1"));
        assert!(!valid_name("1A"));
        assert!(!valid_name("A-B"));
        assert!(!valid_name(""));
        assert_eq!(
            validate_env(&["A=b=c".into()]).expect("ok"),
            vec![("A".to_string(), "b=c".to_string())]
        );
        assert!(validate_env(&["A".into()]).is_err());
        assert!(validate_env(&["A=\0".into()]).is_err());
        assert!(validate_env(&vec!["A=1".to_string(); MAX_ENV_VARS + 1]).is_err());
        assert!(validate_env(&["A=".to_string() + &"x".repeat(MAX_ENV_BYTES)]).is_err());
    }
}
