//! The tasks of `cargo xtask` (see `main.rs`), one file each, and what they
//! share. A library so that the integration test `tests/qemu_pcsc.rs` runs
//! the PC/SC check itself.

pub mod apdus;
pub mod bench_agent;
pub mod bench_m4;
pub mod board;
pub mod check;
pub mod cmd;
pub mod deny;
pub mod deps;
pub mod fuzz;
pub mod opensc;
pub mod piv_tool;
pub mod running;
pub mod serve;
pub mod size;
pub mod test;
