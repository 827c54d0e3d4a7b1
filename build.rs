//! Records the git commit the binary is built from, for `--version`. A build
//! from a crate tarball or an export has no repository of its own and
//! records nothing; the version then says so rather than failing the build.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let Some(top) = git(&["rev-parse", "--show-toplevel"]) else {
        return;
    };
    // A packaged crate unpacked inside some other repository (cargo
    // package's own target/package/) must not take that repository's commit.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let same =
        |a: &str, b: &str| Path::new(a).canonicalize().ok() == Path::new(b).canonicalize().ok();
    if !same(&top, &manifest) {
        return;
    }
    let Some(commit) = git(&["rev-parse", "--short=12", "HEAD"]) else {
        return;
    };
    println!("cargo:rustc-env=DEFECT_DETECT_COMMIT={commit}");
    // Rebuilt when HEAD moves (a checkout or a commit), in a worktree too.
    if let Some(path) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={path}");
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = git(&["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}

/// The trimmed output of a successful `git` command, or `None` (no git, not
/// a repository).
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
