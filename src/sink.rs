//! Where each finished pair goes, from the worker threads: the progress
//! display, the counts, the JSON Lines stream on stdout, and the results
//! kept for the reports that need them all (the summary, `--json`,
//! `--junit`, `--html`). With `--jsonl` alone nothing is kept.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use defect_detect::report::{jsonl, PairResult, Report, Summary};
use defect_detect::Options;

use crate::progress::Progress;

pub struct Sink<'a> {
    progress: &'a Progress,
    /// Pairs in the run: fewer finished means it was interrupted.
    pairs: usize,
    /// What the closing JSON line records.
    options: &'a Options,
    state: Mutex<State>,
}

struct State {
    summary: Summary,
    /// One slot per pair, when results are kept.
    results: Option<Vec<Option<PairResult>>>,
    stream: Option<Stream>,
}

/// Stdout's JSON Lines. A closed stdout ends the stream quietly; another
/// failure is kept to be reported when the run ends.
struct Stream {
    out: std::io::BufWriter<std::io::Stdout>,
    closed: bool,
    failure: Option<std::io::Error>,
}

impl<'a> Sink<'a> {
    /// A sink for `pairs` pairs; `keep` keeps the results, `stream` writes
    /// JSON Lines.
    pub fn new(
        progress: &'a Progress,
        pairs: usize,
        options: &'a Options,
        keep: bool,
        stream: bool,
    ) -> Self {
        let state = State {
            summary: Summary::default(),
            results: keep.then(|| vec![None; pairs]),
            stream: stream.then(|| Stream {
                out: std::io::BufWriter::new(std::io::stdout()),
                closed: false,
                failure: None,
            }),
        };
        Self {
            progress,
            pairs,
            options,
            state: Mutex::new(state),
        }
    }

    /// Takes the result of the pair at `index`.
    pub fn take(&self, index: usize, result: PairResult) {
        self.progress.done(&result);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.summary.add(&result);
        if let Some(stream) = &mut state.stream {
            // Flushed per line: a CI log or a reader sees each pair as it ends.
            stream.write(|out| {
                jsonl::write_result(index, &result, out)?;
                out.flush()
            });
        }
        if let Some(results) = &mut state.results {
            results[index] = Some(result);
        }
    }

    /// The report of what finished (its results empty when none were kept),
    /// and, with JSON Lines, the closing line written, or why stdout failed.
    pub fn finish(self) -> (Report, anyhow::Result<()>) {
        let state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let complete = state.summary.pairs == self.pairs;
        let report = Report {
            results: state
                .results
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .collect(),
            summary: state.summary,
            complete,
        };
        if let Some(mut stream) = state.stream {
            stream.write(|out| {
                jsonl::write_summary(&report.summary, complete, self.options, out)?;
                out.flush()
            });
            if let Some(failure) = stream.failure {
                let error = anyhow::Error::new(failure).context("<stdout>: cannot write");
                return (report, Err(error));
            }
        }
        (report, Ok(()))
    }
}

impl Stream {
    fn write(
        &mut self,
        line: impl FnOnce(&mut std::io::BufWriter<std::io::Stdout>) -> std::io::Result<()>,
    ) {
        if self.closed || self.failure.is_some() {
            return;
        }
        match line(&mut self.out) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => self.closed = true,
            Err(e) => self.failure = Some(e),
        }
    }
}
