//! The JUnit XML report, which CI systems (GitLab, Jenkins, GitHub actions
//! that read test reports) show as a test suite: one testcase per pair, a
//! `<failure>` listing its defects, an `<error>` when it could not be inspected.
//!
//! Written by hand: the format is a handful of elements, and every piece of
//! text goes through one escaping function.

use std::io::Write;
use std::time::Duration;

use super::{describe, escape_markup as esc, path_text, Report};

/// Writes `report` as a JUnit document; `elapsed` is the run's wall time.
pub fn write(report: &Report, elapsed: Duration, out: &mut impl Write) -> std::io::Result<()> {
    let s = &report.summary;
    let failures = s.with_defects;
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="defect-detect" tests="{}" failures="{failures}" errors="{}" time="{:.3}">"#,
        s.pairs,
        s.errors,
        elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        r#"  <testsuite name="defect-detect" tests="{}" failures="{failures}" errors="{}" skipped="0" time="{:.3}">"#,
        s.pairs,
        s.errors,
        elapsed.as_secs_f64()
    )?;
    if !report.complete {
        // CI shows a suite as it is; the property says it is not the whole list.
        writeln!(out, "    <properties>")?;
        writeln!(out, r#"      <property name="complete" value="false"/>"#)?;
        writeln!(out, "    </properties>")?;
    }
    for result in &report.results {
        write!(
            out,
            r#"    <testcase classname="defect-detect" name="{}""#,
            esc(&path_text(&result.test))
        )?;
        if let Some(error) = &result.error {
            writeln!(out, ">")?;
            writeln!(
                out,
                r#"      <error type="error" message="{}"/>"#,
                esc(error)
            )?;
        } else if !result.defects.is_empty() {
            writeln!(out, ">")?;
            let n = result.defects.len();
            write!(
                out,
                r#"      <failure type="defects" message="{n} defect{} against {}">"#,
                super::summary::plural(n),
                esc(&path_text(&result.reference))
            )?;
            for defect in &result.defects {
                writeln!(out, "{}", esc(&describe(defect, false)))?;
            }
            writeln!(out, "</failure>")?;
        } else {
            writeln!(out, "/>")?;
            continue;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}
