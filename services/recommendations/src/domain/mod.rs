//! The recommendation rules, pure and unit-tested: what an item is
//! (`items`), how much a signal says about a viewer's taste and how fast
//! it fades (`signals`), how trending scores decay (`trending`), who may
//! see a friend's activity (`privacy`) and how each list explains itself
//! (`explain`).

pub mod explain;
pub mod items;
pub mod locale;
pub mod privacy;
pub mod signals;
pub mod trending;
