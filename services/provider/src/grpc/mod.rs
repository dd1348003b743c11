//! The provider role's gRPC handlers: `catalog` serves CatalogService
//! (Hearth's reads of the catalog and entitlement checks), `ingest` serves
//! ProviderIngest (the operator's pushes and viewing events).

mod catalog;
mod ingest;

use std::collections::HashSet;

use hearth_platform::validate::FieldError;

pub use catalog::CatalogApi;
pub use ingest::IngestApi;

use crate::domain::contract;

/// 1–`max` distinct valid ids.
pub(crate) fn ids(field: &str, ids: &[String], max: usize) -> Result<(), FieldError> {
    if ids.is_empty() || ids.len() > max {
        return Err(FieldError::new(field, format!("must have 1–{max} ids, got {}", ids.len())));
    }
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        contract::id(&format!("{field}[{i}]"), id, contract::ID_MAX)?;
        if !seen.insert(id) {
            return Err(FieldError::new(format!("{field}[{i}]"), "repeats an earlier id"));
        }
    }
    Ok(())
}
