//! `tamga agent`: an NCALayer-compatible local signing service. Web pages
//! (egov.kz, the tax cabinet, e-procurement, banks) and the JavaScript client
//! they already use, `ncalayer-js-client`, reach it over a TLS WebSocket on
//! `127.0.0.1:13579` and sign with the card's 9C (signature) or 9A
//! (authentication) key, the card appearing as the storage `AKKZIDCardStore`.
//!
//! - [`protocol`]: frames and reply shapes; [`handlers`]: the methods.
//! - [`token`]: the card and signing under the PIN; [`pinentry`]: the dialog.
//! - [`keys`]: getKeyInfo and `signerParams`; [`origin`]: which pages may ask.
//! - [`tls`]: the local CA, the server certificate and their installation.
//! - [`server`]: the listener.
//!
//! Every method, argument and reply shape, with where it was confirmed, is in
//! `host/AGENT.md`.

pub mod handlers;
pub mod keys;
pub mod locale;
pub mod origin;
pub mod pinentry;
pub mod protocol;
pub mod server;
pub mod tls;
pub mod token;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The address NCALayer listens on, which pages connect to.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:13579";

/// The file of allowed origins in the agent's directory.
pub const ORIGINS_FILE: &str = "origins";

/// How to run the agent.
pub struct Options {
    /// Where to listen (loopback only).
    pub listen: SocketAddr,
    /// The agent's directory: TLS identity, `origins`.
    pub dir: PathBuf,
    /// The allowed origins.
    pub origins: origin::Origins,
    /// The PIN dialog.
    pub pinentry: pinentry::Pinentry,
}

/// The agent's directory when none is given: `$XDG_CONFIG_HOME/tamga/agent`,
/// else `~/.config/tamga/agent`.
pub fn default_dir() -> Result<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        return Ok(PathBuf::from(x).join("tamga/agent"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".config/tamga/agent"))
        .ok_or_else(|| Error::Invalid("neither XDG_CONFIG_HOME nor HOME is set: give --dir".into()))
}

/// The allow-list: the defaults (unless `no_defaults`), the `origins` file
/// of `dir`, and `extra`.
pub fn origins(dir: &Path, no_defaults: bool, extra: &[String]) -> Result<origin::Origins> {
    let mut o = if no_defaults {
        origin::Origins::default()
    } else {
        origin::Origins::new(origin::DEFAULT_ORIGINS)?
    };
    o.add_file(&dir.join(ORIGINS_FILE))?;
    for e in extra {
        o.add(e)?;
    }
    Ok(o)
}

/// Runs the agent until the process ends, with the card `open` opens.
pub fn run(opts: Options, open: token::Opener) -> Result<()> {
    let (config, fresh) = tls::server_config(&opts.dir)?;
    if fresh {
        eprintln!(
            "tamga agent: made a new local CA and server certificate in {}; \
             run `tamga agent install` so that browsers trust it",
            opts.dir.display()
        );
    }
    eprintln!(
        "tamga agent: allowed origins: {}",
        opts.origins.patterns().join(" ")
    );
    let shared = Arc::new(server::Shared {
        token: token::Token::new(open, opts.pinentry),
        origins: opts.origins,
    });
    server::serve(shared, config, opts.listen)
}
