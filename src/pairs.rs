//! From what the user named to the list of pairs to inspect.
//!
//! Four forms: one reference and many tests; one reference and a folder of
//! tests; two folders paired by identical relative path; and a pairs list
//! (`REFERENCE<TAB>TEST` per line), the general form for data sets that name
//! their pairs freely. Every form yields pairs in a stable order (the order
//! given, or sorted relative paths for folders) so that reports and shards are
//! reproducible.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Component, Path, PathBuf};

/// A reference and a test to compare with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The reference image.
    pub reference: PathBuf,
    /// The test image.
    pub test: PathBuf,
    /// The test's path relative to its input root: where its annotated image
    /// goes under `--out-dir`.
    pub name: PathBuf,
}

impl Pair {
    /// A pair named by the test path as given, made relative (see [`relative_name`]).
    pub fn new(reference: impl Into<PathBuf>, test: impl Into<PathBuf>) -> Self {
        let test = test.into();
        Self {
            reference: reference.into(),
            name: relative_name(&test),
            test,
        }
    }
}

/// Why the inputs could not be turned into pairs.
#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    /// A folder or the pairs list could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A line of the pairs list is not `REFERENCE<TAB>TEST`.
    #[error("{}:{line}: expected `REFERENCE<TAB>TEST` (or two whitespace-separated paths), got `{text}`", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        text: String,
    },
}

/// The outcome of pairing two folders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matched {
    /// One pair per test, in sorted relative-path order. A test without a
    /// reference of the same name is paired with the reference path it would
    /// have had, so it fails as a missing reference in every report.
    pub pairs: Vec<Pair>,
    /// References that have no test of the same name: reported, not inspected.
    pub unmatched_references: Vec<PathBuf>,
}

/// The extensions of the formats [`crate::load`] decodes, lower case.
const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// Whether `path` names an image by its extension.
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The images in `dir` (and below it with `recursive`) as sorted paths
/// relative to `dir`. Hidden entries are skipped: they include the temporary
/// files of an atomic write in progress.
pub fn images_in(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, PairsError> {
    let mut found = Vec::new();
    walk(dir, Path::new(""), recursive, &mut found)?;
    found.sort();
    Ok(found)
}

fn walk(
    root: &Path,
    relative: &Path,
    recursive: bool,
    found: &mut Vec<PathBuf>,
) -> Result<(), PairsError> {
    let dir = root.join(relative);
    let read_error = |source| PairsError::Read {
        path: dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let child = relative.join(&name);
        // Follows symlinks, as a user who links a folder of images expects.
        let path = entry.path();
        if path.is_dir() {
            if recursive {
                walk(root, &child, recursive, found)?;
            }
        } else if is_image(&child) {
            found.push(child);
        }
    }
    Ok(())
}

/// Every image in `dir` against one `reference`.
pub fn reference_and_folder(
    reference: &Path,
    dir: &Path,
    recursive: bool,
) -> Result<Vec<Pair>, PairsError> {
    Ok(images_in(dir, recursive)?
        .into_iter()
        .map(|name| Pair {
            reference: reference.to_path_buf(),
            test: dir.join(&name),
            name,
        })
        .collect())
}

/// Pairs the images of `tests` with those of `references` by identical
/// relative path.
pub fn matched_folders(
    references: &Path,
    tests: &Path,
    recursive: bool,
) -> Result<Matched, PairsError> {
    let reference_names: BTreeSet<PathBuf> =
        images_in(references, recursive)?.into_iter().collect();
    let test_names = images_in(tests, recursive)?;
    let tested: BTreeSet<&PathBuf> = test_names.iter().collect();
    let unmatched_references = reference_names
        .iter()
        .filter(|name| !tested.contains(name))
        .map(|name| references.join(name))
        .collect();
    let pairs = test_names
        .iter()
        .map(|name| Pair {
            reference: references.join(name),
            test: tests.join(name),
            name: name.clone(),
        })
        .collect();
    Ok(Matched {
        pairs,
        unmatched_references,
    })
}

/// Parses a pairs list: one `REFERENCE<TAB>TEST` per line; two paths split by
/// other whitespace are accepted when there are exactly two; `#` comments and
/// blank lines are skipped. Paths are taken as written (relative ones from
/// the current folder). `source` names the list in messages.
pub fn parse_list(source: &Path, list: impl BufRead) -> Result<Vec<Pair>, PairsError> {
    let mut pairs = Vec::new();
    for (index, line) in list.lines().enumerate() {
        let line = line.map_err(|e| PairsError::Read {
            path: source.to_path_buf(),
            source: e,
        })?;
        let text = line.trim_end_matches('\r');
        if text.trim().is_empty() || text.trim_start().starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = if text.contains('\t') {
            text.split('\t').map(str::trim).collect()
        } else {
            text.split_whitespace().collect()
        };
        match fields.as_slice() {
            [reference, test] if !reference.is_empty() && !test.is_empty() => {
                pairs.push(Pair::new(reference, test));
            }
            _ => {
                return Err(PairsError::Syntax {
                    path: source.to_path_buf(),
                    line: index + 1,
                    text: text.to_owned(),
                })
            }
        }
    }
    Ok(pairs)
}

/// `path` made safe to join under an output folder: the root, `.` and `..`
/// are dropped, so `/data/a/b.png` and `../a/b.png` both become `a/b.png`
/// relative to the root they lost (`data/a/b.png`, `a/b.png`).
pub fn relative_name(path: &Path) -> PathBuf {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part),
            _ => None,
        })
        .collect()
}

/// The pairs of shard `index` (0-based) of `count`: a contiguous run, so that
/// shards 0..count, concatenated, are the whole list in order, and pairs
/// sharing a reference mostly stay together.
pub fn shard(pairs: Vec<Pair>, index: usize, count: usize) -> Vec<Pair> {
    let len = pairs.len();
    let start = len * index / count;
    let end = len * (index + 1) / count;
    pairs.into_iter().skip(start).take(end - start).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_takes_tabs_whitespace_comments_and_blank_lines() {
        let text = "# pairs\n\na.png\tb c.png\n  \nr.jpg   t.jpg\r\n";
        let pairs = parse_list(Path::new("l.tsv"), text.as_bytes()).unwrap();
        assert_eq!(
            pairs,
            vec![Pair::new("a.png", "b c.png"), Pair::new("r.jpg", "t.jpg")]
        );
    }

    #[test]
    fn ambiguous_line_names_the_list_and_line() {
        let err = parse_list(Path::new("l.tsv"), "a b c\n".as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("l.tsv:1: expected"), "{err}");
    }

    #[test]
    fn shards_partition_the_list_in_order() {
        let pairs: Vec<Pair> = (0..10)
            .map(|i| Pair::new("r", format!("{i}.png")))
            .collect();
        for count in 1..=12 {
            let joined: Vec<Pair> = (0..count)
                .flat_map(|i| shard(pairs.clone(), i, count))
                .collect();
            assert_eq!(joined, pairs, "{count} shards");
        }
    }

    #[test]
    fn relative_name_drops_roots_and_parents() {
        assert_eq!(
            relative_name(Path::new("/data/./a/../b.png")),
            PathBuf::from("data/a/b.png")
        );
    }
}
