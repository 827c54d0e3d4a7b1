//! Before anything runs: no output may land on an input of the run, or on
//! another output, or inside a folder the run replaces.
//!
//! Paths are compared by file identity (device and inode, which sees hard
//! links) and by their resolved spelling (symlinks, `.` and `..` followed;
//! for a file not there yet, its deepest existing folder resolved and the
//! rest appended), so `./a.png`, `dir/../a.png` and a link to `a.png` are all
//! `a.png`.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// One path of the run and what it is, for the message.
#[derive(Debug, Clone)]
pub struct Named {
    /// The path as the user gave it (or as the run derived it).
    pub path: PathBuf,
    /// What it is: `the test`, `the --junit report`.
    pub role: String,
}

impl Named {
    /// `path` playing `role`.
    pub fn new(path: impl Into<PathBuf>, role: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            role: role.into(),
        }
    }
}

/// How a path is recognised: by spelling, and by identity when it exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Resolved(PathBuf),
    Inode(u64, u64),
}

/// Fails with [`Error::Clash`] when an output is an input, another output,
/// or lies in one of `folders` (which the run replaces whole), or an input
/// lies in one of `folders`.
pub fn refuse_clashes(inputs: &[Named], outputs: &[Named], folders: &[Named]) -> Result<()> {
    let mut seen: HashMap<Key, &Named> = HashMap::new();
    let mut resolved = Vec::with_capacity(inputs.len() + outputs.len());
    for input in inputs {
        let keys = keys(&input.path);
        for key in &keys {
            seen.entry(key.clone()).or_insert(input);
        }
        resolved.extend(keys.into_iter().next().map(|key| (key, input)));
    }
    for output in outputs {
        let keys = keys(&output.path);
        if let Some(other) = keys.iter().find_map(|key| seen.get(key)) {
            return Err(clash(output, other));
        }
        for key in &keys {
            seen.insert(key.clone(), output);
        }
        resolved.extend(keys.into_iter().next().map(|key| (key, output)));
    }
    for folder in folders {
        let Key::Resolved(root) = resolve_key(&folder.path) else {
            continue;
        };
        let inside = resolved.iter().find(|(key, _)| match key {
            Key::Resolved(path) => path.starts_with(&root),
            Key::Inode(..) => false,
        });
        if let Some((_, other)) = inside {
            return Err(clash(folder, other));
        }
    }
    Ok(())
}

fn clash(output: &Named, other: &Named) -> Error {
    Error::Clash {
        path: output.path.clone(),
        role: output.role.clone(),
        other: other.path.clone(),
        other_role: other.role.clone(),
    }
}

/// The resolved spelling first, then the identity of an existing file. A
/// device or a FIFO has none: it is written through, never replaced, so
/// `-o /dev/null --junit /dev/null` is no clash.
fn keys(path: &Path) -> Vec<Key> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Vec::new(),
        _ => {
            let mut keys = vec![resolve_key(path)];
            keys.extend(inode(path));
            keys
        }
    }
}

fn resolve_key(path: &Path) -> Key {
    Key::Resolved(resolve(path))
}

#[cfg(unix)]
fn inode(path: &Path) -> Option<Key> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).ok()?;
    Some(Key::Inode(metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn inode(_: &Path) -> Option<Key> {
    None
}

/// `path` with its deepest existing ancestor canonicalised and the
/// components below it appended, `..` taken lexically there (nothing below
/// exists to be a symlink).
pub fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let parts: Vec<Component> = absolute.components().collect();
    let (mut resolved, existing) = (0..=parts.len())
        .rev()
        .find_map(|n| {
            let prefix: PathBuf = parts[..n].iter().collect();
            prefix.canonicalize().ok().map(|canonical| (canonical, n))
        })
        .unwrap_or_default();
    for part in &parts[existing..] {
        match part {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_resolve_through_their_existing_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("a")).unwrap();
        assert_eq!(
            resolve(&root.join("a/../new/x.png")),
            root.join("new/x.png")
        );
        assert_eq!(
            resolve(&root.join("new/./y/../x.png")),
            root.join("new/x.png")
        );
    }
}
