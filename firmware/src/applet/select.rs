//! SELECT: the PIV application and its property template.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Algorithm, Status, aid, tags};

use super::session::Session;
use super::state::Core;
use crate::crypto::P256;
use crate::response::Outgoing;

/// The application label of the property template.
const LABEL: &[u8] = b"Tamga PIV";

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// SELECT by `aid`: PIV starts a session (a re-SELECT keeps it), anything
    /// else ends it; `fci`: answer the application property template.
    pub(super) fn select(
        &mut self,
        aid: &[u8],
        fci: bool,
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        if !aid::selects_piv(aid) {
            self.session = Session::default();
            return Err(Status::NotFound);
        }
        if !self.session.selected {
            self.session = Session::selected();
        }
        if !fci {
            return Ok(());
        }
        let apt = out.open(tags::APT)?;
        out.tlv(tags::APT_AID, &aid::PIV_PIX)?;
        let auth = out.open(tags::APT_AUTHORITY)?;
        out.tlv(tags::APT_AID, &aid::NIST_RID)?;
        out.close(auth)?;
        out.tlv(tags::APT_LABEL, LABEL)?;
        let algs = out.open(tags::APT_ALGORITHMS)?;
        for alg in [
            Algorithm::Tdes,
            Algorithm::Aes128,
            Algorithm::Aes192,
            Algorithm::Aes256,
            Algorithm::Rsa2048,
            Algorithm::EccP256,
            Algorithm::Gost2004,
            Algorithm::Gost2015_512,
        ] {
            out.tlv(tags::ALGORITHM, &[alg.to_u8()])?;
        }
        out.tlv(tags::APT_OID, &[])?;
        out.close(algs)?;
        out.close(apt)
    }
}
