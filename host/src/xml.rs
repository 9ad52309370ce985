//! Enveloped XML signatures (XMLDSig, as NCALayer's `signXml` makes them)
//! with a card key: `tamga_pki::xmldsig` prepares the document and builds the
//! result, the card signs the canonical SignedInfo. `tamga sign --format xml`
//! and the browser agent both call [`sign`]; xmlsec1 verifies what it makes
//! (RSA, P-256).

use x509_cert::Certificate;

use crate::error::Result;
use crate::signer::CardSigner;
use crate::transport::Transport;

/// `xml` signed on the card by `signer` (the key of `cert`, the signer's
/// certificate, which goes into KeyInfo): the document as written with a
/// `ds:Signature` appended to its document element. The algorithm follows the
/// key (RSA-SHA256, ECDSA-P256-SHA256, GOST 2015-512); GOST 34.310-2004 keys
/// are not supported yet. The card's signature is checked with `cert`'s key
/// before the document is returned.
pub fn sign<T: Transport>(
    signer: &CardSigner<'_, T>,
    cert: &Certificate,
    xml: &str,
) -> Result<String> {
    let prepared = tamga_pki::xmldsig::prepare(xml, cert)?;
    let signature = signer.sign_bytes(prepared.signed_info())?;
    Ok(prepared.finish(&signature)?)
}
