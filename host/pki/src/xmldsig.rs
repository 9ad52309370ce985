//! The enveloped XML signature (XMLDSig) NCALayer makes of a whole document
//! (`signXml` with empty XPaths, `basics.sign` with `format: "xml"`), and its check.
//!
//! ```text
//! <root …>…<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
//! <ds:SignedInfo>
//! <ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
//! <ds:SignatureMethod Algorithm="…rsa-sha256 | …ecdsa-sha256 | …gostr34102015-gostr34112015-512"/>
//! <ds:Reference URI="">
//! <ds:Transforms>
//! <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
//! <ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/>
//! </ds:Transforms>
//! <ds:DigestMethod Algorithm="…"/>
//! <ds:DigestValue>…</ds:DigestValue>
//! </ds:Reference>
//! </ds:SignedInfo>
//! <ds:SignatureValue>
//! …
//! </ds:SignatureValue>
//! <ds:KeyInfo>
//! <ds:X509Data>
//! <ds:X509Certificate>
//! …
//! </ds:X509Certificate>
//! </ds:X509Data>
//! </ds:KeyInfo>
//! </ds:Signature></root>
//! ```
//!
//! The line breaks and the Base64 lines of 76 characters are Kalkan's (Apache
//! Santuario's); the document itself is kept as written, the signature inserted
//! before the end tag of the document element. `URI=""` is the document without
//! its comments (XMLDSig §4.3.3.3), so the digest is over the canonical form
//! without comments even though the transform names `#WithComments`, as
//! Santuario and xmlsec1 compute it.
//!
//! Signing is three steps, so that the key can be anywhere (a card, a browser
//! agent): [`prepare`] the document with the signer's certificate, sign
//! [`Prepared::signed_info`] (the canonical SignedInfo in the context of the
//! final document: it carries the namespaces and `xml:*` attributes in scope
//! there) as any message is signed with the key, then [`Prepared::finish`] with
//! the signature. [`verify()`](fn@verify) checks a document signed this way.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use der::{Decode, Encode};
use roxmltree::Node;
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::c14n::{self, Comments};
use crate::cms::Verified;
use crate::gost::Generation;
use crate::{Error, Result, oids, verify};

/// The XMLDSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Canonical XML 1.0, the SignedInfo's canonicalization.
pub const C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments, the reference's second transform.
pub const C14N_WITH_COMMENTS: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// The enveloped-signature transform.
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// The Base64 line length Kalkan writes.
const B64_LINE: usize = 76;

/// A signature algorithm of the profile, chosen by the signer's key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum XmlAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// ECDSA P-256 with SHA-256; the value is r ‖ s (32 + 32 bytes, XMLDSig 1.1).
    EcdsaP256Sha256,
    /// GOST 34.10-2015 512-bit with Streebog-512 (the NCA's URIs).
    Gost2015,
}

impl XmlAlgorithm {
    /// The algorithm for the key of `spki`: RSA, P-256 or GOST 2015; GOST
    /// 34.310-2004 and other keys are refused.
    pub fn for_key(spki: &SubjectPublicKeyInfoOwned) -> Result<Self> {
        match spki.algorithm.oid {
            oids::RSA_ENCRYPTION => Ok(XmlAlgorithm::RsaSha256),
            oids::EC_PUBLIC_KEY => {
                verify::p256_key(&spki.to_der()?)?;
                Ok(XmlAlgorithm::EcdsaP256Sha256)
            }
            oid => match Generation::from_key_oid(&oid) {
                Some(Generation::Gost2015) => Ok(XmlAlgorithm::Gost2015),
                Some(Generation::Gost2004) => Err(Error::Unsupported(
                    "XML signatures with a GOST 34.310-2004 key".into(),
                )),
                None => Err(Error::KeyNotAllowed(format!(
                    "no XML signature algorithm for key algorithm {oid}"
                ))),
            },
        }
    }

    /// The `SignatureMethod` URI.
    pub fn signature_method(self) -> &'static str {
        match self {
            XmlAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            XmlAlgorithm::EcdsaP256Sha256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
            XmlAlgorithm::Gost2015 => {
                "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
            }
        }
    }

    /// The `DigestMethod` URI.
    pub fn digest_method(self) -> &'static str {
        match self {
            XmlAlgorithm::RsaSha256 | XmlAlgorithm::EcdsaP256Sha256 => {
                "http://www.w3.org/2001/04/xmlenc#sha256"
            }
            XmlAlgorithm::Gost2015 => {
                "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"
            }
        }
    }

    /// The digest of `data` (as the hash outputs it).
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            XmlAlgorithm::RsaSha256 | XmlAlgorithm::EcdsaP256Sha256 => {
                Sha256::digest(data).to_vec()
            }
            XmlAlgorithm::Gost2015 => Generation::Gost2015.digest(data),
        }
    }

    /// The `SignatureValue` bytes of a signature in the encoding
    /// [`verify::signature`] takes (DER ECDSA, or already r ‖ s for P-256).
    fn signature_to_value(self, sig: &[u8]) -> Result<Vec<u8>> {
        match self {
            XmlAlgorithm::EcdsaP256Sha256 => Ok(p256_signature(sig)?.to_bytes().to_vec()),
            XmlAlgorithm::RsaSha256 | XmlAlgorithm::Gost2015 => Ok(sig.to_vec()),
        }
    }

    /// The encoding [`verify::signature`] takes of `SignatureValue` bytes.
    fn value_to_signature(self, value: &[u8]) -> Result<Vec<u8>> {
        match self {
            XmlAlgorithm::EcdsaP256Sha256 => {
                let sig = p256::ecdsa::Signature::from_slice(value)
                    .map_err(|_| Error::SignatureNotValid("not an r ‖ s P-256 signature".into()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            XmlAlgorithm::RsaSha256 | XmlAlgorithm::Gost2015 => Ok(value.to_vec()),
        }
    }
}

/// A P-256 signature given as DER or as r ‖ s.
fn p256_signature(sig: &[u8]) -> Result<p256::ecdsa::Signature> {
    p256::ecdsa::Signature::from_der(sig)
        .or_else(|_| p256::ecdsa::Signature::from_slice(sig))
        .map_err(|_| Error::SignatureNotValid("not a P-256 signature (DER or r ‖ s)".into()))
}

/// Base64 in lines of [`B64_LINE`] characters joined by `\n`.
fn base64_lines(data: &[u8]) -> String {
    let text = B64.encode(data);
    let lines: Vec<&str> = text
        .as_bytes()
        .chunks(B64_LINE)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    lines.join("\n")
}

/// A document ready for its signature: see [`prepare`].
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The signed document but for the signature value.
    document: String,
    /// Where the Base64 of the signature value goes in `document`.
    value_at: usize,
    /// The canonical SignedInfo.
    signed_info: Vec<u8>,
    algorithm: XmlAlgorithm,
    key: SubjectPublicKeyInfoOwned,
}

/// Where the signature goes: before the end tag of the document element, or
/// (an empty element `<root/>`) in place of its `/>`. The byte range to
/// replace, and the text to put before and after the signature there.
struct Insertion {
    replace: std::ops::Range<usize>,
    before: &'static str,
    after: String,
}

fn insertion_point(xml: &str, root: Node<'_, '_>) -> Result<Insertion> {
    let range = root.range();
    let text = xml
        .get(range.clone())
        .ok_or_else(|| Error::Xml("unreadable document element".into()))?;
    if text.ends_with("/>") {
        let name_end = text
            .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
            .unwrap_or(1);
        let name = text.get(1..name_end).unwrap_or_default();
        Ok(Insertion {
            replace: range.end - 2..range.end,
            before: ">",
            after: format!("</{name}>"),
        })
    } else {
        let at = text
            .rfind("</")
            .ok_or_else(|| Error::Xml("no end tag of the document element".into()))?;
        Ok(Insertion {
            replace: range.start + at..range.start + at,
            before: "",
            after: String::new(),
        })
    }
}

/// Refuses an XML declaration that names an encoding other than UTF-8: the
/// document is text here and is written as UTF-8.
fn check_declaration(xml: &str) -> Result<()> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let Some(rest) = xml.strip_prefix("<?xml") else {
        return Ok(());
    };
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Ok(());
    }
    let decl = rest.split("?>").next().unwrap_or_default();
    let Some(after) = decl.split_once("encoding").map(|(_, a)| a) else {
        return Ok(());
    };
    let value = after
        .trim_start()
        .strip_prefix('=')
        .map(str::trim_start)
        .and_then(|v| {
            let q = v.chars().next()?;
            let v = v.get(1..)?;
            v.split(q).next()
        })
        .unwrap_or_default();
    if value.eq_ignore_ascii_case("utf-8") {
        Ok(())
    } else {
        Err(Error::Xml(format!(
            "the XML declaration names encoding {value:?}: only UTF-8 documents are signed"
        )))
    }
}

/// Prepares `xml` for an enveloped signature by the key of `cert`: the
/// algorithm from the certificate's key ([`XmlAlgorithm::for_key`]), the
/// digest of the document, the signed document but for its signature value,
/// and the canonical SignedInfo to sign. Refuses what [`c14n`] refuses and a
/// non-UTF-8 encoding declaration.
pub fn prepare(xml: &str, cert: &Certificate) -> Result<Prepared> {
    let key = cert.tbs_certificate().subject_public_key_info().clone();
    let algorithm = XmlAlgorithm::for_key(&key)?;
    check_declaration(xml)?;
    let doc = c14n::parse(xml)?;
    let digest = algorithm.digest(&c14n::document(&doc, Comments::Without, None)?);
    let at = insertion_point(xml, doc.root_element())?;
    let cert_b64 = base64_lines(&cert.to_der()?);
    let head = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\">\n<ds:SignedInfo>\n\
         <ds:CanonicalizationMethod Algorithm=\"{C14N}\"/>\n\
         <ds:SignatureMethod Algorithm=\"{}\"/>\n\
         <ds:Reference URI=\"\">\n<ds:Transforms>\n\
         <ds:Transform Algorithm=\"{ENVELOPED}\"/>\n\
         <ds:Transform Algorithm=\"{C14N_WITH_COMMENTS}\"/>\n\
         </ds:Transforms>\n<ds:DigestMethod Algorithm=\"{}\"/>\n\
         <ds:DigestValue>{}</ds:DigestValue>\n</ds:Reference>\n</ds:SignedInfo>\n\
         <ds:SignatureValue>\n",
        algorithm.signature_method(),
        algorithm.digest_method(),
        base64_lines(&digest),
    );
    let tail = format!(
        "\n</ds:SignatureValue>\n<ds:KeyInfo>\n<ds:X509Data>\n<ds:X509Certificate>\n\
         {cert_b64}\n</ds:X509Certificate>\n</ds:X509Data>\n</ds:KeyInfo>\n</ds:Signature>{}",
        at.after
    );
    let mut document = String::with_capacity(xml.len() + head.len() + tail.len() + 512);
    document.push_str(&xml[..at.replace.start]);
    document.push_str(at.before);
    document.push_str(&head);
    let value_at = document.len();
    document.push_str(&tail);
    document.push_str(&xml[at.replace.end..]);
    // The SignedInfo as it stands in the final document.
    let signed = c14n::parse(&document)?;
    let signature = own_signature(&signed)?;
    let info = child(signature, "SignedInfo")?;
    let signed_info = c14n::subtree(info, Comments::Without)?;
    drop(signed);
    Ok(Prepared {
        document,
        value_at,
        signed_info,
        algorithm,
        key,
    })
}

impl Prepared {
    /// The algorithm, from the certificate's key.
    pub fn algorithm(&self) -> XmlAlgorithm {
        self.algorithm
    }

    /// The exact bytes the key signs (the canonical SignedInfo), hashed by
    /// the signer as any message: SHA-256, or Streebog-512 for GOST.
    pub fn signed_info(&self) -> &[u8] {
        &self.signed_info
    }

    /// The signed document, given the signature over [`Self::signed_info`]
    /// in the encoding of certificates and CMS ([`verify::signature`]'s):
    /// RSA PKCS#1 v1.5 bytes, P-256 DER (r ‖ s accepted too), GOST r_le ‖ s_le.
    /// The signature is checked with the certificate's key first.
    pub fn finish(self, signature: &[u8]) -> Result<String> {
        let value = self.algorithm.signature_to_value(signature)?;
        let check = self.algorithm.value_to_signature(&value)?;
        verify::signature(&self.key, None, &self.signed_info, &check).map_err(|e| match e {
            Error::BadSignature => Error::SignatureNotValid(
                "the signature does not verify with the certificate's key".into(),
            ),
            e => e,
        })?;
        let mut document = self.document;
        document.insert_str(self.value_at, &base64_lines(&value));
        Ok(document)
    }
}

fn is_ds(n: &Node<'_, '_>, name: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(DSIG_NS) && n.tag_name().name() == name
}

/// The one `ds:` child `name` of `parent`.
fn child<'a, 'i>(parent: Node<'a, 'i>, name: &str) -> Result<Node<'a, 'i>> {
    let mut found = parent.children().filter(|n| is_ds(n, name));
    match (found.next(), found.next()) {
        (Some(n), None) => Ok(n),
        (None, _) => Err(Error::SignatureNotValid(format!("no ds:{name}"))),
        (Some(_), Some(_)) => Err(Error::SignatureNotValid(format!("more than one ds:{name}"))),
    }
}

/// The signature of this profile: the document element's last child element.
fn own_signature<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Result<Node<'a, 'i>> {
    doc.root_element()
        .last_element_child()
        .filter(|n| is_ds(n, "Signature"))
        .ok_or_else(|| {
            Error::SignatureNotValid(
                "no ds:Signature as the last child of the document element".into(),
            )
        })
}

fn algorithm_of<'a>(n: Node<'a, '_>) -> &'a str {
    n.attribute("Algorithm").unwrap_or_default()
}

fn base64_text(n: Node<'_, '_>, what: &str) -> Result<Vec<u8>> {
    let text: String = n
        .children()
        .filter(|c| c.is_text())
        .flat_map(|c| c.text().unwrap_or_default().chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    B64.decode(text)
        .map_err(|_| Error::SignatureNotValid(format!("{what} is not Base64")))
}

/// Checks a document signed as [`prepare`] signs it: the `ds:Signature`
/// that is the last child of the document element, its one reference to the
/// whole document with the enveloped-signature and inclusive C14N
/// transforms, the digest, the signature by the key of the certificate in
/// `KeyInfo`, and that certificate issued by one of `cas` and valid at `now`.
pub fn verify(xml: &str, cas: &[Certificate], now: SystemTime) -> Result<Verified> {
    let bad = |what: &str| Error::SignatureNotValid(what.to_string());
    let doc = c14n::parse(xml)?;
    let signature = own_signature(&doc)?;
    let info = child(signature, "SignedInfo")?;
    let key_info = child(signature, "KeyInfo")?;
    let der = base64_text(
        child(child(key_info, "X509Data")?, "X509Certificate")?,
        "the certificate",
    )?;
    let cert = Certificate::from_der(&der).map_err(|_| bad("malformed certificate"))?;
    let key = cert.tbs_certificate().subject_public_key_info();
    let algorithm = XmlAlgorithm::for_key(key)?;
    if algorithm_of(child(info, "CanonicalizationMethod")?) != C14N {
        return Err(bad("SignedInfo canonicalization is not inclusive C14N 1.0"));
    }
    if algorithm_of(child(info, "SignatureMethod")?) != algorithm.signature_method() {
        return Err(bad(
            "the signature method is not the one of the signer's key",
        ));
    }
    let reference = child(info, "Reference")?;
    if reference.attribute("URI") != Some("") {
        return Err(bad("the reference is not to the whole document (URI=\"\")"));
    }
    let transforms: Vec<&str> = child(reference, "Transforms")?
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            if is_ds(&n, "Transform") {
                algorithm_of(n)
            } else {
                ""
            }
        })
        .collect();
    if !matches!(
        transforms.as_slice(),
        [ENVELOPED, C14N | C14N_WITH_COMMENTS]
    ) {
        return Err(bad(
            "transforms other than enveloped-signature then C14N 1.0",
        ));
    }
    if algorithm_of(child(reference, "DigestMethod")?) != algorithm.digest_method() {
        return Err(bad("the digest method is not the one of the signer's key"));
    }
    let digest = base64_text(child(reference, "DigestValue")?, "the digest")?;
    // URI="" leaves comments out (XMLDSig §4.3.3.3).
    let content = c14n::document(&doc, Comments::Without, Some(signature))?;
    if algorithm.digest(&content) != digest {
        return Err(bad(
            "the document does not match the signature (digest differs)",
        ));
    }
    let value = base64_text(child(signature, "SignatureValue")?, "the signature value")?;
    let signed_info = c14n::subtree(info, Comments::Without)?;
    verify::signature(
        key,
        None,
        &signed_info,
        &algorithm.value_to_signature(&value)?,
    )
    .map_err(|_| bad("the signature does not verify with the signer's key"))?;
    crate::cms::trusted_signer(&cert, cas, now)
}
