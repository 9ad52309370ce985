//! Document and certificate lifecycle commands: sign, verify, revoke.

use std::path::{Path, PathBuf};

use der::{Decode, Encode};
use serde_json::json;
use tamga::signer::CardSigner;
use tamga::{Error, secrets};
use tamga_pki::{RevocationReason, Serial};
use tamga_spec::KeyRef;
use x509_cert::Certificate;

use super::card::Ctx;
use super::nca::CaArgs;

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

fn write(path: &Path, data: &[u8]) -> Result<(), Error> {
    std::fs::write(path, data).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// What `tamga sign` makes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignFormat {
    /// A detached CMS (PKCS#7) signature beside the file.
    #[default]
    Cms,
    /// The XML document with an enveloped XML signature (XMLDSig, as NCALayer's
    /// signXml), written to a new file.
    Xml,
}

/// `tamga sign` options.
#[derive(clap::Args, Debug)]
pub struct SignArgs {
    /// The file to sign (for --format xml: a UTF-8 XML document).
    file: PathBuf,
    /// cms: a detached signature (FILE.p7s); xml: the signed document
    /// (FILE.signed.xml, or NAME.signed.xml for NAME.xml).
    #[arg(long, value_enum, default_value_t = SignFormat::Cms)]
    format: SignFormat,
    /// Where to write the signature or the signed document.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write PEM instead of DER (cms only).
    #[arg(long)]
    pem: bool,
    /// Overwrite an existing signature or signed document (refused otherwise).
    #[arg(long)]
    force: bool,
    /// File holding the PIN (else TAMGA_PIN, else a prompt).
    #[arg(long)]
    pin_file: Option<PathBuf>,
}

impl SignArgs {
    /// The output path: --out, or the format's default beside the file.
    fn out(&self) -> PathBuf {
        if let Some(out) = &self.out {
            return out.clone();
        }
        match self.format {
            SignFormat::Cms => {
                let mut p = self.file.clone().into_os_string();
                p.push(".p7s");
                p.into()
            }
            SignFormat::Xml => {
                let xml = self
                    .file
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
                let mut p = if xml {
                    self.file.with_extension("").into_os_string()
                } else {
                    self.file.clone().into_os_string()
                };
                p.push(".signed.xml");
                p.into()
            }
        }
    }
}

/// `tamga sign FILE`: a detached CMS signature, or an enveloped XML signature
/// (`--format xml`), with the NCA signature key (9C).
pub fn sign(ctx: &Ctx, a: &SignArgs) -> Result<(), Error> {
    let content = read(&a.file)?;
    let out = a.out();
    if a.pem && a.format == SignFormat::Xml {
        return Err(Error::Invalid("--pem is for CMS signatures".into()));
    }
    // An existing signature is never replaced by accident.
    if out.exists() && !a.force {
        return Err(Error::Invalid(format!(
            "{} exists: give --force to overwrite it, or --out",
            out.display()
        )));
    }
    // XML: the document as text.
    let (content, xml) = match a.format {
        SignFormat::Cms => (content, None),
        SignFormat::Xml => {
            if a.pem {
                return Err(Error::Invalid("--pem is for CMS signatures".into()));
            }
            let text = String::from_utf8(content)
                .map_err(|_| Error::Invalid(format!("{}: not UTF-8 text", a.file.display())))?;
            (Vec::new(), Some(text))
        }
    };
    let pin = secrets::pin(a.pin_file.as_deref(), "TAMGA_PIN", "PIN")?;
    let mut piv = ctx.open()?;
    let serial = piv.serial()?;
    let der = piv.read_certificate(KeyRef::Signature)?.ok_or_else(|| {
        Error::Invalid("the card has no signature certificate (9C): enrol it first".into())
    })?;
    let cert = Certificate::from_der(&der).map_err(|_| Error::Malformed {
        op: "certificate 9C",
    })?;
    let key = piv
        .metadata(KeyRef::Signature)?
        .and_then(|m| m.public)
        .ok_or(Error::EmptySlot(KeyRef::Signature.to_u8()))?;
    let cert_key = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Error::Malformed {
            op: "certificate 9C",
        })?;
    if key.spki_der()? != cert_key {
        return Err(Error::Invalid(
            "the certificate in 9C is not for the key in 9C: enrol or renew the card".into(),
        ));
    }
    let made = (|| {
        let signer = CardSigner::new(&mut piv, KeyRef::Signature, &key, Some(&pin))?;
        Ok::<_, Error>(match &xml {
            Some(xml) => tamga::xml::sign(&signer, &cert, xml)?.into_bytes(),
            None => {
                let sig = tamga::cms::sign(&signer, &cert, &content)?;
                if a.pem {
                    pem_rfc7468::encode_string("CMS", pem_rfc7468::LineEnding::LF, &sig)
                        .map_err(|e| Error::Invalid(e.to_string()))?
                        .into_bytes()
                } else {
                    sig
                }
            }
        })
    })();
    // A refused signature is audited too: a wrong PIN is an attempt on the card.
    let bytes = match made {
        Ok(b) => b,
        Err(e) => {
            ctx.audit.record(
                "sign",
                Some(serial),
                match e {
                    Error::WrongPin(_) => "wrong PIN",
                    Error::PinBlocked => "PIN blocked",
                    _ => "failed",
                },
                json!({"file": a.file.display().to_string(), "error": e.to_string()}),
            );
            return Err(e);
        }
    };
    write(&out, &bytes)?;
    ctx.audit.record(
        "sign",
        Some(serial),
        "ok",
        json!({
            "file": a.file.display().to_string(),
            "format": if xml.is_some() { "xml" } else { "cms" },
            "signature": out.display().to_string(),
        }),
    );
    println!("signed {} -> {}", a.file.display(), out.display());
    Ok(())
}

/// `tamga verify` options.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The signed file.
    file: PathBuf,
    /// The detached signature (default: FILE.p7s), DER or PEM.
    #[arg(long)]
    signature: Option<PathBuf>,
    /// The CA certificates (PEM, one or more); default: those of --ca.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
}

/// `tamga verify FILE`.
pub fn verify(ctx: &Ctx, ca: &CaArgs, a: &VerifyArgs) -> Result<(), Error> {
    let content = read(&a.file)?;
    let sig_path = a.signature.clone().unwrap_or_else(|| {
        let mut p = a.file.clone().into_os_string();
        p.push(".p7s");
        p.into()
    });
    let mut sig = read(&sig_path)?;
    if sig.starts_with(b"-----BEGIN") {
        sig = pem_rfc7468::decode_vec(&sig)
            .map_err(|e| Error::Invalid(format!("{}: {e}", sig_path.display())))?
            .1;
    }
    let client = match (&a.ca_cert, ca.ca.is_some() || ca.ca_url.is_some()) {
        (_, true) => Some(ca.open_read_only()?),
        _ => None,
    };
    let cas = match (&a.ca_cert, &client) {
        (Some(p), _) => {
            let certs = Certificate::load_pem_chain(&read(p)?)
                .map_err(|e| Error::Invalid(format!("{}: {e}", p.display())))?;
            if certs.is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: no CA certificate in it",
                    p.display()
                )));
            }
            certs
        }
        // The anchor is never taken from the server being checked: a man in the
        // middle could send his own CA with his own CRL.
        (None, Some(_)) if ca.is_remote() => {
            return Err(Error::Invalid(
                "give --ca-cert: a remote CA's certificates are not taken from the CA being checked"
                    .into(),
            ));
        }
        (None, Some(c)) => c.ca_certificates()?,
        (None, None) => {
            return Err(Error::Invalid(
                "give --ca-cert or --ca to check the signer's certificate".into(),
            ));
        }
    };
    let v = tamga::cms::verify(&sig, &content, &cas)?;
    // A document's signature is by a signing certificate; an authentication
    // certificate's signature (a login) is refused with that reason.
    let signer_cert = Certificate::from_der(&v.certificate)
        .map_err(|_| Error::Malformed { op: "certificate" })?;
    tamga_pki::chain::signs_documents(&signer_cert).map_err(|e| Error::Invalid(format!("{e}")))?;
    // Revocation, when the CA can be asked: the current CRL of the issuing key that
    // signed the signer's certificate, checked against that key.
    let revoked = match &client {
        Some(c) => {
            let cert = Certificate::from_der(&v.certificate)
                .map_err(|_| Error::Malformed { op: "certificate" })?;
            let issuer = tamga::ca::issuer_of(c.as_ref(), &cert)?;
            let crl = tamga_pki::chain::crl(&c.current_crl(&issuer)?, &issuer)?;
            // A stale CRL says nothing about now: revocation unknown, not "valid".
            crl.current_at(std::time::SystemTime::now())?;
            crl.lists(&v.serial)
        }
        None => false,
    };
    if revoked {
        return Err(Error::Invalid(format!(
            "signature by {} but certificate {} is revoked",
            v.signer, v.serial
        )));
    }
    if ctx.json {
        println!(
            "{}",
            json!({"valid": true, "signer": v.signer, "serial": v.serial, "revocation_checked": client.is_some()})
        );
    } else {
        println!(
            "valid signature by {} (certificate {}){}",
            v.signer,
            v.serial,
            if client.is_some() {
                ", not revoked"
            } else {
                ", revocation not checked"
            }
        );
    }
    Ok(())
}

/// Revocation reasons the operator can give.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Reason {
    /// The owner asks.
    OwnerRequest,
    /// The owner died.
    Death,
    /// False information in the application.
    FalseInfo,
    /// The key is compromised.
    KeyCompromise,
}

impl From<Reason> for RevocationReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::OwnerRequest => RevocationReason::OwnerRequest,
            Reason::Death => RevocationReason::Death,
            Reason::FalseInfo => RevocationReason::FalseInformation,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
        }
    }
}

/// `tamga revoke` options.
#[derive(clap::Args, Debug)]
pub struct RevokeArgs {
    /// Why.
    #[arg(long, value_enum)]
    reason: Reason,
    /// Revoke this serial (hex) instead of the certificates on the card.
    #[arg(long)]
    serial: Option<String>,
    /// Revoke without asking (revocation is final); needed when not on a terminal.
    #[arg(long)]
    yes: bool,
    /// File holding the card's PIN, which confirms the owner's request (else
    /// TAMGA_PIN, else a prompt).
    #[arg(long)]
    pin_file: Option<PathBuf>,
}

/// Asks "y/N" on the terminal; without one, only `--yes` goes ahead.
fn confirmed(question: &str, yes: bool) -> Result<bool, Error> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Invalid(
            "revocation is final: confirm it at the prompt, or give --yes".into(),
        ));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Invalid(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "да" | "иә"))
}

/// `tamga revoke`: revoke the card's NCA certificates (or one serial) and show the CRL entries.
pub fn revoke(ctx: &Ctx, ca: &CaArgs, a: &RevokeArgs) -> Result<(), Error> {
    let client = ca.open(&ctx.audit.operator)?;
    let (card_serial, serials) = match &a.serial {
        Some(s) => (None, vec![Serial::parse(s)?]),
        None => {
            let mut piv = ctx.open()?;
            let mut v = vec![];
            for slot in [KeyRef::Authentication, KeyRef::Signature] {
                if let Some(der) = piv.read_certificate(slot)? {
                    let c = Certificate::from_der(&der)
                        .map_err(|_| Error::Malformed { op: "certificate" })?;
                    v.push(Serial::from_bytes(
                        c.tbs_certificate().serial_number().as_bytes(),
                    )?);
                }
            }
            if v.is_empty() {
                return Err(Error::Invalid("the card holds no NCA certificate".into()));
            }
            (Some(piv.serial()?), v)
        }
    };
    let reason: RevocationReason = a.reason.into();
    // What will be revoked, said before anything is.
    let mut shown = Vec::new();
    for s in &serials {
        let subject = client
            .record(s)
            .map(|r| r.subject)
            .unwrap_or_else(|_| "a certificate the CA does not know".into());
        shown.push(format!("{s} ({subject})"));
    }
    let question = format!(
        "to be revoked ({}): {}\nrevoke them now?",
        reason.as_str(),
        shown.join(", ")
    );
    if !confirmed(&question, a.yes)? {
        return Err(Error::Invalid("not revoked: not confirmed".into()));
    }
    // The owner's own request for the card's certificates is confirmed with the card's PIN.
    if a.serial.is_none() && matches!(reason, RevocationReason::OwnerRequest) {
        let pin = secrets::pin(
            a.pin_file.as_deref(),
            "TAMGA_PIN",
            "PIN (the owner confirms)",
        )?;
        let mut piv = ctx.open()?;
        let r = piv.verify_pin(&pin);
        ctx.audit.record(
            "revoke-pin",
            card_serial,
            if r.is_ok() { "ok" } else { "wrong PIN" },
            json!({"reason": reason.as_str()}),
        );
        r?;
    }
    for s in &serials {
        let r = client.revoke(s, reason);
        ctx.audit.record(
            "revoke",
            card_serial,
            if r.is_ok() { "ok" } else { "failed" },
            json!({"serial": s, "reason": reason.as_str(), "ca": client.describe()}),
        );
        r?;
    }
    // A new CRL of each issuing key that signed one of them, so that it lists what
    // was just revoked; checked against that key.
    let mut crls: Vec<(Certificate, tamga_pki::chain::Crl)> = Vec::new();
    let mut listed: Vec<&Serial> = Vec::new();
    for s in &serials {
        let cert = Certificate::from_der(&client.record(s)?.der)
            .map_err(|_| Error::Malformed { op: "certificate" })?;
        let issuer = tamga::ca::issuer_of(client.as_ref(), &cert)?;
        if !crls.iter().any(|(c, _)| *c == issuer) {
            let crl = tamga_pki::chain::crl(&client.issue_crl(&issuer)?, &issuer)?;
            crls.push((issuer.clone(), crl));
        }
        if crls.iter().any(|(c, crl)| *c == issuer && crl.lists(s)) {
            listed.push(s);
        }
    }
    if ctx.json {
        println!(
            "{}",
            json!({"revoked": serials, "reason": reason.as_str(), "on_crl": listed})
        );
    } else {
        for s in &serials {
            println!(
                "revoked {s} ({}); on the CRL: {}",
                reason.as_str(),
                if listed.contains(&s) { "yes" } else { "no" }
            );
        }
    }
    if listed.len() != serials.len() {
        return Err(Error::Ca("a revoked serial is missing from the CRL".into()));
    }
    Ok(())
}
