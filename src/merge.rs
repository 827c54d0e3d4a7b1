//! `--merge`: the reports of several runs (the shards of a CI matrix, each
//! its `--json` document or `--jsonl` stream) joined into the report of one
//! run, from which every writer then works as if the pairs had been
//! inspected together.
//!
//! Nothing is inspected again: the results are taken as written, so a merge
//! is quick and needs no images (the HTML report alone reads them again).
//! What makes the join trustworthy is what it refuses: a file that is not a
//! report, a report whose counts do not match its results, two shards of
//! different splits or the same shard twice, runs with different options,
//! and a pair in two files that are not distinct shards. Shards are put in
//! their order 1..N whatever the order of the files, so a glob that sorts
//! `10` before `2` still gives the unsharded order. A shard missing, or one
//! that was interrupted, leaves the merged report incomplete.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::report::{PairResult, Report, RunInfo, Summary};

/// The joined report and what the caller should warn about.
#[derive(Debug)]
pub struct Merged {
    /// The results of every part in order, counted again; complete only
    /// when every part was and no shard is missing.
    pub report: Report,
    /// One line per reason the report is incomplete, each naming its file.
    pub warnings: Vec<String>,
}

/// One input, read.
struct Part {
    path: PathBuf,
    report: Report,
    /// Why the part is not a whole run, when it is not.
    incomplete: Option<String>,
}

/// Reads each report in `paths` and joins them (see the module doc).
pub fn merge(paths: &[PathBuf]) -> Result<Merged> {
    let mut parts = paths
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<Part>>>()?;
    check_options(&parts)?;
    let mut warnings: Vec<String> = (parts.iter())
        .filter_map(|part| {
            let why = part.incomplete.as_ref()?;
            Some(format!(
                "{}: {why}; the merged report is incomplete",
                part.path.display()
            ))
        })
        .collect();
    let distinct_shards = order_shards(&mut parts, &mut warnings)?;
    if !distinct_shards {
        refuse_shared_pairs(&parts)?;
    }
    let mut results = Vec::new();
    let mut unmatched_references = Vec::new();
    let mut seen_unmatched = HashSet::new();
    let mut seconds = 0.0;
    for part in &mut parts {
        results.append(&mut part.report.results);
        for reference in part.report.run.unmatched_references.drain(..) {
            if seen_unmatched.insert(reference.clone()) {
                unmatched_references.push(reference);
            }
        }
        // The parts ran side by side or one after another; either way the
        // sum is the time their pairs took, which is what a suite's time is.
        seconds += part.report.run.seconds;
    }
    let mut report = Report::new(results);
    report.complete = warnings.is_empty();
    report.run = RunInfo {
        options: parts
            .iter()
            .find_map(|part| part.report.run.options.clone()),
        shard: None,
        unmatched_references,
        seconds,
    };
    Ok(Merged { report, warnings })
}

/// Reads one report, a JSON document or JSON Lines, and checks that its
/// counts are its results'.
fn read(path: &Path) -> Result<Part> {
    let not_a_report = |reason: String| Error::NotAReport {
        path: path.to_path_buf(),
        reason,
    };
    let mut text = String::new();
    crate::load::open_regular(path)?
        .read_to_string(&mut text)
        .map_err(|cause| match cause.kind() {
            std::io::ErrorKind::InvalidData => not_a_report("not UTF-8 text".into()),
            _ => Error::Read {
                path: path.to_path_buf(),
                cause,
            },
        })?;
    let document = serde_json::from_str::<Report>(&text);
    // A stream's first line is a pair or, when there is none, the summary;
    // anything else is taken for a document and its error shown.
    let is_a_stream = (text.lines().find(|line| !line.trim().is_empty()))
        .and_then(|line| {
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line).ok()
        })
        .is_some_and(|line| line.contains_key("index") || line.contains_key("summary"));
    let (report, incomplete) = match document {
        Ok(report) => {
            let incomplete = (!report.complete).then(|| "the run was interrupted".to_owned());
            (report, incomplete)
        }
        Err(_) if is_a_stream => read_lines(&text).map_err(not_a_report)?,
        Err(error) => return Err(not_a_report(error.to_string())),
    };
    let counted = Report::new(report.results.clone()).summary;
    if counted != report.summary {
        return Err(not_a_report(format!(
            "its summary counts {} pairs, {} with defects, {} errors, but its results hold {}, {}, {}",
            report.summary.pairs,
            report.summary.with_defects,
            report.summary.errors,
            counted.pairs,
            counted.with_defects,
            counted.errors
        )));
    }
    Ok(Part {
        path: path.to_path_buf(),
        report,
        incomplete,
    })
}

/// A `--jsonl` line: a pair with its index, or the closing summary.
#[derive(Deserialize)]
struct PairLine {
    index: usize,
    #[serde(flatten)]
    result: PairResult,
}

#[derive(Deserialize)]
struct ClosingLine {
    summary: Summary,
    complete: bool,
    #[serde(flatten)]
    run: RunInfo,
}

/// A `--jsonl` stream as a report in input order, and why it is not a
/// whole run when it is not; the error is the reason, with its line.
fn read_lines(text: &str) -> std::result::Result<(Report, Option<String>), String> {
    let mut pairs: Vec<(usize, usize, PairResult)> = Vec::new();
    let mut closing = None;
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l)) {
        if line.trim().is_empty() {
            continue;
        }
        if closing.is_some() {
            return Err(format!("line {number}: a line after the summary line"));
        }
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {number}: {e}"))?;
        let parsed = if value.get("index").is_some() {
            serde_json::from_value::<PairLine>(value)
                .map(|line| pairs.push((line.index, number, line.result)))
        } else {
            serde_json::from_value::<ClosingLine>(value).map(|line| closing = Some(line))
        };
        parsed.map_err(|e| format!("line {number}: {e}"))?;
    }
    pairs.sort_by_key(|&(index, _, _)| index);
    if let Some(pair) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "lines {} and {}: both are pair {}",
            pair[0].1, pair[1].1, pair[0].0
        ));
    }
    let results = pairs.into_iter().map(|(_, _, result)| result).collect();
    Ok(match closing {
        Some(closing) => {
            let incomplete = (!closing.complete).then(|| "the run was interrupted".to_owned());
            let report = Report {
                results,
                summary: closing.summary,
                complete: closing.complete,
                run: closing.run,
            };
            (report, incomplete)
        }
        None => {
            // A run killed before its summary line: its pairs stand, its
            // counts are made from them, and the rest is unknown.
            let mut report = Report::new(results);
            report.complete = false;
            (
                report,
                Some("no summary line: the run did not finish".to_owned()),
            )
        }
    })
}

/// Every part inspected with the same options (reports of versions that did
/// not record them are taken as agreeing).
fn check_options(parts: &[Part]) -> Result<()> {
    let mut recorded = parts
        .iter()
        .filter_map(|part| Some((part, part.report.run.options.as_ref()?)));
    let Some((first, options)) = recorded.next() else {
        return Ok(());
    };
    for (part, other) in recorded {
        let entries = options.entries();
        let differing = (entries.iter().zip(other.entries())).find(|((_, a), (_, b))| a != b);
        if let Some(((name, a), (_, b))) = differing {
            return Err(Error::MergeMismatch {
                path: part.path.clone(),
                other: first.path.clone(),
                reason: format!("inspected with other options ({name} {b}, not {a})"),
            });
        }
    }
    Ok(())
}

/// Sorts shards into 1..N and warns about missing ones; true when the parts
/// are distinct shards of one split. Parts without shards keep their order.
fn order_shards(parts: &mut [Part], warnings: &mut Vec<String>) -> Result<bool> {
    let Some(first) = parts.first() else {
        return Ok(false);
    };
    let first_shard = first.report.run.shard;
    let describe = |part: &Part| match part.report.run.shard {
        Some(shard) => format!("shard {}/{}", shard.index, shard.count),
        None => "not sharded".to_owned(),
    };
    for part in &parts[1..] {
        let same_split = match (first_shard, part.report.run.shard) {
            (Some(a), Some(b)) => a.count == b.count,
            (None, None) => true,
            _ => false,
        };
        if !same_split {
            return Err(Error::MergeMismatch {
                path: part.path.clone(),
                other: first.path.clone(),
                reason: format!("it is {}, the other {}", describe(part), describe(first)),
            });
        }
    }
    let Some(count) = first_shard.map(|shard| shard.count) else {
        return Ok(false);
    };
    parts.sort_by_key(|part| part.report.run.shard.map(|shard| shard.index));
    if let Some(pair) = parts
        .windows(2)
        .find(|w| w[0].report.run.shard == w[1].report.run.shard)
    {
        return Err(Error::MergeMismatch {
            path: pair[1].path.clone(),
            other: pair[0].path.clone(),
            reason: format!("both are {}", describe(&pair[0])),
        });
    }
    let present: BTreeSet<usize> = (parts.iter())
        .filter_map(|part| part.report.run.shard.map(|shard| shard.index))
        .collect();
    let missing: Vec<String> = (1..=count)
        .filter(|k| !present.contains(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        warnings.push(format!(
            "shard{} {} of {count} not given; the merged report is incomplete",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        ));
    }
    Ok(true)
}

/// No pair in two parts: the same report given twice, or overlapping runs,
/// would count its pairs twice. (Distinct shards of one split may share a
/// pair, when the list itself names it twice.)
fn refuse_shared_pairs(parts: &[Part]) -> Result<()> {
    let mut owner: HashMap<(&Path, &Path), &Path> = HashMap::new();
    for part in parts {
        let mut own = HashSet::new();
        for result in &part.report.results {
            let key = (result.reference.as_path(), result.test.as_path());
            if !own.insert(key) {
                continue;
            }
            if let Some(other) = owner.insert(key, &part.path) {
                return Err(Error::MergeMismatch {
                    path: part.path.clone(),
                    other: other.to_path_buf(),
                    reason: format!(
                        "both hold the pair {} -> {} (the same run given twice?)",
                        result.reference.display(),
                        result.test.display()
                    ),
                });
            }
        }
    }
    Ok(())
}
