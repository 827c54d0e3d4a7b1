//! The command line: flags parsed by clap, validated once into a [`Config`].

use std::collections::HashSet;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;

use defect_detect::batch::{self, Output, Pair, Save};
use defect_detect::ignore::{Ignore, IgnoreMask};
use defect_detect::output::clash::{self, Named};
use defect_detect::pairs::{self, Matched};
use defect_detect::report::{html, ShardInfo};
use defect_detect::{load, output};
use defect_detect::{Options, Polarity, Threshold};

/// Find flash (extra material) and cut (missing material) in test images by
/// comparing each with a defect-free reference.
///
/// Inputs: `REFERENCE TEST...`; `REFERENCE TEST_DIR` (every image in it);
/// `REFERENCE_DIR TEST_DIR` (paired by identical relative path); or
/// `--pairs FILE`. Pairs run in parallel; a pair that fails is reported and
/// the others go on.
///
/// Exit status: 0 no defect, 1 defects found, 2 error (in any pair).
#[derive(Debug, Parser)]
#[command(
    name = "defect-detect",
    about,
    long_about,
    after_help = EXAMPLES,
    after_long_help = EXAMPLES,
    max_term_width = 100
)]
pub struct Cli {
    /// The defect-free reference image (PNG, JPEG, BMP or TIFF), or a folder
    /// of references paired with TEST_DIR by identical relative path; `-`
    /// reads the image from standard input.
    #[arg(
        value_name = "REFERENCE",
        required_unless_present_any = ["pairs", "merge", "generate"],
        conflicts_with = "pairs",
        help_heading = INPUTS
    )]
    pub reference: Option<PathBuf>,

    /// Test images to compare with the reference, or one folder of them
    /// (every image in it; see --recursive); `-` reads one from standard
    /// input.
    #[arg(
        value_name = "TEST",
        required_unless_present_any = ["pairs", "merge", "generate"],
        help_heading = INPUTS
    )]
    pub tests: Vec<PathBuf>,

    /// Read the pairs from FILE instead, one `REFERENCE<TAB>TEST` a line
    /// (two paths split by spaces also do); `#` comments and blank lines are
    /// skipped; `-` reads standard input. Relative paths are from the current
    /// folder. A UTF-8 byte-order mark is skipped.
    #[arg(long, value_name = "FILE", help_heading = INPUTS)]
    pub pairs: Option<PathBuf>,

    /// Inspect nothing: join the --json (or --jsonl) reports of earlier runs,
    /// such as the shards of a CI matrix, and write every report as if from
    /// one run (summary, --json, --junit, --markdown, --html) with its exit
    /// status. Shards are put in order 1..N whatever the order of FILEs; a
    /// missing or interrupted one makes the merge incomplete (exit 2).
    /// --html reads the images again, from the paths in the reports.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 1..,
        conflicts_with_all = [
            "reference", "tests", "pairs", "shard", "jsonl", "output", "out_dir",
            "save_masks", "preview", "threshold", "polarity", "min_area", "align",
            "max_shift", "tolerance", "min_score", "ignore", "ignore_mask", "recursive",
            "save", "max_pixels",
        ],
        help_heading = INPUTS
    )]
    pub merge: Vec<PathBuf>,

    /// Pass a run that inspects no pair (an empty folder or list, an empty
    /// shard); without it that is an error, so that a step that produced no
    /// images cannot pass a CI gate.
    #[arg(long, help_heading = INPUTS)]
    pub allow_empty: bool,

    /// Descend into subfolders of a test (and reference) folder.
    #[arg(short, long, help_heading = INPUTS)]
    pub recursive: bool,

    /// Write the annotated test image (PNG) here; one test only; `-` writes
    /// it on standard output (the summary then goes to stderr). Missing
    /// folders are created; an input is never overwritten.
    #[arg(short, long, value_name = "OUT.png", help_heading = OUTPUTS)]
    pub output: Option<PathBuf>,

    /// Write an annotated PNG per test into DIR, mirroring the tests' relative
    /// paths (`a/b.jpg` -> `DIR/a/b.png`). Missing folders are created; an
    /// input is never overwritten.
    #[arg(long, value_name = "DIR", conflicts_with = "output", help_heading = OUTPUTS)]
    pub out_dir: Option<PathBuf>,

    /// Write each pair's material masks here: NAME.reference.png (registered
    /// onto the test) and NAME.test.png, material black.
    #[arg(long, value_name = "DIR", help_heading = OUTPUTS)]
    pub save_masks: Option<PathBuf>,

    /// Which tests get an annotated PNG in --out-dir.
    #[arg(long, value_enum, default_value_t = SaveArg::Defects, help_heading = OUTPUTS)]
    pub save: SaveArg,

    /// Print one JSON document on stdout instead of the summary.
    #[arg(long, help_heading = OUTPUTS)]
    pub json: bool,

    /// Print JSON Lines on stdout instead of the summary: one object per pair
    /// as it finishes, with its `index` in the input, then one summary line.
    /// Results are not kept in memory unless another report needs them.
    #[arg(long, conflicts_with = "json", help_heading = OUTPUTS)]
    pub jsonl: bool,

    /// Also write a JUnit XML report to FILE: one testcase per pair.
    #[arg(long, value_name = "FILE", help_heading = OUTPUTS)]
    pub junit: Option<PathBuf>,

    /// Also write a Markdown report to FILE: the verdict, the counts and a
    /// table of the worst pairs (at most 20, then how many more), for
    /// $GITHUB_STEP_SUMMARY or a merge-request comment.
    #[arg(long, value_name = "FILE", help_heading = OUTPUTS)]
    pub markdown: Option<PathBuf>,

    /// Name files in --junit and --markdown relative to DIR when they are
    /// under it, so that names do not change from one runner (or checkout
    /// path) to the next [default: the current folder].
    #[arg(long, value_name = "DIR", help_heading = OUTPUTS)]
    pub root: Option<PathBuf>,

    /// Also write an HTML report to FILE, with its images in a folder beside
    /// it (`index.html` -> `index_files/`); readable offline.
    #[arg(long, value_name = "FILE", help_heading = OUTPUTS)]
    pub html: Option<PathBuf>,

    /// When done, open the result in the system's viewer (xdg-open, open or
    /// start): the --html report if given, else the -o image or the
    /// --out-dir folder.
    #[arg(long, help_heading = OUTPUTS)]
    pub open: bool,

    /// Draw the annotated test in the terminal (one pair), above the
    /// summary: kitty or iTerm graphics where the terminal has them,
    /// coloured half-blocks otherwise.
    #[arg(long, conflicts_with = "json", help_heading = OUTPUTS)]
    pub preview: bool,

    /// Inspect pairs on N threads, at most 256; 0 means all cores
    /// [default: all cores].
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=MAX_JOBS), help_heading = PERFORMANCE)]
    pub jobs: Option<u16>,

    /// Inspect only shard K of N (1-based): a contiguous part of the pair
    /// list, so that shards 1..N together are every pair once, in order.
    /// `auto` takes K and N from the CI: GitLab (CI_NODE_INDEX,
    /// CI_NODE_TOTAL), CircleCI (CIRCLE_NODE_INDEX, CIRCLE_NODE_TOTAL),
    /// Buildkite (BUILDKITE_PARALLEL_JOB, BUILDKITE_PARALLEL_JOB_COUNT), or a
    /// Kubernetes indexed Job (JOB_COMPLETION_INDEX, with `auto/N`).
    #[arg(long, value_name = "K/N|auto|auto/N", value_parser = parse_shard, help_heading = PERFORMANCE)]
    pub shard: Option<ShardArg>,

    /// Nothing on stdout but an asked-for --json or --jsonl, and no progress
    /// bar or closing line on stderr; errors are still printed, and the exit
    /// status says what was found.
    #[arg(short, long, help_heading = OUTPUTS)]
    pub quiet: bool,

    /// Colour the summary's defect kinds and verdict and make errors bold:
    /// `auto` when the stream is a terminal and NO_COLOR is not set (or
    /// CLICOLOR_FORCE is), `always`, or `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorArg::Auto, help_heading = OUTPUTS)]
    pub color: ColorArg,

    /// Print a shell completion script or the man page on stdout, and exit.
    #[arg(long, value_enum, value_name = "WHAT", help_heading = OUTPUTS)]
    pub generate: Option<Generate>,

    /// Grey level separating material from background: 0-255; `auto`, per
    /// image, the level the most strong edges cross (follows the part's
    /// edges on camera photos); or `otsu`, Otsu's level per image.
    #[arg(long, value_name = "N|auto|otsu", default_value = "auto", value_parser = parse_threshold, help_heading = INSPECTION)]
    pub threshold: Threshold,

    /// Which side of the threshold is material: `dark` material on a light
    /// background, `light` material on a dark background, or `auto`: the side
    /// that does not hold most of the reference's border.
    #[arg(long, value_enum, default_value_t = PolarityArg::Auto, help_heading = INSPECTION)]
    pub polarity: PolarityArg,

    /// Print each pair's material levels and polarity in the summary.
    #[arg(short, long, help_heading = OUTPUTS)]
    pub verbose: bool,

    /// Smallest defect reported, in pixels.
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().min_area, help_heading = INSPECTION)]
    pub min_area: u32,

    /// Registration before comparing: `none`, `translate` (global shift), or
    /// `rigid` (shift and rotation up to 3 degrees); both then correct
    /// residual local drift of up to 6 px.
    #[arg(long, value_enum, default_value_t = Options::default().align, help_heading = REGISTRATION)]
    pub align: defect_detect::AlignMode,

    /// Largest global shift searched, in pixels per axis.
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().max_shift, help_heading = REGISTRATION)]
    pub max_shift: u32,

    /// Edge displacement absorbed without reporting, in pixels: a difference
    /// counts only beyond this distance from the other image's edge, unless
    /// it breaks or joins material (thin opens and shorts are kept).
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().tolerance, help_heading = INSPECTION)]
    pub tolerance: f32,

    /// Drop defects scoring below this (0-1).
    #[arg(long, value_name = "SCORE", default_value_t = Options::default().min_score, help_heading = INSPECTION)]
    pub min_score: f32,

    /// Refuse images with more pixels than this (checked before decoding, so a
    /// hostile header cannot exhaust memory).
    #[arg(long, value_name = "PIXELS", default_value_t = Options::default().max_pixels, help_heading = INSPECTION)]
    pub max_pixels: u64,

    /// Ignore differences inside this rectangle, in the reference's pixels
    /// (left, top, width, height); repeatable. It follows the alignment.
    #[arg(long, value_name = "X,Y,W,H", value_parser = defect_detect::ignore::parse_rect, help_heading = INSPECTION)]
    pub ignore: Vec<defect_detect::Rect>,

    /// Ignore differences where this image (the reference's size) is non-zero.
    #[arg(long, value_name = "FILE", help_heading = INSPECTION)]
    pub ignore_mask: Option<PathBuf>,
}

const INPUTS: &str = "Inputs";
const OUTPUTS: &str = "Outputs";
const INSPECTION: &str = "Inspection";
const REGISTRATION: &str = "Registration";
const PERFORMANCE: &str = "Performance";

const EXAMPLES: &str = "\
Examples:
  defect-detect good.png test.png -o annotated.png
  defect-detect good.png captures/ --recursive --out-dir annotated/ --json > results.json
  defect-detect golden/ captures/ --junit junit.xml --html report/index.html
  defect-detect --pairs pairs.tsv --shard 2/4 --jsonl
  camera-grab | defect-detect good.png - -o - | display
  defect-detect --generate complete-bash > ~/.local/share/bash-completion/completions/defect-detect";

/// The clap definition, with the long version (the commit and the CPU's
/// instruction sets are known only at build and run time).
pub fn command() -> clap::Command {
    let version: &'static str = Box::leak(long_version().into_boxed_str());
    <Cli as clap::CommandFactory>::command()
        .version(version)
        .long_version(version)
}

/// Parses the process's arguments; exits with clap's message (status 2)
/// when they are wrong, as `Cli::parse` does.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

/// `0.1.0 (rev 0123abcd4567)`, then the instruction sets the build assumes
/// and those the CPU adds for the multiversioned loops, as ripgrep prints.
fn long_version() -> String {
    // A build outside a git checkout (a crate tarball) has no commit to name.
    let mut text = match option_env!("DEFECT_DETECT_COMMIT") {
        Some(commit) => format!("{} (rev {commit})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_owned(),
    };
    let features = defect_detect::cpu::features();
    if !features.is_empty() {
        let list = |on: &dyn Fn(&defect_detect::cpu::Feature) -> bool| {
            let names: Vec<String> = features
                .iter()
                .map(|f| format!("{}{}", if on(f) { '+' } else { '-' }, f.name))
                .collect();
            names.join(",")
        };
        text.push_str(&format!("\nsimd(compile):{}", list(&|f| f.compiled)));
        text.push_str(&format!("\nsimd(runtime):{}", list(&|f| f.detected)));
    }
    text
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it.
    Auto,
    /// Always, whatever the stream and the environment.
    Always,
    /// Never.
    Never,
}

impl ColorArg {
    /// Whether to colour a stream that is (`terminal`) a terminal or not.
    pub fn colours(self, terminal: bool) -> bool {
        let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        match self {
            ColorArg::Always => true,
            ColorArg::Never => false,
            // https://no-color.org and https://bixense.com/clicolors/.
            ColorArg::Auto if set("NO_COLOR") => false,
            ColorArg::Auto
                if std::env::var_os("CLICOLOR_FORCE")
                    .is_some_and(|v| !v.is_empty() && v != "0") =>
            {
                true
            }
            ColorArg::Auto => terminal,
        }
    }
}

/// `--generate` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generate {
    /// Bash completions.
    CompleteBash,
    /// Zsh completions.
    CompleteZsh,
    /// Fish completions.
    CompleteFish,
    /// PowerShell completions.
    CompletePowershell,
    /// The man page (roff), for `man -l` or a man1 folder.
    Man,
}

/// Writes what `--generate` asks for.
pub fn generate(what: Generate, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    use clap_complete::Shell;
    let mut command = command();
    let shell = match what {
        // The page's header holds one line: the plain version.
        Generate::Man => {
            let command = command.version(env!("CARGO_PKG_VERSION"));
            return clap_mangen::Man::new(command).render(out);
        }
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::CompletePowershell => Shell::PowerShell,
    };
    clap_complete::generate(shell, &mut command, "defect-detect", out);
    Ok(())
}

/// The most worker threads `--jobs` starts: each holds up to two images of
/// `--max-pixels`, so a typo like `-j 100000` must not multiply memory.
const MAX_JOBS: i64 = 256;

/// `--polarity` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolarityArg {
    /// Decided from the reference's border.
    Auto,
    /// Dark material on a light background.
    Dark,
    /// Light material on a dark background.
    Light,
}

/// `--save` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SaveArg {
    /// Tests with at least one defect.
    Defects,
    /// Every test inspected.
    All,
    /// No annotated images.
    None,
}

/// `--shard` as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardArg {
    /// `K/N`.
    Fixed(Shard),
    /// `auto` or `auto/N`: from the CI's variables.
    Auto { count: Option<usize> },
}

/// `--shard K/N`, stored 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// A validated run: what to inspect, how, and what to write.
#[derive(Debug)]
pub struct Config {
    pub pairs: Vec<Pair>,
    /// The reports `--merge` joins; empty when inspecting.
    pub merge: Vec<PathBuf>,
    pub allow_empty: bool,
    pub shard: Option<ShardInfo>,
    pub options: Options,
    pub output: Output,
    pub json: bool,
    pub jsonl: bool,
    /// References of a folder pairing that have no test of the same name.
    pub unmatched_references: Vec<PathBuf>,
    pub junit: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    /// What --junit and --markdown name files relative to.
    pub root: PathBuf,
    pub html: Option<PathBuf>,
    pub jobs: Option<NonZeroUsize>,
    pub quiet: bool,
    pub verbose: bool,
    /// Colour the summary on stdout.
    pub colour_stdout: bool,
    /// Errors in bold on stderr.
    pub colour_stderr: bool,
    /// What `--open` opens.
    pub open: Option<PathBuf>,
    pub preview: bool,
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        if !(0.0..=100.0).contains(&cli.tolerance) {
            bail!("--tolerance must be between 0 and 100 pixels");
        }
        if !(0.0..=1.0).contains(&cli.min_score) {
            bail!("--min-score must be between 0 and 1");
        }
        if cli.max_pixels == 0 {
            bail!("--max-pixels must be at least 1");
        }
        let options = Options {
            threshold: cli.threshold,
            polarity: match cli.polarity {
                PolarityArg::Auto => None,
                PolarityArg::Dark => Some(Polarity::Dark),
                PolarityArg::Light => Some(Polarity::Light),
            },
            min_area: cli.min_area,
            align: cli.align,
            max_shift: cli.max_shift,
            tolerance: cli.tolerance,
            min_score: cli.min_score,
            max_pixels: cli.max_pixels,
            save_masks: cli.save_masks.clone(),
            ignore: Ignore {
                rects: cli.ignore.clone(),
                mask: cli
                    .ignore_mask
                    .as_deref()
                    .map(|path| IgnoreMask::load(path, cli.max_pixels))
                    .transpose()?,
            },
        };
        let Matched {
            mut pairs,
            mut unmatched_references,
        } = if cli.merge.is_empty() {
            resolve_inputs(&cli)?
        } else {
            Matched::default()
        };
        refuse_double_stdin(&cli, &pairs)?;
        let shard = cli.shard.map(resolve_shard).transpose()?;
        if let Some(Shard { index, count }) = shard {
            pairs = pairs::shard(pairs, index, count);
            // Reported by the first shard only, so a CI matrix says it once.
            if index > 0 {
                unmatched_references.clear();
            }
        }
        // A merge's pairs are known once the reports are read.
        if pairs.is_empty() && !cli.allow_empty && cli.merge.is_empty() {
            bail!(
                "{} (pass --allow-empty if that is expected)",
                nothing_to_inspect(&cli, shard)
            );
        }
        let output = match (cli.output.clone(), cli.out_dir.clone()) {
            (Some(_), _) if pairs.len() != 1 => {
                bail!(
                    "-o/--output takes one test image; {} were given (use --out-dir for many)",
                    pairs.len()
                )
            }
            (Some(path), _) if load::is_stdin(&path) => {
                if cli.json || cli.jsonl || cli.preview {
                    bail!("-o - writes the image on stdout, which --json, --jsonl and --preview need too");
                }
                Output::Stdout
            }
            (Some(path), _) => Output::File(path),
            (None, Some(root)) => {
                let save = match cli.save {
                    SaveArg::Defects => Save::Defects,
                    SaveArg::All => Save::All,
                    SaveArg::None => Save::None,
                };
                Output::Dir { root, save }
            }
            (None, None) => Output::None,
        };
        if cli.preview && pairs.len() != 1 {
            bail!("--preview takes one test image; {} were given", pairs.len());
        }
        let open = cli
            .open
            .then(|| open_target(&cli.html, &output))
            .transpose()?;
        refuse_clashes(&cli, &pairs, &output)?;
        check_writable(&cli, &output)?;
        Ok(Config {
            pairs,
            merge: cli.merge,
            allow_empty: cli.allow_empty,
            shard: shard.map(|Shard { index, count }| ShardInfo {
                index: index + 1,
                count,
            }),
            options,
            output,
            json: cli.json,
            jsonl: cli.jsonl,
            unmatched_references,
            junit: cli.junit,
            markdown: cli.markdown,
            root: cli.root.unwrap_or_else(|| PathBuf::from(".")),
            html: cli.html,
            jobs: cli.jobs.and_then(|n| NonZeroUsize::new(n.into())),
            quiet: cli.quiet,
            verbose: cli.verbose,
            colour_stdout: cli.color.colours(std::io::stdout().is_terminal()),
            colour_stderr: cli.color.colours(std::io::stderr().is_terminal()),
            open,
            preview: cli.preview,
        })
    }
}

/// What `--open` opens: the report, else the picture or pictures.
fn open_target(html: &Option<PathBuf>, output: &Output) -> anyhow::Result<PathBuf> {
    match (html, output) {
        (Some(path), _) | (None, Output::File(path)) | (None, Output::Dir { root: path, .. }) => {
            Ok(path.clone())
        }
        (None, Output::Stdout) => bail!("--open cannot open standard output (-o -)"),
        (None, Output::None) => bail!("--open needs something to open: --html, -o or --out-dir"),
    }
}

/// The pairs named by the positional arguments or `--pairs`, in input order.
fn resolve_inputs(cli: &Cli) -> anyhow::Result<Matched> {
    if let Some(list) = &cli.pairs {
        let pairs = if list.as_os_str() == "-" {
            pairs::parse_list(Path::new("<stdin>"), std::io::stdin().lock())?
        } else {
            let file = defect_detect::load::open_regular(list)?;
            pairs::parse_list(list, std::io::BufReader::new(file))?
        };
        return Ok(Matched {
            pairs,
            unmatched_references: Vec::new(),
        });
    }
    let reference = cli
        .reference
        .as_deref()
        .context("a reference is required without --pairs")?;
    let single_folder = match cli.tests.as_slice() {
        [test] if test.is_dir() => Some(test.as_path()),
        _ => None,
    };
    Ok(match (reference.is_dir(), single_folder) {
        (true, Some(tests)) => pairs::matched_folders(reference, tests, cli.recursive)?,
        (true, None) => bail!(
            "{}: a reference folder needs one test folder to pair with",
            reference.display()
        ),
        (false, Some(tests)) => Matched {
            pairs: pairs::reference_and_folder(reference, tests, cli.recursive)?,
            unmatched_references: Vec::new(),
        },
        (false, None) => Matched {
            pairs: cli
                .tests
                .iter()
                .map(|test| Pair::new(reference, test))
                .collect(),
            unmatched_references: Vec::new(),
        },
    })
}

/// Standard input holds one image: it cannot also be the pairs list, nor
/// both a reference and a test (the two would be the same image).
fn refuse_double_stdin(cli: &Cli, pairs: &[Pair]) -> anyhow::Result<()> {
    let as_reference = pairs.iter().any(|p| load::is_stdin(&p.reference));
    let as_test = pairs.iter().filter(|p| load::is_stdin(&p.test)).count();
    let as_list = cli.pairs.as_deref().is_some_and(load::is_stdin);
    if (as_reference || as_test > 0) && as_list {
        bail!("-: standard input is the --pairs list; it cannot also be an image");
    }
    if as_test > 1 || (as_reference && as_test > 0) {
        bail!("-: standard input holds one image; it is named more than once");
    }
    Ok(())
}

/// Why the run has no pair, naming where the pairs were to come from.
fn nothing_to_inspect(cli: &Cli, shard: Option<Shard>) -> String {
    let source = match (&cli.pairs, cli.tests.as_slice()) {
        (Some(list), _) if list.as_os_str() == "-" => "no pairs to inspect in <stdin>".to_owned(),
        (Some(list), _) => format!("no pairs to inspect in {}", list.display()),
        (None, [folder]) => format!("no images to inspect in {}", folder.display()),
        (None, _) => "no images to inspect".to_owned(),
    };
    match shard {
        Some(Shard { index, count }) => format!("{source}, shard {}/{count}", index + 1),
        None => source,
    }
}

/// Every output's folder can be written to, or the run would end, after
/// the whole batch, with no report.
fn check_writable(cli: &Cli, output: &Output) -> defect_detect::Result<()> {
    match output {
        Output::File(path) => output::check_writable(path)?,
        Output::Dir { root, save } if *save != Save::None => output::check_dir_writable(root)?,
        Output::Dir { .. } | Output::None | Output::Stdout => {}
    }
    for path in cli.junit.iter().chain(&cli.markdown).chain(&cli.html) {
        output::check_writable(path)?;
    }
    if let Some(dir) = &cli.save_masks {
        output::check_dir_writable(dir)?;
    }
    Ok(())
}

/// Every path the run reads and writes, checked against each other before
/// anything runs (see [`clash`]).
fn refuse_clashes(cli: &Cli, pairs: &[Pair], output: &Output) -> defect_detect::Result<()> {
    let mut inputs = Vec::new();
    let mut seen = HashSet::new();
    for pair in pairs.iter().filter(|p| p.problem.is_none()) {
        for (path, role) in [(&pair.reference, "the reference"), (&pair.test, "the test")] {
            if seen.insert(path) {
                inputs.push(Named::new(path, role));
            }
        }
    }
    inputs.extend(
        cli.ignore_mask
            .iter()
            .map(|p| Named::new(p, "the --ignore-mask")),
    );
    inputs.extend(
        (cli.pairs.as_deref())
            .filter(|p| p.as_os_str() != "-")
            .map(|p| Named::new(p, "the --pairs list")),
    );
    inputs.extend(cli.merge.iter().map(|p| Named::new(p, "a --merge report")));
    let mut outputs = Vec::new();
    match output {
        Output::File(path) => outputs.push(Named::new(path, "the -o image")),
        Output::Dir {
            save: Save::None, ..
        }
        | Output::None
        | Output::Stdout => {}
        Output::Dir { root, .. } => {
            outputs.extend(pairs.iter().filter(|p| p.problem.is_none()).map(|p| {
                Named::new(
                    batch::annotated_path(root, p),
                    format!("the --out-dir image of {}", p.test.display()),
                )
            }))
        }
    }
    outputs.extend(
        cli.junit
            .iter()
            .map(|p| Named::new(p, "the --junit report")),
    );
    outputs.extend((cli.markdown.iter()).map(|p| Named::new(p, "the --markdown report")));
    outputs.extend(cli.html.iter().map(|p| Named::new(p, "the --html report")));
    if let Some(root) = &cli.save_masks {
        for pair in pairs.iter().filter(|p| p.problem.is_none()) {
            for (test, side) in [(false, "reference"), (true, "test")] {
                let role = format!("the --save-masks {side} mask of {}", pair.test.display());
                outputs.push(Named::new(batch::mask_path(root, pair, test), role));
            }
        }
    }
    let folders: Vec<Named> = (cli.html.iter())
        .map(|p| Named::new(html::files_folder(p), "the --html images folder"))
        .collect();
    clash::refuse_clashes(&inputs, &outputs, &folders)
}

fn parse_shard(value: &str) -> Result<ShardArg, String> {
    let usage = || format!("expected K/N with 1 <= K <= N, `auto` or `auto/N`, got `{value}`");
    if value == "auto" {
        return Ok(ShardArg::Auto { count: None });
    }
    let (k, n) = value.split_once('/').ok_or_else(usage)?;
    let n: usize = n.trim().parse().map_err(|_| usage())?;
    if k == "auto" {
        return (n > 0)
            .then_some(ShardArg::Auto { count: Some(n) })
            .ok_or_else(usage);
    }
    let k: usize = k.trim().parse().map_err(|_| usage())?;
    shard_of(k, n).map(ShardArg::Fixed).ok_or_else(usage)
}

/// Shard `k` (1-based) of `n`, if `1 <= k <= n`.
fn shard_of(k: usize, n: usize) -> Option<Shard> {
    (k >= 1 && k <= n).then_some(Shard {
        index: k - 1,
        count: n,
    })
}

/// The CI variables `--shard auto` reads: index, total, whether the index
/// is 1-based.
const CI_SHARD_VARIABLES: [(&str, &str, bool); 3] = [
    ("CI_NODE_INDEX", "CI_NODE_TOTAL", true),
    ("CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", false),
    (
        "BUILDKITE_PARALLEL_JOB",
        "BUILDKITE_PARALLEL_JOB_COUNT",
        false,
    ),
];

fn resolve_shard(arg: ShardArg) -> anyhow::Result<Shard> {
    let count = match arg {
        ShardArg::Fixed(shard) => return Ok(shard),
        ShardArg::Auto { count } => count,
    };
    let number = |name: &str| -> anyhow::Result<Option<usize>> {
        match std::env::var(name) {
            Err(_) => Ok(None),
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .with_context(|| format!("--shard auto: {name} is `{text}`, not a number")),
        }
    };
    let found = match CI_SHARD_VARIABLES
        .iter()
        .find(|(index, _, _)| std::env::var_os(index).is_some())
    {
        Some(&(index, total, one_based)) => {
            let k = number(index)?.unwrap_or_default() + usize::from(!one_based);
            let n = count.or(number(total)?).with_context(|| format!("--shard auto: {index} is set but {total} is not"))?;
            (k, n, index)
        }
        None => match number("JOB_COMPLETION_INDEX")? {
            Some(index) => {
                let n = count.context("--shard auto: JOB_COMPLETION_INDEX is set; give the number of shards as --shard auto/N")?;
                (index + 1, n, "JOB_COMPLETION_INDEX")
            }
            None => bail!("--shard auto: no CI shard variables are set (CI_NODE_INDEX/CI_NODE_TOTAL, CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT, or JOB_COMPLETION_INDEX with --shard auto/N)"),
        },
    };
    let (k, n, source) = found;
    shard_of(k, n)
        .with_context(|| format!("--shard auto: {source} gives shard {k} of {n}, outside 1..={n}"))
}

fn parse_threshold(value: &str) -> Result<Threshold, String> {
    if value.eq_ignore_ascii_case("otsu") {
        return Ok(Threshold::Otsu);
    }
    if value.eq_ignore_ascii_case("auto") {
        return Ok(Threshold::Auto);
    }
    value
        .parse::<u8>()
        .map(Threshold::Fixed)
        .map_err(|_| format!("expected a grey level 0-255, `auto` or `otsu`, got `{value}`"))
}
