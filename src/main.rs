//! The `defect-detect` binary: parse, validate, run, map to an exit status.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use defect_detect::batch;
use defect_detect::report::{self, Report};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(status) => ExitCode::from(status),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("defect-detect: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: cli::Cli) -> anyhow::Result<u8> {
    let config = cli::Config::try_from(cli)?;
    let results = batch::run(&config.pairs, &config.options, &config.output);
    let report = Report::new(results);
    for result in &report.results {
        if let Some(error) = &result.error {
            eprintln!("defect-detect: error: {error}");
        }
    }
    let mut stdout = std::io::stdout().lock();
    if config.json {
        report::json::write(&report, &mut stdout)?;
    } else {
        report::summary::write(&report, &mut stdout)?;
    }
    stdout.flush()?;
    Ok(report.exit_status())
}

/// `defect-detect ... | head` closing stdout early is not an error.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
