//! The rooms service's rules, pure and unit-tested: what a valid room is,
//! who may do what, how invites are made and judged, how the group
//! playback state moves, and how catalog entries become rooms.

pub mod catalog;
pub mod fields;
pub mod invite;
pub mod playback;
pub mod roles;

pub use hearth_platform::validate::FieldError;
