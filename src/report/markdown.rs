//! The Markdown report, for a CI page that shows Markdown: GitHub's
//! `$GITHUB_STEP_SUMMARY`, a merge-request comment. The verdict, the counts,
//! and a table of the worst pairs.
//!
//! Bounded, whatever the run: the table holds the [`MAX_ROWS`] worst pairs
//! and says how many more failed, and every cell is cut at [`MAX_CELL`]
//! characters (an error message can be long), because the pages that show
//! it cap their size (GitHub: 1 MiB per step) and a reader wants the worst
//! first, not the list. File names are text, not Markdown: every character
//! that Markdown or a table gives meaning is escaped.

use std::io::Write;
use std::path::Path;

use super::{relative_name, summary::plural, worst_first, PairResult, Report};

/// Pairs listed in the table; the others are counted below it.
pub const MAX_ROWS: usize = 20;

/// Characters of a cell; longer ones end with `…`.
pub const MAX_CELL: usize = 160;

/// Writes `report`; paths are named relative to `root` where they are under it.
pub fn write(report: &Report, root: &Path, out: &mut impl Write) -> std::io::Result<()> {
    let s = &report.summary;
    let verdict = match report.exit_status() {
        0 => "PASS",
        1 => "FAIL",
        _ => "ERROR",
    };
    writeln!(out, "### defect-detect: {verdict}")?;
    writeln!(out)?;
    writeln!(
        out,
        "| pairs | passed | with defects | flash | cut | errors |"
    )?;
    writeln!(out, "| ---: | ---: | ---: | ---: | ---: | ---: |")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} |",
        s.pairs,
        s.pairs - s.with_defects - s.errors,
        s.with_defects,
        s.flash,
        s.cut,
        s.errors
    )?;
    if !report.complete {
        writeln!(out)?;
        writeln!(
            out,
            "**Incomplete**: the run was interrupted or a part of it is missing; the pairs not listed were not inspected."
        )?;
    }
    let failed: Vec<usize> = worst_first(&report.results)
        .into_iter()
        .filter(|&i| fails(&report.results[i]))
        .collect();
    if failed.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "| test | reference | result | worst defect |")?;
    writeln!(out, "| --- | --- | --- | --- |")?;
    for &index in failed.iter().take(MAX_ROWS) {
        let result = &report.results[index];
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&relative_name(&result.test, root)),
            cell(&relative_name(&result.reference, root)),
            cell(&outcome(result)),
            cell(&worst_defect(result)),
        )?;
    }
    if failed.len() > MAX_ROWS {
        let more = failed.len() - MAX_ROWS;
        writeln!(out)?;
        writeln!(
            out,
            "and {more} more pair{} with defects or errors (see the JUnit or HTML report).",
            plural(more)
        )?;
    }
    Ok(())
}

fn fails(result: &PairResult) -> bool {
    result.error.is_some() || result.write_error.is_some() || !result.defects.is_empty()
}

/// `error: ...`, or the defect counts by kind.
fn outcome(result: &PairResult) -> String {
    if let Some(error) = &result.error {
        return format!("error: {error}");
    }
    let count = |kind| result.defects.iter().filter(|d| d.kind == kind).count();
    let mut parts = Vec::new();
    for kind in [crate::DefectKind::Flash, crate::DefectKind::Cut] {
        match count(kind) {
            0 => {}
            n => parts.push(format!("{n} {kind}")),
        }
    }
    if let Some(error) = &result.write_error {
        parts.push(format!("not written: {error}"));
    }
    parts.join(", ")
}

/// The first defect (the worst: they are listed by score).
fn worst_defect(result: &PairResult) -> String {
    result.defects.first().map_or_else(String::new, |d| {
        format!(
            "{} {} score {:.2} at x={} y={} ({}x{})",
            d.kind,
            d.defect_type.name(),
            d.score,
            d.rect.x,
            d.rect.y,
            d.rect.width,
            d.rect.height
        )
    })
}

/// Characters a table cell gives meaning, backslash-escaped (CommonMark
/// takes any ASCII punctuation literally so): `|` ends the cell; `*`, `_`,
/// `[`, `<`, `` ` ``, `~` and `&` start markup or an entity; GitHub reads
/// `$` as maths, `:name:` as an emoji, `@name` as a mention and `#1` as an
/// issue link. Dots, dashes and the like mean nothing inside a cell.
const SPECIAL: &str = "\\`*_[]<>|~&$:@#";

/// `text` as the literal content of a table cell: at most [`MAX_CELL`]
/// characters, [`SPECIAL`] ones escaped, line breaks as spaces, other
/// control characters as U+FFFD.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (count, c) in text.chars().enumerate() {
        if count == MAX_CELL {
            out.push('…');
            break;
        }
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if SPECIAL.contains(c) => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_markdown_and_table_syntax() {
        assert_eq!(
            cell("a|b*c_[d](e)`f`<g>.png"),
            r"a\|b\*c\_\[d\](e)\`f\`\<g\>.png"
        );
        assert_eq!(cell("@team #1 :x: $y$ \\"), r"\@team \#1 \:x\: \$y\$ \\");
        assert_eq!(cell("two\nlines\u{1}"), "two lines\u{fffd}");
    }

    #[test]
    fn long_cells_are_cut() {
        let long = "x".repeat(MAX_CELL + 10);
        let cut = cell(&long);
        assert_eq!(cut.chars().count(), MAX_CELL + 1);
        assert!(cut.ends_with('…'));
    }
}
