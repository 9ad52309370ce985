//! HTTP API for the `tamga` CLI's remote mode.
//!
//! | method, path | auth | body | answer |
//! | --- | --- | --- | --- |
//! | GET /ca.pem | no | | every issuing key's certificate, PEM, the first one first |
//! | GET /issuers | no | | `{"issuers": [{"id", "algorithm", "certificate"}…]}` |
//! | GET /crl | no | | the first issuing key's current CRL, DER |
//! | GET /crl/ISSUER | no | | that issuing key's current CRL, DER |
//! | POST /crl | token | | new CRLs for every issuing key; the first one's, DER |
//! | POST /crl/ISSUER | token | | a new CRL of that issuing key, DER |
//! | POST /issue | token | [`Application`] JSON | [`Issued`](crate::Issued) JSON |
//! | POST /renew | token | [`RenewRequest`] JSON | `{"certificates": [Issued…]}` |
//! | POST /confirm | token | [`ConfirmRequest`] JSON | `{"confirmed": [Confirmed…]}` |
//! | POST /revoke | token | `{"serial": "…", "reason": "owner-request"}` | the record |
//! | GET /certificates/SERIAL | token | | the record and PEM |
//! | GET /operator | token | | `{"authorized": true}`: the token is good (a client's pre-flight) |
//!
//! A renewal leaves the replaced certificates valid; `POST /confirm` with the new serials,
//! once they are on the card, supersedes them ([`Ca::confirm`]).
//!
//! ISSUER is the issuing key's key id (hex, the AKI of what it signed), its
//! algorithm (`gost2015`) or `gost`.
//!
//! Errors are `{"error": "one line"}` with 400, 401, 404, 405, 409, 413 or 500.
//! The operator token is sent as `Authorization: Bearer TOKEN`.

use crate::{Application, Ca, ConfirmRequest, Error, RenewRequest, Result, RevocationReason};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tiny_http::{Header, Method, Request, Response, Server};

/// Options of `serve`.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: String,
    /// File with the operator token (at least 16 characters).
    pub token_file: PathBuf,
    /// Allow a non-loopback address.
    pub allow_remote: bool,
    /// Largest request body.
    pub max_body: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    serial: String,
    reason: RevocationReason,
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Reply {
    fn json(v: &impl serde::Serialize) -> Result<Reply> {
        let body = serde_json::to_vec(v).map_err(Error::json)?;
        Ok(Reply {
            status: 200,
            content_type: "application/json",
            body,
        })
    }
    fn error(status: u16, msg: &str) -> Reply {
        let body = serde_json::json!({ "error": msg }).to_string().into_bytes();
        Reply {
            status,
            content_type: "application/json",
            body,
        }
    }
}

struct Api {
    ca: Ca,
    token: Vec<u8>,
    max_body: usize,
}

impl Api {
    fn authorized(&self, req: &Request) -> bool {
        req.headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .and_then(|h| h.value.as_str().strip_prefix("Bearer "))
            .is_some_and(|t| bool::from(t.trim().as_bytes().ct_eq(&self.token)))
    }

    fn body(&self, req: &mut Request) -> Result<Vec<u8>> {
        if req.body_length().is_some_and(|n| n > self.max_body) {
            return Err(Error::too_large(self.max_body));
        }
        let mut buf = Vec::new();
        req.as_reader()
            .take(self.max_body as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("request body", e))?;
        if buf.len() > self.max_body {
            return Err(Error::too_large(self.max_body));
        }
        Ok(buf)
    }

    /// The issuing key named after `/crl/` (a 404 when there is none).
    fn issuer(&self, url: &str) -> Result<&crate::Issuer> {
        self.ca.issuer(&url["/crl/".len()..])
    }

    fn handle(&self, req: &mut Request) -> Result<Reply> {
        let url = req.url().split('?').next().unwrap_or("").to_string();
        let method = req.method().clone();
        match (&method, url.as_str()) {
            (Method::Get, "/ca.pem") => {
                return Ok(Reply {
                    status: 200,
                    content_type: "application/x-pem-file",
                    body: self.ca.certificates_pem()?.into_bytes(),
                });
            }
            (Method::Get, "/issuers") => {
                let list = self
                    .ca
                    .issuers()
                    .iter()
                    .map(|i| {
                        Ok(serde_json::json!({
                            "id": i.id(),
                            "algorithm": i.algorithm().map(|a| a.as_str()),
                            "certificate": i.certificate_pem()?,
                        }))
                    })
                    .collect::<Result<Vec<_>>>()?;
                return Reply::json(&serde_json::json!({ "issuers": list }));
            }
            (Method::Get, "/crl") => return Ok(crl_reply(self.ca.current_crl("http")?)),
            (Method::Get, u) if u.starts_with("/crl/") => {
                let issuer = self.issuer(u)?;
                return Ok(crl_reply(self.ca.current_issuer_crl(issuer, "http")?));
            }
            _ => {}
        }
        let known = matches!(
            url.as_str(),
            "/issue" | "/renew" | "/confirm" | "/revoke" | "/crl" | "/operator"
        ) || url.starts_with("/certificates/")
            || url.starts_with("/crl/");
        if !known {
            return Ok(Reply::error(404, "no such endpoint"));
        }
        if !self.authorized(req) {
            return Err(Error::Unauthorized);
        }
        match (method, url.as_str()) {
            (Method::Post, "/issue") => {
                let app = Application::from_json(&self.body(req)?)?;
                Reply::json(&self.ca.issue(&app, "http")?)
            }
            (Method::Post, "/renew") => {
                let r = RenewRequest::from_json(&self.body(req)?)?;
                Reply::json(&serde_json::json!({ "certificates": self.ca.renew(&r, "http")? }))
            }
            (Method::Post, "/confirm") => {
                let r = ConfirmRequest::from_json(&self.body(req)?)?;
                Reply::json(
                    &serde_json::json!({ "confirmed": self.ca.confirm(&r.serials, "http")? }),
                )
            }
            (Method::Post, "/revoke") => {
                let b: RevokeBody =
                    serde_json::from_slice(&self.body(req)?).map_err(Error::json)?;
                Reply::json(&self.ca.revoke(&b.serial, b.reason, "http")?)
            }
            (Method::Post, "/crl") => {
                let mut all = self.ca.crls("http")?;
                Ok(crl_reply(all.swap_remove(0).1))
            }
            (Method::Post, u) if u.starts_with("/crl/") => {
                let issuer = self.issuer(u)?;
                Ok(crl_reply(self.ca.issuer_crl(issuer, "http")?.1))
            }
            (Method::Get, "/operator") => Reply::json(&serde_json::json!({ "authorized": true })),
            (Method::Get, u) if u.starts_with("/certificates/") => {
                let row = self.ca.show(&u["/certificates/".len()..])?;
                let pem = crate::ca::pem(&row.der, "CERTIFICATE")?;
                Reply::json(&serde_json::json!({ "record": row, "certificate": pem }))
            }
            _ => Ok(Reply::error(405, "method not allowed")),
        }
    }
}

fn crl_reply(der: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        content_type: "application/pkix-crl",
        body: der,
    }
}

fn respond(req: Request, reply: Reply) {
    let header = Header::from_bytes(&b"Content-Type"[..], reply.content_type.as_bytes())
        .unwrap_or_else(|_| {
            Header::from_bytes(&b"Content-Type"[..], &b"text/plain"[..]).expect("static header")
        });
    let resp = Response::from_data(reply.body)
        .with_status_code(reply.status)
        .with_header(header);
    // A client that went away is not our problem.
    let _ = req.respond(resp);
}

/// Binds and serves until the process ends. Prints `listening on ADDR` once bound.
pub fn serve(ca: Ca, opts: &ServeOptions) -> Result<()> {
    let addr: SocketAddr = opts
        .listen
        .parse()
        .map_err(|_| Error::Config(format!("listen address {:?} is not IP:PORT", opts.listen)))?;
    if !addr.ip().is_loopback() && !opts.allow_remote {
        return Err(Error::Config(format!(
            "{addr} is not a loopback address (use --allow-remote)"
        )));
    }
    let token =
        std::fs::read_to_string(&opts.token_file).map_err(|e| Error::io(&opts.token_file, e))?;
    let token = token.trim().as_bytes().to_vec();
    if token.len() < 16 {
        return Err(Error::Config(
            "operator token must have at least 16 characters".into(),
        ));
    }
    let server =
        Server::http(addr).map_err(|e| Error::Config(format!("cannot listen on {addr}: {e}")))?;
    let bound = server
        .server_addr()
        .to_ip()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("listening on {bound}");
    let server = Arc::new(server);
    let api = Arc::new(Api {
        ca,
        token,
        max_body: opts.max_body,
    });
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let server = Arc::clone(&server);
            let api = Arc::clone(&api);
            std::thread::spawn(move || {
                while let Ok(mut req) = server.recv() {
                    let reply = match api.handle(&mut req) {
                        Ok(r) => r,
                        Err(e) => Reply::error(e.http_status(), &e.to_string()),
                    };
                    eprintln!(
                        "{} {} -> {}",
                        req.method(),
                        req.url().split('?').next().unwrap_or(""),
                        reply.status
                    );
                    respond(req, reply);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    Ok(())
}
