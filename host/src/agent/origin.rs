//! Which web pages may ask for a signature: an allow-list of origins the user
//! controls (`--allow-origin`, the `origins` file in the agent's directory,
//! the Kazakh e-government defaults).
//!
//! A pattern is an origin (`https://egov.kz`, `http://localhost:8080`) or a
//! wildcard over subdomains (`https://*.gov.kz` matches `https://cabinet.gov.kz`
//! and `https://a.b.gov.kz`, not `https://gov.kz`). `null` (a `file:` page, a
//! sandboxed frame) matches only when listed. A connection without an Origin
//! header comes from a program on this computer, not from a browser page; such
//! a program can reach the card through PC/SC anyway, so it is allowed.

use std::path::Path;

use crate::error::{Error, Result};

/// The Kazakh e-government origins allowed unless `--no-default-origins`.
pub const DEFAULT_ORIGINS: &[&str] = &[
    "https://egov.kz",
    "https://*.egov.kz",
    "https://*.gov.kz",
    "https://*.salyk.kz",
    "https://sigex.kz",
    "https://*.sigex.kz",
];

/// The allow-list.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    patterns: Vec<String>,
}

/// An origin in lower case without a trailing slash.
fn normal(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl Origins {
    /// The list from patterns; each is checked for form.
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Result<Origins> {
        let mut list = Origins::default();
        for p in patterns {
            list.add(p.as_ref())?;
        }
        Ok(list)
    }

    /// Adds one pattern.
    pub fn add(&mut self, pattern: &str) -> Result<()> {
        let p = normal(pattern);
        let ok = p == "null"
            || ["https://", "http://"].iter().any(|scheme| {
                p.strip_prefix(scheme).is_some_and(|host| {
                    let host = host.strip_prefix("*.").unwrap_or(host);
                    !host.is_empty()
                        && host
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
                })
            });
        if !ok {
            return Err(Error::Invalid(format!(
                "origin {pattern:?}: give scheme://host[:port], scheme://*.domain or null"
            )));
        }
        if !self.patterns.contains(&p) {
            self.patterns.push(p);
        }
        Ok(())
    }

    /// Adds the patterns of a file: one per line, `#` starts a comment. A
    /// missing file adds nothing.
    pub fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(Error::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if !line.is_empty() {
                self.add(line)
                    .map_err(|e| Error::Invalid(format!("{}:{}: {e}", path.display(), n + 1)))?;
            }
        }
        Ok(())
    }

    /// Whether a page of `origin` (the WebSocket handshake's Origin header,
    /// `None` when there was none) may use the agent.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let o = normal(origin);
        self.patterns.iter().any(|p| match p.split_once("://*.") {
            Some((scheme, domain)) => o
                .strip_prefix(scheme)
                .and_then(|r| r.strip_prefix("://"))
                .is_some_and(|host| {
                    host.len() > domain.len() + 1
                        && host.ends_with(domain)
                        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                }),
            None => *p == o,
        })
    }

    /// The patterns, for messages.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcard_origins() {
        let o = Origins::new([
            "https://egov.kz",
            "https://*.gov.kz",
            "http://localhost:8080",
        ])
        .unwrap();
        assert!(o.allows(Some("https://egov.kz")));
        assert!(o.allows(Some("HTTPS://EGOV.KZ/")));
        assert!(o.allows(Some("https://cabinet.gov.kz")));
        assert!(o.allows(Some("https://a.b.gov.kz")));
        assert!(o.allows(Some("http://localhost:8080")));
        assert!(o.allows(None), "a local program");
        for bad in [
            "https://gov.kz",
            "https://evilgov.kz",
            "https://gov.kz.evil.com",
            "http://egov.kz",
            "https://egov.kz:8443",
            "http://localhost:8081",
            "null",
            "",
        ] {
            assert!(!o.allows(Some(bad)), "{bad}");
        }
    }

    #[test]
    fn null_only_when_listed_and_bad_patterns_refused() {
        assert!(Origins::new(["null"]).unwrap().allows(Some("null")));
        for bad in [
            "egov.kz",
            "ftp://x",
            "https://",
            "https://*.",
            "https://a b",
        ] {
            assert!(Origins::new([bad]).is_err(), "{bad}");
        }
        assert!(Origins::new(DEFAULT_ORIGINS).is_ok());
    }
}
