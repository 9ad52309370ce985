//! NCA enrolment on a card: two key pairs generated on the card (9A
//! authentication, 9C signature), requests signed on the card, certificates
//! from the CA checked against the card's keys and the profile, written back.
//!
//! Idempotent and resumable: a slot that already holds a matching live
//! certificate is left alone; a slot whose key has no certificate on the card
//! yet (a card pulled mid-way) keeps its key, and the CA answers a request for
//! a key it already certified with that certificate, never a second one.
//! Renewal likewise; the CA supersedes the old certificates only once the new
//! ones are confirmed written to the card.

use std::time::{Duration, Instant};

use der::{Decode, Encode, EncodePem};
use tamga_pki::{
    Applicant, Application, CertKind, CertStatus, Issued, Profile, ProfileName, RenewItem,
    RenewRequest, Serial,
};
use tamga_spec::{Algorithm, KeyRef, PinPolicy, TouchPolicy};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, RequestBuilder};

use crate::ca::CaClient;
use crate::error::{Error, Result};
use crate::piv::{MgmtKey, Pin, Piv, PublicKey};
use crate::signer::CardSigner;
use crate::transport::Transport;

/// The two NCA certificates: slot, certificate kind.
pub const NCA_SLOTS: [(KeyRef, CertKind); 2] = [
    (KeyRef::Authentication, CertKind::Authentication),
    (KeyRef::Signature, CertKind::Signature),
];

/// What to enrol.
#[derive(Clone, Debug)]
pub struct Request {
    /// The applicant (with the legal entity for an employee).
    pub applicant: Applicant,
    /// Key algorithm for new keys (the authentication key's, and the
    /// signature key's unless `signature_alg` says otherwise).
    pub alg: Algorithm,
    /// Key algorithm of a new signature key (9C) when it differs: GOST for an
    /// employee of a legal entity, as the standard's form has it
    /// (authentication RSA-2048, signature GOST).
    pub signature_alg: Option<Algorithm>,
    /// Generate new keys even when the card holds keys or certificates.
    pub replace: bool,
}

impl Request {
    /// The algorithm of a new key for certificates of `kind`.
    pub fn alg_for(&self, kind: CertKind) -> Algorithm {
        match kind {
            CertKind::Signature => self.signature_alg.unwrap_or(self.alg),
            CertKind::Authentication => self.alg,
        }
    }
}

/// What happened in one slot.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SlotOutcome {
    /// Slot, hex.
    pub slot: String,
    /// Profile.
    pub profile: String,
    /// Certificate serial.
    pub serial: Serial,
    /// Subject.
    pub subject: String,
    /// "enrolled", "already enrolled", "renewed" or "resumed".
    pub outcome: &'static str,
}

impl SlotOutcome {
    /// A slot that received `issued`: `done` names a new certificate, "resumed"
    /// one the CA had issued already for the card's key.
    fn issued(slot: u8, issued: &Issued, cert: &Certificate, done: &'static str) -> Self {
        SlotOutcome {
            slot: format!("{slot:02X}"),
            profile: issued.profile.clone(),
            serial: issued.serial.clone(),
            subject: cert.tbs_certificate().subject().to_string(),
            outcome: if issued.existing { "resumed" } else { done },
        }
    }

    /// A slot left as it is: `cert` is the certificate on the card.
    fn on_card(
        slot: u8,
        profile: String,
        cert: &Certificate,
        outcome: &'static str,
    ) -> Result<Self> {
        Ok(SlotOutcome {
            slot: format!("{slot:02X}"),
            profile,
            serial: Serial::from_bytes(cert.tbs_certificate().serial_number().as_bytes())?,
            subject: cert.tbs_certificate().subject().to_string(),
            outcome,
        })
    }
}

/// A finished enrolment.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The card's serial.
    pub card_serial: u32,
    /// Per slot.
    pub slots: Vec<SlotOutcome>,
    /// Each step and how long it took.
    pub steps: Vec<(String, Duration)>,
    /// APDUs exchanged.
    pub apdus: u64,
    /// Bytes on the wire (both directions).
    pub bytes: u64,
    /// Total time.
    pub total: Duration,
}

/// The SPKI DER of a card public key.
pub fn spki_der(key: &PublicKey) -> Result<Vec<u8>> {
    key.spki_der()
}

fn cert_spki(cert: &Certificate) -> Result<Vec<u8>> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|_| Error::Malformed { op: "certificate" })
}

/// The certificate the CA returned, checked to be for the card's key in `slot`.
fn certificate_for_key(issued: &Issued, key_der: &[u8], slot: u8) -> Result<Certificate> {
    let cert = Certificate::from_der(&issued.der)
        .map_err(|_| Error::Ca("the CA returned an unreadable certificate".into()))?;
    if cert_spki(&cert)? != key_der {
        return Err(Error::Ca(format!(
            "the certificate {} is not for the card's {slot:02X} key",
            issued.serial
        )));
    }
    Ok(cert)
}

fn live(cert: &Certificate) -> bool {
    let v = cert.tbs_certificate().validity();
    let now = std::time::SystemTime::now();
    v.not_before.to_system_time() <= now && now < v.not_after.to_system_time()
}

/// An enrolment or renewal under way: its clock, the channel's counters at
/// its start, and its steps, each announced to `progress` as it starts.
struct Timer<'a> {
    start: Instant,
    /// The channel's counters (APDUs, bytes) at the start.
    before: (u64, u64),
    steps: Vec<(String, Duration)>,
    progress: &'a mut dyn FnMut(&str),
}

impl<'a> Timer<'a> {
    /// Start the clock, then select the card and authenticate with `mgmt`
    /// (how an enrolment and a renewal both begin); the card's serial too.
    fn open<T: Transport>(
        piv: &mut Piv<T>,
        mgmt: &MgmtKey,
        progress: &'a mut dyn FnMut(&str),
    ) -> Result<(Self, u32)> {
        let mut t = Timer {
            start: Instant::now(),
            before: (piv.channel().apdus, piv.channel().bytes),
            steps: Vec::new(),
            progress,
        };
        let card_serial = t.step("select card".into(), || piv.serial())?;
        t.step("management key".into(), || piv.authenticate(mgmt))?;
        Ok((t, card_serial))
    }

    fn step<T>(&mut self, name: String, f: impl FnOnce() -> Result<T>) -> Result<T> {
        (self.progress)(&name);
        let t = Instant::now();
        let r = f();
        self.steps.push((name, t.elapsed()));
        r
    }

    /// The report: `slots`, the steps, and the APDUs, bytes and time since
    /// [`Timer::open`].
    fn report<T: Transport>(
        self,
        piv: &mut Piv<T>,
        card_serial: u32,
        slots: Vec<SlotOutcome>,
    ) -> Report {
        Report {
            card_serial,
            slots,
            steps: self.steps,
            apdus: piv.channel().apdus - self.before.0,
            bytes: piv.channel().bytes - self.before.1,
            total: self.start.elapsed(),
        }
    }
}

/// Build a PKCS#10 request for `profile` signed on the card by `slot`'s key.
pub fn card_request<T: Transport>(
    piv: &mut Piv<T>,
    slot: KeyRef,
    key: &PublicKey,
    profile: &Profile,
    applicant: &Applicant,
    pin: &Pin,
) -> Result<String> {
    let subject = tamga_pki::subject_name(applicant)?;
    let exts = profile.extensions(applicant)?;
    request_with(piv, slot, key, subject, exts, pin)
}

/// A PKCS#10 request for `subject` with `exts`, signed on the card by `slot`'s key.
fn request_with<T: Transport>(
    piv: &mut Piv<T>,
    slot: KeyRef,
    key: &PublicKey,
    subject: x509_cert::name::Name,
    exts: Vec<x509_cert::ext::Extension>,
    pin: &Pin,
) -> Result<String> {
    let mut builder = RequestBuilder::new(subject).map_err(|e| Error::Invalid(e.to_string()))?;
    for ext in exts {
        builder
            .add_extension(ext)
            .map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let signer = CardSigner::new(piv, slot, key, Some(pin))?;
    let req = match &signer {
        CardSigner::P256(s) => builder.build::<_, p256::ecdsa::DerSignature>(s),
        CardSigner::Rsa(s) => builder.build::<_, rsa::pkcs1v15::Signature>(s),
        CardSigner::Gost(s) => builder.build::<_, tamga_pki::gost::Signature>(s),
    }
    .map_err(|e| {
        signer
            .take_error()
            .unwrap_or(Error::Invalid(format!("request: {e}")))
    })?;
    req.to_pem(der::pem::LineEnding::LF)
        .map_err(|e| Error::Invalid(format!("request: {e}")))
}

/// Enrol both NCA certificates on the card. `progress` is told each step's name
/// as it starts.
pub fn enroll<T: Transport>(
    piv: &mut Piv<T>,
    ca: &dyn CaClient,
    req: &Request,
    pin: &Pin,
    mgmt: &MgmtKey,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    req.applicant.validate()?;
    let legal = req.applicant.legal_entity.is_some();
    let (mut t, card_serial) = Timer::open(piv, mgmt, progress)?;
    // A dead CA or a wrong token is found before any key is made.
    t.step(
        format!("{} reachable, operator authorised", ca.describe()),
        || ca.preflight(),
    )?;
    let mut slots = Vec::new();
    for (slot, kind) in NCA_SLOTS {
        let name = ProfileName::of(legal, kind);
        let profile = Profile::resolve(name, &req.applicant)?;
        let s = slot.to_u8();
        let alg = req.alg_for(kind);
        let (meta, on_card) = t.step(format!("{s:02X} read"), || {
            Ok((piv.metadata(slot)?, piv.read_certificate(slot)?))
        })?;
        let on_card = on_card.and_then(|d| Certificate::from_der(&d).ok());
        let card_key = meta.and_then(|m| m.public);
        let mut anew = false;
        // Already enrolled: the card's certificate is live, for this key, profile and person.
        if let (Some(cert), Some(key)) = (&on_card, &card_key) {
            let same_key = cert_spki(cert)? == spki_der(key)?;
            let matches = tamga_pki::check_certificate(cert, &profile, &req.applicant).is_ok();
            if same_key && matches && live(cert) && !req.replace {
                // Live by its dates; the CA says whether it is revoked or superseded.
                let serial = Serial::from_bytes(cert.tbs_certificate().serial_number().as_bytes())?;
                let record = t.step(format!("{s:02X} status at the {}", ca.describe()), || {
                    ca.record(&serial).map_err(|e| {
                        Error::Ca(format!(
                            "slot {s:02X} holds certificate {serial}, which the {} cannot tell about ({e}): use --replace to enrol anew",
                            ca.describe()
                        ))
                    })
                })?;
                if record.status == CertStatus::Valid {
                    slots.push(SlotOutcome::on_card(
                        s,
                        name.to_string(),
                        cert,
                        "already enrolled",
                    )?);
                    continue;
                }
                // Revoked or superseded: a new key and certificate (the key
                // of a revoked certificate is never certified again).
                anew = true;
            }
            if same_key && !matches && !req.replace {
                return Err(Error::Invalid(format!(
                    "slot {s:02X} holds a certificate for {}: use --replace to enrol anew",
                    cert.tbs_certificate().subject()
                )));
            }
        }
        // Resume with the key that has no certificate on the card yet, else a new key.
        let reuse = match (&card_key, &on_card) {
            (Some(k), None) => !req.replace && k.algorithm() == alg,
            (Some(k), Some(c)) => {
                !req.replace && k.algorithm() == alg && cert_spki(c)? != spki_der(k)?
            }
            (None, _) => false,
        };
        let key = match (reuse, card_key) {
            (true, Some(k)) => k,
            _ => t.step(format!("{s:02X} generate {alg:?}"), || {
                piv.generate(slot, alg, PinPolicy::Default, TouchPolicy::Default)
            })?,
        };
        let key_der = spki_der(&key)?;
        let csr = t.step(format!("{s:02X} request signed on card"), || {
            card_request(piv, slot, &key, &profile, &req.applicant, pin)
        })?;
        // Proof of possession, checked here before the CA sees it.
        let checked = tamga_pki::csr::verify_csr(csr.as_bytes())
            .map_err(|e| Error::BadCardOutput(format!("certificate request: {e}")))?;
        if checked
            .public_key
            .to_der()
            .map_err(|_| Error::Malformed { op: "request" })?
            != key_der
        {
            return Err(Error::Invalid(format!(
                "slot {s:02X}: the request does not carry the card's key"
            )));
        }
        let app = Application {
            profile: name,
            applicant: req.applicant.clone(),
            csr,
            signatures: vec![],
        };
        let issued = t.step(
            format!("{s:02X} certificate from the {}", ca.describe()),
            || ca.issue(&app),
        )?;
        let cert = certificate_for_key(&issued, &key_der, s)?;
        tamga_pki::check_certificate(&cert, &profile, &req.applicant).map_err(|e| {
            Error::Ca(format!(
                "certificate {} does not match the profile: {e}",
                issued.serial
            ))
        })?;
        t.step(format!("{s:02X} write certificate"), || {
            piv.write_certificate(slot, &issued.der)
        })?;
        let done = if anew {
            "enrolled anew (the certificate on the card was revoked)"
        } else {
            "enrolled"
        };
        slots.push(SlotOutcome::issued(s, &issued, &cert, done));
    }
    Ok(t.report(piv, card_serial, slots))
}

/// Retired certificate objects hold the certificates a renewal replaced.
fn retire<T: Transport>(piv: &mut Piv<T>, old: &[u8]) -> Result<()> {
    let mut count = 0u8;
    let mut free = None;
    for n in 1..=tamga_spec::keyref::RETIRED_SLOTS {
        let slot = KeyRef::Retired(n);
        match piv.read_certificate(slot)? {
            Some(c) if c == old => return Ok(()),
            Some(_) => count += 1,
            None if free.is_none() => free = Some(slot),
            None => {}
        }
    }
    // All 20 retired certificate objects are in use.
    let slot = free.ok_or(Error::NoRoom)?;
    piv.write_certificate(slot, old)?;
    // Key history: certificates kept on the card, none off the card.
    let history = [0xC1, 0x01, count + 1, 0xC2, 0x01, 0x00, 0xFE, 0x00];
    piv.write_object(tamga_spec::ObjectTag::KEY_HISTORY, &history)
}

fn card_cert<T: Transport>(piv: &mut Piv<T>, slot: KeyRef) -> Result<Certificate> {
    let der = piv.read_certificate(slot)?.ok_or_else(|| {
        Error::Invalid(format!(
            "slot {:02X} holds no certificate: enrol first",
            slot.to_u8()
        ))
    })?;
    Certificate::from_der(&der).map_err(|_| Error::Malformed { op: "certificate" })
}

fn card_key<T: Transport>(piv: &mut Piv<T>, slot: KeyRef) -> Result<PublicKey> {
    piv.metadata(slot)?
        .and_then(|m| m.public)
        .ok_or(Error::EmptySlot(slot.to_u8()))
}

/// Renew both NCA certificates: for each slot a new key on the card, a request
/// signed by it, and the renewal signed by the holder's other NCA key, whose
/// certificate is valid at the CA (9A is renewed under the signature key 9C,
/// then 9C under the new 9A). The replaced certificates move to the retired
/// certificate objects and the key history. Once both new certificates are
/// written and read back, the CA is asked to confirm them, which supersedes the
/// old ones: until then they stay valid. New keys are of `keys`'
/// (authentication, signature) algorithms, or of each slot's current key's.
///
/// An interrupted renewal resumes: a slot holding a key without its
/// certificate keeps that new key (the CA returns the certificate it issued for
/// it), and a slot whose certificate is a renewal still awaiting confirmation
/// is not renewed again, only confirmed.
pub fn renew<T: Transport>(
    piv: &mut Piv<T>,
    ca: &dyn CaClient,
    keys: Option<(Algorithm, Algorithm)>,
    pin: &Pin,
    mgmt: &MgmtKey,
    progress: &mut dyn FnMut(&str),
) -> Result<Report> {
    use base64::Engine;
    let (mut t, card_serial) = Timer::open(piv, mgmt, progress)?;
    t.step(
        format!("{} reachable, operator authorised", ca.describe()),
        || ca.preflight(),
    )?;
    let mut slots = Vec::new();
    // Renewed certificates on the card (slot, serial, DER), confirmed at the end.
    let mut written = Vec::new();
    for (slot, holder) in [
        (KeyRef::Authentication, KeyRef::Signature),
        (KeyRef::Signature, KeyRef::Authentication),
    ] {
        let s = slot.to_u8();
        let (old, old_key, holder_cert, holder_key) = t.step(format!("{s:02X} read"), || {
            Ok((
                card_cert(piv, slot)?,
                card_key(piv, slot)?,
                card_cert(piv, holder)?,
                card_key(piv, holder)?,
            ))
        })?;
        let old_serial = Serial::from_bytes(old.tbs_certificate().serial_number().as_bytes())?;
        let old_der = old
            .to_der()
            .map_err(|_| Error::Malformed { op: "certificate" })?;
        // Renewed and written by an interrupted run, not yet confirmed: keep it.
        if cert_spki(&old)? == spki_der(&old_key)? {
            let record = t.step(format!("{s:02X} status at the {}", ca.describe()), || {
                ca.record(&old_serial)
            })?;
            if record.awaiting_confirmation() {
                slots.push(SlotOutcome::on_card(s, record.profile, &old, "resumed")?);
                written.push((slot, old_serial, old_der));
                continue;
            }
        }
        if cert_spki(&holder_cert)? != spki_der(&holder_key)? || !live(&holder_cert) {
            return Err(Error::Invalid(format!(
                "slot {:02X} has no valid certificate for its key: renewal needs one, enrol again instead",
                holder.to_u8()
            )));
        }
        let holder_serial =
            Serial::from_bytes(holder_cert.tbs_certificate().serial_number().as_bytes())?;
        // Before any key is made: the CA must hold both certificates valid, or
        // it would refuse the renewal after the old key is gone.
        for (serial, what) in [
            (&holder_serial, "signing the renewal"),
            (&old_serial, "renewed"),
        ] {
            let record = t.step(format!("{serial} status at the {}", ca.describe()), || {
                ca.record(serial)
            })?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            if record.status != CertStatus::Valid || record.not_after <= now {
                return Err(Error::Ca(format!(
                    "certificate {serial} ({what}) is {} at the {}: renewal needs valid certificates, enrol again instead",
                    match record.revocation_reason {
                        Some(r) => format!("revoked ({})", r.as_str()),
                        None => "not valid".into(),
                    },
                    ca.describe()
                )));
            }
        }
        // The key certified in the slot is replaced; a key without its certificate
        // (an interrupted renewal) is the new one already.
        let key = if cert_spki(&old)? == spki_der(&old_key)? {
            let alg = match (keys, slot) {
                (Some((_, sign)), KeyRef::Signature) => sign,
                (Some((auth, _)), _) => auth,
                (None, _) => old_key.algorithm(),
            };
            t.step(format!("{s:02X} generate {alg:?}"), || {
                piv.generate(slot, alg, PinPolicy::Default, TouchPolicy::Default)
            })?
        } else {
            old_key
        };
        let key_der = spki_der(&key)?;
        let subject = old.tbs_certificate().subject().clone();
        let csr = t.step(format!("{s:02X} request signed on card"), || {
            request_with(piv, slot, &key, subject, vec![], pin)
        })?;
        let checked = tamga_pki::csr::verify_csr(csr.as_bytes())
            .map_err(|e| Error::BadCardOutput(format!("certificate request: {e}")))?;
        let content = RenewRequest::signed_content(
            &holder_serial,
            &[(old_serial.as_str(), checked.der.as_slice())],
        );
        let signature = t.step(format!("renewal signed by {:02X}", holder.to_u8()), || {
            CardSigner::new(piv, holder, &holder_key, Some(pin))?.sign_bytes(&content)
        })?;
        let req = RenewRequest {
            holder_serial: holder_serial.to_string(),
            items: vec![RenewItem {
                previous_serial: old_serial.to_string(),
                csr,
            }],
            signature: base64::engine::general_purpose::STANDARD.encode(signature),
        };
        let issued = t
            .step(format!("{s:02X} renewed by the {}", ca.describe()), || {
                ca.renew(&req)
            })?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Ca("the CA returned no certificate".into()))?;
        let cert = certificate_for_key(&issued, &key_der, s)?;
        if cert.tbs_certificate().subject() != old.tbs_certificate().subject() {
            return Err(Error::Ca(format!(
                "the renewed certificate {} names another subject",
                issued.serial
            )));
        }
        t.step(format!("{s:02X} retire old certificate"), || {
            retire(piv, &old_der)
        })?;
        t.step(format!("{s:02X} write certificate"), || {
            piv.write_certificate(slot, &issued.der)
        })?;
        slots.push(SlotOutcome::issued(s, &issued, &cert, "renewed"));
        written.push((slot, issued.serial, issued.der));
    }
    t.step("read back the new certificates".into(), || {
        for (slot, serial, der) in &written {
            if piv.read_certificate(*slot)?.as_deref() != Some(der.as_slice()) {
                return Err(Error::Invalid(format!(
                    "slot {:02X} does not hold the new certificate {serial} after writing it",
                    slot.to_u8()
                )));
            }
        }
        Ok(())
    })?;
    let serials: Vec<Serial> = written.into_iter().map(|(_, serial, _)| serial).collect();
    t.step(format!("confirm at the {}", ca.describe()), || {
        ca.confirm(&serials)
    })?;
    // The superseded certificates are revoked now: publish that at once, from
    // each issuing key.
    t.step(format!("new CRLs from the {}", ca.describe()), || {
        for issuer in ca.ca_certificates()? {
            ca.issue_crl(&issuer)?;
        }
        Ok(())
    })?;
    Ok(t.report(piv, card_serial, slots))
}
