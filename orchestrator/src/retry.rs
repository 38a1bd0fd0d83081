//! Exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

use crate::definition::RetryPolicy;

/// Delay before attempt `failed_attempt + 1`, where `failed_attempt ≥ 1` just failed:
/// `min(max, initial · multiplier^(failed_attempt−1))`, scaled by a uniform factor in
/// `[1 − jitter, 1 + jitter]` and capped at `max_backoff_ms` again.
pub fn backoff(policy: &RetryPolicy, failed_attempt: u32, rng: &mut impl Rng) -> Duration {
    let exp = failed_attempt.saturating_sub(1).min(64) as i32;
    let base = (policy.initial_backoff_ms as f64) * policy.multiplier.powi(exp);
    let max = policy.max_backoff_ms as f64;
    let capped = if base.is_finite() { base.min(max) } else { max };
    let factor = if policy.jitter > 0.0 {
        rng.gen_range((1.0 - policy.jitter)..=(1.0 + policy.jitter))
    } else {
        1.0
    };
    let ms = (capped * factor).clamp(0.0, max);
    Duration::from_micros((ms * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_caps_with_bounded_jitter() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
            multiplier: 2.0,
            jitter: 0.1,
        };
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let d1 = backoff(&policy, 1, &mut rng).as_millis();
            let d3 = backoff(&policy, 3, &mut rng).as_millis();
            let d9 = backoff(&policy, 9, &mut rng).as_millis();
            assert!((90..=110).contains(&d1), "{d1}");
            assert!((360..=440).contains(&d3), "{d3}");
            assert!((900..=1000).contains(&d9), "{d9}");
        }
    }
}
