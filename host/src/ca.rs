//! The certification authority behind enrolment: a local `tamga-ca` directory
//! (with the `local-ca` feature) or a remote `tamga-ca serve` over HTTP or HTTPS.

use std::time::Duration;

use tamga_pki::{
    Application, CertRecord, ConfirmRequest, Confirmed, Issued, RenewRequest, RevocationReason,
    Serial,
};
use x509_cert::Certificate;

use crate::error::{Error, Result};

/// What enrolment, revocation and verification need from a CA.
pub trait CaClient {
    /// Issue a certificate for an application (idempotent).
    fn issue(&self, app: &Application) -> Result<Issued>;
    /// Renew certificates with a request signed by the holder's current key; the
    /// replaced certificates stay valid until [`CaClient::confirm`].
    fn renew(&self, req: &RenewRequest) -> Result<Vec<Issued>>;
    /// Confirm renewed certificates (by serial) once they are on the card: the CA
    /// supersedes their predecessors (idempotent).
    fn confirm(&self, serials: &[Serial]) -> Result<Vec<Confirmed>>;
    /// The CA's record of a certificate (with its DER).
    fn record(&self, serial: &Serial) -> Result<CertRecord>;
    /// Revoke a certificate.
    fn revoke(&self, serial: &Serial, reason: RevocationReason) -> Result<()>;
    /// The CRL the CA publishes now (DER) for the issuing key of `issuer` (one of
    /// [`CaClient::ca_certificates`]): what a relying party sees. It may predate a
    /// revocation made since it was issued.
    fn current_crl(&self, issuer: &Certificate) -> Result<Vec<u8>>;
    /// Have the CA issue a new CRL now (DER) for the issuing key of `issuer`,
    /// listing every revocation of what it signed so far.
    fn issue_crl(&self, issuer: &Certificate) -> Result<Vec<u8>>;
    /// The CA's issuing certificates, the first one first: one, or an RSA or P-256
    /// one and a GOST one side by side.
    fn ca_certificates(&self) -> Result<Vec<Certificate>>;
    /// Where the CA is, for messages.
    fn describe(&self) -> String;
    /// Whether the CA can be used now (reachable, and the operator authorised),
    /// asked before anything is done to the card.
    fn preflight(&self) -> Result<()> {
        self.ca_certificates().map(|_| ())
    }
}

/// The key id (hex) by which the CA names the issuing key of `issuer`.
fn issuer_id(issuer: &Certificate) -> Result<String> {
    let id = tamga_pki::chain::key_id(issuer.tbs_certificate().subject_public_key_info())?;
    Ok(hex::encode(id))
}

/// The CA's issuing certificate that signed `cert`.
pub fn issuer_of(ca: &dyn CaClient, cert: &Certificate) -> Result<Certificate> {
    let cas = ca.ca_certificates()?;
    tamga_pki::chain::issuer_among(cert, &cas)
        .cloned()
        .ok_or_else(|| {
            Error::Ca(format!(
                "{}: none of its issuing certificates signed {}",
                ca.describe(),
                cert.tbs_certificate().subject()
            ))
        })
}

/// Certificates from PEM text (one or more `CERTIFICATE` blocks).
fn certificates_pem(pem: &[u8], from: &str) -> Result<Vec<Certificate>> {
    let certs = Certificate::load_pem_chain(pem)
        .map_err(|e| Error::Ca(format!("CA certificates from {from}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Ca(format!("{from} sent no CA certificate")));
    }
    Ok(certs)
}

#[cfg(feature = "local-ca")]
pub use local::{LocalCa, PublishedLocalCa};

#[cfg(feature = "local-ca")]
mod local {
    use std::path::Path;

    use super::*;

    fn ca_err(e: impl std::fmt::Display) -> Error {
        Error::Ca(e.to_string())
    }

    fn open_err(dir: &Path) -> impl Fn(tamga_ca::Error) -> Error + '_ {
        move |e| Error::Ca(format!("{}: {e}", dir.display()))
    }

    /// A CA directory on this machine, opened with its key.
    pub struct LocalCa {
        ca: tamga_ca::Ca,
        actor: String,
    }

    impl LocalCa {
        /// Open the CA directory `dir` (made by `tamga-ca init`); `actor` is
        /// recorded in the CA's audit table.
        pub fn open(dir: &Path, actor: &str) -> Result<Self> {
            let ca = tamga_ca::Ca::open(dir).map_err(open_err(dir))?;
            Ok(LocalCa {
                ca,
                actor: actor.to_string(),
            })
        }

        /// The underlying CA.
        pub fn ca(&self) -> &tamga_ca::Ca {
            &self.ca
        }
    }

    impl CaClient for LocalCa {
        fn issue(&self, app: &Application) -> Result<Issued> {
            self.ca.issue(app, &self.actor).map_err(ca_err)
        }
        fn renew(&self, req: &RenewRequest) -> Result<Vec<Issued>> {
            self.ca.renew(req, &self.actor).map_err(ca_err)
        }
        fn confirm(&self, serials: &[Serial]) -> Result<Vec<Confirmed>> {
            self.ca.confirm(serials, &self.actor).map_err(ca_err)
        }
        fn record(&self, serial: &Serial) -> Result<CertRecord> {
            self.ca.show(serial).map_err(ca_err)
        }
        fn revoke(&self, serial: &Serial, reason: RevocationReason) -> Result<()> {
            self.ca
                .revoke(serial, reason, &self.actor)
                .map(|_| ())
                .map_err(ca_err)
        }
        fn current_crl(&self, issuer: &Certificate) -> Result<Vec<u8>> {
            let issuer = self.ca.issuer(&issuer_id(issuer)?).map_err(ca_err)?;
            self.ca
                .current_issuer_crl(issuer, &self.actor)
                .map_err(ca_err)
        }
        fn issue_crl(&self, issuer: &Certificate) -> Result<Vec<u8>> {
            let issuer = self.ca.issuer(&issuer_id(issuer)?).map_err(ca_err)?;
            self.ca
                .issuer_crl(issuer, &self.actor)
                .map(|(_, der)| der)
                .map_err(ca_err)
        }
        fn ca_certificates(&self) -> Result<Vec<Certificate>> {
            Ok(self
                .ca
                .issuers()
                .iter()
                .map(|i| i.certificate().clone())
                .collect())
        }
        fn describe(&self) -> String {
            format!("CA {}", self.ca.dir().display())
        }
    }

    /// A CA directory on this machine read without its key: its certificate,
    /// records and published CRL; nothing is written, every change is refused.
    pub struct PublishedLocalCa {
        ca: tamga_ca::PublishedCa,
        dir: String,
    }

    impl PublishedLocalCa {
        /// Open the CA directory `dir` read-only (`ca.key` is not read).
        pub fn open(dir: &Path) -> Result<Self> {
            let ca = tamga_ca::PublishedCa::open(dir).map_err(open_err(dir))?;
            Ok(PublishedLocalCa {
                ca,
                dir: dir.display().to_string(),
            })
        }

        fn refused<T>(&self, what: &str) -> Result<T> {
            Err(Error::Ca(format!(
                "CA {} is open read-only: cannot {what}",
                self.dir
            )))
        }
    }

    impl CaClient for PublishedLocalCa {
        fn issue(&self, _: &Application) -> Result<Issued> {
            self.refused("issue")
        }
        fn renew(&self, _: &RenewRequest) -> Result<Vec<Issued>> {
            self.refused("renew")
        }
        fn confirm(&self, _: &[Serial]) -> Result<Vec<Confirmed>> {
            self.refused("confirm")
        }
        fn record(&self, serial: &Serial) -> Result<CertRecord> {
            self.ca.show(serial).map_err(ca_err)
        }
        fn revoke(&self, _: &Serial, _: RevocationReason) -> Result<()> {
            self.refused("revoke")
        }
        fn current_crl(&self, issuer: &Certificate) -> Result<Vec<u8>> {
            self.ca
                .current_crl(&issuer_id(issuer)?)
                .map_err(|e| Error::Ca(format!("CA {}: {e}", self.dir)))
        }
        fn issue_crl(&self, _: &Certificate) -> Result<Vec<u8>> {
            self.refused("issue a CRL")
        }
        fn ca_certificates(&self) -> Result<Vec<Certificate>> {
            Ok(self.ca.certificates().cloned().collect())
        }
        fn describe(&self) -> String {
            format!("CA {} (read-only)", self.dir)
        }
    }
}

/// Largest answer read from a remote CA.
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// A `tamga-ca serve` reached over `http://` (loopback or a trusted network) or
/// `https://` (server certificate checked against the web PKI roots).
pub struct RemoteCa {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl RemoteCa {
    /// `url` as `http://HOST:PORT` or `https://HOST[:PORT]`; `token` is the
    /// operator token, if the server wants one.
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::Invalid(format!(
                "{url}: a CA URL starts with http:// or https://"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(RemoteCa {
            base: url.trim_end_matches('/').to_string(),
            token,
            agent,
        })
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>> {
        let url = format!("{}{path}", self.base);
        let unreachable =
            |e: ureq::Error| Error::Ca(format!("CA at {} unreachable: {e}", self.base));
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut resp = match method {
            "GET" => {
                let mut r = self.agent.get(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            _ => {
                let mut r = self.agent.post(&url);
                if let Some(a) = &auth {
                    r = r.header("Authorization", a);
                }
                match body {
                    Some(b) => r.content_type("application/json").send(b),
                    None => r.send_empty(),
                }
            }
        }
        .map_err(unreachable)?;
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .map_err(unreachable)?;
        if code == 200 {
            return Ok(body);
        }
        let msg = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(Error::Ca(format!("CA answered {code}: {msg}")))
    }

    fn json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T> {
        serde_json::from_slice(bytes)
            .map_err(|e| Error::Ca(format!("malformed answer from the CA: {e}")))
    }

    fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T> {
        let body = serde_json::to_vec(body).map_err(|e| Error::Ca(e.to_string()))?;
        Self::json(&self.request("POST", path, Some(&body))?)
    }
}

/// The DER of a certificate PEM from the CA.
fn pem_der(pem: &str) -> Result<Vec<u8>> {
    let (_, der) = pem_rfc7468::decode_vec(pem.as_bytes())
        .map_err(|e| Error::Ca(format!("certificate PEM from the CA: {e}")))?;
    Ok(der)
}

fn with_der(mut i: Issued) -> Result<Issued> {
    i.der = pem_der(&i.certificate)?;
    Ok(i)
}

impl CaClient for RemoteCa {
    fn issue(&self, app: &Application) -> Result<Issued> {
        with_der(self.post_json("/issue", app)?)
    }
    fn renew(&self, req: &RenewRequest) -> Result<Vec<Issued>> {
        #[derive(serde::Deserialize)]
        struct Renewed {
            certificates: Vec<Issued>,
        }
        let v: Renewed = self.post_json("/renew", req)?;
        v.certificates.into_iter().map(with_der).collect()
    }
    fn confirm(&self, serials: &[Serial]) -> Result<Vec<Confirmed>> {
        #[derive(serde::Deserialize)]
        struct Answer {
            confirmed: Vec<Confirmed>,
        }
        let req = ConfirmRequest {
            serials: serials.iter().map(Serial::to_string).collect(),
        };
        let v: Answer = self.post_json("/confirm", &req)?;
        Ok(v.confirmed)
    }
    fn record(&self, serial: &Serial) -> Result<CertRecord> {
        #[derive(serde::Deserialize)]
        struct Answer {
            record: CertRecord,
            certificate: String,
        }
        // A Serial is hex only: safe in the URL path.
        let path = format!("/certificates/{serial}");
        let mut v: Answer = Self::json(&self.request("GET", &path, None)?)?;
        v.record.der = pem_der(&v.certificate)?;
        Ok(v.record)
    }
    fn revoke(&self, serial: &Serial, reason: RevocationReason) -> Result<()> {
        let body = serde_json::json!({"serial": serial, "reason": reason});
        let body = serde_json::to_vec(&body).map_err(|e| Error::Ca(e.to_string()))?;
        self.request("POST", "/revoke", Some(&body)).map(|_| ())
    }
    fn current_crl(&self, issuer: &Certificate) -> Result<Vec<u8>> {
        // A key id is hex only: safe in the URL path.
        self.request("GET", &format!("/crl/{}", issuer_id(issuer)?), None)
    }
    fn issue_crl(&self, issuer: &Certificate) -> Result<Vec<u8>> {
        self.request("POST", &format!("/crl/{}", issuer_id(issuer)?), None)
    }
    fn ca_certificates(&self) -> Result<Vec<Certificate>> {
        certificates_pem(&self.request("GET", "/ca.pem", None)?, &self.describe())
    }
    fn describe(&self) -> String {
        format!("CA {}", self.base)
    }
    fn preflight(&self) -> Result<()> {
        self.request("GET", "/operator", None).map(|_| ())
    }
}
