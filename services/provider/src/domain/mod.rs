//! The provider role's rules, pure and unit-tested: what a valid channel,
//! programme and viewing event is (`contract`) and how entitlement answers
//! map back to Hearth users (`entitlement`). What airs now and next is a
//! query (`store::Store::now_next`).

pub mod contract;
pub mod entitlement;
