//! Tokenisation shared by indexing and querying.

/// Longest token kept; longer runs are truncated (bounds index memory).
pub const MAX_TOKEN_CHARS: usize = 64;

/// Lowercase alphanumeric runs of at least two characters, deduplicated, in first-seen order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for run in text.split(|c: char| !c.is_alphanumeric()) {
        if run.chars().count() < 2 {
            continue;
        }
        let token: String = run
            .chars()
            .take(MAX_TOKEN_CHARS)
            .flat_map(char::to_lowercase)
            .collect();
        if !out.contains(&token) {
            out.push(token);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    #[test]
    fn splits_lowercases_and_dedupes() {
        assert_eq!(
            tokenize("Build.Deploy: deploy a BUILD to k8s-staging!"),
            vec!["build", "deploy", "to", "k8s", "staging"]
        );
        assert!(tokenize(" . - ").is_empty());
        assert_eq!(tokenize("Übersetzen"), vec!["übersetzen"]);
    }
}
