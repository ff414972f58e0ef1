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

/// Days from 1970-01-01 to a civil date (proleptic Gregorian calendar, any year).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    // Years counted from March, so the leap day is the last day of a year.
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of a count of days since 1970-01-01: the inverse of
/// [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Eras of 400 years (146,097 days) counted from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Parses an RFC 3339 timestamp (`2026-11-27T01:02:03.5+02:00`, `…Z`) to Unix seconds,
/// dropping fractions (see [`parse_rfc3339_nanos`]).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    parse_rfc3339_nanos(s).map(|n| n.div_euclid(NANOS_PER_SEC))
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Nanoseconds of a civil UTC date and time, `None` when out of range.
pub fn nanos_from_parts(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    secs.checked_mul(NANOS_PER_SEC)
}

/// Parses an RFC 3339 timestamp (`2024-05-01T12:00:00.123456Z`, `…+02:00`) to nanoseconds
/// since the Unix epoch; a space or lowercase `t` between date and time is accepted, as is any
/// number of fractional digits (beyond nine they are ignored). Dates that do not exist
/// (`02-30`) and hours, minutes or offsets out of range are refused.
pub fn parse_rfc3339_nanos(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 20 || b.len() > 64 {
        return None;
    }
    let year = i64::from(digits(b, 0, 4)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    let mut i = 19;
    let mut frac: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        let mut scale = 100_000_000;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            frac += i64::from(c - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset_secs: i64 = match b.get(i)? {
        b'Z' | b'z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = digits(b, i + 1, 2)?;
            let om = digits(b, i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let base = nanos_from_parts(year, month, day, hour, minute, second)?;
    base.checked_add(frac)?
        .checked_sub(offset_secs.checked_mul(NANOS_PER_SEC)?)
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
        assert_eq!(
            super::parse_rfc3339("2025-11-27T01:02:03.123456789Z"),
            Some(1_764_205_323)
        );
        assert_eq!(
            super::parse_rfc3339("2025-11-27T03:02:03+02:00"),
            Some(1_764_205_323)
        );
        assert_eq!(
            super::parse_rfc3339("2025-11-26T20:02:03-05:00"),
            Some(1_764_205_323)
        );
        assert_eq!(super::parse_rfc3339("not a time"), None);
        // One parser with the event store's: days that do not exist are refused, and a
        // fraction before the epoch rounds down like the whole-second count does.
        assert_eq!(super::parse_rfc3339("2025-02-30T00:00:00Z"), None);
        assert_eq!(super::parse_rfc3339("1969-12-31T23:59:59.5Z"), Some(-1));
        assert_eq!(
            super::parse_rfc3339_nanos("2025-11-27T01:02:03.5Z"),
            Some(1_764_205_323_500_000_000)
        );
    }
}
