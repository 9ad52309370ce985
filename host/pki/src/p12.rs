//! The private key of a Kalkan PKCS#12 file (the NCA's key containers, such
//! as its public test kit's): the MAC checked (HMAC-SHA-1 with the PKCS#12
//! key derivation), the shrouded key bag decrypted (pbeWithSHAAnd3-
//! KeyTripleDES-CBC), the GOST private key taken from its PKCS#8 form
//! (privateKey = OCTET STRING { OCTET STRING { d, little-endian } }). The
//! certificate bags (RC2-40 in the test kit) are not read.

use der::asn1::{Any, ObjectIdentifier as Oid, OctetString};
use der::{Decode, Encode, Sequence};
use des::cipher::{Block, BlockCipherDecrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha1::{Digest, Sha1};
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use crate::gost::Generation;
use crate::{Error, Result};

/// id-data (PKCS #7).
const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
/// pkcs8ShroudedKeyBag (RFC 7292).
const SHROUDED_KEY_BAG: Oid = Oid::new_unwrap("1.2.840.113549.1.12.10.1.2");
/// pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292).
const PBE_SHA1_3DES: Oid = Oid::new_unwrap("1.2.840.113549.1.12.1.3");

/// PFX (RFC 7292 §4), as far as it is read here.
#[derive(Sequence)]
struct Pfx {
    version: u8,
    auth_safe: cms::content_info::ContentInfo,
    mac_data: Option<MacData>,
}

#[derive(Sequence)]
struct MacData {
    mac: DigestInfo,
    mac_salt: OctetString,
    #[asn1(default = "one")]
    iterations: u32,
}

fn one() -> u32 {
    1
}

#[derive(Sequence)]
struct DigestInfo {
    algorithm: AlgorithmIdentifierOwned,
    digest: OctetString,
}

#[derive(Sequence)]
struct SafeBag {
    bag_id: Oid,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    bag_value: Any,
    bag_attributes: Option<Any>,
}

#[derive(Sequence)]
struct EncryptedPrivateKeyInfo {
    encryption_algorithm: AlgorithmIdentifierOwned,
    encrypted_data: OctetString,
}

#[derive(Sequence)]
struct PbeParams {
    salt: OctetString,
    iterations: u32,
}

/// What the key derivation of RFC 7292 appendix B is for.
#[derive(Copy, Clone)]
enum Purpose {
    Key = 1,
    Iv = 2,
    Mac = 3,
}

/// RFC 7292 appendix B.2 with SHA-1 (u = 20, v = 64): `n` bytes for
/// `purpose` from the password (as a BMPString with its two zero bytes),
/// the salt and the iteration count.
fn derive(
    password: &str,
    salt: &[u8],
    purpose: Purpose,
    rounds: u32,
    n: usize,
) -> Zeroizing<Vec<u8>> {
    const V: usize = 64;
    let mut pass = Zeroizing::new(Vec::new());
    for unit in password.encode_utf16().chain([0]) {
        pass.extend_from_slice(&unit.to_be_bytes());
    }
    let fill = |src: &[u8]| -> Vec<u8> {
        let len = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(len).collect()
    };
    let mut i = Zeroizing::new([fill(salt), fill(&pass)].concat());
    let d = [purpose as u8; V];
    let mut out = Zeroizing::new(Vec::with_capacity(n + 20));
    while out.len() < n {
        let mut a = Sha1::new()
            .chain_update(d)
            .chain_update(i.as_slice())
            .finalize();
        for _ in 1..rounds {
            a = Sha1::digest(a);
        }
        out.extend_from_slice(&a);
        // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
        let b: Vec<u8> = a.iter().copied().cycle().take(V).collect();
        for block in i.chunks_exact_mut(V) {
            let mut carry = 1u16;
            for (x, y) in block.iter_mut().rev().zip(b.iter().rev()) {
                let sum = u16::from(*x) + u16::from(*y) + carry;
                *x = sum.to_le_bytes()[0];
                carry = sum >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

fn bad(what: &str) -> Error {
    Error::KeyNotAllowed(format!("PKCS#12: {what}"))
}

/// A GOST private key read from a PKCS#12 file.
pub struct GostKey {
    /// Its generation (from the key's algorithm OID).
    pub generation: Generation,
    /// d, little-endian.
    pub d: Zeroizing<Vec<u8>>,
}

/// The content of an id-data ContentInfo (an OCTET STRING).
fn data_content(ci: &cms::content_info::ContentInfo) -> Option<Vec<u8>> {
    (ci.content_type == ID_DATA)
        .then(|| ci.content.decode_as::<OctetString>().ok())
        .flatten()
        .map(OctetString::into_bytes)
        .map(Vec::from)
}

/// Kalkan writes the authenticated safe in BER (indefinite lengths), which
/// `der` refuses: a minimal BER reader for it. One TLV at the start of `b`:
/// (tag byte, content, the bytes after it); an indefinite length's content
/// ends at its end-of-contents octets. Single-byte tags only (all this
/// structure has); nesting bounded.
fn ber(b: &[u8], depth: usize) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&len, rest) = rest.split_first()?;
    if tag & 0x1F == 0x1F || depth > 16 {
        return None;
    }
    match len {
        0x80 => {
            // Children until 00 00.
            let mut at = rest;
            loop {
                if let [0, 0, after @ ..] = at {
                    let used = rest.len() - at.len();
                    return Some((tag, &rest[..used], after));
                }
                let (_, _, next) = ber(at, depth + 1)?;
                at = next;
            }
        }
        n if n < 0x80 => {
            let n = usize::from(n);
            (rest.len() >= n).then(|| (tag, &rest[..n], &rest[n..]))
        }
        n => {
            let k = usize::from(n & 0x7F);
            if k > 4 || rest.len() < k {
                return None;
            }
            let n = rest[..k]
                .iter()
                .fold(0usize, |a, &x| (a << 8) | usize::from(x));
            let rest = &rest[k..];
            (rest.len() >= n).then(|| (tag, &rest[..n], &rest[n..]))
        }
    }
}

/// The TLVs inside a constructed BER content.
fn ber_children(mut b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let (tag, content, rest) = ber(b, 0)?;
        out.push((tag, content));
        b = rest;
    }
    Some(out)
}

/// The payloads of the id-data ContentInfos of a BER authenticated safe
/// (the encrypted ones, which hold certificates, are skipped).
fn data_payloads(safe: &[u8]) -> Option<Vec<Vec<u8>>> {
    let (_, seq, _) = ber(safe, 0)?;
    let data_oid = ID_DATA.to_der().ok()?;
    let mut out = Vec::new();
    for (_, ci) in ber_children(seq)? {
        let parts = ber_children(ci)?;
        let [(0x06, oid), (0xA0, explicit), ..] = parts.as_slice() else {
            continue;
        };
        if data_oid.get(2..) != Some(oid) {
            continue;
        }
        // OCTET STRING, primitive (04) or constructed from primitive pieces (24).
        let mut payload = Vec::new();
        for (tag, content) in ber_children(explicit)? {
            match tag {
                0x04 => payload.extend_from_slice(content),
                0x24 => {
                    for (t, piece) in ber_children(content)? {
                        if t != 0x04 {
                            return None;
                        }
                        payload.extend_from_slice(piece);
                    }
                }
                _ => return None,
            }
        }
        out.push(payload);
    }
    Some(out)
}

/// 3DES-CBC decryption with PKCS #7 padding removed.
fn tdes_cbc_decrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = des::TdesEde3::new_from_slice(key).ok()?;
    if data.is_empty() || !data.len().is_multiple_of(8) || iv.len() != 8 {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(data.len()));
    let mut prev = [0u8; 8];
    prev.copy_from_slice(iv);
    for chunk in data.chunks_exact(8) {
        let mut b = Block::<des::TdesEde3>::default();
        b.copy_from_slice(chunk);
        cipher.decrypt_block(&mut b);
        out.extend(b.iter().zip(prev).map(|(x, p)| x ^ p));
        prev.copy_from_slice(chunk);
    }
    let pad = usize::from(*out.last()?);
    if pad == 0
        || pad > 8
        || !out[out.len() - pad..]
            .iter()
            .all(|&b| usize::from(b) == pad)
    {
        return None;
    }
    let keep = out.len() - pad;
    out.truncate(keep);
    Some(out)
}

/// The GOST private key of the PKCS#12 file `der` under `password`.
pub fn gost_key(der: &[u8], password: &str) -> Result<GostKey> {
    let pfx = Pfx::from_der(der).map_err(|e| bad(&format!("not a PFX ({e})")))?;
    if pfx.version != 3 {
        return Err(bad("not version 3"));
    }
    let safe = data_content(&pfx.auth_safe).ok_or_else(|| bad("authSafe is not id-data"))?;
    // The MAC: a wrong password is reported as such, not as a bad file.
    let mac = pfx.mac_data.as_ref().ok_or_else(|| bad("no MAC"))?;
    let rounds = mac.iterations;
    let salt = mac.mac_salt.as_bytes();
    let key = derive(password, salt, Purpose::Mac, rounds, 20);
    let mut h = <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(&key).map_err(|_| bad("MAC key"))?;
    h.update(&safe);
    h.verify_slice(mac.mac.digest.as_bytes())
        .map_err(|_| bad("wrong password (the MAC does not verify)"))?;
    let payloads = data_payloads(&safe).ok_or_else(|| bad("authenticated safe"))?;
    for bags in &payloads {
        let bags: Vec<SafeBag> = Vec::from_der(bags).map_err(|_| bad("safe contents"))?;
        if let Some(bag) = bags.iter().find(|b| b.bag_id == SHROUDED_KEY_BAG) {
            return shrouded_key(bag, password);
        }
    }
    Err(bad("no shrouded key bag"))
}

/// The GOST key of a pkcs8ShroudedKeyBag.
fn shrouded_key(bag: &SafeBag, password: &str) -> Result<GostKey> {
    let epki: EncryptedPrivateKeyInfo = bag
        .bag_value
        .decode_as()
        .map_err(|_| bad("shrouded key bag"))?;
    if epki.encryption_algorithm.oid != PBE_SHA1_3DES {
        return Err(bad(&format!(
            "key encryption {} (3DES expected)",
            epki.encryption_algorithm.oid
        )));
    }
    let params: PbeParams = epki
        .encryption_algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as().ok())
        .ok_or_else(|| bad("PBE parameters"))?;
    let (salt, rounds) = (params.salt.as_bytes(), params.iterations);
    let (k, iv) = (
        derive(password, salt, Purpose::Key, rounds, 24),
        derive(password, salt, Purpose::Iv, rounds, 8),
    );
    let plain = tdes_cbc_decrypt(&k, &iv, epki.encrypted_data.as_bytes())
        .ok_or_else(|| bad("the key bag does not decrypt"))?;
    let info = pkcs8::PrivateKeyInfoRef::from_der(&plain).map_err(|_| bad("PKCS#8"))?;
    let generation = Generation::from_key_oid(&info.algorithm.oid)
        .ok_or_else(|| bad(&format!("key algorithm {} is not GOST", info.algorithm.oid)))?;
    let inner = OctetString::from_der(info.private_key.as_bytes())
        .map_err(|_| bad("GOST private key is not an OCTET STRING"))?;
    let d = Zeroizing::new(inner.as_bytes().to_vec());
    if d.len() != generation.scalar_len() {
        return Err(bad("GOST private key of the wrong length"));
    }
    Ok(GostKey { generation, d })
}
