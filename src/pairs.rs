//! From what the user named to the list of pairs to inspect.
//!
//! Four forms: one reference and many tests; one reference and a folder of
//! tests; two folders paired by identical relative path; and a pairs list
//! (`REFERENCE<TAB>TEST` per line), the general form for data sets that name
//! their pairs freely. Every form yields pairs in a stable order (the order
//! given, or sorted relative paths for folders) so that reports and shards are
//! reproducible.

use std::collections::BTreeSet;
use std::io::{BufRead, Read};
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
    /// Why this entry cannot be inspected (a malformed line of a pairs list,
    /// a folder that cannot be listed), reported as its error; `None` for a
    /// pair to inspect.
    pub problem: Option<String>,
}

impl Pair {
    /// A pair named by the test path as given, made relative (see [`relative_name`]).
    pub fn new(reference: impl Into<PathBuf>, test: impl Into<PathBuf>) -> Self {
        let test = test.into();
        Self {
            reference: reference.into(),
            name: relative_name(&test),
            test,
            problem: None,
        }
    }
}

/// Why the inputs could not be turned into pairs.
#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    /// A folder or the pairs list could not be read.
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        cause: std::io::Error,
    },
    /// A pairs list over [`MAX_LIST_BYTES`], or with a line over
    /// [`MAX_LINE_BYTES`] (`/dev/zero` on standard input has no end and no
    /// newline).
    #[error("{}: {what} is over the limit of {limit} bytes", path.display())]
    TooLong {
        /// The file concerned.
        path: PathBuf,
        /// What is too long: the list or one of its lines.
        what: String,
        /// The limit it is over.
        limit: u64,
    },
    /// A line of the pairs list is not `REFERENCE<TAB>TEST`: the error of
    /// that line's entry (test `LIST:LINE`), the other lines inspected.
    #[error("{}:{line}: expected `REFERENCE<TAB>TEST` (or two whitespace-separated paths), got `{text}`", path.display())]
    Syntax {
        /// The file concerned.
        path: PathBuf,
        /// The line number, from 1.
        line: usize,
        /// The line as read.
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

/// What a folder holds: its images, and the subfolders that could not be
/// listed (each reported as the error of that folder, not of the run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Listing {
    /// Sorted paths relative to the folder.
    images: Vec<PathBuf>,
    /// Subfolders, relative to the folder, and why they were not listed.
    unreadable: Vec<(PathBuf, String)>,
}

/// The images in `dir` (and below it with `recursive`) as sorted paths
/// relative to `dir`. Hidden entries are skipped: they include the temporary
/// files of an atomic write in progress.
pub fn images_in(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>, PairsError> {
    Ok(list(dir, recursive)?.images)
}

fn list(dir: &Path, recursive: bool) -> Result<Listing, PairsError> {
    let mut listing = Listing::default();
    let entries = std::fs::read_dir(dir).map_err(|cause| PairsError::Read {
        path: dir.to_path_buf(),
        cause,
    })?;
    let mut ancestors = Vec::new();
    if let Ok(metadata) = std::fs::metadata(dir) {
        ancestors.extend(folder_id(&metadata));
    }
    walk(
        Path::new(""),
        entries,
        recursive,
        &mut ancestors,
        &mut listing,
    );
    listing.images.sort();
    listing.unreadable.sort();
    Ok(listing)
}

/// A folder's device and inode: a folder met again among its own ancestors
/// (through a symlink) is a loop.
#[cfg(unix)]
fn folder_id(metadata: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn folder_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn walk(
    relative: &Path,
    entries: std::fs::ReadDir,
    recursive: bool,
    ancestors: &mut Vec<(u64, u64)>,
    listing: &mut Listing,
) {
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                listing
                    .unreadable
                    .push((relative.to_path_buf(), e.to_string()));
                return;
            }
        };
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let child = relative.join(&name);
        // Follows symlinks, as a user who links a folder of images expects.
        let path = entry.path();
        let metadata = std::fs::metadata(&path);
        if metadata.as_ref().is_ok_and(std::fs::Metadata::is_dir) {
            if !recursive {
                continue;
            }
            let id = metadata.ok().as_ref().and_then(folder_id);
            if id.is_some_and(|id| ancestors.contains(&id)) {
                let problem = "symlink loop: the folder contains itself".to_owned();
                listing.unreadable.push((child, problem));
                continue;
            }
            match std::fs::read_dir(&path) {
                Ok(entries) => {
                    ancestors.extend(id);
                    walk(&child, entries, recursive, ancestors, listing);
                    if id.is_some() {
                        ancestors.pop();
                    }
                }
                Err(e) => listing.unreadable.push((child, e.to_string())),
            }
        } else if is_image(&child) {
            listing.images.push(child);
        }
    }
}

/// A pair that stands for a folder that could not be listed (`folder`, with
/// `name` its path relative to the folder given): the error of that folder
/// in every report.
fn unreadable_pair(reference: PathBuf, folder: &Path, name: PathBuf, problem: &str) -> Pair {
    let test = folder.join(&name);
    Pair {
        reference,
        problem: Some(format!("{}: cannot read: {problem}", test.display())),
        test,
        name,
    }
}

/// Every image in `dir` against one `reference`; a subfolder that cannot be
/// listed becomes a pair that fails with its reason.
pub fn reference_and_folder(
    reference: &Path,
    dir: &Path,
    recursive: bool,
) -> Result<Vec<Pair>, PairsError> {
    let Listing { images, unreadable } = list(dir, recursive)?;
    let mut pairs: Vec<Pair> = images
        .into_iter()
        .map(|name| Pair {
            reference: reference.to_path_buf(),
            test: dir.join(&name),
            name,
            problem: None,
        })
        .collect();
    pairs.extend(
        unreadable
            .into_iter()
            .map(|(name, problem)| unreadable_pair(reference.to_path_buf(), dir, name, &problem)),
    );
    Ok(pairs)
}

/// Pairs the images of `tests` with those of `references` by identical
/// relative path; a subfolder of either that cannot be listed becomes a pair
/// that fails with its reason.
pub fn matched_folders(
    references: &Path,
    tests: &Path,
    recursive: bool,
) -> Result<Matched, PairsError> {
    let reference_listing = list(references, recursive)?;
    let reference_names: BTreeSet<PathBuf> = reference_listing.images.into_iter().collect();
    let test_listing = list(tests, recursive)?;
    let test_names = test_listing.images;
    let tested: BTreeSet<&PathBuf> = test_names.iter().collect();
    let unmatched_references = reference_names
        .iter()
        .filter(|name| !tested.contains(name))
        .map(|name| references.join(name))
        .collect();
    let mut pairs: Vec<Pair> = test_names
        .iter()
        .map(|name| Pair {
            reference: references.join(name),
            test: tests.join(name),
            name: name.clone(),
            problem: None,
        })
        .collect();
    for (name, problem) in test_listing.unreadable {
        pairs.push(unreadable_pair(
            references.join(&name),
            tests,
            name,
            &problem,
        ));
    }
    for (name, problem) in reference_listing.unreadable {
        pairs.push(unreadable_pair(
            references.to_path_buf(),
            references,
            name,
            &problem,
        ));
    }
    Ok(Matched {
        pairs,
        unmatched_references,
    })
}

/// The longest line a pairs list may have: two paths of the longest the
/// system allows (4,096 bytes on Linux) with ample room.
pub const MAX_LINE_BYTES: u64 = 64 << 10;

/// The largest pairs list read: tens of millions of pairs.
pub const MAX_LIST_BYTES: u64 = 1 << 30;

/// Parses a pairs list: one `REFERENCE<TAB>TEST` per line; two paths split by
/// other whitespace are accepted when there are exactly two; `#` comments and
/// blank lines are skipped. A malformed line becomes an entry that fails
/// with its [`PairsError::Syntax`], so one typo does not stop the rest of
/// the list. Paths are taken as written (relative ones from
/// the current folder). `source` names the list in messages. At most
/// [`MAX_LIST_BYTES`] are read, in lines of at most [`MAX_LINE_BYTES`].
pub fn parse_list(source: &Path, list: impl BufRead) -> Result<Vec<Pair>, PairsError> {
    let too_long = |what: String, limit| PairsError::TooLong {
        path: source.to_path_buf(),
        what,
        limit,
    };
    let mut list = list.take(MAX_LIST_BYTES + 1);
    let mut pairs = Vec::new();
    let mut bytes = Vec::new();
    for index in 0.. {
        bytes.clear();
        let read = (&mut list)
            .take(MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut bytes)
            .map_err(|e| PairsError::Read {
                path: source.to_path_buf(),
                cause: e,
            })?;
        if read == 0 {
            break;
        }
        if list.limit() == 0 {
            return Err(too_long("the list".into(), MAX_LIST_BYTES));
        }
        if bytes.len() as u64 > MAX_LINE_BYTES {
            return Err(too_long(format!("line {}", index + 1), MAX_LINE_BYTES));
        }
        let mut line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        line = line.strip_suffix(b"\r").unwrap_or(line);
        // Windows editors start a UTF-8 file with a byte-order mark.
        if index == 0 {
            line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        }
        let text = os_str(line).map_or_else(
            || String::from_utf8_lossy(line).into_owned(),
            |line| crate::report::path_text(Path::new(line)).into_owned(),
        );
        let line_error = || {
            let problem = PairsError::Syntax {
                path: source.to_path_buf(),
                line: index + 1,
                text: text.to_owned(),
            };
            let test = PathBuf::from(format!("{}:{}", source.display(), index + 1));
            Pair {
                reference: source.to_path_buf(),
                name: relative_name(&test),
                test,
                problem: Some(problem.to_string()),
            }
        };
        let line = line.trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        // Split as bytes: a path need not be UTF-8, and is kept as the
        // system's bytes from here to the report.
        let fields: Vec<&[u8]> = if line.contains(&b'\t') {
            line.split(|&b| b == b'\t')
                .map(<[u8]>::trim_ascii)
                .collect()
        } else {
            line.split(u8::is_ascii_whitespace)
                .filter(|f| !f.is_empty())
                .collect()
        };
        match fields.as_slice() {
            [reference, test] if !reference.is_empty() && !test.is_empty() => {
                match (os_str(reference), os_str(test)) {
                    (Some(reference), Some(test)) => pairs.push(Pair::new(reference, test)),
                    _ => pairs.push(line_error()),
                }
            }
            _ => pairs.push(line_error()),
        }
    }
    Ok(pairs)
}

/// A path's bytes as the system's string: any bytes on Unix, UTF-8 elsewhere.
fn os_str(bytes: &[u8]) -> Option<&std::ffi::OsStr> {
    #[cfg(unix)]
    {
        Some(std::os::unix::ffi::OsStrExt::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        std::str::from_utf8(bytes).ok().map(std::ffi::OsStr::new)
    }
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
    // In u128: `len * index` overflows usize for a count near usize::MAX.
    let bound = |i: usize| (pairs.len() as u128 * i as u128 / count as u128) as usize;
    let (start, end) = (bound(index), bound(index + 1));
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
    fn a_byte_order_mark_is_skipped_on_the_first_line_only() {
        let text = "\u{feff}a.png\tb.png\n\u{feff}c.png\td.png\n";
        let pairs = parse_list(Path::new("l.tsv"), text.as_bytes()).unwrap();
        assert_eq!(pairs[0], Pair::new("a.png", "b.png"));
        assert_eq!(pairs[1], Pair::new("\u{feff}c.png", "d.png"));
    }

    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_utf8_are_kept_as_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let pairs = parse_list(Path::new("l.tsv"), &b"r.png\tcaf\xe9.png\n"[..]).unwrap();
        assert_eq!(pairs[0].test.as_os_str().as_bytes(), b"caf\xe9.png");
        assert!(pairs[0].problem.is_none());
    }

    #[test]
    fn ambiguous_line_is_an_entry_naming_the_list_and_line() {
        let pairs = parse_list(Path::new("l.tsv"), "a b c\nr\tt\n".as_bytes()).unwrap();
        let problem = pairs[0].problem.as_deref().unwrap();
        assert!(problem.starts_with("l.tsv:1: expected"), "{problem}");
        assert_eq!(pairs[1], Pair::new("r", "t"));
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
