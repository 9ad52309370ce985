//! GENERAL AUTHENTICATE: the algorithm (P1) and the step the 7C template asks for.

use tamga_spec::{Algorithm, tags, tlv};

/// P1 of GENERAL AUTHENTICATE.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum AuthAlgorithm {
    /// `00`: the key's own algorithm (accepted for the management key only;
    /// OpenSC asks for random challenges that way).
    KeyDefault,
    /// An algorithm Tamga knows.
    Named(Algorithm),
    /// A byte that names no algorithm: no key matches it.
    Unknown,
}

impl AuthAlgorithm {
    /// Classify P1.
    pub fn from_p1(p1: u8) -> Self {
        match (p1, Algorithm::try_from(p1)) {
            (0x00, _) => AuthAlgorithm::KeyDefault,
            (_, Ok(a)) => AuthAlgorithm::Named(a),
            (_, Err(_)) => AuthAlgorithm::Unknown,
        }
    }

    /// Whether P1 names exactly `alg`.
    pub fn names(self, alg: Algorithm) -> bool {
        self == AuthAlgorithm::Named(alg)
    }
}

/// The decoded content of a 7C template: each of the four tags at most once.
#[derive(Default)]
struct Template<'a> {
    witness: Option<&'a [u8]>,
    challenge: Option<&'a [u8]>,
    response: Option<&'a [u8]>,
    exponentiation: Option<&'a [u8]>,
}

impl<'a> Template<'a> {
    /// Decode; `None` for a malformed TLV, another tag or a repeated one.
    fn parse(data: &'a [u8]) -> Option<Self> {
        let mut t = Template::default();
        for item in tlv::iter(data) {
            let item = item.ok()?;
            let field = match item.tag {
                tags::DYN_WITNESS => &mut t.witness,
                tags::DYN_CHALLENGE => &mut t.challenge,
                tags::DYN_RESPONSE => &mut t.response,
                tags::DYN_EXPONENTIATION => &mut t.exponentiation,
                _ => return None,
            };
            if field.replace(item.value).is_some() {
                return None;
            }
        }
        Some(t)
    }

    fn fields(&self) -> [Option<&'a [u8]>; 4] {
        [
            self.witness,
            self.challenge,
            self.response,
            self.exponentiation,
        ]
    }
}

/// A step of management-key authentication (key reference 9B).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MgmtStep<'a> {
    /// `80 00`: the host asks for an encrypted witness (step 1 of either flow).
    WitnessRequest,
    /// `80 <witness> [81 <challenge>]`: the decrypted witness, optionally with
    /// a challenge for the card (step 2, mutual authentication).
    Witness {
        /// The witness, decrypted by the host.
        witness: &'a [u8],
        /// The host's challenge to the card.
        challenge: Option<&'a [u8]>,
    },
    /// `81 00 [82 00]`: the host asks for a challenge (external authentication, step 1).
    ChallengeRequest,
    /// `82 <response>`: the host's encryption of the card's challenge (step 2).
    Response(&'a [u8]),
    /// Any other template: `6A80`, answered after the algorithm check.
    Malformed,
}

impl<'a> MgmtStep<'a> {
    /// The step the content of a 7C template asks for.
    pub fn parse(template: &'a [u8]) -> Self {
        let Some(t) = Template::parse(template) else {
            return MgmtStep::Malformed;
        };
        match t.fields() {
            [Some([]), None, None, None] => MgmtStep::WitnessRequest,
            [Some(witness), challenge, None, None] if !witness.is_empty() => {
                MgmtStep::Witness { witness, challenge }
            }
            [None, Some([]), None | Some([]), None] => MgmtStep::ChallengeRequest,
            [None, None, Some(response), None] if !response.is_empty() => {
                MgmtStep::Response(response)
            }
            _ => MgmtStep::Malformed,
        }
    }
}

/// A private-key operation with a key slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum KeyOp<'a> {
    /// `81 <data> 82 00`: sign a hash (P-256) or a padded block (raw RSA:
    /// signature and decryption are the same operation).
    Private(&'a [u8]),
    /// `85 <point> 82 00`: ECDH with the peer's point (P-256).
    Ecdh(&'a [u8]),
    /// Any other template: `6A80`, answered before the slot is read.
    Malformed,
}

impl<'a> KeyOp<'a> {
    /// The operation the content of a 7C template asks for.
    pub fn parse(template: &'a [u8]) -> Self {
        let Some(t) = Template::parse(template) else {
            return KeyOp::Malformed;
        };
        match t.fields() {
            [None, Some(c), Some([]), None] if !c.is_empty() => KeyOp::Private(c),
            [None, None, Some([]), Some(p)] if !p.is_empty() => KeyOp::Ecdh(p),
            _ => KeyOp::Malformed,
        }
    }
}
