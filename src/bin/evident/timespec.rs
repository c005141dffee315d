//! Times on the command line: RFC 3339 (`2026-01-02T03:04:05Z`), a date
//! (`2026-01-02`, its midnight UTC), a time before now (`1h`, `30m`, `2d`,
//! `1h 30m`: humantime's durations), or `today` / `yesterday` (midnight
//! UTC of the day; a day is a UTC day, as everywhere in evident) and `now`.

use chrono::{DateTime, TimeDelta, Utc};

const ACCEPTED: &str = "expected an RFC 3339 time (2026-01-02T03:04:05Z), a date (2026-01-02), \
     a time before now (1h, 30m, 2d, 1h 30m) or today, yesterday, now";

/// clap parser for `--since` / `--until`.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    parse_at(s, Utc::now())
}

/// [`parse_time`] relative to `now`.
pub fn parse_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    match t.to_ascii_lowercase().as_str() {
        "now" => return Ok(now),
        "today" => return Ok(midnight),
        "yesterday" => return Ok(midnight - TimeDelta::days(1)),
        _ => {}
    }
    if let Ok(ts) = crate::util::parse_ts(t) {
        return Ok(ts);
    }
    // A duration before now; "ago" is allowed ("2h ago").
    let d = t.strip_suffix("ago").unwrap_or(t).trim();
    match humantime::parse_duration(d) {
        Ok(d) => TimeDelta::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(|| format!("{s:?} reaches before the earliest time there is")),
        Err(_) => Err(format!("{s:?}: {ACCEPTED}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn relative_and_absolute() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 15, 30, 0).unwrap();
        let at = |s: &str| parse_at(s, now).unwrap();
        assert_eq!(at("1h"), now - TimeDelta::hours(1));
        assert_eq!(at("30m"), now - TimeDelta::minutes(30));
        assert_eq!(at("2d"), now - TimeDelta::days(2));
        assert_eq!(at("1h 30m"), now - TimeDelta::minutes(90));
        assert_eq!(at("2h ago"), now - TimeDelta::hours(2));
        assert_eq!(
            at("today"),
            Utc.with_ymd_and_hms(2026, 3, 10, 0, 0, 0).unwrap()
        );
        assert_eq!(
            at("Yesterday"),
            Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap()
        );
        assert_eq!(at("now"), now);
        assert_eq!(
            at("2026-01-02"),
            Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap()
        );
        assert_eq!(
            at("2026-01-02T03:04:05+01:00"),
            Utc.with_ymd_and_hms(2026, 1, 2, 2, 4, 5).unwrap()
        );
        assert!(parse_at("5 parsecs", now)
            .unwrap_err()
            .contains("yesterday"));
        assert!(parse_at("", now).is_err());
        assert!(parse_at("100000000000000d", now).is_err());
    }
}
