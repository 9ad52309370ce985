//! A typed PIV client: every card operation the host needs, with status words
//! turned into [`Error`]s a person can read.

use zeroize::Zeroizing;

use tamga_spec::apdu::{P1_SELECT_BY_NAME, P1P2_CURRENT_DF};
use tamga_spec::chuid::CERT_INFO_UNCOMPRESSED;
use tamga_spec::{
    Algorithm, Ins, KeyRef, ObjectTag, Origin, PinPolicy, Status, TouchPolicy, defaults, tags, tlv,
};

use crate::apdu::{Channel, Response};
use crate::error::{Error, Result};
use crate::status::{self, Op};
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
        Zeroizing::new(hex::encode(self.key.as_slice()))
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
    let digits: Zeroizing<Vec<u8>> =
        Zeroizing::new(s.bytes().filter(|b| !matches!(b, b' ' | b':')).collect());
    hex::decode(digits.as_slice()).map_err(|e| match e {
        hex::FromHexError::OddLength => Error::Invalid("odd number of hex digits".into()),
        other => Error::Invalid(format!("not hex: {other}")),
    })
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
    /// A GOST key (Tamga algorithm C1 or C2): X_le ‖ Y_le, the NCA's octets.
    Gost {
        /// Which generation ([`Algorithm::Gost2004`] or [`Algorithm::Gost2015_512`]).
        alg: Algorithm,
        /// X_le ‖ Y_le.
        point: Vec<u8>,
    },
}

impl PublicKey {
    /// The public key template of a key of algorithm `alg` (GENERATE, GET
    /// METADATA): `86` is a P-256 point or, for GOST, X_le ‖ Y_le.
    fn parse(template: &[u8], alg: Algorithm) -> Result<Self> {
        let bad = || Error::Malformed { op: "public key" };
        if let Some(p) = tlv::find(template, tags::EC_POINT).map_err(|_| bad())? {
            return match alg.gost_len() {
                Some(len) if p.len() == 2 * len => Ok(PublicKey::Gost {
                    alg,
                    point: p.to_vec(),
                }),
                Some(_) => Err(bad()),
                None => Ok(PublicKey::P256(p.to_vec())),
            };
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
            PublicKey::Gost { .. } => {
                return der::Encode::to_der(&self.gost()?.spki()?).map_err(|_| bad());
            }
        };
        der.map(|d| d.as_bytes().to_vec()).map_err(|_| bad())
    }

    /// The GOST key in tamga-pki's form; an error for other keys.
    pub fn gost(&self) -> Result<tamga_pki::gost::PublicKey> {
        use tamga_pki::gost::Generation;
        match self {
            PublicKey::Gost { alg, point } => Ok(tamga_pki::gost::PublicKey {
                generation: match alg {
                    Algorithm::Gost2004 => Generation::Gost2004,
                    _ => Generation::Gost2015,
                },
                point: point.clone(),
            }),
            _ => Err(Error::Malformed {
                op: "GOST public key",
            }),
        }
    }

    /// The PIV algorithm of this key.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::P256(_) => Algorithm::EccP256,
            PublicKey::Rsa { .. } => Algorithm::Rsa2048,
            PublicKey::Gost { alg, .. } => *alg,
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
        self.ch.send(ins, p1, p2, data)
    }

    /// SELECT the PIV application.
    pub fn select(&mut self) -> Result<AppInfo> {
        let r = self.send(Ins::Select, P1_SELECT_BY_NAME, 0x00, &tamga_spec::PIV_AID)?;
        if !r.is_ok() {
            return Err(status::error(Op::Select, r.status));
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
        let d = self.send(Ins::GetVersion, 0, 0, &[])?.ok(Op::GetVersion)?;
        d.try_into()
            .map_err(|_| Error::Malformed { op: "GET VERSION" })
    }

    /// GET SERIAL.
    pub fn serial(&mut self) -> Result<u32> {
        let d = self.send(Ins::GetSerial, 0, 0, &[])?.ok(Op::GetSerial)?;
        let b: [u8; 4] = d
            .try_into()
            .map_err(|_| Error::Malformed { op: "GET SERIAL" })?;
        Ok(u32::from_be_bytes(b))
    }

    /// GET METADATA; `None` when the slot is empty.
    pub fn metadata(&mut self, key: KeyRef) -> Result<Option<Metadata>> {
        let r = self.send(Ins::GetMetadata, 0, key.to_u8(), &[])?;
        if r.status == Status::KeyReferenceNotFound {
            return Ok(None);
        }
        let d = r.ok(Op::GetMetadata)?;
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
                (tags::META_PUBLIC_KEY, v) => {
                    let alg = Algorithm::try_from(m.alg).map_err(|_| bad())?;
                    m.public = Some(PublicKey::parse(v, alg)?);
                }
                (tags::META_DEFAULT, [d]) => m.is_default = Some(*d != 0),
                (tags::META_RETRIES, [total, left]) => m.retries = Some((*total, *left)),
                _ => {}
            }
        }
        Ok(Some(m))
    }

    /// VERIFY the PIN.
    pub fn verify_pin(&mut self, pin: &Pin) -> Result<()> {
        self.send(Ins::Verify, 0, KeyRef::Pin.to_u8(), pin.padded().as_slice())?
            .ok(Op::VerifyPin)?;
        Ok(())
    }

    /// Tries left for the PIN, without consuming one (`None`: verified now).
    pub fn pin_tries(&mut self) -> Result<Option<u8>> {
        let r = self.send(Ins::Verify, 0, KeyRef::Pin.to_u8(), &[])?;
        match r.status {
            Status::Success => Ok(None),
            Status::OperationBlocked => Ok(Some(0)),
            Status::RemainingRetries(n) => Ok(Some(n)),
            s => Err(Error::Card {
                op: "VERIFY",
                status: s,
            }),
        }
    }

    /// CHANGE REFERENCE DATA of the PIN (`puk == false`) or the PUK.
    pub fn change(&mut self, puk: bool, old: &Pin, new: &Pin) -> Result<()> {
        let mut d = Zeroizing::new(old.padded().to_vec());
        d.extend_from_slice(new.padded().as_slice());
        let key = if puk { KeyRef::Puk } else { KeyRef::Pin };
        self.send(Ins::ChangeReference, 0, key.to_u8(), &d)?
            .ok(Op::Change { puk })?;
        Ok(())
    }

    /// RESET RETRY COUNTER: unblock the PIN with the PUK, setting a new PIN.
    pub fn unblock(&mut self, puk: &Pin, new_pin: &Pin) -> Result<()> {
        let mut d = Zeroizing::new(puk.padded().to_vec());
        d.extend_from_slice(new_pin.padded().as_slice());
        self.send(Ins::ResetRetryCounter, 0, KeyRef::Pin.to_u8(), &d)?
            .ok(Op::Unblock)?;
        Ok(())
    }

    /// Mutual authentication with the management key (witness, then challenge).
    pub fn authenticate(&mut self, key: &MgmtKey) -> Result<()> {
        let alg = key.alg.to_u8();
        let mgmt = KeyRef::Management.to_u8();
        let ask = tlv::to_vec(tags::DYN_AUTH, &tlv::to_vec(tags::DYN_WITNESS, &[]));
        let data = self
            .send(Ins::GeneralAuthenticate, alg, mgmt, &ask)?
            .ok(Op::MgmtWitness)?;
        let t = unwrap(&data, tags::DYN_AUTH, "GENERAL AUTHENTICATE")?;
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
        crate::rng::fill(&mut challenge)?;
        let mut inner = Zeroizing::new(tlv::to_vec(tags::DYN_WITNESS, &witness));
        inner.extend_from_slice(&tlv::to_vec(tags::DYN_CHALLENGE, &challenge));
        let data = self
            .send(
                Ins::GeneralAuthenticate,
                alg,
                mgmt,
                &tlv::to_vec(tags::DYN_AUTH, &inner),
            )?
            .ok(Op::MgmtResponse)?;
        let t = unwrap(&data, tags::DYN_AUTH, "GENERAL AUTHENTICATE")?;
        let got = tlv::find(&t, tags::DYN_RESPONSE)
            .ok()
            .flatten()
            .ok_or(Error::Malformed {
                op: "GENERAL AUTHENTICATE",
            })?;
        let mut expected = challenge.clone();
        key.crypt(&mut expected, true)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(got, expected.as_slice())) {
            return Err(Error::CardProof);
        }
        Ok(())
    }

    /// SET MANAGEMENT KEY (needs the current one authenticated).
    pub fn set_management_key(&mut self, key: &MgmtKey) -> Result<()> {
        let len = u8::try_from(key.key.len())
            .map_err(|_| Error::Invalid("management key too long".into()))?;
        let mut d = Zeroizing::new(vec![key.alg.to_u8(), KeyRef::Management.to_u8(), len]);
        d.extend_from_slice(&key.key);
        // P1 FF, P2 FF: no touch policy (YubiKey SET MANAGEMENT KEY).
        self.send(Ins::SetManagementKey, 0xFF, 0xFF, &d)?
            .ok(Op::SetManagementKey)?;
        Ok(())
    }

    /// SET PIN RETRIES (needs the management key and the PIN); resets PIN and PUK to defaults.
    pub fn set_pin_retries(&mut self, pin: u8, puk: u8) -> Result<()> {
        self.send(Ins::SetPinRetries, pin, puk, &[])?
            .ok(Op::SetPinRetries)?;
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
        let mut ac = tlv::to_vec(tags::ALGORITHM, &[alg.to_u8()]);
        if pin_policy != PinPolicy::Default {
            ac.extend_from_slice(&tlv::to_vec(tags::PIN_POLICY, &[pin_policy.to_u8()]));
        }
        if touch != TouchPolicy::Default {
            ac.extend_from_slice(&tlv::to_vec(tags::TOUCH_POLICY, &[touch.to_u8()]));
        }
        let data = self
            .send(
                Ins::GenerateAsymmetric,
                0,
                slot.to_u8(),
                &tlv::to_vec(tags::GEN_CONTROL, &ac),
            )?
            .ok(Op::Generate(alg))?;
        PublicKey::parse(&unwrap(&data, tags::PUBLIC_KEY, "GENERATE")?, alg)
    }

    fn general_auth(
        &mut self,
        slot: KeyRef,
        alg: Algorithm,
        tag: u16,
        input: &[u8],
        op: &'static str,
    ) -> Result<Vec<u8>> {
        let data = self
            .send(
                Ins::GeneralAuthenticate,
                alg.to_u8(),
                slot.to_u8(),
                &tags::ask_response(tag, input),
            )?
            .ok(Op::UseKey { what: op, slot })?;
        let t = unwrap(&data, tags::DYN_AUTH, op)?;
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
        let (p1, p2) = P1P2_CURRENT_DF;
        let r = self.send(Ins::GetData, p1, p2, &tag.tag_list())?;
        if r.status == Status::NotFound {
            return Ok(None);
        }
        let data = r.ok(Op::GetData)?;
        if tag == ObjectTag::DISCOVERY {
            let outer = u16::try_from(tag.0).map_err(|_| Error::Malformed { op: "GET DATA" })?;
            return unwrap(&data, outer, "GET DATA").map(Some);
        }
        unwrap(&data, tags::OBJECT_DATA, "GET DATA").map(Some)
    }

    /// PUT DATA (management key); empty content deletes the object.
    pub fn write_object(&mut self, tag: ObjectTag, content: &[u8]) -> Result<()> {
        let mut d = tag.tag_list();
        d.extend_from_slice(&tlv::to_vec(tags::OBJECT_DATA, content));
        let (p1, p2) = P1P2_CURRENT_DF;
        self.send(Ins::PutData, p1, p2, &d)?.ok(Op::PutData)?;
        Ok(())
    }

    /// The DER certificate in `slot`'s object, if any.
    pub fn read_certificate(&mut self, slot: KeyRef) -> Result<Option<Vec<u8>>> {
        let tag = slot
            .certificate_object()
            .ok_or(Error::Invalid("not a key slot".into()))?;
        let Some(obj) = self.read_object(tag)? else {
            return Ok(None);
        };
        let cert = tlv::find(&obj, tags::CERT).map_err(|_| Error::Malformed {
            op: "certificate object",
        })?;
        Ok(cert.map(|c| c.to_vec()))
    }

    /// Write a DER certificate into `slot`'s object (70 cert, 71 00, FE 00).
    pub fn write_certificate(&mut self, slot: KeyRef, der: &[u8]) -> Result<()> {
        let tag = slot
            .certificate_object()
            .ok_or(Error::Invalid("not a key slot".into()))?;
        let mut content = tlv::to_vec(tags::CERT, der);
        content.extend_from_slice(&tlv::to_vec(tags::CERT_INFO, &[CERT_INFO_UNCOMPRESSED]));
        content.extend_from_slice(&tlv::to_vec(tags::ERROR_DETECTION, &[]));
        self.write_object(tag, &content)
    }

    /// IMPORT a P-256 private key (management key).
    pub fn import_p256(
        &mut self,
        slot: KeyRef,
        scalar: &[u8],
        pin_policy: PinPolicy,
    ) -> Result<()> {
        self.import_ec(slot, Algorithm::EccP256, scalar, None, pin_policy)
    }

    /// IMPORT KEY of a GOST private key (d little-endian, as Kalkan's PKCS#8
    /// holds it) of `alg` (C1 or C2) into `slot`; with `point` (X_le ‖ Y_le)
    /// the card refuses a key that is not that point's.
    pub fn import_gost(
        &mut self,
        slot: KeyRef,
        alg: Algorithm,
        d: &[u8],
        point: Option<&[u8]>,
        pin_policy: PinPolicy,
    ) -> Result<()> {
        self.import_ec(slot, alg, d, point, pin_policy)
    }

    fn import_ec(
        &mut self,
        slot: KeyRef,
        alg: Algorithm,
        scalar: &[u8],
        point: Option<&[u8]>,
        pin_policy: PinPolicy,
    ) -> Result<()> {
        let mut d = Zeroizing::new(tlv::to_vec(tags::IMPORT_EC_PRIVATE, scalar));
        if let Some(p) = point {
            d.extend_from_slice(&tlv::to_vec(tags::EC_POINT, p));
        }
        if pin_policy != PinPolicy::Default {
            d.extend_from_slice(&tlv::to_vec(tags::PIN_POLICY, &[pin_policy.to_u8()]));
        }
        self.send(Ins::ImportKey, alg.to_u8(), slot.to_u8(), &d)?
            .ok(Op::Import)?;
        Ok(())
    }

    /// RESET the application (only when PIN and PUK are blocked).
    pub fn reset(&mut self) -> Result<()> {
        self.send(Ins::Reset, 0, 0, &[])?.ok(Op::Reset)?;
        Ok(())
    }
}

/// A CHUID object's content: the PIV test FASC-N, `guid`, an expiry date, an
/// empty signature (the card's own default, from apdu-spec).
pub fn chuid(guid: &[u8; 16]) -> Vec<u8> {
    tamga_spec::chuid::default_chuid(guid).to_vec()
}

/// A card capability container's content with a card identifier derived from `guid`.
pub fn ccc(guid: &[u8; 16]) -> Vec<u8> {
    let mut id = vec![0xA0, 0x00, 0x00, 0x01, 0x16, 0xFF, 0x02];
    id.extend_from_slice(&guid[..14]);
    let mut v = tlv::to_vec(0xF0, &id);
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
        v.extend_from_slice(&tlv::to_vec(tag, value));
    }
    v
}
