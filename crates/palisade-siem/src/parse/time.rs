//! Timestamps: RFC 3339 (with any number of fractional digits), Unix epoch numbers, and the
//! BSD-syslog `Mmm dd hh:mm:ss` form, all to nanoseconds since the Unix epoch (UTC).

use crate::event::Nanos;

const NANOS_PER_SEC: i64 = 1_000_000_000;

// One RFC 3339 parser for the whole project, in palisade-core.
pub use palisade_core::time::{
    civil_from_days, days_from_civil, nanos_from_parts, parse_rfc3339_nanos as parse_rfc3339,
};

/// Interprets a Unix epoch number by its magnitude: seconds, milliseconds, microseconds or
/// nanoseconds.
pub fn from_epoch_number(v: f64) -> Option<Nanos> {
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    let nanos = if v < 1e11 {
        v * 1e9
    } else if v < 1e14 {
        v * 1e6
    } else if v < 1e17 {
        v * 1e3
    } else {
        v
    };
    if nanos >= 9.2e18 {
        return None;
    }
    Some(nanos as i64)
}

/// A timestamp from a JSON value: an RFC 3339 string, an epoch number, or a numeric string.
pub fn from_json(v: &serde_json::Value) -> Option<Nanos> {
    match v {
        serde_json::Value::String(s) => {
            parse_rfc3339(s).or_else(|| s.trim().parse::<f64>().ok().and_then(from_epoch_number))
        }
        serde_json::Value::Number(n) => n.as_f64().and_then(from_epoch_number),
        _ => None,
    }
}

/// Formats nanoseconds as RFC 3339 UTC (`2024-05-01T12:00:00.123456789Z`; the fraction is
/// left out when zero).
pub fn format_rfc3339(t: Nanos) -> String {
    let secs = t.div_euclid(NANOS_PER_SEC);
    let nanos = t.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if nanos == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{nanos:09}Z")
    }
}

/// Month number of a three-letter English abbreviation (`Jan` = 1).
pub fn month_from_abbrev(s: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
}

/// The year of a date that carries none (BSD syslog): the year of `reference`, or the year
/// before when that would put the date more than a day after `reference` (a December line
/// read in January).
pub fn infer_year(
    reference: Nanos,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<Nanos> {
    let (ref_year, _, _) = civil_from_days(reference.div_euclid(NANOS_PER_SEC).div_euclid(86_400));
    let this_year = nanos_from_parts(ref_year, month, day, hour, minute, second);
    match this_year {
        Some(t) if t <= reference.saturating_add(86_400 * NANOS_PER_SEC) => Some(t),
        _ => nanos_from_parts(ref_year - 1, month, day, hour, minute, second).or(this_year),
    }
}

/// Parses a time as people write it in a search range: RFC 3339 (`2024-05-01T12:00:00Z`), a
/// date (`2024-05-01`, midnight UTC), `now`, or an age before `now` (`30s`, `15m`, `24h`,
/// `7d`, `2w`). `None` when it is none of these or too far back to represent.
pub fn parse_time_spec(s: &str, now: Nanos) -> Option<Nanos> {
    let s = s.trim();
    if s == "now" {
        return Some(now);
    }
    if let Some(t) = parse_rfc3339(s) {
        return Some(t);
    }
    if s.len() == 10
        && let Some(t) = parse_rfc3339(&format!("{s}T00:00:00Z"))
    {
        return Some(t);
    }
    let unit: i64 = match s.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return None,
    };
    let n = s[..s.len() - 1].parse::<i64>().ok().filter(|n| *n >= 0)?;
    let ago = n.checked_mul(unit)?.checked_mul(NANOS_PER_SEC)?;
    now.checked_sub(ago)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2022-07-20T20:53:54Z"),
            Some(1_658_350_434_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2022-07-20T20:53:54.123456Z"),
            Some(1_658_350_434_123_456_000)
        );
        assert_eq!(
            parse_rfc3339("2022-07-20T20:53:54.123456789Z"),
            Some(1_658_350_434_123_456_789)
        );
        assert_eq!(
            parse_rfc3339("2022-07-20T22:53:54+02:00"),
            Some(1_658_350_434_000_000_000)
        );
        assert_eq!(parse_rfc3339("2022-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2022-07-20T20:53:54"), None);
        assert_eq!(parse_rfc3339("2022-07-20T20:53:54.Z"), None);
        assert_eq!(parse_rfc3339("nonsense"), None);
        assert_eq!(parse_rfc3339("２０２２-07-20T20:53:54Z"), None);
    }

    #[test]
    fn round_trip_format() {
        for t in [0, 1_658_350_434_123_456_789, -1, 951_782_400_000_000_000] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn epoch_magnitudes() {
        assert_eq!(from_epoch_number(1.5e9), Some(1_500_000_000_000_000_000));
        assert_eq!(from_epoch_number(1.5e12), Some(1_500_000_000_000_000_000));
        assert_eq!(from_epoch_number(1.5e18), Some(1_500_000_000_000_000_000));
        assert_eq!(from_epoch_number(f64::NAN), None);
        assert_eq!(from_epoch_number(1e30), None);
    }

    #[test]
    fn year_inference() {
        let jan_2025 = parse_rfc3339("2025-01-02T00:00:00Z").unwrap();
        assert_eq!(
            infer_year(jan_2025, 12, 31, 23, 0, 0),
            parse_rfc3339("2024-12-31T23:00:00Z")
        );
        assert_eq!(
            infer_year(jan_2025, 1, 1, 23, 0, 0),
            parse_rfc3339("2025-01-01T23:00:00Z")
        );
        // 29 February in a year that has none falls back to the year before or after.
        assert!(infer_year(jan_2025, 2, 29, 0, 0, 0).is_some());
    }

    #[test]
    fn time_specs() {
        let now = 10 * 86_400 * NANOS_PER_SEC;
        assert_eq!(parse_time_spec("now", now), Some(now));
        assert_eq!(parse_time_spec("15m", now), Some(now - 900 * NANOS_PER_SEC));
        assert_eq!(
            parse_time_spec(" 7d ", now),
            Some(3 * 86_400 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_time_spec("1970-01-02", now),
            Some(86_400 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_time_spec("1970-01-01T00:00:01Z", now),
            Some(NANOS_PER_SEC)
        );
        for bad in [
            "",
            "m",
            "-5m",
            "5y",
            "yesterday",
            "99999999999999999d",
            "5é",
        ] {
            assert_eq!(parse_time_spec(bad, now), None, "{bad:?}");
        }
    }
}
