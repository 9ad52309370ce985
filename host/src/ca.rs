//! The certification authority behind enrolment: a local `tamga-ca` directory
//! or a remote `tamga-ca serve`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use tamga_ca::store::CertRow;
use tamga_ca::{Application, ConfirmRequest, Confirmed, Issued, RenewRequest, RevocationReason};

use crate::error::{Error, Result};

/// What enrolment needs from a CA.
pub trait CaClient {
    /// Issue a certificate for an application (idempotent).
    fn issue(&self, app: &Application) -> Result<Issued>;
    /// Renew certificates with a request signed by the holder's current key; the
    /// replaced certificates stay valid until [`CaClient::confirm`].
    fn renew(&self, req: &RenewRequest) -> Result<Vec<Issued>>;
    /// Confirm renewed certificates (by serial) once they are on the card: the CA
    /// supersedes their predecessors (idempotent).
    fn confirm(&self, serials: &[String]) -> Result<Vec<Confirmed>>;
    /// The CA's record of a certificate (with its DER).
    fn record(&self, serial: &str) -> Result<CertRow>;
    /// Revoke a certificate.
    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<()>;
    /// The current CRL (DER).
    fn crl(&self) -> Result<Vec<u8>>;
    /// The CA certificate (PEM).
    fn ca_certificate(&self) -> Result<String>;
    /// Where the CA is, for messages.
    fn describe(&self) -> String;
}

fn ca_err(e: impl std::fmt::Display) -> Error {
    Error::Ca(e.to_string())
}

/// A CA directory on this machine.
pub struct LocalCa {
    ca: tamga_ca::Ca,
    actor: String,
}

impl LocalCa {
    /// Open the CA directory `dir` (made by `tamga-ca init`); `actor` is
    /// recorded in the CA's audit table.
    pub fn open(dir: &Path, actor: &str) -> Result<Self> {
        let ca =
            tamga_ca::Ca::open(dir).map_err(|e| Error::Ca(format!("{}: {e}", dir.display())))?;
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
    fn confirm(&self, serials: &[String]) -> Result<Vec<Confirmed>> {
        self.ca.confirm(serials, &self.actor).map_err(ca_err)
    }
    fn record(&self, serial: &str) -> Result<CertRow> {
        self.ca.show(serial).map_err(ca_err)
    }
    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<()> {
        self.ca
            .revoke(serial, reason, &self.actor)
            .map(|_| ())
            .map_err(ca_err)
    }
    fn crl(&self) -> Result<Vec<u8>> {
        self.ca.crl(&self.actor).map(|(_, der)| der).map_err(ca_err)
    }
    fn ca_certificate(&self) -> Result<String> {
        self.ca.certificate_pem().map_err(ca_err)
    }
    fn describe(&self) -> String {
        format!("CA {}", self.ca.dir().display())
    }
}

/// A `tamga-ca serve` reached over HTTP (loopback or a trusted network).
pub struct RemoteCa {
    host: String,
    token: Option<String>,
}

impl RemoteCa {
    /// `url` as `http://HOST:PORT`; `token` is the operator token, if the server wants one.
    pub fn new(url: &str, token: Option<String>) -> Result<Self> {
        let host = url
            .strip_prefix("http://")
            .ok_or_else(|| Error::Invalid(format!("{url}: only http:// URLs are supported")))?
            .trim_end_matches('/')
            .to_string();
        Ok(RemoteCa { host, token })
    }

    fn request(&self, method: &str, path: &str, body: Option<&[u8]>) -> Result<Vec<u8>> {
        let unreachable =
            |e: std::io::Error| Error::Ca(format!("CA at http://{} unreachable: {e}", self.host));
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&self.host)
            .map_err(unreachable)?
            .next()
            .ok_or_else(|| Error::Ca(format!("CA host {} does not resolve", self.host)))?;
        let mut s =
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(unreachable)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(unreachable)?;
        let body = body.unwrap_or(&[]);
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.host,
            body.len()
        );
        if !body.is_empty() {
            head.push_str("Content-Type: application/json\r\n");
        }
        if let Some(t) = &self.token {
            head.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).map_err(unreachable)?;
        s.write_all(body).map_err(unreachable)?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).map_err(unreachable)?;
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| Error::Ca("malformed HTTP answer from the CA".into()))?;
        let head = String::from_utf8_lossy(&resp[..split]).into_owned();
        let body = resp[split + 4..].to_vec();
        let code: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| Error::Ca("malformed HTTP status from the CA".into()))?;
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
        let body = serde_json::to_vec(app).map_err(ca_err)?;
        with_der(Self::json(&self.request("POST", "/issue", Some(&body))?)?)
    }
    fn renew(&self, req: &RenewRequest) -> Result<Vec<Issued>> {
        let body = serde_json::to_vec(req).map_err(ca_err)?;
        #[derive(serde::Deserialize)]
        struct Renewed {
            certificates: Vec<Issued>,
        }
        let v: Renewed = Self::json(&self.request("POST", "/renew", Some(&body))?)?;
        v.certificates.into_iter().map(with_der).collect()
    }
    fn confirm(&self, serials: &[String]) -> Result<Vec<Confirmed>> {
        let req = ConfirmRequest {
            serials: serials.to_vec(),
        };
        let body = serde_json::to_vec(&req).map_err(ca_err)?;
        #[derive(serde::Deserialize)]
        struct Answer {
            confirmed: Vec<Confirmed>,
        }
        let v: Answer = Self::json(&self.request("POST", "/confirm", Some(&body))?)?;
        Ok(v.confirmed)
    }
    fn record(&self, serial: &str) -> Result<CertRow> {
        #[derive(serde::Deserialize)]
        struct Answer {
            record: CertRow,
            certificate: String,
        }
        // Hex only: the serial goes into the URL path.
        let serial = tamga_ca::parse_serial(serial).map_err(|e| Error::Invalid(e.to_string()))?;
        let path = format!("/certificates/{serial}");
        let mut v: Answer = Self::json(&self.request("GET", &path, None)?)?;
        v.record.der = pem_der(&v.certificate)?;
        Ok(v.record)
    }
    fn revoke(&self, serial: &str, reason: RevocationReason) -> Result<()> {
        let body = serde_json::to_vec(&serde_json::json!({"serial": serial, "reason": reason}))
            .map_err(ca_err)?;
        self.request("POST", "/revoke", Some(&body)).map(|_| ())
    }
    fn crl(&self) -> Result<Vec<u8>> {
        self.request("GET", "/crl", None)
    }
    fn ca_certificate(&self) -> Result<String> {
        String::from_utf8(self.request("GET", "/ca.pem", None)?).map_err(ca_err)
    }
    fn describe(&self) -> String {
        format!("CA http://{}", self.host)
    }
}
