//! Time, once: [`Instant`] is a point in time as nanoseconds since the Unix epoch, UTC (PIM
//! writes 7 fractional digits, so nanoseconds it is). One parser reads every timestamp form
//! Entra, Azure and Windows exports write, and what people type on a command line; one
//! formatter writes what pimwatch shows (RFC 3339 in UTC, `2026-10-31T00:00:00Z`).
//!
//! Rows keep their times as `Option<i64>` nanoseconds (the lake's `Timestamp(ns, UTC)`);
//! everything that crosses a boundary (command line, config, rule tests, alerts, runs) is an
//! `Instant`.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::SNAPSHOT_NAME_FORMAT;

const NANOS_PER_SECOND: i64 = 1_000_000_000;
const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// A point in time, UTC, to the nanosecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(i64);

/// The forms [`Instant::parse`] accepts, for error messages.
pub const ACCEPTED_FORMS: &str = "2026-10-31T00:00:00Z, 2026-10-31T02:00:00+02:00, 2026-10-31T00:00:00 or 2026-10-31 00:00 (both UTC), or a date 2026-10-31 (midnight UTC)";

impl Instant {
    /// The earliest and latest instants nanoseconds since 1970 can hold (1677 to 2262).
    pub const MIN: Instant = Instant(i64::MIN);
    pub const MAX: Instant = Instant(i64::MAX);

    pub const fn from_nanos(nanos: i64) -> Self {
        Self(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Now, by the system clock.
    pub fn now() -> Self {
        Self(Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX))
    }

    /// A time a person typed (command line, config, rule tests): RFC 3339, or a date and
    /// time without a zone (taken as UTC), or a date (midnight UTC). "Never" encodings are
    /// not times here; the error names the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        match parse_timestamp(text) {
            Ok(Some(instant)) => Ok(instant),
            Ok(None) => Err(format!(
                "`{}` is not a time; use {ACCEPTED_FORMS}",
                text.trim()
            )),
            Err(e) => Err(format!("{e}; use {ACCEPTED_FORMS}")),
        }
    }

    /// `days` whole days earlier, or `None` when that falls outside the representable range.
    pub fn days_before(self, days: u32) -> Option<Self> {
        i64::from(days)
            .checked_mul(NANOS_PER_DAY)
            .and_then(|span| self.0.checked_sub(span))
            .map(Self)
    }

    /// Whole seconds (a snapshot is named by its second).
    pub fn truncate_to_second(self) -> Self {
        Self(self.0 - self.0.rem_euclid(NANOS_PER_SECOND))
    }

    /// The first whole second at or after this instant (a time to suggest to a person that
    /// still includes it).
    pub fn ceil_to_second(self) -> Self {
        let down = self.truncate_to_second();
        if down == self {
            down
        } else {
            Self(down.0.saturating_add(NANOS_PER_SECOND))
        }
    }

    /// The whole days a window ending at this instant needs so that it starts before
    /// `earlier` (at least 1).
    pub fn days_back_to(self, earlier: Instant) -> u32 {
        let span = self.0.saturating_sub(earlier.0).max(0);
        u32::try_from(span / NANOS_PER_DAY + 1).unwrap_or(u32::MAX)
    }

    /// `20261031T000000Z`: how snapshots and runs are named in the lake and in input paths.
    pub fn snapshot_name(self) -> String {
        self.datetime().format(SNAPSHOT_NAME_FORMAT).to_string()
    }

    /// `2026-10-31`: the UTC date, as event partitions are named.
    pub fn date(self) -> String {
        self.datetime().format("%Y-%m-%d").to_string()
    }

    /// RFC 3339 in UTC to the second (`2026-10-31T00:00:00Z`): how pimwatch shows times.
    pub fn to_rfc3339(self) -> String {
        self.datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// Parses a name made by [`Instant::snapshot_name`].
    pub fn from_snapshot_name(name: &str) -> Option<Self> {
        let time = NaiveDateTime::parse_from_str(name, SNAPSHOT_NAME_FORMAT).ok()?;
        time.and_utc().timestamp_nanos_opt().map(Self)
    }

    fn datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_nanos(self.0)
    }
}

/// Config and rule files write times as text in any of the [`ACCEPTED_FORMS`], or as TOML
/// dates and times (`expires = 2027-01-31`, unquoted).
impl<'de> serde::Deserialize<'de> for Instant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl<'de> serde::de::Visitor<'de> for TimeVisitor {
            type Value = Instant;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a time: {ACCEPTED_FORMS}")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Instant, E> {
                Instant::parse(text).map_err(E::custom)
            }
            // The toml crate hands a TOML date or time over as a one-entry map.
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Instant, A::Error> {
                let Some((_, text)) = map.next_entry::<String, String>()? else {
                    return Err(serde::de::Error::custom(format!(
                        "expected a time: {ACCEPTED_FORMS}"
                    )));
                };
                Instant::parse(&text).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Parses every timestamp form seen in Entra, Azure and Windows exports (INPUTS.md §3.4).
/// Forms without a zone are taken as UTC; "never" encodings (`""`, `0001-01-01…`) are
/// `None`; anything else is an error quoting the text.
///
/// ```
/// use pimwatch::model::time::parse_timestamp;
/// let graph = parse_timestamp("2026-09-06T18:40:52.677024Z").unwrap();
/// let log_analytics = parse_timestamp("9/6/2026, 6:40:52.677 PM").unwrap();
/// assert_eq!(
///     graph.map(|t| t.nanos() / 1_000_000),
///     log_analytics.map(|t| t.nanos() / 1_000_000)
/// );
/// assert_eq!(parse_timestamp("0001-01-01T00:00:00Z"), Ok(None));
/// ```
pub fn parse_timestamp(text: &str) -> Result<Option<Instant>, String> {
    let s = text.trim();
    if s.is_empty() || s.starts_with("0001-01-01") {
        return Ok(None);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return to_instant(dt.with_timezone(&Utc).naive_utc(), text);
    }
    // "6/4/2021, 4:00:37.371 PM" (Log Analytics CSV) → "6/4/2021 4:00:37.371 PM"
    let s = s.replace(", ", " ");
    let s = s.as_str();
    const WITH_ZONE: &[&str] = &[
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f %:z",
        "%m/%d/%Y %I:%M:%S%.f %p %:z",
        "%m/%d/%Y %H:%M:%S%.f %:z",
    ];
    for format in WITH_ZONE {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return to_instant(dt.with_timezone(&Utc).naive_utc(), text);
        }
    }
    let naive = s.strip_suffix('Z').unwrap_or(s);
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%m/%d/%Y %I:%M:%S%.f %p",
        "%m/%d/%Y %I:%M %p",
        "%m/%d/%Y %H:%M:%S%.f",
        "%m/%d/%Y %H:%M",
    ];
    for format in NAIVE {
        if let Ok(dt) = NaiveDateTime::parse_from_str(naive, format) {
            return to_instant(dt, text);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        if let Some(dt) = date.and_hms_opt(0, 0, 0) {
            return to_instant(dt, text);
        }
    }
    Err(format!("`{}` is not a recognised timestamp", shorten(text)))
}

fn to_instant(dt: NaiveDateTime, original: &str) -> Result<Option<Instant>, String> {
    dt.and_utc()
        .timestamp_nanos_opt()
        .map(|n| Some(Instant(n)))
        .ok_or_else(|| {
            format!(
                "`{}` is outside the supported range (1677–2262)",
                shorten(original)
            )
        })
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        match parse_timestamp(s) {
            Ok(Some(v)) => v.nanos(),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn every_documented_timestamp_form_parses() {
        let base = ts("2007-01-09T09:41:00Z");
        for form in [
            "2007-01-09T09:41:00",
            "2007-01-09 09:41:00",
            "2007-01-09 09:41",
            "01/09/2007 09:41:00",
            "1/9/2007 9:41:00 AM",
            "1/9/2007 10:41:00 AM +01:00",
            "2007-01-09T04:41:00-05:00",
            "2007-01-09T09:41:00.000000000Z",
            "2007-01-09T09:41:00+00:00",
        ] {
            assert_eq!(ts(form), base, "{form}");
        }
        assert_eq!(
            ts("2018-01-09T21:20:02.7215374Z") % 1_000_000_000,
            721_537_400
        );
        assert_eq!(
            ts("2024-12-16 16:32:16.087554000") % 1_000_000_000,
            87_554_000
        );
        assert_eq!(
            ts("6/4/2021, 4:00:37.371 PM"),
            ts("2021-06-04T16:00:37.371Z")
        );
        assert_eq!(
            ts("2015-08-19T03:02:38.563110400Z") % 1_000_000_000,
            563_110_400
        );
        assert_eq!(ts("11/4/2020 21:11"), ts("2020-11-04T21:11:00Z"));
    }

    #[test]
    fn never_encodings_are_null_and_garbage_is_an_error() {
        assert_eq!(parse_timestamp("0001-01-01T00:00:00Z"), Ok(None));
        assert_eq!(parse_timestamp(""), Ok(None));
        assert!(parse_timestamp("yesterday").is_err());
    }

    #[test]
    fn typed_times_are_utc_and_errors_name_the_accepted_forms() {
        let midnight = Instant::parse("2026-10-31T00:00:00Z").expect("rfc 3339");
        assert_eq!(Instant::parse("2026-10-31T00:00:00"), Ok(midnight));
        assert_eq!(Instant::parse("2026-10-31 00:00"), Ok(midnight));
        assert_eq!(Instant::parse("2026-10-31"), Ok(midnight));
        assert_eq!(midnight.to_string(), "2026-10-31T00:00:00Z");
        let error = Instant::parse("last tuesday").expect_err("refused");
        assert!(error.contains("2026-10-31 00:00"), "{error}");
        assert!(Instant::parse("0001-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn day_arithmetic_is_checked() {
        let now = Instant::parse("2026-10-31").expect("date");
        assert_eq!(
            now.days_before(1).map(Instant::date).as_deref(),
            Some("2026-10-30")
        );
        assert_eq!(now.days_before(200_000), None);
        assert_eq!(Instant::from_snapshot_name(&now.snapshot_name()), Some(now));
    }
}
