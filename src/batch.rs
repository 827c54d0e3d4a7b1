//! Running many pairs: in parallel, in bounded memory, each pair's failure its
//! own and never the batch's.
//!
//! Pairs run on the current rayon pool (the binary sizes it with `--jobs`);
//! [`run`] returns results in input order, [`for_each`] hands each over as
//! it finishes. A worker holds one test image at a time
//! and drops it when its pair is done. A reference shared by several tests is
//! decoded and binarized once, by whichever worker needs it first while the
//! others wait for it, and released when no pair close ahead in the list
//! needs it, so however long the list, only a few masks are held.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use rayon::prelude::*;

pub use crate::pairs::Pair;
use crate::report::PairResult;
use crate::{annotate, load, output, Inspection, LoadedImage, Options, PreparedReference, Result};

/// Where annotated images go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// No annotated image.
    #[default]
    None,
    /// One file, for a run of a single pair.
    File(PathBuf),
    /// Standard output, for a run of a single pair (`-o -`).
    Stdout,
    /// One PNG per test under `root`, at the pair's [`Pair::name`] with the
    /// extension `.png`.
    Dir {
        /// The folder the tests' relative paths are mirrored under.
        root: PathBuf,
        /// Which tests get an image.
        save: Save,
    },
}

/// Which tests get an annotated image under [`Output::Dir`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Save {
    /// Only tests with at least one defect.
    #[default]
    Defects,
    /// Every test that could be inspected.
    All,
    /// None: the folder is not written.
    None,
}

impl Output {
    /// Whether any pair may get an annotated image (which is drawn on the
    /// test in its own colours, so the test is then decoded in full).
    fn draws(&self) -> bool {
        !matches!(
            self,
            Output::None
                | Output::Dir {
                    save: Save::None,
                    ..
                }
        )
    }

    /// The annotated image's path for `pair` if one is to be written for an
    /// inspection with `defects` defects.
    fn path_for(&self, pair: &Pair, defects: usize) -> Option<PathBuf> {
        match self {
            Output::None | Output::Stdout => None,
            Output::File(path) => Some(path.clone()),
            Output::Dir { root, save } => match save {
                Save::All => Some(annotated_path(root, pair)),
                Save::Defects if defects > 0 => Some(annotated_path(root, pair)),
                Save::Defects | Save::None => None,
            },
        }
    }
}

/// Where [`Output::Dir`] puts the annotated image of `pair`.
pub fn annotated_path(root: &Path, pair: &Pair) -> PathBuf {
    root.join(&pair.name).with_extension("png")
}

/// Inspects every pair and returns one result per pair, in input order.
pub fn run(pairs: &[Pair], options: &Options, output: &Output) -> Vec<PairResult> {
    let results = Mutex::new(vec![None; pairs.len()]);
    for_each(pairs, options, output, &|| false, &|index, result| {
        results.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(result);
    });
    let results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results.into_iter().flatten().collect()
}

/// Inspects the pairs, handing each result with its index in `pairs` to
/// `each` as soon as it is finished (from the worker threads, in completion
/// order); nothing is kept, so memory does not grow with the list. Once
/// `stop` returns true no new pair is started; the pairs in flight finish.
pub fn for_each(
    pairs: &[Pair],
    options: &Options,
    output: &Output,
    stop: &(dyn Fn() -> bool + Sync),
    each: &(dyn Fn(usize, PairResult) + Sync),
) {
    let references = References::new(pairs);
    let load_test = if output.draws() {
        load::load
    } else {
        load::load_luma
    };
    pairs
        .par_iter()
        // Split down to single pairs, so that a worker out of work always
        // finds a piece of the list to take. Left to rayon's adaptive
        // splitting, a worker went through a long piece alone while the
        // other, its own piece done, could only take that worker's test
        // decodes and wait for them to join: two cores were 95 % busy on
        // the DeepPCB list, 99 % now, 3 % faster.
        .with_max_len(1)
        .enumerate()
        .for_each(|(index, pair)| {
            if stop() {
                return;
            }
            let started = Instant::now();
            if let Some(problem) = &pair.problem {
                let outcome = Outcome::failed(problem.clone());
                return each(index, pair_result(pair, outcome, options, started));
            }
            // The test is decoded and binarized while the reference is (a
            // single pair uses both cores; in a busy batch the second closure
            // mostly runs on the same worker, right after the first).
            let (reference, test) = rayon::join(
                || references.acquire(&pair.reference, options),
                || {
                    load_test(&pair.test, options.max_pixels).map(|test| {
                        let material = crate::material(&test, options);
                        (test, material)
                    })
                },
            );
            let outcome = inspect_one(pair, &reference, test, options, output);
            references.release(&pair.reference, index);
            each(index, pair_result(pair, outcome, options, started));
        });
}

/// A shared reference, or the message of why it could not be prepared
/// (`Error` is not `Clone`, and every pair of a bad reference reports it).
type Shared = Arc<std::result::Result<PreparedReference, String>>;

/// A reference whose next pair is further down the list than this is
/// dropped and prepared again when that pair comes: memory stays bounded by
/// the references in use nearby, however the list repeats them (a list of
/// 4,000 pairs that cycles through 1,000 references would otherwise hold all
/// 1,000 until the end).
const KEEP_WITHIN: usize = 64;

/// The references of a run, each prepared on first use and kept while pairs
/// close ahead in the list need it.
struct References {
    slots: HashMap<PathBuf, Slot>,
    /// For each pair, the index of the next pair with the same reference.
    next_use: Vec<Option<usize>>,
}

struct Slot {
    prepared: Mutex<Option<Shared>>,
}

impl References {
    fn new(pairs: &[Pair]) -> Self {
        let mut next_use = vec![None; pairs.len()];
        let mut later: HashMap<&Path, usize> = HashMap::new();
        for (index, pair) in pairs.iter().enumerate().rev() {
            if pair.problem.is_some() {
                continue;
            }
            next_use[index] = later.insert(pair.reference.as_path(), index);
        }
        let slots = later
            .into_keys()
            .map(|path| {
                let slot = Slot {
                    prepared: Mutex::new(None),
                };
                (path.to_path_buf(), slot)
            })
            .collect();
        Self { slots, next_use }
    }

    fn slot(&self, path: &Path) -> &Slot {
        self.slots
            .get(path)
            .expect("every pair's reference has a slot, made from the same list")
    }

    /// The prepared reference, preparing it if this is its first use. Other
    /// workers needing the same reference wait on the lock meanwhile, so
    /// each reference is decoded once. Preparing must not itself run rayon
    /// jobs on this pool: a waiting worker could then steal a pair of the
    /// same reference and block on the lock it holds.
    fn acquire(&self, path: &Path, options: &Options) -> Shared {
        // A panic while preparing leaves `None`, which the next worker redoes.
        let mut prepared = self
            .slot(path)
            .prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        prepared
            .get_or_insert_with(|| {
                Arc::new(
                    load::load_luma(path, options.max_pixels)
                        .and_then(|r| PreparedReference::new(&r, options))
                        .map_err(|e| e.to_string()),
                )
            })
            .clone()
    }

    /// Marks pair `index`'s use of the reference done, dropping the cached
    /// reference unless another pair close ahead needs it (workers still
    /// inspecting with it keep their own handle).
    fn release(&self, path: &Path, index: usize) {
        let needed_soon = self.next_use[index].is_some_and(|next| next - index <= KEEP_WITHIN);
        if !needed_soon {
            self.slot(path)
                .prepared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        }
    }
}

/// What inspecting one pair gave: the inspection (or why there is none),
/// where its annotated image went, and why it could not be written.
struct Outcome {
    inspection: Result<Inspection, String>,
    annotated: Option<PathBuf>,
    write_error: Option<String>,
}

impl Outcome {
    fn failed(message: String) -> Self {
        Self {
            inspection: Err(message),
            annotated: None,
            write_error: None,
        }
    }
}

fn pair_result(pair: &Pair, outcome: Outcome, options: &Options, started: Instant) -> PairResult {
    let mut result = PairResult {
        reference: pair.reference.clone(),
        test: pair.test.clone(),
        width: None,
        height: None,
        defects: Vec::new(),
        alignment: None,
        threshold: None,
        polarity: None,
        error: None,
        write_error: outcome.write_error,
        warnings: Vec::new(),
        annotated: outcome.annotated.map(|path| path.display().to_string()),
        // Microseconds are all a clock of this kind resolves.
        seconds: (started.elapsed().as_secs_f64() * 1e6).round() / 1e6,
    };
    match outcome.inspection {
        Ok(inspection) => {
            result.width = Some(inspection.width);
            result.height = Some(inspection.height);
            result.defects = inspection.defects;
            result.alignment = Some(inspection.alignment);
            result.threshold = Some(inspection.threshold);
            result.polarity = Some(inspection.polarity);
            if let Some(own) = inspection.threshold.test_own {
                let levels = inspection.threshold;
                result.warnings.push(format!(
                    "the test's own level {own} and the reference's {} found different amounts of material (lighting changed?): the test was binarized at {}, the level that gives it the reference's share",
                    levels.reference, levels.test
                ));
            }
            if inspection.alignment.at_shift_limit(options.max_shift) {
                let a = inspection.alignment;
                result.warnings.push(format!(
                    "alignment reached --max-shift {} (dx={:.0} dy={:.0}): the parts may be further apart and the defects the misalignment's; raise --max-shift",
                    options.max_shift, a.dx, a.dy
                ));
            }
        }
        Err(message) => result.error = Some(message),
    }
    result
}

fn inspect_one(
    pair: &Pair,
    reference: &Shared,
    test: Result<(LoadedImage, crate::Material)>,
    options: &Options,
    output: &Output,
) -> Outcome {
    let inspected = reference
        .as_ref()
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|reference| {
            let (test, material) = test.map_err(|e| e.to_string())?;
            let material = reference.agree(&test, material, options);
            let inspection = reference
                .inspect_material(&test.path, material, options)
                .map_err(|e| e.to_string())?;
            Ok((test, inspection))
        });
    let (test, inspection) = match inspected {
        Ok(done) => done,
        Err(message) => return Outcome::failed(message),
    };
    let (annotated, write_error) = match save_annotated(output, pair, &test, &inspection) {
        Ok(path) => (path, None),
        Err(error) => (None, Some(error)),
    };
    let write_error = write_error
        .or_else(|| save_masks(options, pair, &inspection).err())
        .map(|e| e.to_string());
    Outcome {
        inspection: Ok(inspection),
        annotated,
        write_error,
    }
}

/// The annotated picture of `pair`, where `output` puts it, if anywhere;
/// the file written, if one was.
fn save_annotated(
    output: &Output,
    pair: &Pair,
    test: &LoadedImage,
    inspection: &Inspection,
) -> Result<Option<PathBuf>> {
    let picture = || annotate::annotate(&test.image, &inspection.defects);
    if *output == Output::Stdout {
        return output::write_png_to_stdout(&picture()).map(|()| None);
    }
    let Some(path) = output.path_for(pair, inspection.defects.len()) else {
        return Ok(None);
    };
    output::refuse_input_overwrite(&path, [pair.reference.as_path(), pair.test.as_path()])?;
    output::save_png(&path, &picture())?;
    Ok(Some(path))
}

/// Where [`Options::save_masks`] puts the reference's (`false`) or the
/// test's (`true`) material mask of `pair`.
pub fn mask_path(root: &Path, pair: &Pair, test: bool) -> PathBuf {
    let side = if test { "test" } else { "reference" };
    let mut name = pair.name.clone().into_os_string();
    name.push(format!(".{side}.png"));
    root.join(name)
}

/// Both material masks of `pair`, if asked for and kept.
fn save_masks(options: &Options, pair: &Pair, inspection: &Inspection) -> Result<()> {
    let (Some(root), Some(masks)) = (&options.save_masks, &inspection.masks) else {
        return Ok(());
    };
    for (mask, test) in [(&masks.reference, false), (&masks.test, true)] {
        let path = mask_path(root, pair, test);
        output::refuse_input_overwrite(&path, [pair.reference.as_path(), pair.test.as_path()])?;
        output::save_png(&path, &mask.to_image())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{fill_rect, washer, INK};

    #[test]
    fn results_keep_input_order_and_errors_stay_with_their_pair() {
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("r.png");
        washer(60, 60).save(&reference).unwrap();
        let mut test = washer(60, 60);
        fill_rect(&mut test, 28, 28, 4, 4, INK);
        let bad = dir.path().join("bad.png");
        test.save(&bad).unwrap();
        let pairs: Vec<Pair> = (0..20)
            .map(|i| match i % 3 {
                0 => Pair::new(&reference, &reference),
                1 => Pair::new(&reference, &bad),
                _ => Pair::new(dir.path().join("missing.png"), &reference),
            })
            .collect();
        let results = run(&pairs, &Options::default(), &Output::None);
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.test, pairs[i].test);
            match i % 3 {
                0 => assert!(result.defects.is_empty() && result.error.is_none()),
                1 => assert_eq!(result.defects.len(), 1),
                _ => assert!(result.error.as_deref().unwrap().contains("missing.png")),
            }
        }
    }
}
