//! The operator audit log: one JSON object per line for every state-changing
//! action, with no secret in it.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

/// Appends audit records to a file (or nowhere).
#[derive(Clone, Debug, Default)]
pub struct Audit {
    path: Option<PathBuf>,
    /// Who acts (operator name), recorded in every line.
    pub operator: String,
}

impl Audit {
    /// An audit log at `path`; `None` disables it.
    pub fn new(path: Option<PathBuf>, operator: String) -> Self {
        Audit { path, operator }
    }

    /// Checks that the log can be written (opening it for appending, made if
    /// missing), so that an action is not done without its record.
    pub fn ready(&self) -> crate::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(|_| ())
            .map_err(|e| {
                crate::Error::Invalid(format!(
                    "audit log {}: {e}: nothing was done (fix the log or give another --audit)",
                    path.display()
                ))
            })
    }

    /// Record `action` on the card `serial` with its `outcome` and details.
    /// A failure to write the log is reported on stderr, never fatal.
    pub fn record(&self, action: &str, serial: Option<u32>, outcome: &str, details: Value) {
        let Some(path) = &self.path else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let line = json!({
            "time": now,
            "operator": self.operator,
            "action": action,
            "card_serial": serial,
            "outcome": outcome,
            "details": details,
        });
        let result = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = result {
            eprintln!("warning: audit log {}: {e}", path.display());
        }
    }
}
