//! Where the project's shared GOST test material is: `TAMGA_GOST_VECTORS`, or
//! `../shared/vectors/gost` beside the repository (it is public NCA material
//! and our own known-answer vectors, read in place, never copied in).

use std::path::PathBuf;

/// The vectors directory, or `None` (with a line on stderr saying so) when it
/// is not on this machine.
pub fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TAMGA_GOST_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/gost"),
        PathBuf::from,
    );
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIP: no GOST vectors at {} (set TAMGA_GOST_VECTORS)",
            dir.display()
        );
        None
    }
}
