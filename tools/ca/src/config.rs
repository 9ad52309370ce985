//! CA settings, kept as `config.json` in the CA directory.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// CA settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaConfig {
    /// Validity of issued end-entity certificates, in days (default 365: the regulation's 1 year).
    #[serde(default = "default_validity")]
    pub validity_days: u32,
    /// Hours from a CRL's thisUpdate to its nextUpdate.
    #[serde(default = "default_crl_period")]
    pub crl_period_hours: u32,
    /// Base URL for the CRL distribution point; `<base>/<ca-name>.crl` goes into certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl_base_url: Option<String>,
    /// Base URL for AIA caIssuers; `<base>/<ca-name>.crt` goes into certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aia_base_url: Option<String>,
    /// File name stem for CRL and CA certificate URLs.
    #[serde(default = "default_name")]
    pub name: String,
}

fn default_validity() -> u32 {
    365
}
fn default_crl_period() -> u32 {
    24
}
fn default_name() -> String {
    "tamga-ca".into()
}

impl Default for CaConfig {
    fn default() -> Self {
        CaConfig {
            validity_days: default_validity(),
            crl_period_hours: default_crl_period(),
            crl_base_url: None,
            aia_base_url: None,
            name: default_name(),
        }
    }
}

impl CaConfig {
    /// Checks value ranges and URL forms.
    pub fn validate(&self) -> Result<()> {
        if !(1..=3650).contains(&self.validity_days) {
            return Err(Error::Config("validity_days must be 1 to 3650".into()));
        }
        if !(1..=24 * 31).contains(&self.crl_period_hours) {
            return Err(Error::Config("crl_period_hours must be 1 to 744".into()));
        }
        for u in [&self.crl_base_url, &self.aia_base_url]
            .into_iter()
            .flatten()
        {
            if !(u.starts_with("http://") || u.starts_with("https://")) || !u.is_ascii() {
                return Err(Error::Config(format!(
                    "base URL {u:?} must be an ASCII http(s) URL"
                )));
            }
        }
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(Error::Config(
                "name must be ASCII letters, digits, - _ .".into(),
            ));
        }
        Ok(())
    }

    /// URL of the first issuing key's CRL, if a base URL is set.
    pub fn crl_url(&self) -> Option<String> {
        self.crl_url_for(&self.name)
    }

    /// URL of the first issuing key's certificate, if a base URL is set.
    pub fn aia_url(&self) -> Option<String> {
        self.aia_url_for(&self.name)
    }

    /// URL of the CRL with file stem `stem` (one issuing key's), if a base URL is set.
    pub fn crl_url_for(&self, stem: &str) -> Option<String> {
        self.crl_base_url
            .as_ref()
            .map(|b| format!("{}/{stem}.crl", b.trim_end_matches('/')))
    }

    /// URL of the CA certificate with file stem `stem`, if a base URL is set.
    pub fn aia_url_for(&self, stem: &str) -> Option<String> {
        self.aia_base_url
            .as_ref()
            .map(|b| format!("{}/{stem}.crt", b.trim_end_matches('/')))
    }

    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<CaConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let c: CaConfig = serde_json::from_str(&text)
            .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        c.validate()?;
        Ok(c)
    }

    /// Writes `path` (pretty JSON).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Config(e.to_string()))?;
        std::fs::write(path, text + "\n").map_err(|e| Error::io(path, e))
    }
}
