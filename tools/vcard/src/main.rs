//! `tamga-vcard`: present a Tamga card (the firmware built for the host, its
//! flash in `--state DIR`) on vsmartcard's vpcd, so that pcscd shows it in the
//! reader `Virtual PCD 00 00` (port 35963) or `Virtual PCD 00 01` (35964).
//! Reconnects when pcscd restarts; stops on SIGINT/SIGTERM (process end).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::Parser;
use tamga_board_host::vpcd;

/// Present a Tamga card on vpcd.
#[derive(Parser, Debug)]
#[command(name = "tamga-vcard", version, about)]
struct Args {
    /// Directory holding the card's state (its flash, card.flash).
    #[arg(long)]
    state: PathBuf,
    /// vpcd address: 127.0.0.1:35963 is reader `Virtual PCD 00 00`, :35964 `Virtual PCD 00 01`.
    #[arg(long, default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// Append every APDU and response (secrets masked) to this file; `tamga trace FILE` reads it.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Exit when vpcd closes the connection instead of reconnecting.
    #[arg(long)]
    once: bool,
    /// fsync every flash write, so the card's state also survives an OS crash
    /// (a killed tamga-vcard never loses a write either way; this costs ~0.1 ms
    /// per flash operation).
    #[arg(long)]
    fsync: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let opts = vpcd::Options {
        state: args.state,
        vpcd: args.vpcd,
        trace: args.trace,
        once: args.once,
        fsync: args.fsync,
    };
    match vpcd::run(&opts, Arc::new(AtomicBool::new(false))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tamga-vcard: {e}");
            ExitCode::FAILURE
        }
    }
}
