//! Conversions between protobuf well-known types and `time`/`std` values,
//! the same in every service.

use std::time::Duration;

use hearth_proto::wkt;
use time::OffsetDateTime;

/// A UTC time as a proto Timestamp.
pub fn timestamp(at: OffsetDateTime) -> wkt::Timestamp {
    wkt::Timestamp { seconds: at.unix_timestamp(), nanos: at.nanosecond() as i32 }
}

/// A proto Timestamp as a UTC time; None when out of range or malformed.
pub fn datetime(t: &wkt::Timestamp) -> Option<OffsetDateTime> {
    if !(0..1_000_000_000).contains(&t.nanos) {
        return None;
    }
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// A std Duration as a proto Duration.
pub fn duration(d: Duration) -> wkt::Duration {
    wkt::Duration { seconds: d.as_secs() as i64, nanos: d.subsec_nanos() as i32 }
}

/// A proto Duration as a std Duration; None when negative or malformed.
pub fn std_duration(d: &wkt::Duration) -> Option<Duration> {
    if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 {
        return None;
    }
    Some(Duration::new(d.seconds as u64, d.nanos as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_malformed_values() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_764_000_000_123_000_000).unwrap();
        assert_eq!(datetime(&timestamp(at)), Some(at));
        assert_eq!(datetime(&wkt::Timestamp { seconds: 1, nanos: -1 }), None);
        let d = Duration::from_millis(1500);
        assert_eq!(std_duration(&duration(d)), Some(d));
        assert_eq!(std_duration(&wkt::Duration { seconds: -1, nanos: 0 }), None);
    }
}
