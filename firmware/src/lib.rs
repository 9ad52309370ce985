//! Tamga's PIV-compatible signing applet.
//!
//! `#![no_std]`, no heap, no `unsafe`. One entry point: [`Applet::process`]
//! takes a command APDU and writes the response into a caller-owned buffer.
//! The applet is generic over the board: a NOR flash
//! ([`embedded_storage::nor_flash::NorFlash`]) that holds its tear-safe store
//! (`tamga-store`) and a cryptographic RNG ([`rand_core::CryptoRng`]).
//!
//! See `apdu-spec/CARD-EDGE.md` for every command and `firmware/README.md` for
//! the security rules and the storage design.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

#[macro_use]
mod fmt;

pub mod applet;
pub mod command;
pub mod crypto;
mod monty;
pub mod records;
pub mod response;
pub mod rsa2048;

pub use applet::{Applet, COMMAND_CAP, Error, StorageInfo};
pub use command::Command;
pub use tamga_spec as spec;
