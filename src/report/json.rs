//! The JSON report: one document for the whole run, led by the format's
//! version and the tool (`schema/report.schema.json`).

use std::io::Write;

use serde::Serialize;

use super::{Report, Tool, FORMAT_VERSION};

/// The document: what produced it, then the report's fields.
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    #[serde(flatten)]
    report: &'a Report,
}

/// Writes `report` as one pretty-printed JSON document and a newline.
pub fn write(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let document = Document {
        version: FORMAT_VERSION,
        tool: Tool::current(),
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
