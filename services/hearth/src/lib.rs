//! The one Hearth binary's library half: which roles exist and how a set of
//! them starts in one process. The integration tests start Hearth through
//! this same code.

pub mod app;
pub mod roles;

pub use app::{App, AppError, migrate};
pub use roles::Role;
