//! The `defect-detect` binary: parse, validate, run, map to an exit status.

mod cli;
mod interrupt;
mod progress;
mod sink;
mod view;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use defect_detect::report::{self, Report, RunInfo, Settings};
use defect_detect::{batch, output};

fn main() -> ExitCode {
    let cli = cli::parse();
    // Errors before the run know only the flag: the terminal decides.
    let bold = cli.color.colours(std::io::stderr().is_terminal());
    match run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(error) => {
            eprintln!("{}", progress::error_line(&format!("{error:#}"), bold));
            ExitCode::from(2)
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<u8> {
    if let Some(what) = cli.generate {
        let mut stdout = std::io::stdout().lock();
        return match cli::generate(what, &mut stdout).and_then(|()| stdout.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(anyhow::Error::new(e).context("<stdout>: cannot write"))
            }
            _ => Ok(0),
        };
    }
    let config = cli::Config::try_from(cli)?;
    if !config.merge.is_empty() {
        return merge(&config);
    }
    for reference in &config.unmatched_references {
        eprintln!(
            "defect-detect: warning: {}: no test of the same name; not inspected",
            reference.display()
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.jobs.map_or(0, |n| n.get()))
        .build()
        .context("cannot start worker threads")?;
    let started = SystemTime::now();
    let interrupt = interrupt::Interrupt::watch()?;
    let progress = progress::Progress::new(config.pairs.len(), config.quiet, config.colour_stderr)?;
    let keep = !config.jsonl || config.junit.is_some() || config.html.is_some();
    let sink = sink::Sink::new(&progress, config.pairs.len(), keep, config.jsonl);
    let stop = || interrupt.received().is_some();
    pool.install(|| {
        batch::for_each(
            &config.pairs,
            &config.options,
            &config.output,
            &stop,
            &|index, result| sink.take(index, result),
        )
    });
    let elapsed = progress.finish();
    let (report, streamed) = sink.finish(RunInfo {
        options: Some(Settings::from(&config.options)),
        shard: config.shard,
        unmatched_references: (config.unmatched_references.iter())
            .map(|path| path.display().to_string())
            .collect(),
        seconds: elapsed.as_secs_f64(),
    });
    // Stdout's report comes whatever became of the files: it is the one
    // report a failed --junit or --html must not take with it.
    let files = pool.install(|| write_report_files(&config, &report, elapsed, started));
    let mut stdout_closed = false;
    if config.preview {
        match view::preview(&report, config.options.max_pixels) {
            Err(error) if is_broken_pipe(&error) => stdout_closed = true,
            Err(error) => eprintln!("defect-detect: warning: {error:#}"),
            Ok(()) => {}
        }
    }
    // Quiet is grep's: stdout holds only a report that was asked for.
    if !config.jsonl && !stdout_closed && (config.json || !config.quiet) {
        print_report(&config, &report)?;
    }
    streamed?;
    progress.summarise(&report, elapsed);
    files?;
    open(&config);
    Ok(interrupt.exit_status().unwrap_or(report.exit_status()))
}

/// `--merge`: the reports joined, then written as a run's would be.
fn merge(config: &cli::Config) -> anyhow::Result<u8> {
    let merged = defect_detect::merge::merge(&config.merge)?;
    for warning in &merged.warnings {
        eprintln!("defect-detect: warning: {warning}");
    }
    let report = merged.report;
    if report.results.is_empty() && !config.allow_empty {
        anyhow::bail!(
            "no pairs to merge in the reports given (pass --allow-empty if that is expected)"
        );
    }
    // The reports' own times, which a hand-edited file could make negative.
    let elapsed = Duration::try_from_secs_f64(report.run.seconds).unwrap_or_default();
    let files = write_report_files(config, &report, elapsed, SystemTime::now());
    print_report(config, &report)?;
    files?;
    open(config);
    Ok(report.exit_status())
}

/// `--open`; a viewer that cannot start is no reason to change the verdict.
fn open(config: &cli::Config) {
    if let Some(target) = &config.open {
        if let Err(error) = view::open(target) {
            eprintln!("defect-detect: warning: {error:#}");
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The summary or the JSON on stdout, or the summary on stderr when stdout
/// holds the image (`-o -`). A closed stdout (`| head`) is not an error, and
/// leaves the exit status to what the inspection found, so that `set -o
/// pipefail` still sees defects and errors.
fn print_report(config: &cli::Config, report: &Report) -> anyhow::Result<()> {
    let on_stderr = config.output == batch::Output::Stdout;
    let print = || -> std::io::Result<()> {
        // Stdout is line-buffered; the JSON writer's many small writes were
        // one system call each, more time than the inspection itself.
        let mut out: std::io::BufWriter<Box<dyn Write>> = std::io::BufWriter::new(if on_stderr {
            Box::new(std::io::stderr().lock())
        } else {
            Box::new(std::io::stdout().lock())
        });
        if config.json {
            report::json::write(report, &mut out)?;
        } else {
            let style = report::summary::Style {
                verbose: config.verbose,
                colour: if on_stderr {
                    config.colour_stderr
                } else {
                    config.colour_stdout
                },
            };
            report::summary::write(report, style, &mut out)?;
        }
        out.flush()
    };
    match print() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => result.with_context(|| {
            format!(
                "{}: cannot write",
                if on_stderr { "<stderr>" } else { "<stdout>" }
            )
        }),
    }
}

/// `--junit`, `--markdown` and `--html`, each written whole or not at all.
fn write_report_files(
    config: &cli::Config,
    report: &Report,
    elapsed: Duration,
    started: SystemTime,
) -> anyhow::Result<()> {
    if let Some(path) = &config.junit {
        let suite = report::junit::Suite {
            elapsed,
            started,
            hostname: &report::junit::hostname(),
            root: &config.root,
        };
        let mut xml = Vec::new();
        report::junit::write(report, &suite, &mut xml)?;
        output::write_atomically(path, &xml)?;
    }
    if let Some(path) = &config.markdown {
        let mut text = Vec::new();
        report::markdown::write(report, &config.root, &mut text)?;
        output::write_atomically(path, &text)?;
    }
    if let Some(path) = &config.html {
        let command: Vec<String> = std::env::args_os()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let options =
            (report.run.options.clone()).unwrap_or_else(|| Settings::from(&config.options));
        let run = report::html::Run {
            options: &options,
            command: &command.join(" "),
        };
        report::html::write(report, path, &run)?;
    }
    Ok(())
}
