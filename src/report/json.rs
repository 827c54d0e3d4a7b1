//! The JSON report: one document for the whole run.

use std::io::Write;

use super::Report;

/// Writes `report` as one pretty-printed JSON document and a newline.
pub fn write(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}
