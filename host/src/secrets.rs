//! PINs and keys from the operator: a prompt without echo, a file, or an
//! environment variable for automation — never the command line.

use std::io::IsTerminal;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::piv::{MgmtKey, Pin};

/// Where a secret comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A file whose first line is the secret.
    File(std::path::PathBuf),
    /// An environment variable.
    Env(&'static str),
    /// A prompt on the terminal (no echo).
    Prompt(&'static str),
}

fn read_file(path: &Path) -> Result<Zeroizing<String>> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?);
    Ok(Zeroizing::new(
        text.lines().next().unwrap_or("").trim().to_string(),
    ))
}

/// Read a secret from the first source that has it: `file` if given, else the
/// environment variable, else a prompt when standard input is a terminal.
pub fn read(
    file: Option<&Path>,
    env: &'static str,
    prompt: &'static str,
) -> Result<Zeroizing<String>> {
    if let Some(f) = file {
        return read_file(f);
    }
    if let Ok(v) = std::env::var(env) {
        return Ok(Zeroizing::new(v));
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("{prompt}: "))
            .map(Zeroizing::new)
            .map_err(|e| Error::Invalid(format!("cannot read the {prompt}: {e}")));
    }
    Err(Error::Invalid(format!(
        "no {prompt}: give a file, set {env}, or run on a terminal"
    )))
}

/// A PIN or PUK (see [`read`]).
pub fn pin(file: Option<&Path>, env: &'static str, prompt: &'static str) -> Result<Pin> {
    let s = read(file, env, prompt)?;
    Pin::new(s.as_bytes())
}

/// A new PIN or PUK: from a file or the environment as [`pin`]; at a terminal
/// typed twice, and asked again (three times at most) when the two entries
/// differ or the value is not a valid PIN, so that one typo cannot lock the
/// card's holder out.
pub fn new_pin(file: Option<&Path>, env: &'static str, prompt: &'static str) -> Result<Pin> {
    if file.is_some() || std::env::var(env).is_ok() || !std::io::stdin().is_terminal() {
        return pin(file, env, prompt);
    }
    let ask = |p: String| {
        rpassword::prompt_password(p)
            .map(Zeroizing::new)
            .map_err(|e| Error::Invalid(format!("cannot read the {prompt}: {e}")))
    };
    for _ in 0..3 {
        let first = ask(format!("{prompt}: "))?;
        let pin = match Pin::new(first.as_bytes()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}; type it again");
                continue;
            }
        };
        let again = ask(format!("repeat the {prompt}: "))?;
        if *again == *first {
            return Ok(pin);
        }
        eprintln!("the two entries differ; type it again");
    }
    Err(Error::Invalid(format!(
        "no {prompt}: three tries, nothing was changed"
    )))
}

/// A management key from a hex file or `TAMGA_MGMT_KEY`; the factory default
/// when neither is given.
pub fn mgmt_key(file: Option<&Path>) -> Result<MgmtKey> {
    if let Some(f) = file {
        return MgmtKey::from_hex(None, &read_file(f)?)
            .or_else(|_| MgmtKey::from_hex(Some(tamga_spec::Algorithm::Tdes), &read_file(f)?));
    }
    match std::env::var("TAMGA_MGMT_KEY") {
        Ok(v) => MgmtKey::from_hex(None, &v),
        Err(_) => Ok(MgmtKey::default_key()),
    }
}
