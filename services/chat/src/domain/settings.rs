//! A room's chat rules and shield mode. Stored as JSON (one row per room
//! that changed them); rooms without a row use the defaults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::emoji;

/// Longest slow-mode interval.
pub const SLOW_MODE_MAX: Duration = Duration::from_secs(3600);
/// Longest followers-only minimum age.
pub const FOLLOWERS_MIN_AGE_MAX: Duration = Duration::from_secs(90 * 24 * 3600);
/// Most live-reaction emoji a room may offer.
pub const LIVE_REACTIONS_MAX: usize = 12;

/// The rules of one room's chat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// 0: off.
    pub slow_mode_ms: u64,
    pub followers_only: bool,
    pub followers_only_min_age_ms: u64,
    pub members_only: bool,
    pub emote_only: bool,
    pub reactions_only: bool,
    pub shield_mode: bool,
    /// 0: the operator's maximum.
    pub max_message_length: u32,
    /// Empty: the default set.
    pub live_reaction_emojis: Vec<String>,
}

/// What the operator configured.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_message_length: u32,
    pub shield_slow_mode: Duration,
    pub shield_followers_min_age: Duration,
}

/// A setting value out of range: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid { field, message: message.into() }
}

impl Settings {
    /// The longest message the room accepts now.
    pub fn max_length(&self, limits: &Limits) -> u32 {
        match self.max_message_length {
            0 => limits.max_message_length,
            n => n.min(limits.max_message_length),
        }
    }

    /// The emoji viewers may tap as live reactions.
    pub fn live_reactions(&self) -> Vec<String> {
        if self.live_reaction_emojis.is_empty() {
            emoji::DEFAULT_LIVE_REACTIONS.iter().map(|e| (*e).to_owned()).collect()
        } else {
            self.live_reaction_emojis.clone()
        }
    }

    pub fn slow_mode(&self) -> Duration {
        Duration::from_millis(self.slow_mode_ms)
    }

    pub fn followers_min_age(&self) -> Duration {
        Duration::from_millis(self.followers_only_min_age_ms)
    }

    /// Checks every value against its range (after an update).
    pub fn validate(&self, limits: &Limits) -> Result<(), Invalid> {
        let slow = self.slow_mode();
        if !slow.is_zero() && !(Duration::from_secs(1)..=SLOW_MODE_MAX).contains(&slow) {
            return Err(invalid("settings.slow_mode_interval", "must be 0 (off) or 1 s – 1 h"));
        }
        if self.followers_min_age() > FOLLOWERS_MIN_AGE_MAX {
            return Err(invalid("settings.followers_only_min_age", "must be 0 – 90 days"));
        }
        if self.max_message_length > limits.max_message_length {
            return Err(invalid(
                "settings.max_message_length",
                format!("must be 0 (operator default) to {}", limits.max_message_length),
            ));
        }
        let emojis = &self.live_reaction_emojis;
        if emojis.len() > LIVE_REACTIONS_MAX {
            return Err(invalid("settings.live_reaction_emojis", "must hold 1–12 emoji"));
        }
        for (i, e) in emojis.iter().enumerate() {
            if !emoji::is_reaction(e) {
                return Err(invalid("settings.live_reaction_emojis", format!("entry {i} is not a single emoji")));
            }
            if emojis[..i].contains(e) {
                return Err(invalid("settings.live_reaction_emojis", format!("entry {i} repeats an emoji")));
            }
        }
        Ok(())
    }

    /// Shield mode's strict preset laid over these settings: never looser
    /// than what the room already had.
    pub fn shielded(&self, limits: &Limits) -> Settings {
        let slow = self.slow_mode_ms.max(limits.shield_slow_mode.as_millis() as u64);
        let age = self.followers_only_min_age_ms.max(limits.shield_followers_min_age.as_millis() as u64);
        Settings {
            slow_mode_ms: slow,
            followers_only: true,
            followers_only_min_age_ms: age,
            members_only: true,
            shield_mode: true,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_message_length: 500,
            shield_slow_mode: Duration::from_secs(30),
            shield_followers_min_age: Duration::from_secs(600),
        }
    }

    #[test]
    fn defaults_are_open_and_use_the_operator_length() {
        let s = Settings::default();
        assert_eq!(s.max_length(&limits()), 500);
        assert!(s.validate(&limits()).is_ok());
        assert_eq!(s.live_reactions().len(), emoji::DEFAULT_LIVE_REACTIONS.len());
    }

    #[test]
    fn ranges_are_enforced_with_the_field_named() {
        let l = limits();
        let slow = Settings { slow_mode_ms: 500, ..Default::default() };
        assert_eq!(slow.validate(&l).map_err(|e| e.field), Err("settings.slow_mode_interval"));
        let slow = Settings { slow_mode_ms: 3_600_001, ..Default::default() };
        assert!(slow.validate(&l).is_err());
        assert!(Settings { slow_mode_ms: 1000, ..Default::default() }.validate(&l).is_ok());
        let age = Settings { followers_only_min_age_ms: 91 * 24 * 3600 * 1000, ..Default::default() };
        assert_eq!(age.validate(&l).map_err(|e| e.field), Err("settings.followers_only_min_age"));
        let long = Settings { max_message_length: 501, ..Default::default() };
        assert_eq!(long.validate(&l).map_err(|e| e.field), Err("settings.max_message_length"));
        let short = Settings { max_message_length: 100, ..Default::default() };
        assert_eq!(short.max_length(&l), 100);
    }

    #[test]
    fn live_reactions_must_be_distinct_single_emoji() {
        let l = limits();
        let ok = Settings { live_reaction_emojis: vec!["🔥".into(), "👏".into()], ..Default::default() };
        assert!(ok.validate(&l).is_ok());
        let dup = Settings { live_reaction_emojis: vec!["🔥".into(), "🔥".into()], ..Default::default() };
        assert!(dup.validate(&l).is_err());
        let word = Settings { live_reaction_emojis: vec!["fire".into()], ..Default::default() };
        assert!(word.validate(&l).is_err());
        let many = Settings { live_reaction_emojis: vec!["🔥".into(); 13], ..Default::default() };
        assert!(many.validate(&l).is_err());
    }

    #[test]
    fn shield_tightens_but_never_loosens() {
        let l = limits();
        let loose = Settings::default().shielded(&l);
        assert!(loose.shield_mode && loose.members_only && loose.followers_only);
        assert_eq!(loose.slow_mode_ms, 30_000);
        assert_eq!(loose.followers_only_min_age_ms, 600_000);
        let strict = Settings { slow_mode_ms: 120_000, emote_only: true, ..Default::default() }.shielded(&l);
        assert_eq!(strict.slow_mode_ms, 120_000);
        assert!(strict.emote_only);
    }
}
