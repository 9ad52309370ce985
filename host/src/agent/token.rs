//! The card as NCALayer's storage `AKKZIDCardStore` (the national ID card's
//! name): its two NCA keys with their certificates, and signing under the PIN,
//! asked for through pinentry for every signature.
//!
//! The card is opened afresh for each request (a card pulled and put back is
//! found again) and used by one request at a time. While one signature waits
//! for its PIN the card is free for other requests; a second signature is
//! refused at once with a clear error rather than queued behind a dialog.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use der::Decode;
use x509_cert::Certificate;

use super::pinentry::{Answer, Pinentry, Prompt};
use crate::error::{Error, Result};
use crate::piv::{Pin, Piv, PublicKey};
use crate::signer::CardSigner;
use crate::transport::Transport;
use tamga_spec::KeyRef;

/// The storage name pages ask for.
pub const STORAGE: &str = "AKKZIDCardStore";

/// Opens the card and selects PIV.
pub type Opener = Box<dyn Fn() -> Result<Piv<Box<dyn Transport>>> + Send + Sync>;

/// A key on the card with its certificate.
#[derive(Clone, Debug)]
pub struct Key {
    /// 9C (signature) or 9A (authentication).
    pub slot: KeyRef,
    /// Its certificate.
    pub cert: Certificate,
    /// The certificate's DER.
    pub der: Vec<u8>,
    /// The card's public key.
    pub public: PublicKey,
}

/// Where a request's time went besides the agent itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timing {
    /// In the PIN dialog (the person).
    pub dialog: Duration,
    /// Opening the card and its commands.
    pub card: Duration,
}

/// The card behind the agent.
pub struct Token {
    open: Opener,
    card: Mutex<()>,
    waiting: Mutex<()>,
    pinentry: Pinentry,
}

impl Token {
    /// The card `open` opens, PINs asked through `pinentry`.
    pub fn new(open: Opener, pinentry: Pinentry) -> Token {
        Token {
            open,
            card: Mutex::new(()),
            waiting: Mutex::new(()),
            pinentry,
        }
    }

    fn with_card<T>(&self, f: impl FnOnce(&mut Piv<Box<dyn Transport>>) -> Result<T>) -> Result<T> {
        self.timed(&mut Timing::default(), f)
    }

    /// [`Token::with_card`], adding the time spent to `timing.card` (not the
    /// wait for another request's turn).
    fn timed<T>(
        &self,
        timing: &mut Timing,
        f: impl FnOnce(&mut Piv<Box<dyn Transport>>) -> Result<T>,
    ) -> Result<T> {
        let _card = self.card.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now();
        let r = (self.open)().and_then(|mut piv| f(&mut piv));
        timing.card += t.elapsed();
        r
    }

    /// Whether a card answers.
    pub fn present(&self) -> bool {
        self.with_card(|_| Ok(())).is_ok()
    }

    /// The keys that have a certificate for them: 9C first, then 9A.
    pub fn keys(&self, timing: &mut Timing) -> Result<Vec<Key>> {
        self.timed(timing, |piv| {
            let mut keys = Vec::new();
            for slot in [KeyRef::Signature, KeyRef::Authentication] {
                let (Some(der), Some(public)) = (
                    piv.read_certificate(slot)?,
                    piv.metadata(slot)?.and_then(|m| m.public),
                ) else {
                    continue;
                };
                let cert = Certificate::from_der(&der)
                    .map_err(|_| Error::Malformed { op: "certificate" })?;
                let cert_key =
                    der::Encode::to_der(cert.tbs_certificate().subject_public_key_info())
                        .map_err(|_| Error::Malformed { op: "certificate" })?;
                // A certificate left over from a key that is gone is not offered.
                if public.spki_der()? == cert_key {
                    keys.push(Key {
                        slot,
                        cert,
                        der,
                        public,
                    });
                }
            }
            Ok(keys)
        })
    }

    /// Asks the person a yes/no question through pinentry (one dialog at a
    /// time, as for the PIN); true for `ok`.
    pub fn consent(
        &self,
        title: &str,
        description: &str,
        (ok, cancel): (&str, &str),
        timing: &mut Timing,
    ) -> Result<bool> {
        let Ok(_waiting) = self.waiting.try_lock() else {
            return Err(Error::Invalid(
                "another request is waiting for the person: finish or cancel that dialog first"
                    .into(),
            ));
        };
        let prompt = Prompt {
            title: title.to_string(),
            description: description.to_string(),
            error: None,
        };
        let t = Instant::now();
        let r = self.pinentry.confirm(&prompt, ok, cancel);
        timing.dialog += t.elapsed();
        r
    }

    /// Asks for the PIN (the dialog shows `description`), checks it on the card
    /// (a wrong one asks again with the tries left), then runs `f` with a signer
    /// for `key`. `None` when the person cancelled.
    pub fn sign<T>(
        &self,
        key: &Key,
        title: &str,
        description: &str,
        wrong_pin: impl Fn(u8) -> String,
        timing: &mut Timing,
        f: impl FnOnce(&CardSigner<'_, Box<dyn Transport>>) -> Result<T>,
    ) -> Result<Option<T>> {
        let Ok(_waiting) = self.waiting.try_lock() else {
            return Err(Error::Invalid(
                "another signature is waiting for its PIN: finish or cancel that dialog first"
                    .into(),
            ));
        };
        let mut error = None;
        let mut f = Some(f);
        loop {
            let prompt = Prompt {
                title: title.to_string(),
                description: description.to_string(),
                error: error.take(),
            };
            let t = Instant::now();
            let answer = self.pinentry.ask(&prompt);
            timing.dialog += t.elapsed();
            let typed = match answer? {
                Answer::Cancelled => return Ok(None),
                Answer::Pin(p) => p,
            };
            let pin = match Pin::new(&typed) {
                Ok(p) => p,
                Err(e) => {
                    error = Some(e.to_string());
                    continue;
                }
            };
            let done = self.timed(timing, |piv| {
                match piv.verify_pin(&pin) {
                    Ok(()) => {}
                    Err(Error::WrongPin(0)) => return Err(Error::PinBlocked),
                    Err(Error::WrongPin(n)) => return Ok(Err(n)),
                    Err(e) => return Err(e),
                }
                let signer = CardSigner::new(piv, key.slot, &key.public, Some(&pin))?;
                let f = f
                    .take()
                    .ok_or(Error::Invalid("the signature was already made".into()))?;
                f(&signer).map(Ok)
            })?;
            match done {
                Ok(v) => return Ok(Some(v)),
                Err(tries) => error = Some(wrong_pin(tries)),
            }
        }
    }
}
