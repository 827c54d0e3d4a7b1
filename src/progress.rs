//! What the user sees on stderr while a batch runs: a progress bar when
//! stderr is a terminal, a plain line every few seconds when it is not (a
//! CI log: a bar's redraws would be thousands of lines, and no line at all
//! looks like a hang), each failed pair's error line as it happens, and one
//! closing summary line.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use defect_detect::report::{self, PairResult, Report};

/// Progress of one run; shared by the worker threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    lines: Option<Lines>,
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

/// The environment variable that sets the plain lines' interval, in
/// seconds (`0`: a line per pair); for tests and for logs that want more or
/// fewer lines.
pub const INTERVAL_VARIABLE: &str = "DEFECT_DETECT_PROGRESS_INTERVAL";

/// The plain lines' interval when [`INTERVAL_VARIABLE`] is not set: often
/// enough that a CI log shows the run alive, rarely enough not to flood it.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The plain progress lines: pairs finished, and when the last line was.
struct Lines {
    every: Duration,
    state: Mutex<(usize, Instant)>,
}

impl Progress {
    /// For more than one pair without `--quiet`: a bar on a terminal, plain
    /// lines otherwise. Fails on a bad [`INTERVAL_VARIABLE`].
    pub fn new(pairs: usize, quiet: bool, bold: bool) -> anyhow::Result<Self> {
        use std::io::IsTerminal;
        let shown = pairs > 1 && !quiet;
        let terminal = std::io::stderr().is_terminal();
        let lines = match shown && !terminal {
            false => None,
            true => Some(Lines {
                every: interval()?,
                state: Mutex::new((0, Instant::now())),
            }),
        };
        let bar = (shown && terminal).then(|| {
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
        Ok(Self {
            bar,
            lines,
            started: Instant::now(),
            pairs,
            quiet,
            bold,
        })
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
        if let Some(lines) = &self.lines {
            let mut state = lines.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.0 += 1;
            // The last pair's line would only repeat the closing line.
            if state.1.elapsed() >= lines.every && state.0 < self.pairs {
                state.1 = Instant::now();
                eprintln!("defect-detect: {}", self.line(state.0));
            }
        }
    }

    /// `120/1000 pairs, 35.2 pairs/s, ETA 25 s`.
    fn line(&self, finished: usize) -> String {
        let rate = finished as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
        let eta = (self.pairs - finished) as f64 / rate;
        let eta = match eta.round() as u64 {
            s if s < 60 => format!("{s} s"),
            s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
            s => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        };
        format!(
            "{finished}/{} pairs, {rate:.1} pairs/s, ETA {eta}",
            self.pairs
        )
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

fn interval() -> anyhow::Result<Duration> {
    match std::env::var(INTERVAL_VARIABLE) {
        Err(_) => Ok(DEFAULT_INTERVAL),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .with_context(|| format!("{INTERVAL_VARIABLE} is `{text}`, not a number of seconds")),
    }
}
