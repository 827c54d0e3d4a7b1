//! The human summary: one line per defect, then a verdict.

use std::io::Write;

use super::{ansi, paint, Report};

/// How the summary is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Each pair's material levels and polarity too.
    pub verbose: bool,
    /// Defect kinds and the verdict in colour, errors in bold (terminal
    /// escape sequences).
    pub colour: bool,
}

/// Writes the summary of `report` in `style`. Errors are left to the
/// caller, which prints them on stderr.
pub fn write(report: &Report, style: Style, out: &mut impl Write) -> std::io::Result<()> {
    let Style { verbose, colour } = style;
    let styled = |sgr: &str, text: &str| {
        if colour {
            paint(sgr, text)
        } else {
            text.to_owned()
        }
    };
    for result in &report.results {
        if result.error.is_some() {
            continue;
        }
        match result.defects.len() {
            0 => writeln!(out, "{}: ok", super::path_text(&result.test))?,
            n => writeln!(
                out,
                "{}: {n} defect{}",
                super::path_text(&result.test),
                plural(n)
            )?,
        }
        if let Some(a) = result
            .alignment
            .filter(|a| *a != crate::Alignment::default())
        {
            writeln!(
                out,
                "  aligned: dx={:.1} dy={:.1} angle={:.2} deg",
                a.dx, a.dy, a.angle_degrees
            )?;
        }
        if let (true, Some(levels), Some(polarity)) = (verbose, result.threshold, result.polarity) {
            let side = match polarity {
                crate::Polarity::Dark => "dark at or below",
                crate::Polarity::Light => "light above",
            };
            writeln!(
                out,
                "  material: {side} level {} (reference), {} (test)",
                levels.reference, levels.test
            )?;
        }
        if let Some(error) = &result.write_error {
            writeln!(out, "  {}", styled(ansi::BOLD, &format!("error: {error}")))?;
        }
        for warning in &result.warnings {
            writeln!(out, "  warning: {warning}")?;
        }
        for d in &result.defects {
            writeln!(out, "  {}", super::describe(d, colour))?;
        }
    }
    let s = &report.summary;
    let verdict = match report.exit_status() {
        0 => styled(ansi::PASS, "PASS"),
        1 => styled(ansi::FAIL, "FAIL"),
        _ => styled(ansi::BOLD, "ERROR"),
    };
    write!(
        out,
        "{verdict}: {} pair{}, {} with defects ({} flash, {} cut), {} error{}",
        s.pairs,
        plural(s.pairs),
        s.with_defects,
        s.flash,
        s.cut,
        s.errors,
        plural(s.errors)
    )?;
    if s.write_errors > 0 {
        let n = s.write_errors;
        write!(out, ", {n} annotated image{} not written", plural(n))?;
    }
    if !report.complete {
        write!(out, " (interrupted: the other pairs were not inspected)")?;
    }
    writeln!(out)
}

pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
