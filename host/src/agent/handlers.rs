//! The methods: `kz.gov.pki.knca.commonUtils` (positional arguments) and
//! `kz.gov.pki.knca.basics` `sign` (named arguments), on the card.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::keys::{self, Wanted};
use super::locale::Locale;
use super::protocol::{BASICS, COMMON_UTILS, Failure, Request, basics_reply, common_reply};
use super::token::{Key, STORAGE, Timing, Token};
use crate::cms::Content;
use crate::error::Error;

/// Largest decoded document the agent signs (NCALayer has no published limit).
pub const MAX_DOCUMENT: usize = 64 * 1024 * 1024;

/// Most documents in one request.
pub const MAX_DOCUMENTS: usize = 100;

/// Who asks, in what language.
#[derive(Debug, Clone)]
pub struct Session {
    /// The page's origin (the WebSocket handshake's Origin header).
    pub origin: Option<String>,
    /// The dialog language (`changeLocale`, `locale`).
    pub locale: Locale,
    /// Where the last request's time went (dialog, card).
    pub timing: Timing,
    /// Whether the person let this connection's page read the certificate.
    pub shared: bool,
}

type Outcome = std::result::Result<Value, Failure>;

/// A crate error as a failure the page can show.
fn failure(e: Error) -> Failure {
    match e {
        Error::PinBlocked => Failure::signing(
            "the PIN is blocked: unblock it with the PUK (tamga pin unblock) at a service centre",
        ),
        other => Failure::signing(other.to_string()),
    }
}

/// NCALayer's message for arguments of the wrong type.
fn mismatch(method: &str) -> Failure {
    Failure::invocation(format!("argument type mismatch. Method: {method}"))
}

/// keyType: SIGNATURE → 9C, AUTHENTICATION → 9A, anything else → either (9C first).
fn pick(keys: Vec<Key>, key_type: &str) -> Result<Key, Failure> {
    let want = match key_type {
        "SIGNATURE" => Some(tamga_spec::KeyRef::Signature),
        "AUTHENTICATION" => Some(tamga_spec::KeyRef::Authentication),
        _ => None,
    };
    keys.into_iter()
        .find(|k| want.is_none_or(|w| k.slot == w))
        .ok_or_else(|| {
            Failure::signing(match want {
                Some(tamga_spec::KeyRef::Authentication) => {
                    "the card holds no authentication (9A) certificate"
                }
                Some(_) => "the card holds no signature (9C) certificate",
                None => "the card holds no NCA certificate",
            })
        })
}

/// The person's consent and the card's signature over each document.
struct Job<'a> {
    token: &'a Token,
    session: &'a mut Session,
    key: &'a Key,
    /// "CMS" or "XML".
    format: &'static str,
}

impl Job<'_> {
    /// Asks the PIN once for all `docs` and signs each with `sign`.
    fn run<D>(
        &mut self,
        docs: &[D],
        sign: impl Fn(
            &crate::signer::CardSigner<'_, Box<dyn crate::transport::Transport>>,
            &D,
        ) -> crate::Result<Value>,
    ) -> Result<Vec<Value>, Failure> {
        let t = self.session.locale.texts();
        let description = t.describe(
            self.session.origin.as_deref(),
            &keys::holder(&self.key.cert),
            docs.len(),
            self.format,
        );
        let done = self
            .token
            .sign(
                self.key,
                t.title,
                &description,
                |n| t.wrong_pin(n),
                &mut self.session.timing,
                |signer| docs.iter().map(|d| sign(signer, d)).collect(),
            )
            .map_err(failure)?;
        done.ok_or(Failure::Cancelled)
    }
}

fn cms_sign(
    signer: &crate::signer::CardSigner<'_, Box<dyn crate::transport::Transport>>,
    key: &Key,
    content: Content<'_>,
) -> crate::Result<Vec<u8>> {
    crate::cms::sign_content(signer, &key.cert, content)
}

/// Signs XML documents with `key` under one PIN: each is parsed and checked
/// before the dialog opens, so that a document that cannot be signed is
/// refused without asking for the PIN.
fn sign_xml(
    token: &Token,
    session: &mut Session,
    key: &Key,
    docs: &[&str],
) -> Result<Vec<Value>, Failure> {
    for (i, d) in docs.iter().enumerate() {
        if d.len() > MAX_DOCUMENT {
            return Err(Failure::invocation("the document is too large"));
        }
        tamga_pki::xmldsig::prepare(d, &key.cert).map_err(|e| {
            Failure::invocation(if docs.len() == 1 {
                e.to_string()
            } else {
                format!("document {}: {e}", i + 1)
            })
        })?;
    }
    let mut job = Job {
        token,
        session,
        key,
        format: "XML",
    };
    job.run(docs, |signer, d| {
        Ok(json!(crate::xml::sign(signer, &key.cert, d)?))
    })
}

/// Base64 text of a document, decoded, within [`MAX_DOCUMENT`].
fn decode(data: &str) -> Result<Vec<u8>, Failure> {
    let clean: String = data.chars().filter(|c| !c.is_whitespace()).collect();
    if clean.len() / 4 * 3 > MAX_DOCUMENT {
        return Err(Failure::invocation(format!(
            "the document is larger than {} MiB",
            MAX_DOCUMENT >> 20
        )));
    }
    B64.decode(clean.as_bytes())
        .map_err(|e| Failure::invocation(format!("the data is not Base64: {e}")))
}

/// commonUtils.
fn common_utils(token: &Token, session: &mut Session, method: &str, args: &Value) -> Outcome {
    let empty = Vec::new();
    let a = match args {
        Value::Array(a) => a,
        Value::Null => &empty,
        _ => return Err(mismatch(method)),
    };
    let text = |i: usize| a.get(i).and_then(Value::as_str);
    let storage = |i: usize| -> Result<(), Failure> {
        match text(i) {
            Some(STORAGE) => Ok(()),
            Some(other) => Err(Failure::signing(format!(
                "storage {other} is not available: tamga agent serves the card ({STORAGE})"
            ))),
            None => Err(mismatch(method)),
        }
    };
    match method {
        "getActiveTokens" => Ok(json!(if token.present() {
            vec![STORAGE]
        } else {
            vec![]
        })),
        "getKeyInfo" => {
            storage(0)?;
            let key = pick(token.keys(&mut session.timing).map_err(failure)?, "")?;
            // The holder's name and IIN go to the page only with the person's
            // consent, once per connection (NCALayer shows a key chooser here).
            if !session.shared {
                let t = session.locale.texts();
                let text = t.share(session.origin.as_deref(), &keys::holder(&key.cert));
                if !token
                    .consent(t.title, &text, t.share_buttons(), &mut session.timing)
                    .map_err(failure)?
                {
                    return Err(Failure::Cancelled);
                }
                session.shared = true;
            }
            Ok(keys::key_info(&key))
        }
        "changeLocale" => {
            let l = text(0).ok_or_else(|| mismatch(method))?;
            session.locale = Locale::parse(l);
            Ok(Value::Null)
        }
        "createCAdESFromBase64" | "createCAdESFromBase64Hash" => {
            storage(0)?;
            let key_type = text(1).ok_or_else(|| mismatch(method))?;
            let data = decode(text(2).ok_or_else(|| mismatch(method))?)?;
            let attach = match a.get(3) {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(mismatch(method)),
            };
            let key = pick(token.keys(&mut session.timing).map_err(failure)?, key_type)?;
            let hash = method.ends_with("Hash");
            let mut job = Job {
                token,
                session,
                key: &key,
                format: "CMS",
            };
            let mut out = job.run(&[data], |signer, d| {
                let content = match (hash, attach) {
                    (true, _) => Content::Digest(d),
                    (false, true) => Content::Attached(d),
                    (false, false) => Content::Detached(d),
                };
                Ok(json!(B64.encode(cms_sign(signer, &key, content)?)))
            })?;
            Ok(out.pop().unwrap_or(Value::Null))
        }
        "createCMSSignatureFromBase64" => Err(Failure::signing(
            "createCMSSignatureFromBase64 adds a timestamp, and tamga agent has no timestamp \
             authority yet: use createCAdESFromBase64",
        )),
        "signXml" | "signXmls" => {
            storage(0)?;
            let key_type = text(1).ok_or_else(|| mismatch(method))?;
            let docs: Vec<&str> = match (method, a.get(2)) {
                ("signXml", Some(Value::String(x))) => vec![x.as_str()],
                ("signXmls", Some(Value::Array(list))) => list
                    .iter()
                    .map(|x| x.as_str().ok_or_else(|| mismatch(method)))
                    .collect::<Result<_, _>>()?,
                _ => return Err(mismatch(method)),
            };
            for i in [3, 4] {
                match a.get(i) {
                    None | Some(Value::Null) => {}
                    Some(Value::String(x)) if x.is_empty() => {}
                    Some(Value::String(_)) => {
                        return Err(Failure::signing(
                            "signing part of a document (tbsElementXPath, \
                             signatureParentElementXPath) is not supported yet: give \"\" for both",
                        ));
                    }
                    Some(_) => return Err(mismatch(method)),
                }
            }
            let key = pick(token.keys(&mut session.timing).map_err(failure)?, key_type)?;
            let out = sign_xml(token, session, &key, &docs)?;
            Ok(if method == "signXml" {
                out.into_iter().next().unwrap_or(Value::Null)
            } else {
                Value::Array(out)
            })
        }
        other => Err(Failure::invocation(format!(
            "unknown method {other} of {COMMON_UTILS}"
        ))),
    }
}

/// A boolean that NCA's example page may send as "true"/"false".
fn flag(v: Option<&Value>, default: bool, name: &str) -> Result<bool, Failure> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(_) => Err(Failure::invocation(format!(
            "signingParams.{name} is not a boolean"
        ))),
    }
}

/// Whether `allowedStorages` (null, absent, an array, or a comma string) admits the card.
fn storage_allowed(v: Option<&Value>) -> Result<bool, Failure> {
    Ok(match v {
        None | Some(Value::Null) => true,
        Some(Value::Array(list)) => {
            list.is_empty() || list.iter().any(|s| s.as_str() == Some(STORAGE))
        }
        Some(Value::String(s)) => s.split(',').any(|p| p.trim() == STORAGE) || s.trim().is_empty(),
        Some(_) => return Err(Failure::invocation("allowedStorages is not an array")),
    })
}

/// basics.sign.
fn basics_sign(token: &Token, session: &mut Session, args: &Value) -> Outcome {
    let args = args
        .as_object()
        .ok_or_else(|| Failure::invocation("args is not an object"))?;
    if !storage_allowed(args.get("allowedStorages"))? {
        return Err(Failure::signing(format!(
            "none of the allowed storages is served by tamga agent: it serves the card ({STORAGE})"
        )));
    }
    if let Some(l) = args.get("locale").and_then(Value::as_str) {
        session.locale = Locale::parse(l);
    }
    let format = args.get("format").and_then(Value::as_str).unwrap_or("");
    let (array, docs): (bool, Vec<&str>) = match args.get("data") {
        Some(Value::String(s)) => (false, vec![s.as_str()]),
        Some(Value::Array(list)) => (
            true,
            list.iter()
                .map(|d| {
                    d.as_str()
                        .ok_or_else(|| Failure::invocation("data holds a non-string"))
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(Failure::invocation("data is neither a string nor an array")),
    };
    if docs.is_empty() || docs.len() > MAX_DOCUMENTS {
        return Err(Failure::invocation(format!(
            "between 1 and {MAX_DOCUMENTS} documents"
        )));
    }
    let params = match args.get("signingParams") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(Failure::invocation("signingParams is not an object")),
    };
    let wanted = Wanted::parse(args.get("signerParams").unwrap_or(&Value::Null))
        .map_err(Failure::invocation)?;
    let keys = token.keys(&mut session.timing).map_err(failure)?;
    if keys.is_empty() {
        return Err(Failure::signing("the card holds no NCA certificate"));
    }
    let mut reasons = Vec::new();
    let key = keys
        .into_iter()
        .find(|k| match wanted.refuses(&k.cert) {
            None => true,
            Some(why) => {
                reasons.push(format!("{:02X}: {why}", k.slot.to_u8()));
                false
            }
        })
        .ok_or_else(|| {
            Failure::signing(format!(
                "no certificate on the card fits signerParams ({})",
                reasons.join("; ")
            ))
        })?;
    match format {
        "cms" => {
            if params.get("tsaProfile").is_some_and(|t| !t.is_null()) {
                return Err(Failure::signing(
                    "a timestamp was asked for (tsaProfile), and tamga agent has no timestamp \
                     authority yet: sign without tsaProfile",
                ));
            }
            let decode_data = flag(params.get("decode"), true, "decode")?;
            let encapsulate = flag(params.get("encapsulate"), true, "encapsulate")?;
            let digested = flag(params.get("digested"), false, "digested")?;
            let bytes: Vec<Vec<u8>> = docs
                .iter()
                .map(|d| {
                    if decode_data || digested {
                        decode(d)
                    } else if d.len() > MAX_DOCUMENT {
                        Err(Failure::invocation("the document is too large"))
                    } else {
                        Ok(d.as_bytes().to_vec())
                    }
                })
                .collect::<Result<_, _>>()?;
            let mut job = Job {
                token,
                session,
                key: &key,
                format: "CMS",
            };
            let out = job.run(&bytes, |signer, d| {
                let content = match (digested, encapsulate) {
                    (true, _) => Content::Digest(d),
                    (false, true) => Content::Attached(d),
                    (false, false) => Content::Detached(d),
                };
                let der = cms_sign(signer, &key, content)?;
                let pem = pem_rfc7468::encode_string("CMS", pem_rfc7468::LineEnding::LF, &der)
                    .map_err(|e| Error::Invalid(e.to_string()))?;
                Ok(json!(pem))
            })?;
            // Since late 2024 NCALayer answers an array; the client takes
            // element 0 for one document, so an array is right either way.
            let _ = array;
            Ok(Value::Array(out))
        }
        // Always an array of signed documents, as NCALayer answers.
        "xml" => Ok(Value::Array(sign_xml(token, session, &key, &docs)?)),
        other => Err(Failure::invocation(format!(
            "format {other:?}: tamga agent signs cms and xml"
        ))),
    }
}

/// Answers one request.
pub fn handle(token: &Token, session: &mut Session, req: &Request) -> Value {
    session.timing = Timing::default();
    match req.module.as_str() {
        COMMON_UTILS => common_reply(common_utils(token, session, &req.method, &req.args)),
        BASICS if req.method == "sign" => basics_reply(basics_sign(token, session, &req.args)),
        BASICS => basics_reply(Err(Failure::invocation(format!(
            "unknown method {} of {BASICS}",
            req.method
        )))),
        _ => super::protocol::module_not_found(),
    }
}

/// The refusal for a page whose origin is not allowed, in its module's shape.
pub fn refuse_origin(req: &Request, origin: &str) -> Value {
    let message = format!(
        "{origin} may not use tamga agent: allow it with tamga agent --allow-origin {origin}"
    );
    match req.module.as_str() {
        COMMON_UTILS => common_reply(Err(Failure::signing(message))),
        BASICS => basics_reply(Err(Failure::Error {
            code: "ORIGIN_NOT_ALLOWED",
            message,
        })),
        _ => super::protocol::module_not_found(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_storages_in_every_form() {
        assert!(storage_allowed(None).unwrap());
        assert!(storage_allowed(Some(&Value::Null)).unwrap());
        assert!(storage_allowed(Some(&json!(["PKCS12", "AKKZIDCardStore"]))).unwrap());
        assert!(!storage_allowed(Some(&json!(["PKCS12"]))).unwrap());
        assert!(storage_allowed(Some(&json!("PKCS12, AKKZIDCardStore"))).unwrap());
        assert!(!storage_allowed(Some(&json!("PKCS12,JKS"))).unwrap());
        assert!(storage_allowed(Some(&json!(7))).is_err());
    }

    #[test]
    fn flags_as_booleans_or_strings() {
        assert!(flag(Some(&json!("true")), false, "x").unwrap());
        assert!(!flag(Some(&json!(false)), true, "x").unwrap());
        assert!(flag(None, true, "x").unwrap());
        assert!(flag(Some(&json!("yes")), true, "x").is_err());
    }

    #[test]
    fn oversized_base64_is_refused_before_decoding() {
        let big = "A".repeat(MAX_DOCUMENT / 3 * 4 + 8);
        assert!(matches!(decode(&big), Err(Failure::Error { .. })));
        assert_eq!(decode("MTEK").ok(), Some(b"11\n".to_vec()));
        assert!(decode("!!").is_err());
    }
}
