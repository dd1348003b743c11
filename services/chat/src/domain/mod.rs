//! The chat service's rules, pure and unit-tested: what a valid message,
//! mention, reaction and term is ([`text`], [`emoji`], [`terms`]), chat
//! settings and shield mode ([`settings`]) and who may send what, when
//! ([`gate`]).

pub mod emoji;
pub mod gate;
pub mod settings;
pub mod terms;
pub mod text;
