//! What the user sees on stderr while a batch runs: a progress bar when
//! stderr is a terminal, each failed pair's error line as it happens, and one
//! closing summary line.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use defect_detect::report::{self, PairResult, Report};

/// Progress of one run; shared by the worker threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    pairs: usize,
    quiet: bool,
    /// Error lines in bold.
    bold: bool,
}

/// `defect-detect: error: MESSAGE`, in bold if asked.
pub fn error_line(message: &str, bold: bool) -> String {
    let line = format!("defect-detect: error: {message}");
    if bold {
        report::paint(report::ansi::BOLD, &line)
    } else {
        line
    }
}

impl Progress {
    /// A bar only for more than one pair, on a terminal, without `--quiet`:
    /// a log file or a CI console would get thousands of redraws.
    pub fn new(pairs: usize, quiet: bool, bold: bool) -> Self {
        use std::io::IsTerminal;
        let bar = (pairs > 1 && !quiet && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(pairs as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:40.cyan/blue} {pos}/{len} pairs  {rate}  ETA {eta}",
                )
                .expect("the template is a valid constant")
                // indicatif's own {per_sec} shows four decimals.
                .with_key(
                    "rate",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.1} pairs/s", state.per_sec());
                    },
                ),
            );
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            pairs,
            quiet,
            bold,
        }
    }

    /// Called from a worker when a pair is finished.
    pub fn done(&self, result: &PairResult) {
        if let Some(error) = result.error.as_ref().or(result.write_error.as_ref()) {
            let line = || eprintln!("{}", error_line(error, self.bold));
            match &self.bar {
                Some(bar) => bar.suspend(line),
                None => line(),
            }
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Clears the bar and returns the elapsed time.
    pub fn finish(&self) -> Duration {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.started.elapsed()
    }

    /// The closing line, for batches: a single pair's summary already says it all.
    pub fn summarise(&self, report: &Report, elapsed: Duration) {
        if self.quiet || self.pairs < 2 {
            return;
        }
        let s = &report.summary;
        let seconds = elapsed.as_secs_f64();
        eprintln!(
            "defect-detect: {} pairs, {} passed, {} with defects, {} error{} in {seconds:.2} s ({:.1} pairs/s)",
            s.pairs,
            s.pairs - s.with_defects - s.errors,
            s.with_defects,
            s.errors,
            if s.errors == 1 { "" } else { "s" },
            s.pairs as f64 / seconds.max(1e-9)
        );
    }
}
