//! Running many pairs: each pair's failure is its own, never the batch's.
//!
//! A reference shared by several tests is decoded and binarized once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::report::PairResult;
use crate::{annotate, load, output, Options, PreparedReference, Result};

/// A reference and a test to compare with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub reference: PathBuf,
    pub test: PathBuf,
}

/// Where annotated images go.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Output {
    /// No annotated image.
    #[default]
    None,
    /// One file, for a run of a single pair.
    File(PathBuf),
}

/// Inspects every pair, in order, and returns one result per pair.
pub fn run(pairs: &[Pair], options: &Options, output: &Output) -> Vec<PairResult> {
    let mut references: HashMap<&Path, Arc<Result<PreparedReference>>> = HashMap::new();
    pairs
        .iter()
        .map(|pair| {
            let reference = references
                .entry(pair.reference.as_path())
                .or_insert_with(|| {
                    Arc::new(
                        load::load(&pair.reference, options.max_pixels)
                            .map(|r| PreparedReference::new(&r, options)),
                    )
                })
                .clone();
            inspect_pair(pair, &reference, options, output)
        })
        .collect()
}

fn inspect_pair(
    pair: &Pair,
    reference: &Result<PreparedReference>,
    options: &Options,
    output: &Output,
) -> PairResult {
    let mut result = PairResult {
        reference: pair.reference.display().to_string(),
        test: pair.test.display().to_string(),
        width: None,
        height: None,
        defects: Vec::new(),
        error: None,
    };
    let outcome = match reference {
        Ok(reference) => inspect_one(pair, reference, options, output).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(inspection) => {
            result.width = Some(inspection.width);
            result.height = Some(inspection.height);
            result.defects = inspection.defects;
        }
        Err(message) => result.error = Some(message),
    }
    result
}

fn inspect_one(
    pair: &Pair,
    reference: &PreparedReference,
    options: &Options,
    output: &Output,
) -> Result<crate::Inspection> {
    if let Output::File(path) = output {
        output::refuse_input_overwrite(path, [pair.reference.as_path(), pair.test.as_path()])?;
    }
    let test = load::load(&pair.test, options.max_pixels)?;
    let inspection = reference.inspect(&test, options)?;
    if let Output::File(path) = output {
        output::save_png(path, &annotate::annotate(&test.image, &inspection.defects))?;
    }
    Ok(inspection)
}
