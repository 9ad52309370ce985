//! `tamga`: operate Tamga (and other PIV) cards from a service centre or a lab.
//!
//! Exit codes: 0 success; 1 other error; 2 usage; 3 no reader, no card or
//! ambiguous reader; 4 card removed or reset; 5 wrong or blocked PIN/PUK or
//! management key; 6 certification authority error or unreachable; 7 invalid
//! input (IIN, BIN, file, value); 8 the card refused the operation.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    cli::init_tracing(args.trace);
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tamga: {e}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
