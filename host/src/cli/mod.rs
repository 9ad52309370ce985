//! Command-line interface.

mod agent;
mod card;
mod docs;
mod import;
mod nca;
mod trace;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tamga::Error;
use tamga::audit::Audit;

/// Operate Tamga PIV cards: personalize, enrol NCA certificates, sign, manage PINs.
#[derive(Parser, Debug)]
#[command(
    name = "tamga",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 other error (e.g. the OS random generator), 2 usage,\n\
                  3 no reader / no card / ambiguous reader, 4 card removed or reset,\n\
                  5 wrong, blocked or missing PIN/PUK or management key,\n\
                  6 certification authority error or unreachable, 7 invalid input,\n\
                  8 card refused (empty slot, unsupported algorithm, no room, ...).\n\
                  Secrets: TAMGA_PIN, TAMGA_NEW_PIN, TAMGA_PUK, TAMGA_NEW_PUK, TAMGA_MGMT_KEY, TAMGA_CA_TOKEN\n\
                  or --*-file options; never on the command line."
)]
pub struct Args {
    /// The card: a PC/SC reader name, a unique part of it, or its index; or
    /// `emu:PATH` for an emulated card whose state is the file PATH. Default:
    /// the only reader that holds a card.
    #[arg(long, global = true, env = "TAMGA_CARD")]
    pub card: Option<String>,
    /// Seconds to wait for a card to be inserted.
    #[arg(long, global = true, default_value_t = 0)]
    pub wait: u64,
    /// With `--card emu:PATH`: make a new emulated card when PATH does not
    /// exist (without it, a missing file is an error: a typo must not give a
    /// blank card).
    #[arg(long, global = true)]
    pub create: bool,
    /// Log every APDU (secrets masked) to standard error.
    #[arg(long, global = true)]
    pub trace: bool,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Operator audit log (JSON lines, no secrets).
    #[arg(long, global = true, env = "TAMGA_AUDIT")]
    pub audit: Option<PathBuf>,
    /// The certification authority.
    #[command(flatten)]
    pub ca: nca::CaArgs,
    /// Operator name written to the audit log.
    #[arg(
        long,
        global = true,
        env = "TAMGA_OPERATOR",
        default_value = "operator"
    )]
    pub operator: String,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Where PINs and keys come from (never the command line).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecretArgs {
    /// File holding the PIN (else TAMGA_PIN, else a prompt).
    #[arg(long)]
    pub pin_file: Option<PathBuf>,
    /// File holding the management key in hex (else TAMGA_MGMT_KEY, else the factory default).
    #[arg(long)]
    pub mgmt_key_file: Option<PathBuf>,
}

/// Commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// List PC/SC readers and whether they hold a card.
    Readers,
    /// Show the card: serial, version, keys, certificates, PIN/PUK tries, warnings.
    Status,
    /// Personalize a card: new PIN, PUK and a random management key, CHUID and CCC.
    Init(card::InitArgs),
    /// PIN and PUK management.
    #[command(subcommand)]
    Pin(card::PinCommand),
    /// Enrol the two NCA certificates (authentication 9A, signature 9C) on the card.
    Enroll(Box<nca::EnrollArgs>),
    /// The embedded default: an emulated card and a local CA in a temporary
    /// directory, a sample citizen enrolled, a document signed, verified, revoked.
    Demo(DemoArgs),
    /// Renew both NCA certificates with new keys, the request signed by the current keys.
    Renew(nca::RenewArgs),
    /// Sign a file with the NCA signature key (9C): a detached CMS signature, or
    /// (--format xml) an enveloped XML signature as NCALayer makes.
    Sign(docs::SignArgs),
    /// Check a detached CMS signature, its certificate and (with --ca) its revocation.
    Verify(docs::VerifyArgs),
    /// Print a vcard trace (tamga-vcard --trace) annotated with command and status names.
    Trace(trace::TraceArgs),
    /// Revoke the card's NCA certificates (or --serial) with the regulation's reason.
    Revoke(docs::RevokeArgs),
    /// Import a GOST key from a Kalkan PKCS#12 file (with --cert, its certificate too).
    Import(import::ImportArgs),
    /// Serve web pages that sign with the card: an NCALayer-compatible service on
    /// wss://127.0.0.1:13579 (ncalayer-js-client works unchanged).
    Agent(Box<agent::AgentArgs>),
}

/// `tamga demo` options.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Keep the files in this (new) directory instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Key algorithm.
    #[arg(long, value_enum, default_value = "rsa2048")]
    alg: nca::Alg,
}

#[cfg(not(feature = "local-ca"))]
fn demo(_: &DemoArgs) -> Result<(), Error> {
    Err(Error::Invalid(
        "tamga demo runs a local CA: this tamga is built without the local-ca feature".into(),
    ))
}

#[cfg(feature = "local-ca")]
fn demo(a: &DemoArgs) -> Result<(), Error> {
    let alg = a.alg.keys();
    match &a.dir {
        Some(d) => {
            std::fs::create_dir(d).map_err(|source| Error::Io {
                path: d.display().to_string(),
                source,
            })?;
            tamga::demo::run(d, alg)
        }
        None => {
            let tmp = tempfile::tempdir().map_err(|source| Error::Io {
                path: "temporary directory".into(),
                source,
            })?;
            tamga::demo::run(tmp.path(), alg)
        }
    }
}

/// Run a parsed command line.
pub fn run(args: Args) -> Result<(), Error> {
    let audit = Audit::new(args.audit.clone(), args.operator.clone());
    let ctx = card::Ctx {
        card: args.card.clone(),
        wait: args.wait,
        create: args.create,
        json: args.json,
        audit,
    };
    // An action that changes something is not done without its audit record.
    if !matches!(
        args.command,
        Command::Readers | Command::Status | Command::Verify(_) | Command::Trace(_)
    ) {
        ctx.audit.ready()?;
    }
    match args.command {
        Command::Readers => card::readers(&ctx),
        Command::Status => card::status(&ctx, &args.ca),
        Command::Init(a) => card::init(&ctx, &a),
        Command::Pin(p) => card::pin(&ctx, &p),
        Command::Enroll(a) => nca::enroll(&ctx, &args.ca, &a),
        Command::Demo(a) => demo(&a),
        Command::Renew(a) => nca::renew(&ctx, &args.ca, &a),
        Command::Sign(a) => docs::sign(&ctx, &a),
        Command::Verify(a) => docs::verify(&ctx, &args.ca, &a),
        Command::Revoke(a) => docs::revoke(&ctx, &args.ca, &a),
        Command::Trace(a) => trace::trace(&a),
        Command::Import(a) => import::import(&ctx, &a),
        Command::Agent(a) => agent::agent(&ctx, &a),
    }
}

/// Log APDUs (masked) when `--trace` is given or `RUST_LOG` asks.
pub fn init_tracing(trace: bool) {
    let filter = if trace {
        tracing_subscriber::EnvFilter::new("tamga=debug")
    } else {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}
