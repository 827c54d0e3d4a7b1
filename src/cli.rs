//! The command line: flags parsed by clap, validated once into a [`Config`].

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;

use defect_detect::batch::{Output, Pair};
use defect_detect::{Options, Polarity, Threshold};

/// Find flash (extra material) and cut (missing material) in test images by
/// comparing each with a defect-free reference.
///
/// Exit status: 0 no defect, 1 defects found, 2 error.
#[derive(Debug, Parser)]
#[command(name = "defect-detect", version, about, long_about)]
pub struct Cli {
    /// The defect-free reference image (PNG, JPEG, BMP or TIFF).
    pub reference: PathBuf,

    /// One or more test images to compare with the reference.
    #[arg(required = true)]
    pub tests: Vec<PathBuf>,

    /// Write the annotated test image (PNG) here; one test only. Missing
    /// folders are created; an input is never overwritten.
    #[arg(short, long, value_name = "OUT.png")]
    pub output: Option<PathBuf>,

    /// Print one JSON document on stdout instead of the summary.
    #[arg(long)]
    pub json: bool,

    /// Grey level separating material from background: 0-255, or `otsu` to
    /// choose it per image.
    #[arg(long, value_name = "N|otsu", default_value = "otsu", value_parser = parse_threshold)]
    pub threshold: Threshold,

    /// Which side of the threshold is material: `dark` material on a light
    /// background, or `light` material on a dark background.
    #[arg(long, value_enum, default_value_t = PolarityArg::Dark)]
    pub polarity: PolarityArg,

    /// Smallest defect reported, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().min_area)]
    pub min_area: u32,

    /// Refuse images with more pixels than this (checked before decoding, so a
    /// hostile header cannot exhaust memory).
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().max_pixels)]
    pub max_pixels: u64,
}

/// `--polarity` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolarityArg {
    Dark,
    Light,
}

/// A validated run: what to inspect, how, and what to write.
#[derive(Debug)]
pub struct Config {
    pub pairs: Vec<Pair>,
    pub options: Options,
    pub output: Output,
    pub json: bool,
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        let output = match cli.output {
            Some(_) if cli.tests.len() > 1 => {
                bail!(
                    "-o/--output takes one test image; {} were given",
                    cli.tests.len()
                )
            }
            Some(path) => {
                let inputs = std::iter::once(cli.reference.as_path())
                    .chain(cli.tests.iter().map(|t| t.as_path()));
                defect_detect::output::refuse_input_overwrite(&path, inputs).context("--output")?;
                Output::File(path)
            }
            None => Output::None,
        };
        if cli.max_pixels == 0 {
            bail!("--max-pixels must be at least 1");
        }
        let options = Options {
            threshold: cli.threshold,
            polarity: match cli.polarity {
                PolarityArg::Dark => Polarity::Dark,
                PolarityArg::Light => Polarity::Light,
            },
            min_area: cli.min_area,
            max_pixels: cli.max_pixels,
        };
        let pairs = cli
            .tests
            .into_iter()
            .map(|test| Pair {
                reference: cli.reference.clone(),
                test,
            })
            .collect();
        Ok(Config {
            pairs,
            options,
            output,
            json: cli.json,
        })
    }
}

fn parse_threshold(value: &str) -> Result<Threshold, String> {
    if value.eq_ignore_ascii_case("otsu") {
        return Ok(Threshold::Otsu);
    }
    value
        .parse::<u8>()
        .map(Threshold::Fixed)
        .map_err(|_| format!("expected a grey level 0-255 or `otsu`, got `{value}`"))
}
