//! The JUnit XML report, which CI systems (GitLab, Jenkins, GitHub actions
//! that read test reports) show as a test suite: one testcase per pair, a
//! `<failure>` listing its defects, an `<error>` when it could not be
//! inspected, and a `<skipped>` one per reference that had no test.
//!
//! Everything those systems read is filled in: `time` on every testcase (the
//! pair's seconds), `timestamp` and `hostname` on the suite, `<properties>`
//! with the tool's version and the options, `file` on each testcase, and
//! `[[ATTACHMENT|path]]` in `system-out` when an annotated image was written
//! (GitLab and Jenkins show it beside the failure). Names and paths are
//! relative to a root folder (see [`super::relative_name`]), so that a
//! testcase keeps its name from one runner to the next and a CI's history
//! of it is not broken by a checkout path.
//!
//! Written by hand: the format is a handful of elements, and every piece of
//! text goes through one escaping function.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use super::{describe, escape_markup as esc, relative_name, Report};

/// What the suite says about its run besides the results.
#[derive(Debug, Clone, Copy)]
pub struct Suite<'a> {
    /// The run's wall time.
    pub elapsed: Duration,
    /// When the run started (for a merge: when the merge ran).
    pub started: SystemTime,
    /// The machine that ran it.
    pub hostname: &'a str,
    /// The folder names are relative to.
    pub root: &'a Path,
}

/// Writes `report` as a JUnit document.
pub fn write(report: &Report, suite: &Suite<'_>, out: &mut impl Write) -> std::io::Result<()> {
    let s = &report.summary;
    let failures = s.with_defects;
    let skipped = report.run.unmatched_references.len();
    let tests = s.pairs + skipped;
    let time = suite.elapsed.as_secs_f64();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="defect-detect" tests="{tests}" failures="{failures}" errors="{}" skipped="{skipped}" time="{time:.3}">"#,
        s.errors,
    )?;
    writeln!(
        out,
        r#"  <testsuite name="defect-detect" tests="{tests}" failures="{failures}" errors="{}" skipped="{skipped}" time="{time:.3}" timestamp="{}" hostname="{}">"#,
        s.errors,
        super::Utc::at(suite.started).iso8601(),
        esc(suite.hostname),
    )?;
    write_properties(report, out)?;
    let name = |path: &std::path::Path| esc(&relative_name(path, suite.root));
    for result in &report.results {
        let test = name(&result.test);
        write!(
            out,
            r#"    <testcase classname="defect-detect" name="{test}" file="{test}" time="{:.3}">"#,
            result.seconds.max(0.0)
        )?;
        writeln!(out)?;
        if let Some(error) = &result.error {
            writeln!(
                out,
                r#"      <error type="error" message="{}"/>"#,
                esc(error)
            )?;
        } else if !result.defects.is_empty() {
            let n = result.defects.len();
            write!(
                out,
                r#"      <failure type="defects" message="{n} defect{} against {}">"#,
                super::summary::plural(n),
                name(&result.reference)
            )?;
            for defect in &result.defects {
                writeln!(out, "{}", esc(&describe(defect, false)))?;
            }
            writeln!(out, "</failure>")?;
        }
        if let Some(error) = &result.write_error {
            writeln!(out, "      <system-err>{}</system-err>", esc(error))?;
        }
        if let Some(annotated) = &result.annotated {
            writeln!(
                out,
                "      <system-out>[[ATTACHMENT|{}]]</system-out>",
                name(std::path::Path::new(annotated))
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    for reference in &report.run.unmatched_references {
        let reference = name(std::path::Path::new(reference));
        writeln!(
            out,
            r#"    <testcase classname="defect-detect" name="{reference}" file="{reference}" time="0.000">"#
        )?;
        writeln!(
            out,
            r#"      <skipped message="reference without a test of the same name: not inspected"/>"#
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// The name of this machine, for the suite's `hostname`.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut name = [0u8; 256];
        // SAFETY: the buffer is writable for its whole length, which is passed.
        if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0 {
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            return String::from_utf8_lossy(&name[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "localhost".to_owned())
}

/// The tool's version, the options, the shard and, when the run did not
/// inspect every pair, `complete=false` (CI shows a suite as it is; the
/// property says it is not the whole list).
fn write_properties(report: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let mut properties = vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())];
    if let Some(options) = &report.run.options {
        properties.extend(
            (options.entries().into_iter()).map(|(name, value)| (format!("option.{name}"), value)),
        );
    }
    if let Some(shard) = report.run.shard {
        properties.push(("shard".into(), format!("{}/{}", shard.index, shard.count)));
    }
    if !report.complete {
        properties.push(("complete".into(), "false".into()));
    }
    writeln!(out, "    <properties>")?;
    for (name, value) in properties {
        writeln!(
            out,
            r#"      <property name="{}" value="{}"/>"#,
            esc(&name),
            esc(&value)
        )?;
    }
    writeln!(out, "    </properties>")
}
