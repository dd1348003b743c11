//! Where the real IPTV files for tests are: `../shared/data` beside the
//! project (see its README), or `HEARTH_SHARED_DATA` (set by `.ci/run` for
//! a clone made elsewhere). Tests skip with a printed reason when the data
//! is absent, and fail instead under `CI=true`, where skipping would hide a
//! broken set-up.

use std::path::PathBuf;

/// `relative` (e.g. `iptv/m3u`) under the shared data folder, or None
/// after printing why the caller skips.
///
/// # Panics
/// When the folder is absent and `CI` is `true`.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("HEARTH_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| {
        // services/<crate> → the project root → its sibling `shared`.
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
    });
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the shared test data {} is missing (set HEARTH_SHARED_DATA)",
        path.display()
    );
    eprintln!("skipping: the shared test data {} is absent", path.display());
    None
}
