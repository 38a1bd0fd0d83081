//! Column codecs shared by the backends.

use chrono::{DateTime, SecondsFormat, Utc};

use super::StoreError;

/// A `u64` as a signed 64-bit database integer.
pub(crate) fn int(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::OutOfRange(v))
}

/// Times are stored as RFC 3339 text with as many fraction digits as needed (exact round trip:
/// nanoseconds included, which neither SQLite nor PostgreSQL timestamps keep).
pub(crate) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
