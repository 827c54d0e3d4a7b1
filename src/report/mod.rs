//! Reports: the results of a run as data, and one writer per format.
//!
//! [`Report`] is what every writer reads; its serialised form is the JSON
//! document. Field names are a public interface: later versions add fields,
//! never rename these.

pub mod html;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod summary;

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::defect::{Defect, DefectKind};
use crate::{AlignMode, Options, Polarity, Threshold};

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

fn serialize_reference<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_path("reference", "reference_bytes", path, serializer)
}

fn serialize_test<S: Serializer>(path: &Path, serializer: S) -> Result<S::Ok, S::Error> {
    serialize_path("test", "test_bytes", path, serializer)
}

/// A path as [`serialize_path`] wrote it: its bytes when given, else its text.
fn path_from(text: String, bytes: Option<Vec<u8>>) -> PathBuf {
    #[cfg(unix)]
    if let Some(bytes) = bytes {
        return <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes).into();
    }
    #[cfg(not(unix))]
    let _ = bytes;
    PathBuf::from(text)
}

fn deserialize_reference<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    #[derive(Deserialize)]
    struct Fields {
        reference: String,
        #[serde(default)]
        reference_bytes: Option<Vec<u8>>,
    }
    let f = Fields::deserialize(deserializer)?;
    Ok(path_from(f.reference, f.reference_bytes))
}

fn deserialize_test<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    #[derive(Deserialize)]
    struct Fields {
        test: String,
        #[serde(default)]
        test_bytes: Option<Vec<u8>>,
    }
    let f = Fields::deserialize(deserializer)?;
    Ok(path_from(f.test, f.test_bytes))
}

/// One pair's line in every report: its defects, or why it could not be inspected.
///
/// Fields added after the first version are `#[serde(default)]`, so that
/// `--merge` reads the reports of older runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairResult {
    /// The reference path as given (JSON: `reference`, and
    /// `reference_bytes` when it is not UTF-8; see [`path_text`]).
    #[serde(
        flatten,
        serialize_with = "serialize_reference",
        deserialize_with = "deserialize_reference"
    )]
    pub reference: PathBuf,
    /// The test path as given (JSON: `test`, and `test_bytes` when it is
    /// not UTF-8).
    #[serde(
        flatten,
        serialize_with = "serialize_test",
        deserialize_with = "deserialize_test"
    )]
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
    #[serde(default)]
    pub write_error: Option<String>,
    /// What makes the findings doubtful, such as an alignment that reached
    /// `--max-shift`; empty when nothing does.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Where the annotated image was written, or `null`.
    #[serde(default)]
    pub annotated: Option<String>,
    /// The pair's wall time in the pipeline, seconds (decoding, waiting for
    /// a shared reference, inspecting, writing its images). The one field
    /// that differs between two runs of the same inputs.
    #[serde(default)]
    pub seconds: f64,
}

/// Counts over all pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// The whole run: results in input order, the counts, whether every pair
/// was inspected, and what the run was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// Every pair's result, in input order.
    pub results: Vec<PairResult>,
    /// The counts over all pairs.
    pub summary: Summary,
    /// False when the run was interrupted (or a merge lacks a part):
    /// `results` are the pairs that finished, the rest were not inspected.
    pub complete: bool,
    /// What the run was: its options, shard, unmatched references, time.
    #[serde(flatten)]
    pub run: RunInfo,
}

/// What a report says about its run besides the results, so that `--merge`
/// can join the reports of several runs and check that they belong together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The options the pairs were inspected with.
    #[serde(default)]
    pub options: Option<Settings>,
    /// Which part of the pair list this run inspected (`--shard`), or `null`.
    #[serde(default)]
    pub shard: Option<ShardInfo>,
    /// References of a folder pairing that had no test of the same name.
    #[serde(default)]
    pub unmatched_references: Vec<String>,
    /// The run's wall time, seconds.
    #[serde(default)]
    pub seconds: f64,
}

/// `--shard K/N` as reports record it, `index` 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// This shard, 1 to `count`.
    pub index: usize,
    /// How many shards the list was split into.
    pub count: usize,
}

/// The options that change results, as reports record them: the values
/// spelt as on the command line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// `--threshold`: a level, `auto` or `otsu`.
    pub threshold: String,
    /// `--polarity`: `auto`, `dark` or `light`.
    pub polarity: String,
    /// `--min-area`, pixels.
    pub min_area: u32,
    /// `--align`: `none`, `translate` or `rigid`.
    pub align: String,
    /// `--max-shift`, pixels.
    pub max_shift: u32,
    /// `--tolerance`, pixels.
    pub tolerance: f32,
    /// `--min-score`.
    pub min_score: f32,
    /// `--max-pixels`.
    pub max_pixels: u64,
    /// `--ignore` rectangles, `X,Y,W,H`.
    pub ignore: Vec<String>,
    /// `--ignore-mask`, the mask image's path.
    pub ignore_mask: Option<String>,
}

impl From<&Options> for Settings {
    fn from(options: &Options) -> Self {
        Self {
            threshold: match options.threshold {
                Threshold::Fixed(level) => level.to_string(),
                Threshold::Otsu => "otsu".into(),
                Threshold::Auto => "auto".into(),
            },
            polarity: match options.polarity {
                None => "auto".into(),
                Some(Polarity::Dark) => "dark".into(),
                Some(Polarity::Light) => "light".into(),
            },
            min_area: options.min_area,
            align: match options.align {
                AlignMode::None => "none".into(),
                AlignMode::Translate => "translate".into(),
                AlignMode::Rigid => "rigid".into(),
            },
            max_shift: options.max_shift,
            tolerance: options.tolerance,
            min_score: options.min_score,
            max_pixels: options.max_pixels,
            ignore: (options.ignore.rects.iter())
                .map(|r| format!("{},{},{},{}", r.x, r.y, r.width, r.height))
                .collect(),
            ignore_mask: (options.ignore.mask.as_ref()).map(|m| m.path.display().to_string()),
        }
    }
}

impl Settings {
    /// Each setting as `(name, value)`, for reports that list them (JUnit
    /// properties, the HTML header).
    pub fn entries(&self) -> [(&'static str, String); 10] {
        [
            ("threshold", self.threshold.clone()),
            ("polarity", self.polarity.clone()),
            ("min_area", self.min_area.to_string()),
            ("align", self.align.clone()),
            ("max_shift", self.max_shift.to_string()),
            ("tolerance", self.tolerance.to_string()),
            ("min_score", self.min_score.to_string()),
            ("max_pixels", self.max_pixels.to_string()),
            ("ignore", self.ignore.join(" ")),
            ("ignore_mask", self.ignore_mask.clone().unwrap_or_default()),
        ]
    }
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
            run: RunInfo::default(),
        }
    }

    /// The exit status of the findings (see [`Summary::exit_status`]); 2
    /// for an incomplete report, which cannot pass a gate whatever its
    /// pairs say (an interrupted run exits with its signal's status instead).
    pub fn exit_status(&self) -> u8 {
        if self.complete {
            self.summary.exit_status()
        } else {
            2
        }
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

/// Result indices, errors first, then by defect count and total defect area,
/// both descending; ties keep input order.
pub(crate) fn worst_first(results: &[PairResult]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..results.len()).collect();
    order.sort_by_key(|&i| {
        let r = &results[i];
        let area: u64 = r.defects.iter().map(|d| u64::from(d.area)).sum();
        std::cmp::Reverse((r.error.is_some(), r.defects.len(), area))
    });
    order
}

/// `path` as the reports that CI shows name it, so that a name does not
/// change from one runner to the next: relative to `root` when it lies
/// under it, as given otherwise. Both are made absolute against the current
/// folder and `.` and `..` resolved by spelling (a link is not followed:
/// the name is the one the user gave).
pub fn relative_name(path: &Path, root: &Path) -> String {
    let (Ok(path_abs), Ok(root_abs)) = (std::path::absolute(path), std::path::absolute(root))
    else {
        return path_text(path).into_owned();
    };
    match lexical(&path_abs).strip_prefix(lexical(&root_abs)) {
        Ok(relative) if !relative.as_os_str().is_empty() => path_text(relative).into_owned(),
        _ => path_text(path).into_owned(),
    }
}

/// `path` with `.` dropped and each `..` taking off the part before it.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A moment in UTC as calendar fields (days to a civil date by Howard
/// Hinnant's algorithm): the reports' dates, without a time-zone library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Utc {
    year: i64,
    month: i64,
    day: i64,
    seconds_of_day: u64,
}

impl Utc {
    pub(crate) fn at(time: std::time::SystemTime) -> Self {
        let seconds = time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (days, seconds_of_day) = ((seconds / 86_400) as i64, seconds % 86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            seconds_of_day,
        }
    }

    /// `2026-12-02T13:05:09`: JUnit's `timestamp`, which its schema gives
    /// without a zone (UTC by convention).
    pub(crate) fn iso8601(&self) -> String {
        let s = self.seconds_of_day;
        format!(
            "{}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s % 3600 / 60,
            s % 60
        )
    }

    /// `2026-12-02 13:05 UTC`, for people.
    pub(crate) fn minutes(&self) -> String {
        let s = self.seconds_of_day;
        format!(
            "{}-{:02}-{:02} {:02}:{:02} UTC",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s % 3600 / 60
        )
    }
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
    fn dates_are_utc_calendar_dates() {
        let at = |seconds| Utc::at(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds));
        assert_eq!(at(1_796_216_709).iso8601(), "2026-12-02T13:05:09");
        assert_eq!(at(1_796_216_709).minutes(), "2026-12-02 13:05 UTC");
        assert_eq!(at(951_868_799).iso8601(), "2000-02-29T23:59:59");
    }

    #[test]
    fn names_are_relative_to_the_root_when_under_it() {
        let cwd = std::env::current_dir().unwrap();
        let absolute = cwd.join("captures/a.png").display().to_string();
        assert_eq!(
            relative_name(Path::new(&absolute), Path::new(".")),
            "captures/a.png"
        );
        assert_eq!(
            relative_name(
                Path::new("./captures/../captures/a.png"),
                Path::new("captures")
            ),
            "a.png"
        );
        assert_eq!(
            relative_name(Path::new("captures/a.png"), Path::new("other")),
            "captures/a.png"
        );
        assert_eq!(
            relative_name(Path::new("/elsewhere/a.png"), Path::new(".")),
            "/elsewhere/a.png"
        );
    }

    #[test]
    fn markup_escaping_covers_quotes_and_control_characters() {
        assert_eq!(
            escape_markup("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&#39;\u{fffd}"
        );
    }
}
