//! The JSON report: one document for the whole run, led by the format's
//! version, the tool and the options (`schema/report.schema.json`).

use std::io::Write;

use serde::Serialize;

use super::{Report, Tool, FORMAT_VERSION};
use crate::Options;

/// The document: what produced it, then the report's fields.
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    options: &'a Options,
    #[serde(flatten)]
    report: &'a Report,
}

/// Writes `report`, inspected under `options`, as one pretty-printed JSON
/// document and a newline.
pub fn write(report: &Report, options: &Options, out: &mut impl Write) -> std::io::Result<()> {
    let document = Document {
        version: FORMAT_VERSION,
        tool: Tool::current(),
        options,
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)
}
