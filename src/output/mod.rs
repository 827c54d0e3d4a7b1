//! Writing outputs safely: never over an input, never half a file.
//!
//! Every output goes to a temporary file in the destination folder and is
//! renamed into place, so a reader (or a crash) never sees a partial file, and
//! an existing output is replaced in one step. Missing folders are created.

pub mod clash;

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{EncodableLayout, ImageBuffer, PixelWithColorType};

use crate::error::{Error, Result};

/// Fails if `output` names the same file as any of `inputs`, even through a
/// different spelling (`./a.png`, a symlink, `dir/../a.png`).
pub fn refuse_input_overwrite<'a>(
    output: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<()> {
    let Some(output_id) = identity(output) else {
        return Ok(());
    };
    for input in inputs {
        if identity(input).as_ref() == Some(&output_id) {
            return Err(Error::OutputIsInput {
                path: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The canonical path of `path`, or of its parent joined with its name when
/// the file does not exist yet; `None` when neither can be resolved (then it
/// cannot be an existing input either).
fn identity(path: &Path) -> Option<PathBuf> {
    if let Ok(canonical) = path.canonicalize() {
        return Some(canonical);
    }
    let name = path.file_name()?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

/// Fails unless `path` can be written as a file: not a folder, and the
/// nearest existing folder above it writable (missing ones are created).
/// Checked before a run, so that an unwritable report is found before the
/// batch, not after it.
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
            kind: "a folder",
        });
    }
    check_folder_writable(path, path.parent().unwrap_or(Path::new("")))
}

/// Fails unless files can be written in the folder `dir`, made if missing.
pub fn check_dir_writable(dir: &Path) -> Result<()> {
    check_folder_writable(dir, dir)
}

/// Whether the nearest existing ancestor of `dir` (itself included) is a
/// writable folder; `path` is named in the error.
fn check_folder_writable(path: &Path, dir: &Path) -> Result<()> {
    let write_error = |cause| Error::Write {
        path: path.to_path_buf(),
        cause,
    };
    // A bare file name's parent is the empty path, which is the current folder.
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let absolute = std::path::absolute(dir).map_err(write_error)?;
    let existing = absolute
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("/"));
    if !existing.is_dir() {
        let problem = format!("{} is not a folder", existing.display());
        return Err(write_error(std::io::Error::other(problem)));
    }
    writable(existing).map_err(write_error)
}

#[cfg(unix)]
fn writable(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    match unsafe { libc::access(name.as_ptr(), libc::W_OK | libc::X_OK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(unix))]
fn writable(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes `bytes` to `path` atomically, creating missing parent folders.
/// A symlink is written through: its target is replaced atomically and the
/// link kept. A character device or a FIFO (`/dev/null`, `/dev/stdout`, a
/// pipe to another program) is opened and written, never replaced by a
/// file. Other kinds (a folder, a block device) are refused.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let write_error = |cause| Error::Write {
        path: path.to_path_buf(),
        cause,
    };
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => path.canonicalize().map_err(write_error)?,
        _ => path.to_path_buf(),
    };
    match std::fs::metadata(&target).map(|m| m.file_type()) {
        Ok(kind) if is_stream(kind) => std::fs::OpenOptions::new()
            .write(true)
            .open(&target)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(write_error),
        Ok(kind) if !kind.is_file() => Err(Error::NotAFile {
            path: path.to_path_buf(),
            kind: crate::load::describe_kind(kind),
        }),
        _ => replace(&target, bytes).map_err(write_error),
    }
}

/// Whether `kind` is written in place rather than replaced.
fn is_stream(kind: std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        kind.is_char_device() || kind.is_fifo()
    }
    #[cfg(not(unix))]
    {
        let _ = kind;
        false
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)?;
    clean_once(parent);
    let prefix = temp_prefix();
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    // tempfile's private 0600 would make reports unreadable to a web server
    // or a colleague; ask for what `File::create` gives (0666 less umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = builder.tempfile_in(parent)?;
    file.write_all(bytes)?;
    // On disk before the rename, and the rename on disk after it, as cargo's
    // and git's atomic writers do: a crash then leaves the old file or the
    // new one, never an empty one.
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(parent)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> std::io::Result<()> {
    Ok(())
}

/// What every temporary file or folder of this run starts with: ours, and
/// with our pid, so that a later run can tell one abandoned by a killed
/// run (its process gone) from one in use.
pub fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

const TEMP_PREFIX: &str = ".defect-detect-";

/// [`remove_stale_temps`] in `dir`, the first time this run writes there.
fn clean_once(dir: &Path) {
    static CLEANED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<PathBuf>>> =
        std::sync::LazyLock::new(Default::default);
    let first = CLEANED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(dir.to_path_buf());
    if first {
        remove_stale_temps(dir);
    }
}

/// Removes from `dir` the temporary files and folders of runs whose process
/// is gone (killed with -9, a power cut). Best effort: what cannot be
/// removed stays for a later run, and nothing else is ever touched.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(TEMP_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if pid.is_none_or(process_alive) {
            continue;
        }
        let _ = match entry.file_type() {
            Ok(kind) if kind.is_dir() => std::fs::remove_dir_all(entry.path()),
            Ok(kind) if kind.is_file() => std::fs::remove_file(entry.path()),
            _ => continue,
        };
    }
}

/// Whether process `pid` exists (ours included). A pid we may not signal
/// belongs to a live process of another user.
#[cfg(unix)]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 checks for the process and sends nothing.
    let signalled = unsafe { libc::kill(pid, 0) } == 0;
    signalled || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_alive(_: u32) -> bool {
    true
}

/// Encodes `image` as PNG and writes it to `path` atomically.
pub fn save_png<P>(path: &Path, image: &ImageBuffer<P, Vec<P::Subpixel>>) -> Result<()>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    write_atomically(path, &encode_png(path, image)?)
}

/// What names standard output in messages.
const STDOUT_NAME: &str = "<stdout>";

/// Encodes `image` as PNG and writes it on standard output (`-o -`), whole
/// and flushed. A reader that closed the pipe early (`| head -c`) is not an
/// error, as for the reports.
pub fn write_png_to_stdout<P>(image: &ImageBuffer<P, Vec<P::Subpixel>>) -> Result<()>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    let bytes = encode_png(Path::new(STDOUT_NAME), image)?;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Write {
            path: PathBuf::from(STDOUT_NAME),
            cause: e,
        }),
        _ => Ok(()),
    }
}

/// `image` as PNG bytes; `path` names the output in the error.
fn encode_png<P>(path: &Path, image: &ImageBuffer<P, Vec<P::Subpixel>>) -> Result<Vec<u8>>
where
    P: PixelWithColorType,
    [P::Subpixel]: EncodableLayout,
{
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, image::ImageFormat::Png)
        .map_err(|e| Error::Encode {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(bytes.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_through_another_spelling_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.png");
        std::fs::write(&input, b"x").unwrap();
        let other = dir.path().join("sub/../a.png");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(refuse_input_overwrite(&other, [input.as_path()]).is_err());
        assert!(refuse_input_overwrite(&dir.path().join("b.png"), [input.as_path()]).is_ok());
    }

    #[test]
    fn writes_into_new_folders_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new/deeper/out.bin");
        write_atomically(&out, b"hello").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"hello");
        assert_eq!(std::fs::read_dir(out.parent().unwrap()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn outputs_are_readable_by_others_like_any_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("ours.bin");
        let plain = dir.path().join("plain.bin");
        write_atomically(&ours, b"x").unwrap();
        std::fs::write(&plain, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&ours), mode(&plain));
    }
}
