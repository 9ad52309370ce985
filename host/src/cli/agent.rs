//! `tamga agent`: the NCALayer-compatible signing service for web pages.

use std::net::SocketAddr;
use std::path::PathBuf;

use tamga::Error;
use tamga::agent::{self, pinentry::Pinentry, tls};

use super::card::{Ctx, open_card};

/// `tamga agent` options.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AgentArgs {
    #[command(subcommand)]
    cmd: Option<AgentCmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Subcommand, Debug)]
enum AgentCmd {
    /// Add the agent's local CA to the NSS databases of Chromium (~/.pki/nssdb)
    /// and of every Firefox profile, so that browsers trust wss://127.0.0.1:13579.
    Install(InstallArgs),
}

/// `tamga agent install` options.
#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// The agent's directory (default: ~/.config/tamga/agent).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Only this NSS database directory (made if missing).
    #[arg(long)]
    nssdb: Option<PathBuf>,
}

/// How the agent runs.
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Address to listen on (loopback only; pages expect 127.0.0.1:13579).
    #[arg(long, default_value = agent::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// The agent's directory: its TLS identity and the `origins` file
    /// (default: ~/.config/tamga/agent).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also allow pages of this origin (https://host[:port] or https://*.domain); repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Allow only the origins given (--allow-origin, the origins file), not the
    /// Kazakh e-government defaults.
    #[arg(long)]
    no_default_origins: bool,
    /// The PIN dialog program (pinentry-gnome3, pinentry-qt, pinentry-tty, …).
    #[arg(long, default_value = "pinentry", env = "TAMGA_PINENTRY")]
    pinentry: PathBuf,
    /// The terminal text-mode pinentry programs draw on (default: this one, if any).
    #[arg(long)]
    pinentry_tty: Option<PathBuf>,
    /// Stay in the foreground (for systemd and tests); otherwise the agent
    /// detaches and logs to agent.log in its directory.
    #[arg(long)]
    foreground: bool,
}

/// This process's terminal, if it has one.
fn own_tty() -> Option<PathBuf> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    std::fs::read_link("/proc/self/fd/0").ok()
}

/// `tamga agent`.
pub fn agent(ctx: &Ctx, a: &AgentArgs) -> Result<(), Error> {
    if let Some(AgentCmd::Install(i)) = &a.cmd {
        return install(i);
    }
    let r = &a.run;
    let dir = match &r.dir {
        Some(d) => d.clone(),
        None => agent::default_dir()?,
    };
    if !r.foreground {
        return detach(&dir);
    }
    let origins = agent::origins(&dir, r.no_default_origins, &r.allow_origin)?;
    let pinentry = Pinentry {
        program: r.pinentry.clone(),
        tty: r.pinentry_tty.clone().or_else(own_tty),
    };
    let (card, wait, create) = (ctx.card.clone(), ctx.wait, ctx.create);
    let open: agent::token::Opener = Box::new(move || open_card(card.as_deref(), wait, create));
    agent::run(
        agent::Options {
            listen: r.listen,
            dir,
            origins,
            pinentry,
        },
        open,
    )
}

/// Starts `tamga agent --foreground` (same arguments) detached from this
/// terminal, logging to `agent.log`, and returns.
fn detach(dir: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::process::CommandExt;
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let log_path = dir.join("agent.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io)?;
    let exe = std::env::current_exe().map_err(io)?;
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    args.push("--foreground".into());
    let child = std::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().map_err(io)?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(io)?;
    println!(
        "tamga agent started (pid {}), log {}",
        child.id(),
        log_path.display()
    );
    Ok(())
}

fn install(i: &InstallArgs) -> Result<(), Error> {
    let dir = match &i.dir {
        Some(d) => d.clone(),
        None => agent::default_dir()?,
    };
    // The identity is made here if the agent never ran.
    tls::server_config(&dir)?;
    let dbs = match &i.nssdb {
        Some(d) => vec![d.clone()],
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .ok_or_else(|| Error::Invalid("HOME is not set: give --nssdb".into()))?;
            tls::browser_databases(&home)
        }
    };
    for db in &dbs {
        tls::install(&dir, db)?;
        println!("trusted {} in {}", tls::NSS_NICKNAME, db.display());
    }
    println!("restart the browsers so that they read it");
    Ok(())
}
