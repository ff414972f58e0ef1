//! Timestamps without a date-time dependency: RFC 3339 text for Unix seconds.

use crate::ignore::Date;

/// `2026-11-27T01:02:03Z` for a count of seconds since the Unix epoch (UTC).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let d = Date::from_unix_days(days);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        d,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Seconds since the Unix epoch now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The moment reproducible outputs record: `SOURCE_DATE_EPOCH` when set (the
/// reproducible-builds convention), else `fallback`.
pub fn reproducible_timestamp(fallback: impl FnOnce() -> String) -> String {
    match std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
    {
        Some(secs) => rfc3339(secs),
        None => fallback(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_764_205_323), "2025-11-27T01:02:03Z");
    }
}
