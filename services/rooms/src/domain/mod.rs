//! The rooms service's rules, pure and unit-tested: what a valid room is,
//! who may do what, how invites are made and judged, how the group
//! playback state moves, how catalog entries become rooms, and when time
//! online earns a watch-time signal.

pub mod catalog;
pub mod fields;
pub mod invite;
pub mod playback;
pub mod roles;
pub mod watch_time;

pub use hearth_platform::validate::FieldError;
