//! The project's shared test material beside the repository.

use std::path::PathBuf;

/// The GOST vectors (`../shared/vectors/gost`: public NCA certificates, CRLs,
/// test-kit keys and our known-answer vectors, read in place, never copied
/// in), or `TAMGA_GOST_VECTORS`; `None`, with a `SKIP` line on stderr, when
/// they are not on this machine.
pub fn gost() -> Option<PathBuf> {
    let dir = std::env::var_os("TAMGA_GOST_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/gost"),
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
