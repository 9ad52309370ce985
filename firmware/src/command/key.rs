//! Key parameters of GENERATE, IMPORT KEY and SET MANAGEMENT KEY: the
//! algorithm and the key material, classified at parse time and refused by the
//! handler (after its security check) when they are not usable.

use tamga_spec::{Algorithm, PinPolicy, Status, TouchPolicy, tags, tlv};

/// The algorithm a GENERATE or IMPORT KEY asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSA-2048, P-256 or GOST (either generation): what Tamga implements.
    Supported(Algorithm),
    /// A recognized asymmetric algorithm Tamga does not implement (`6A81`).
    Unsupported,
    /// No asymmetric algorithm (`6A80`).
    Invalid,
}

impl KeyAlgorithm {
    /// Classify an algorithm byte.
    pub fn from_u8(alg: u8) -> Self {
        match Algorithm::try_from(alg) {
            Ok(
                a @ (Algorithm::EccP256
                | Algorithm::Rsa2048
                | Algorithm::Gost2004
                | Algorithm::Gost2015_512),
            ) => KeyAlgorithm::Supported(a),
            Ok(a) if a.is_asymmetric() => KeyAlgorithm::Unsupported,
            _ => KeyAlgorithm::Invalid,
        }
    }

    /// The algorithm, or the status word refusing it.
    pub fn supported(self) -> Result<Algorithm, Status> {
        match self {
            KeyAlgorithm::Supported(a) => Ok(a),
            KeyAlgorithm::Unsupported => Err(Status::FunctionNotSupported),
            KeyAlgorithm::Invalid => Err(Status::IncorrectDataParameter),
        }
    }
}

/// The private key of an IMPORT KEY (tags 01-06, and 86 beside 06; the
/// policy tags AA and AB are skipped: [`ImportMaterial::parse`] returns them
/// beside it).
#[derive(Copy, Clone, PartialEq, Eq)]
pub enum ImportMaterial<'a> {
    /// RSA-2048 in CRT form (tags 01-05): p, q, dp, dq, qinv.
    Rsa([&'a [u8]; 5]),
    /// An EC private scalar (tag 06: big-endian for P-256, little-endian for
    /// GOST), with the public key it must give when the host sends one (tag
    /// 86: the point as GENERATE answers it).
    Ec(&'a [u8], Option<&'a [u8]>),
    /// Anything else: an unknown or repeated tag, an incomplete or mixed set,
    /// a malformed TLV (`6A80`, answered after the algorithm check).
    Malformed,
}

/// Key material is not printed.
impl core::fmt::Debug for ImportMaterial<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ImportMaterial::Rsa(_) => "Rsa(..)",
            ImportMaterial::Ec(..) => "Ec(..)",
            ImportMaterial::Malformed => "Malformed",
        })
    }
}

impl<'a> ImportMaterial<'a> {
    /// Classify the TLVs of an IMPORT KEY body, and read its policies (a
    /// malformed policy makes the whole body [`ImportMaterial::Malformed`]).
    pub fn parse(data: &'a [u8]) -> (Self, PinPolicy, TouchPolicy) {
        match super::policies(data) {
            Ok((pin, touch)) => (Self::material(data), pin, touch),
            Err(_) => (
                ImportMaterial::Malformed,
                PinPolicy::Default,
                TouchPolicy::Default,
            ),
        }
    }

    fn material(data: &'a [u8]) -> Self {
        // Indexed by tag - 1: p, q, dp, dq, qinv, the EC scalar; then the point.
        let mut parts: [Option<&[u8]>; 6] = [None; 6];
        let mut point = None;
        for t in tlv::iter(data) {
            let Ok(t) = t else {
                return ImportMaterial::Malformed;
            };
            match t.tag {
                tags::IMPORT_RSA_P..=tags::IMPORT_RSA_QINV | tags::IMPORT_EC_PRIVATE => {}
                tags::PIN_POLICY | tags::TOUCH_POLICY => continue,
                tags::EC_POINT if point.is_none() => {
                    point = Some(t.value);
                    continue;
                }
                _ => return ImportMaterial::Malformed,
            }
            let i = usize::from(t.tag).saturating_sub(1);
            match parts.get_mut(i) {
                Some(slot @ None) => *slot = Some(t.value),
                _ => return ImportMaterial::Malformed,
            }
        }
        match (parts, point) {
            ([Some(p), Some(q), Some(dp), Some(dq), Some(qinv), None], None) => {
                ImportMaterial::Rsa([p, q, dp, dq, qinv])
            }
            ([None, None, None, None, None, Some(scalar)], point) => {
                ImportMaterial::Ec(scalar, point)
            }
            _ => ImportMaterial::Malformed,
        }
    }
}

/// A new management key: a symmetric algorithm and a key of its length.
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct SymmetricKey<'a> {
    /// 3DES or AES-128/192/256.
    pub alg: Algorithm,
    /// The key, exactly `alg.symmetric_key_len()` bytes.
    pub key: &'a [u8],
}

/// The key is not printed.
impl core::fmt::Debug for SymmetricKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl<'a> SymmetricKey<'a> {
    /// `key` under the algorithm byte `alg`; `None` if `alg` is no symmetric
    /// algorithm or `key` is not its key length.
    pub fn new(alg: u8, key: &'a [u8]) -> Option<Self> {
        let alg = Algorithm::try_from(alg).ok()?;
        (alg.symmetric_key_len() == Some(key.len())).then_some(SymmetricKey { alg, key })
    }
}
