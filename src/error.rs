//! The library's error type: every variant names the file it is about, so the
//! binary can print one line that tells the user what to fix.
//!
//! An I/O cause is a field named `cause`, part of the message, and not the
//! error's `source()`: the binary prints the chain (`{:#}`), which would
//! otherwise say it twice (`cannot read: No such file ...: No such file ...`).

use std::path::PathBuf;

/// Why an inspection could not be done.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read from disk.
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        cause: std::io::Error,
    },
    /// The path names something other than a regular file (a FIFO, a
    /// device, a folder), which is never read as an image or a list.
    #[error("{}: not a regular file: {kind}", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is instead (`a FIFO`, `a folder`, ...).
        kind: &'static str,
    },
    /// The file was read but is not an image we can decode (or is truncated).
    #[error("{}: not a readable image: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message, or what is wrong with the header.
        reason: String,
    },
    /// The image has no pixels.
    #[error("{}: image is empty ({width}x{height})", path.display())]
    Empty {
        /// The file concerned.
        path: PathBuf,
        /// Width in pixels, as the header declares it.
        width: u32,
        /// Height in pixels, as the header declares it.
        height: u32,
    },
    /// The header claims more pixels than `--max-pixels` allows; refused
    /// before any pixel buffer is allocated.
    #[error(
        "{}: image is {width}x{height} = {pixels} pixels, over the limit of {limit} (raise --max-pixels if this is real)",
        path.display(),
        pixels = u64::from(*width) * u64::from(*height)
    )]
    TooLarge {
        /// The file concerned.
        path: PathBuf,
        /// Width in pixels, as the header declares it.
        width: u32,
        /// Height in pixels, as the header declares it.
        height: u32,
        /// The limit it is over.
        limit: u64,
    },
    /// Reference and test must cover the same field of view at the same scale.
    #[error(
        "{}: size {}x{} differs from reference {} size {}x{}",
        test.display(), test_size.0, test_size.1, reference.display(), reference_size.0, reference_size.1
    )]
    SizeMismatch {
        /// The reference image.
        reference: PathBuf,
        /// The test image.
        test: PathBuf,
        /// The reference's width and height.
        reference_size: (u32, u32),
        /// The test's width and height.
        test_size: (u32, u32),
    },
    /// An `--ignore` rectangle that does not lie inside the reference.
    #[error(
        "{}: --ignore {},{},{},{} reaches outside the {}x{} reference",
        reference.display(), rect.x, rect.y, rect.width, rect.height, size.0, size.1
    )]
    IgnoreOutside {
        /// The reference image.
        reference: PathBuf,
        /// The rectangle, as given.
        rect: crate::defect::Rect,
        /// The reference's width and height.
        size: (u32, u32),
    },
    /// An `--ignore-mask` image of another size than the reference.
    #[error(
        "{}: ignore mask is {}x{}, but reference {} is {}x{}",
        mask.display(), mask_size.0, mask_size.1, reference.display(), reference_size.0, reference_size.1
    )]
    IgnoreMaskSize {
        /// The mask image.
        mask: PathBuf,
        /// The reference image.
        reference: PathBuf,
        /// The mask's width and height.
        mask_size: (u32, u32),
        /// The reference's width and height.
        reference_size: (u32, u32),
    },
    /// An output path that would overwrite one of the inputs.
    #[error("{}: refusing to write an output over an input image", path.display())]
    OutputIsInput {
        /// The output, as given.
        path: PathBuf,
    },
    /// An output that would land on an input or another output of the run,
    /// or inside a folder the run replaces; refused before anything runs.
    #[error("{}: refusing to write {role} over {other_role} {}", path.display(), other.display())]
    Clash {
        /// The file concerned.
        path: PathBuf,
        /// What the output is (`the -o image`, ...).
        role: String,
        /// The path it would land on or in.
        other: PathBuf,
        /// What that path is.
        other_role: String,
    },
    /// Writing an output failed.
    #[error("{}: cannot write: {cause}", path.display())]
    Write {
        /// The file concerned.
        path: PathBuf,
        /// The system's error.
        cause: std::io::Error,
    },
    /// A folder this tool replaces whole (the HTML report's images) holds a
    /// file it did not write, which replacing it would lose.
    #[error("{}: not replacing the report's images folder: it holds {}, which this tool did not write; move it or choose another --html", folder.display(), file.display())]
    NotOurs {
        /// The report's images folder.
        folder: PathBuf,
        /// The file found in it.
        file: PathBuf,
    },
    /// A `--merge` input that is not the JSON or JSON Lines report of a
    /// run, or contradicts itself.
    #[error("{}: not a defect-detect report: {reason}", path.display())]
    NotAReport {
        /// The input.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Two `--merge` inputs that cannot be parts of one run.
    #[error("{}: cannot be merged with {}: {reason}", path.display(), other.display())]
    MergeMismatch {
        /// The input refused.
        path: PathBuf,
        /// The input it contradicts.
        other: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Encoding an output image failed.
    #[error("{}: cannot encode: {reason}", path.display())]
    Encode {
        /// The output it was for.
        path: PathBuf,
        /// The encoder's message.
        reason: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
