//! A typed PIV client: every card operation the host needs, with status words
//! turned into [`Error`]s a person can read.

use zeroize::Zeroizing;

use tamga_spec::{
    Algorithm, Ins, KeyRef, ObjectTag, Origin, PinPolicy, TouchPolicy, defaults, tags, tlv,
};

use crate::apdu::{Channel, Response};
use crate::error::{Error, Result};
use crate::transport::Transport;

/// A PIN or PUK, validated (6–8 bytes) and wiped from memory when dropped.
#[derive(Clone)]
pub struct Pin(Zeroizing<Vec<u8>>);

impl Pin {
    /// Check and wrap a PIN or PUK.
    pub fn new(value: &[u8]) -> Result<Self> {
        if !(defaults::PIN_MIN_LEN..=defaults::PIN_MAX_LEN).contains(&value.len()) {
            return Err(Error::Invalid(format!(
                "a PIN or PUK has {} to {} characters, this one has {}",
                defaults::PIN_MIN_LEN,
                defaults::PIN_MAX_LEN,
                value.len()
            )));
        }
        if value.contains(&defaults::PIN_PAD) {
            return Err(Error::Invalid(
                "a PIN or PUK cannot contain the byte FF".into(),
            ));
        }
        Ok(Pin(Zeroizing::new(value.to_vec())))
    }

    /// The 8-byte field, padded with FF.
    fn padded(&self) -> Zeroizing<[u8; 8]> {
        let mut p = Zeroizing::new([defaults::PIN_PAD; 8]);
        p[..self.0.len()].copy_from_slice(&self.0);
        p
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(<masked>)")
    }
}

/// A management key: algorithm and key bytes, wiped when dropped.
#[derive(Clone)]
pub struct MgmtKey {
    /// 3DES or AES-128/192/256.
    pub alg: Algorithm,
    key: Zeroizing<Vec<u8>>,
}

impl MgmtKey {
    /// A key of `alg` (its length must match).
    pub fn new(alg: Algorithm, key: &[u8]) -> Result<Self> {
        match alg.symmetric_key_len() {
            Some(n) if n == key.len() => Ok(MgmtKey {
                alg,
                key: Zeroizing::new(key.to_vec()),
            }),
            Some(n) => Err(Error::Invalid(format!(
                "a {alg:?} management key has {n} bytes, not {}",
                key.len()
            ))),
            None => Err(Error::Invalid(format!(
                "{alg:?} is not a management key algorithm"
            ))),
        }
    }

    /// The factory default (3DES 0102..08 × 3).
    pub fn default_key() -> Self {
        MgmtKey {
            alg: Algorithm::Tdes,
            key: Zeroizing::new(defaults::MANAGEMENT_KEY.to_vec()),
        }
    }

    /// Parse `hex` (48 hex digits: 3DES or AES-192 per `alg`; 32: AES-128; 64: AES-256).
    pub fn from_hex(alg: Option<Algorithm>, hex: &str) -> Result<Self> {
        let bytes = Zeroizing::new(decode_hex(hex.trim())?);
        let alg = match (alg, bytes.len()) {
            (Some(a), _) => a,
            (None, 16) => Algorithm::Aes128,
            (None, 24) => Algorithm::Aes192,
            (None, 32) => Algorithm::Aes256,
            (None, n) => {
                return Err(Error::Invalid(format!(
                    "a management key has 16, 24 or 32 bytes, not {n}"
                )));
            }
        };
        MgmtKey::new(alg, &bytes)
    }

    /// The key as hex (for the operator's key file).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.key.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn crypt(&self, block: &mut [u8], encrypt: bool) -> Result<()> {
        tamga_firmware::crypto::mgmt_crypt(self.alg, &self.key, block, encrypt)
            .map_err(|_| Error::Invalid("management key block".into()))
    }
}

impl std::fmt::Debug for MgmtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MgmtKey({:?}, <masked>)", self.alg)
    }
}

/// Decode hex digits (spaces and colons ignored).
pub fn decode_hex(s: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(Error::Invalid("odd number of hex digits".into()));
    }
    digits
        .chunks(2)
        .map(|p| {
            let h = std::str::from_utf8(p).map_err(|_| Error::Invalid("not hex".into()))?;
            u8::from_str_radix(h, 16)
                .map_err(|_| Error::Invalid(format!("{h:?} is not a hex byte")))
        })
        .collect()
}

/// A public key read from the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An uncompressed P-256 point (65 bytes).
    P256(Vec<u8>),
    /// An RSA modulus and public exponent (big-endian).
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
}

impl PublicKey {
    fn parse(template: &[u8]) -> Result<Self> {
        let bad = || Error::Malformed { op: "public key" };
        if let Some(p) = tlv::find(template, tags::EC_POINT).map_err(|_| bad())? {
            return Ok(PublicKey::P256(p.to_vec()));
        }
        let n = tlv::find(template, tags::RSA_MODULUS)
            .map_err(|_| bad())?
            .ok_or_else(bad)?;
        let e = tlv::find(template, tags::RSA_EXPONENT)
            .map_err(|_| bad())?
            .ok_or_else(bad)?;
        Ok(PublicKey::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        })
    }

    /// The key as SubjectPublicKeyInfo DER.
    pub fn spki_der(&self) -> Result<Vec<u8>> {
        use spki::EncodePublicKey;
        let bad = || Error::Malformed { op: "public key" };
        let der = match self {
            PublicKey::P256(point) => p256::PublicKey::from_sec1_bytes(point)
                .map_err(|_| bad())?
                .to_public_key_der(),
            PublicKey::Rsa { n, e } => self::rsa_key(n, e)?.to_public_key_der(),
        };
        der.map(|d| d.as_bytes().to_vec()).map_err(|_| bad())
    }

    /// The PIV algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::EccP256,
            PublicKey::Rsa { .. } => Algorithm::Rsa2048,
        }
    }
}

/// An RSA public key from its modulus and exponent.
pub fn rsa_key(n: &[u8], e: &[u8]) -> Result<rsa::PublicKey> {
    rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from_be_slice_vartime(e),
    )
    .map_err(|_| Error::Malformed { op: "public key" })
}

/// GET METADATA of a key or PIN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Algorithm (FF for PIN/PUK).
    pub alg: u8,
    /// PIN and touch policy, for keys.
    pub policy: Option<(u8, u8)>,
    /// Generated or imported, for keys.
    pub origin: Option<Origin>,
    /// The public key, for asymmetric keys.
    pub public: Option<PublicKey>,
    /// Whether the value is the factory default (PIN, PUK, management key).
    pub is_default: Option<bool>,
    /// (tries allowed, tries left), for PIN and PUK.
    pub retries: Option<(u8, u8)>,
}

/// What SELECT tells of the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppInfo {
    /// Application label.
    pub label: String,
    /// Algorithms the card advertises.
    pub algorithms: Vec<u8>,
}

/// The PIV application on one card.
pub struct Piv<T: Transport> {
    ch: Channel<T>,
}

fn wrap(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; tlv::encoded_len(tag, value.len())];
    let mut w = tlv::Writer::new(&mut buf);
    let _ = w.tlv(tag, value);
    buf
}

fn tag_list(tag: ObjectTag) -> Vec<u8> {
    wrap(tags::TAG_LIST, &tag.to_bytes()[..tag.encoded_len()])
}

fn unwrap(data: &[u8], tag: u16, op: &'static str) -> Result<Vec<u8>> {
    match tlv::take(data) {
        Ok((t, rest)) if t.tag == tag && rest.is_empty() => Ok(t.value.to_vec()),
        _ => Err(Error::Malformed { op }),
    }
}

impl<T: Transport> Piv<T> {
    /// Wrap a transport; call [`Piv::select`] first.
    pub fn new(transport: T) -> Self {
        Piv {
            ch: Channel::new(transport),
        }
    }

    /// The APDU channel (counters, extended-length switch).
    pub fn channel(&mut self) -> &mut Channel<T> {
        &mut self.ch
    }

    fn send(&mut self, ins: Ins, p1: u8, p2: u8, data: &[u8]) -> Result<Response> {
        self.ch.send(ins.to_u8(), p1, p2, data)
    }

    /// SELECT the PIV application.
    pub fn select(&mut self) -> Result<AppInfo> {
        let r = self.send(Ins::Select, 0x04, 0x00, &tamga_spec::PIV_AID)?;
        if !r.is_ok() {
            return Err(Error::NotPiv(r.sw));
        }
        let apt = unwrap(&r.data, tags::APT, "SELECT").unwrap_or_default();
        let label = tlv::find(&apt, tags::APT_LABEL)
            .ok()
            .flatten()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .unwrap_or_default();
        let algorithms = tlv::find(&apt, tags::APT_ALGORITHMS)
            .ok()
            .flatten()
            .map(|a| {
                tlv::iter(a)
                    .filter_map(|t| t.ok())
                    .filter(|t| t.tag == tags::ALGORITHM)
                    .filter_map(|t| t.value.first().copied())
                    .collect()
            })
            .unwrap_or_default();
        Ok(AppInfo { label, algorithms })
    }

    /// GET VERSION (the YubiKey compatibility level).
    pub fn version(&mut self) -> Result<[u8; 3]> {
        let d = self.send(Ins::GetVersion, 0, 0, &[])?.ok("GET VERSION")?;
        d.try_into()
            .map_err(|_| Error::Malformed { op: "GET VERSION" })
    }

    /// GET SERIAL.
    pub fn serial(&mut self) -> Result<u32> {
        let d = self.send(Ins::GetSerial, 0, 0, &[])?.ok("GET SERIAL")?;
        let b: [u8; 4] = d
            .try_into()
            .map_err(|_| Error::Malformed { op: "GET SERIAL" })?;
        Ok(u32::from_be_bytes(b))
    }

    /// GET METADATA; `None` when the slot is empty.
    pub fn metadata(&mut self, key: KeyRef) -> Result<Option<Metadata>> {
        let r = self.send(Ins::GetMetadata, 0, key.to_u8(), &[])?;
        if r.sw == 0x6A88 {
            return Ok(None);
        }
        let d = r.ok("GET METADATA")?;
        let bad = || Error::Malformed { op: "GET METADATA" };
        let mut m = Metadata {
            alg: 0,
            policy: None,
            origin: None,
            public: None,
            is_default: None,
            retries: None,
        };
        for t in tlv::iter(&d) {
            let t = t.map_err(|_| bad())?;
            match (t.tag, t.value) {
                (tags::META_ALGORITHM, [a]) => m.alg = *a,
                (tags::META_POLICY, [p, t]) => m.policy = Some((*p, *t)),
                (tags::META_ORIGIN, [o]) => m.origin = Origin::try_from(*o).ok(),
                (tags::META_PUBLIC_KEY, v) => m.public = Some(PublicKey::parse(v)?),
                (tags::META_DEFAULT, [d]) => m.is_default = Some(*d != 0),
                (tags::META_RETRIES, [total, left]) => m.retries = Some((*total, *left)),
                _ => {}
            }
        }
        Ok(Some(m))
    }

    fn secret_status(sw: u16, puk: bool, op: &'static str) -> Error {
        match (sw, puk) {
            (0x6983, false) => Error::PinBlocked,
            (0x6983, true) => Error::PukBlocked,
            (s, false) if s & 0xFFF0 == 0x63C0 => Error::WrongPin((s & 0x0F) as u8),
            (s, true) if s & 0xFFF0 == 0x63C0 => Error::WrongPuk((s & 0x0F) as u8),
            (sw, _) => Error::Card { op, sw },
        }
    }

    /// VERIFY the PIN.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        let r = self.send(Ins::Verify, 0, KeyRef::Pin.to_u8(), pin.padded().as_slice())?;
        match r.sw {
            0x9000 => Ok(()),
            sw => Err(Self::secret_status(sw, false, "VERIFY")),
        }
    }

    /// Tries left for the PIN, without consuming one (`None`: verified now).
    pub fn pin_tries(&mut self) -> Result<Option<u8>> {
        let r = self.send(Ins::Verify, 0, KeyRef::Pin.to_u8(), &[])?;
        match r.sw {
            0x9000 => Ok(None),
            0x6983 => Ok(Some(0)),
            sw if sw & 0xFFF0 == 0x63C0 => Ok(Some((sw & 0x0F) as u8)),
            sw => Err(Error::Card { op: "VERIFY", sw }),
        }
    }

    /// CHANGE REFERENCE DATA of the PIN (`puk == false`) or the PUK.
    pub fn change(&mut self, puk: bool, old: &Pin, new: &Pin) -> Result<()> {
        let mut d = Zeroizing::new(old.padded().to_vec());
        d.extend_from_slice(new.padded().as_slice());
        let key = if puk { KeyRef::Puk } else { KeyRef::Pin };
        let r = self.send(Ins::ChangeReference, 0, key.to_u8(), &d)?;
        match r.sw {
            0x9000 => Ok(()),
            0x6A80 => Err(Error::Invalid(
                "the card refused the new value (6 to 8 characters)".into(),
            )),
            sw => Err(Self::secret_status(sw, puk, "CHANGE REFERENCE DATA")),
        }
    }

    /// RESET RETRY COUNTER: unblock the PIN with the PUK, setting a new PIN.
    pub fn unblock(&mut self, puk: &Pin, new_pin: &Pin) -> Result<()> {
        let mut d = Zeroizing::new(puk.padded().to_vec());
        d.extend_from_slice(new_pin.padded().as_slice());
        let r = self.send(Ins::ResetRetryCounter, 0, KeyRef::Pin.to_u8(), &d)?;
        match r.sw {
            0x9000 => Ok(()),
            sw => Err(Self::secret_status(sw, true, "RESET RETRY COUNTER")),
        }
    }

    /// Mutual authentication with the management key (witness, then challenge).
    pub fn authenticate(&mut self, key: &MgmtKey) -> Result<()> {
        let alg = key.alg.to_u8();
        let mgmt = KeyRef::Management.to_u8();
        let r = self.send(
            Ins::GeneralAuthenticate,
            alg,
            mgmt,
            &[0x7C, 0x02, 0x80, 0x00],
        )?;
        match r.sw {
            0x9000 => {}
            0x6A86 => return Err(Error::WrongManagementKey),
            sw => {
                return Err(Error::Card {
                    op: "GENERAL AUTHENTICATE",
                    sw,
                });
            }
        }
        let t = unwrap(&r.data, tags::DYN_AUTH, "GENERAL AUTHENTICATE")?;
        let mut witness = Zeroizing::new(
            tlv::find(&t, tags::DYN_WITNESS)
                .ok()
                .flatten()
                .ok_or(Error::Malformed {
                    op: "GENERAL AUTHENTICATE",
                })?
                .to_vec(),
        );
        key.crypt(&mut witness, false)?;
        let mut challenge = vec![0u8; witness.len()];
        getrandom::fill(&mut challenge).map_err(|e| Error::Pcsc(format!("OS RNG: {e}")))?;
        let mut inner = Zeroizing::new(wrap(tags::DYN_WITNESS, &witness));
        inner.extend_from_slice(&wrap(tags::DYN_CHALLENGE, &challenge));
        let r = self.send(
            Ins::GeneralAuthenticate,
            alg,
            mgmt,
            &wrap(tags::DYN_AUTH, &inner),
        )?;
        match r.sw {
            0x9000 => {}
            0x6982 => return Err(Error::WrongManagementKey),
            sw => {
                return Err(Error::Card {
                    op: "GENERAL AUTHENTICATE",
                    sw,
                });
            }
        }
        let t = unwrap(&r.data, tags::DYN_AUTH, "GENERAL AUTHENTICATE")?;
        let got = tlv::find(&t, tags::DYN_RESPONSE)
            .ok()
            .flatten()
            .ok_or(Error::Malformed {
                op: "GENERAL AUTHENTICATE",
            })?;
        let mut expected = challenge.clone();
        key.crypt(&mut expected, true)?;
        if got != expected.as_slice() {
            return Err(Error::Invalid(
                "the card failed to prove it holds the management key".into(),
            ));
        }
        Ok(())
    }

    /// SET MANAGEMENT KEY (needs the current one authenticated).
    pub fn set_management_key(&mut self, key: &MgmtKey) -> Result<()> {
        let mut d = Zeroizing::new(vec![
            key.alg.to_u8(),
            KeyRef::Management.to_u8(),
            key.key.len() as u8,
        ]);
        d.extend_from_slice(&key.key);
        self.send(Ins::SetManagementKey, 0xFF, 0xFF, &d)?
            .ok("SET MANAGEMENT KEY")?;
        Ok(())
    }

    /// SET PIN RETRIES (needs the management key and the PIN); resets PIN and PUK to defaults.
    pub fn set_pin_retries(&mut self, pin: u8, puk: u8) -> Result<()> {
        self.send(Ins::SetPinRetries, pin, puk, &[])?
            .ok("SET PIN RETRIES")?;
        Ok(())
    }

    /// GENERATE a key pair in `slot`; the card returns the public key.
    pub fn generate(
        &mut self,
        slot: KeyRef,
        alg: Algorithm,
        pin_policy: PinPolicy,
        touch: TouchPolicy,
    ) -> Result<PublicKey> {
        let mut ac = wrap(tags::ALGORITHM, &[alg.to_u8()]);
        if pin_policy != PinPolicy::Default {
            ac.extend_from_slice(&wrap(tags::PIN_POLICY, &[pin_policy.to_u8()]));
        }
        if touch != TouchPolicy::Default {
            ac.extend_from_slice(&wrap(tags::TOUCH_POLICY, &[touch.to_u8()]));
        }
        let r = self.send(
            Ins::GenerateAsymmetric,
            0,
            slot.to_u8(),
            &wrap(tags::GEN_CONTROL, &ac),
        )?;
        match r.sw {
            0x9000 => PublicKey::parse(&unwrap(&r.data, tags::PUBLIC_KEY, "GENERATE")?),
            0x6A81 => Err(Error::Invalid(format!(
                "this card cannot generate {alg:?} keys"
            ))),
            0x6982 => Err(Error::Invalid("GENERATE needs the management key".into())),
            sw => Err(Error::Card { op: "GENERATE", sw }),
        }
    }

    fn general_auth(
        &mut self,
        slot: KeyRef,
        alg: Algorithm,
        tag: u16,
        input: &[u8],
        op: &'static str,
    ) -> Result<Vec<u8>> {
        let mut inner = wrap(tags::DYN_RESPONSE, &[]);
        inner.extend_from_slice(&wrap(tag, input));
        let r = self.send(
            Ins::GeneralAuthenticate,
            alg.to_u8(),
            slot.to_u8(),
            &wrap(tags::DYN_AUTH, &inner),
        )?;
        match r.sw {
            0x9000 => {}
            0x6982 => {
                return Err(Error::Invalid(format!(
                    "{op} with slot {:02X} needs the PIN{}",
                    slot.to_u8(),
                    if slot == KeyRef::Signature {
                        " right before every signature"
                    } else {
                        ""
                    }
                )));
            }
            0x6A88 => {
                return Err(Error::Invalid(format!(
                    "slot {:02X} holds no key",
                    slot.to_u8()
                )));
            }
            sw => return Err(Error::Card { op, sw }),
        }
        let t = unwrap(&r.data, tags::DYN_AUTH, op)?;
        Ok(tlv::find(&t, tags::DYN_RESPONSE)
            .ok()
            .flatten()
            .ok_or(Error::Malformed { op })?
            .to_vec())
    }

    /// Sign: for P-256 `input` is the hash (DER signature returned); for RSA the
    /// padded 256-byte block (raw result returned).
    pub fn sign(&mut self, slot: KeyRef, alg: Algorithm, input: &[u8]) -> Result<Vec<u8>> {
        self.general_auth(slot, alg, tags::DYN_CHALLENGE, input, "sign")
    }

    /// RSA decryption of a 256-byte block (raw, the host removes the padding).
    pub fn decrypt(&mut self, slot: KeyRef, block: &[u8]) -> Result<Vec<u8>> {
        self.general_auth(
            slot,
            Algorithm::Rsa2048,
            tags::DYN_CHALLENGE,
            block,
            "decrypt",
        )
    }

    /// ECDH with a peer's uncompressed P-256 point: the shared x coordinate.
    pub fn ecdh(&mut self, slot: KeyRef, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.general_auth(
            slot,
            Algorithm::EccP256,
            tags::DYN_EXPONENTIATION,
            peer,
            "ECDH",
        )
        .map(Zeroizing::new)
    }

    /// GET DATA; `None` when the object is absent.
    pub fn read_object(&mut self, tag: ObjectTag) -> Result<Option<Vec<u8>>> {
        let r = self.send(Ins::GetData, 0x3F, 0xFF, &tag_list(tag))?;
        match r.sw {
            0x9000 => {}
            0x6A82 => return Ok(None),
            0x6982 => return Err(Error::Invalid("reading this object needs the PIN".into())),
            sw => return Err(Error::Card { op: "GET DATA", sw }),
        }
        if tag == ObjectTag::DISCOVERY {
            return unwrap(&r.data, tag.0 as u16, "GET DATA").map(Some);
        }
        unwrap(&r.data, tags::OBJECT_DATA, "GET DATA").map(Some)
    }

    /// PUT DATA (management key); empty content deletes the object.
    pub fn write_object(&mut self, tag: ObjectTag, content: &[u8]) -> Result<()> {
        let mut d = tag_list(tag);
        d.extend_from_slice(&wrap(tags::OBJECT_DATA, content));
        let r = self.send(Ins::PutData, 0x3F, 0xFF, &d)?;
        match r.sw {
            0x9000 => Ok(()),
            0x6982 => Err(Error::Invalid(
                "writing data objects needs the management key".into(),
            )),
            0x6A84 => Err(Error::Invalid(
                "the card has no room for this object".into(),
            )),
            sw => Err(Error::Card { op: "PUT DATA", sw }),
        }
    }

    /// The DER certificate in `slot`'s object, if any.
    pub fn read_certificate(&mut self, slot: KeyRef) -> Result<Option<Vec<u8>>> {
        let tag = slot
            .certificate_object()
            .ok_or(Error::Invalid("not a key slot".into()))?;
        let Some(obj) = self.read_object(tag)? else {
            return Ok(None);
        };
        let cert = tlv::find(&obj, 0x70).map_err(|_| Error::Malformed {
            op: "certificate object",
        })?;
        Ok(cert.map(|c| c.to_vec()))
    }

    /// Write a DER certificate into `slot`'s object (70 cert, 71 00, FE 00).
    pub fn write_certificate(&mut self, slot: KeyRef, der: &[u8]) -> Result<()> {
        let tag = slot
            .certificate_object()
            .ok_or(Error::Invalid("not a key slot".into()))?;
        let mut content = wrap(0x70, der);
        content.extend_from_slice(&[0x71, 0x01, 0x00, 0xFE, 0x00]);
        self.write_object(tag, &content)
    }

    /// IMPORT a P-256 private key (management key).
    pub fn import_p256(
        &mut self,
        slot: KeyRef,
        scalar: &[u8],
        pin_policy: PinPolicy,
    ) -> Result<()> {
        let mut d = Zeroizing::new(wrap(tags::IMPORT_EC_PRIVATE, scalar));
        if pin_policy != PinPolicy::Default {
            d.extend_from_slice(&wrap(tags::PIN_POLICY, &[pin_policy.to_u8()]));
        }
        self.send(Ins::ImportKey, Algorithm::EccP256.to_u8(), slot.to_u8(), &d)?
            .ok("IMPORT KEY")?;
        Ok(())
    }

    /// RESET the application (only when PIN and PUK are blocked).
    pub fn reset(&mut self) -> Result<()> {
        let r = self.send(Ins::Reset, 0, 0, &[])?;
        match r.sw {
            0x9000 => Ok(()),
            0x6985 => Err(Error::Invalid(
                "RESET needs both the PIN and the PUK blocked".into(),
            )),
            sw => Err(Error::Card { op: "RESET", sw }),
        }
    }
}

/// A CHUID object's content: the PIV test FASC-N, `guid`, an expiry date, an
/// empty signature.
pub fn chuid(guid: &[u8; 16]) -> Vec<u8> {
    const FASCN: [u8; 25] = [
        0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21,
        0x08, 0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
    ];
    let mut v = wrap(tags::CHUID_FASCN, &FASCN);
    v.extend_from_slice(&wrap(tags::CHUID_GUID, guid));
    v.extend_from_slice(&wrap(tags::CHUID_EXPIRY, b"20301231"));
    v.extend_from_slice(&wrap(tags::CHUID_SIGNATURE, &[]));
    v.extend_from_slice(&wrap(tags::ERROR_DETECTION, &[]));
    v
}

/// A card capability container's content with a card identifier derived from `guid`.
pub fn ccc(guid: &[u8; 16]) -> Vec<u8> {
    let mut id = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];
    id.extend_from_slice(&guid[..14]);
    let mut v = wrap(0xF0, &id);
    for (tag, value) in [
        (0xF1u16, &[0x21u8][..]),
        (0xF2, &[0x21]),
        (0xF3, &[]),
        (0xF4, &[0x00]),
        (0xF5, &[0x10]),
        (0xF6, &[]),
        (0xF7, &[]),
        (0xFA, &[]),
        (0xFB, &[]),
        (0xFC, &[]),
        (0xFD, &[]),
        (tags::ERROR_DETECTION, &[]),
    ] {
        v.extend_from_slice(&wrap(tag, value));
    }
    v
}
