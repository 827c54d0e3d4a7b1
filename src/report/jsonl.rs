//! The JSON Lines report: one object per pair, written as it finishes, then
//! one summary line; nothing is kept, so a million-pair run stays flat in
//! memory.
//!
//! Pairs finish out of order on several workers; each line carries the
//! pair's `index` in the input list (0-based) to put them back in order.

use std::io::Write;

use serde::Serialize;

use super::{PairResult, RunInfo, Summary, Tool, FORMAT_VERSION};

#[derive(Serialize)]
struct Line<'a> {
    index: usize,
    #[serde(flatten)]
    result: &'a PairResult,
}

#[derive(Serialize)]
struct Closing<'a> {
    version: u32,
    tool: Tool,
    summary: &'a Summary,
    complete: bool,
    #[serde(flatten)]
    run: &'a RunInfo,
}

/// Writes the line of the pair at `index`.
pub fn write_result(
    index: usize,
    result: &PairResult,
    out: &mut impl Write,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, &Line { index, result })?;
    writeln!(out)
}

/// Writes the closing line: the format's version and the tool as in the
/// JSON document, `"summary": {...}, "complete": bool`, and what the run was
/// (the fields of [`RunInfo`]).
pub fn write_summary(
    summary: &Summary,
    complete: bool,
    run: &RunInfo,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let closing = Closing {
        version: FORMAT_VERSION,
        tool: Tool::current(),
        summary,
        complete,
        run,
    };
    serde_json::to_writer(&mut *out, &closing)?;
    writeln!(out)
}
