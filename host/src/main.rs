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
    // One line, never a stack trace: a closed pipe (`tamga status | head`) ends
    // quietly, anything else is reported as an internal error.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        eprintln!("tamga: internal error: {msg}");
    }));
    let args = cli::Args::parse();
    cli::init_tracing(args.trace);
    let json = args.json;
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // With --json a program reads the error too: one JSON object, one line.
            if json {
                eprintln!(
                    "{}",
                    serde_json::json!({"error": e.to_string(), "exit_code": e.exit_code()})
                );
            } else {
                eprintln!("tamga: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}
