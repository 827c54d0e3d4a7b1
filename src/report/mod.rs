//! Reports: the results of a run as data, and one writer per format.
//!
//! [`Report`] is what every writer reads; its serialised form is the JSON
//! document. Field names are a public interface: later versions add fields,
//! never rename these.

pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod summary;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::defect::{Defect, DefectKind};

/// The version of the JSON format (`--json`, and the closing line of
/// `--jsonl`), described by `schema/report.schema.json`: raised when a field
/// changes meaning or goes, not when one is added.
pub const FORMAT_VERSION: u32 = 1;

/// The program that wrote a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tool {
    /// `defect-detect`.
    pub name: &'static str,
    /// The crate's version.
    pub version: &'static str,
    /// The git commit of the build; `None` outside a git checkout.
    pub commit: Option<&'static str>,
}

impl Tool {
    /// This build.
    pub const fn current() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
            // Set by build.rs from git.
            commit: option_env!("DEFECT_DETECT_COMMIT"),
        }
    }
}

/// `path` as text for people and text formats: as it is when it is UTF-8,
/// else with each byte that is not shown as `\xNN` (`caf\xE9.png`), so that
/// two names never print alike; the JSON adds the bytes themselves.
pub fn path_text(path: &Path) -> Cow<'_, str> {
    let bytes = path.as_os_str().as_encoded_bytes();
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let mut text = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            text.push_str(&format!("\\x{byte:02X}"));
        }
    }
    Cow::Owned(text)
}

/// A path serialized as its [`path_text`] under `key` and, when that is
/// not the path itself (not UTF-8), its bytes under `bytes_key`: the
/// system's bytes (a Unix file name's), which open the file again.
fn serialize_path<S: Serializer>(
    key: &'static str,
    bytes_key: &'static str,
    path: &Path,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry(key, &path_text(path))?;
    if path.to_str().is_none() {
        map.serialize_entry(bytes_key, path.as_os_str().as_encoded_bytes())?;
    }
    map.end()
}

/// An optional path (an option's folder or file) as its [`path_text`].
pub(crate) fn serialize_optional_path<S: Serializer>(
    path: &Option<PathBuf>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    path.as_deref().map(path_text).serialize(serializer)
}

fn serialize_reference<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_path("reference", "reference_bytes", path, serializer)
}

fn serialize_test<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_path("test", "test_bytes", path, serializer)
}

/// One pair's line in every report: its defects, or why it could not be inspected.
#[derive(Debug, Clone, Serialize)]
pub struct PairResult {
    /// The reference path as given (JSON: `reference`, and
    /// `reference_bytes` when it is not UTF-8; see [`path_text`]).
    #[serde(flatten, serialize_with = "serialize_reference")]
    pub reference: PathBuf,
    /// The test path as given (JSON: `test`, and `test_bytes` when it is
    /// not UTF-8).
    #[serde(flatten, serialize_with = "serialize_test")]
    pub test: PathBuf,
    /// Test width in pixels; `null` when the test could not be read.
    pub width: Option<u32>,
    /// Test height in pixels; `null` when the test could not be read.
    pub height: Option<u32>,
    /// Defects found, worst first (empty on error).
    pub defects: Vec<Defect>,
    /// The global motion found from reference to test; `null` on error.
    pub alignment: Option<crate::Alignment>,
    /// The material levels of the reference and the test; `null` on error.
    pub threshold: Option<crate::Levels>,
    /// Which side of the levels was material; `null` on error.
    pub polarity: Option<crate::Polarity>,
    /// Why the pair could not be inspected, or `null`.
    pub error: Option<String>,
    /// Why the annotated image could not be written, or `null`; the
    /// findings stand (a full disk must not lose them).
    pub write_error: Option<String>,
    /// What makes the findings doubtful, such as an alignment that reached
    /// `--max-shift`; empty when nothing does.
    pub warnings: Vec<String>,
}

/// Counts over all pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Pairs inspected or attempted.
    pub pairs: usize,
    /// Pairs with at least one defect.
    pub with_defects: usize,
    /// Pairs that could not be inspected.
    pub errors: usize,
    /// Pairs inspected whose annotated image could not be written.
    pub write_errors: usize,
    /// Flash defects over all pairs.
    pub flash: usize,
    /// Cut defects over all pairs.
    pub cut: usize,
}

impl Summary {
    /// Counts `result` in.
    pub fn add(&mut self, result: &PairResult) {
        self.pairs += 1;
        self.errors += usize::from(result.error.is_some());
        self.write_errors += usize::from(result.write_error.is_some());
        self.with_defects += usize::from(!result.defects.is_empty());
        for defect in &result.defects {
            match defect.kind {
                DefectKind::Flash => self.flash += 1,
                DefectKind::Cut => self.cut += 1,
            }
        }
    }

    /// The exit status, like diff's: 2 if any pair failed or an annotated
    /// image could not be written, else 1 if any had defects, else 0.
    pub fn exit_status(&self) -> u8 {
        if self.errors > 0 || self.write_errors > 0 {
            2
        } else if self.with_defects > 0 {
            1
        } else {
            0
        }
    }
}

/// The whole run: results in input order, the counts, and whether every
/// pair was inspected.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Every pair's result, in input order.
    pub results: Vec<PairResult>,
    /// The counts over all pairs.
    pub summary: Summary,
    /// False when the run was interrupted: `results` are the pairs that
    /// finished, the rest were not inspected.
    pub complete: bool,
}

impl Report {
    /// Builds the report of a complete run and its counts from `results`.
    pub fn new(results: Vec<PairResult>) -> Self {
        let mut summary = Summary::default();
        for result in &results {
            summary.add(result);
        }
        Self {
            results,
            summary,
            complete: true,
        }
    }

    /// The exit status of the findings (see [`Summary::exit_status`]).
    pub fn exit_status(&self) -> u8 {
        self.summary.exit_status()
    }
}

/// One defect as the text reports show it, led by its number:
/// `1  cut    hole        x=12 y=96 width=6 height=8  area=48  score=1.00`;
/// `colour` paints the kind in its colour on the annotated picture.
pub fn describe(defect: &Defect, colour: bool) -> String {
    let r = &defect.rect;
    let kind = format!("{:<5}", defect.kind.name());
    let kind = match (colour, defect.kind) {
        (false, _) => kind,
        (true, DefectKind::Flash) => paint(ansi::FLASH, &kind),
        (true, DefectKind::Cut) => paint(ansi::CUT, &kind),
    };
    format!(
        "{:>2}  {kind}  {:<10}  x={} y={} width={} height={}  area={}  score={:.2}",
        defect.id,
        defect.defect_type.name(),
        r.x,
        r.y,
        r.width,
        r.height,
        defect.area,
        defect.score
    )
}

/// Terminal colours (SGR sequences) of the summary and the error lines.
pub mod ansi {
    /// Flash: the annotated picture's orange.
    pub const FLASH: &str = "\x1b[38;5;208m";
    /// Cut: the annotated picture's azure.
    pub const CUT: &str = "\x1b[38;5;39m";
    /// A verdict of no defect.
    pub const PASS: &str = "\x1b[1;32m";
    /// A verdict of defects found.
    pub const FAIL: &str = "\x1b[1;31m";
    /// Errors.
    pub const BOLD: &str = "\x1b[1m";
    /// Back to the terminal's own style.
    pub const RESET: &str = "\x1b[0m";
}

/// `text` in the style `sgr`, then back to the terminal's own.
pub fn paint(sgr: &str, text: &str) -> String {
    format!("{sgr}{text}{}", ansi::RESET)
}

/// `text` escaped for XML and HTML, in content and in quoted attributes.
/// Control characters that XML 1.0 forbids (they can reach us through file
/// names) become U+FFFD, so the document always parses.
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{7f}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_escaping_covers_quotes_and_control_characters() {
        assert_eq!(
            escape_markup("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&#39;\u{fffd}"
        );
    }
}
