//! The card's state as the handlers see it: the store and its records, the
//! RNG, the P-256 backend, the identity and the session.

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{KeyRef, Status};
use tamga_store::{Op, Store};
use zeroize::Zeroize;

use super::Error;
use super::session::Session;
use crate::crypto::P256;
use crate::records::{self, Identity, KeyRecord, MgmtKey, Secret};

/// Everything the handlers need: storage, randomness, identity, session.
pub(super) struct Core<F: NorFlash, R: CryptoRng, E: P256> {
    /// The persistent records.
    pub(super) store: Store<F>,
    /// The card's RNG.
    pub(super) rng: R,
    /// The P-256 arithmetic (portable, or the board's).
    pub(super) ec: E,
    /// Serial, CHUID GUID, PIN salt.
    pub(super) id: Identity,
    /// The volatile security state.
    pub(super) session: Session,
    /// Called during long operations (RSA key generation) so that the board
    /// can keep the reader link alive (T=1 waiting-time extension).
    pub(super) keepalive: fn(),
}

fn no_keepalive() {}

/// The status word of a store error.
pub(super) fn store_status(e: tamga_store::Error) -> Status {
    match e {
        tamga_store::Error::Full
        | tamga_store::Error::TooLarge
        | tamga_store::Error::TooManyKeys => Status::NotEnoughMemory,
        _ => Status::MemoryFailure,
    }
}

/// The card identity from the store, created (and committed) on first use.
#[inline(never)]
pub(super) fn identity<F: NorFlash, R: CryptoRng>(
    store: &mut Store<F>,
    rng: &mut R,
) -> Result<Identity, Error> {
    if store.len(records::IDENTITY).is_some() {
        let mut buf = [0u8; Identity::LEN];
        let n = store
            .read(records::IDENTITY, 0, &mut buf)
            .map_err(Error::Store)?;
        return Identity::decode(buf.get(..n).unwrap_or(&[])).ok_or(Error::Corrupt);
    }
    let id = new_identity(rng, None);
    store
        .commit(&[Op::Put(records::IDENTITY, &id.encode())])
        .map_err(Error::Store)?;
    info!("new card identity, serial {}", id.serial);
    Ok(id)
}

/// A fresh identity: random GUID (not all zero) and salt, a random 31-bit
/// serial unless `serial` is kept (RESET).
pub(super) fn new_identity<R: CryptoRng>(rng: &mut R, serial: Option<u32>) -> Identity {
    let mut guid = [0u8; 16];
    while guid == [0u8; 16] {
        rng.fill_bytes(&mut guid);
    }
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let serial = serial.unwrap_or_else(|| {
        loop {
            let s = rng.next_u32() & 0x7FFF_FFFF;
            if s != 0 {
                break s;
            }
        }
    });
    Identity { serial, guid, salt }
}

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    /// The state of a card just powered up.
    #[inline(always)]
    pub(super) fn new(store: Store<F>, rng: R, ec: E, id: Identity) -> Self {
        Core {
            store,
            rng,
            ec,
            id,
            session: Session::default(),
            keepalive: no_keepalive,
        }
    }

    fn read_record<const N: usize>(
        &mut self,
        key: tamga_store::Key,
    ) -> Result<Option<[u8; N]>, Status> {
        match self.store.len(key) {
            None => Ok(None),
            Some(n) if n == N => {
                let mut buf = [0u8; N];
                let got = self.store.read(key, 0, &mut buf).map_err(store_status)?;
                if got != N {
                    return Err(Status::MemoryFailure);
                }
                Ok(Some(buf))
            }
            Some(_) => Err(Status::MemoryFailure),
        }
    }

    /// The PIN (`puk == false`) or PUK record; factory default if absent.
    pub(super) fn secret(&mut self, puk: bool) -> Result<Secret, Status> {
        let key = secret_key(puk);
        match self.read_record::<{ Secret::LEN }>(key)? {
            Some(b) => Secret::decode(&b).ok_or(Status::MemoryFailure),
            None => Ok(Secret::factory(&self.id.salt, puk, None)),
        }
    }

    /// The management key record; factory default if absent.
    pub(super) fn mgmt_key(&mut self) -> Result<MgmtKey, Status> {
        match self.read_record::<{ MgmtKey::LEN }>(records::MGMT)? {
            Some(mut b) => {
                let k = MgmtKey::decode(&b).ok_or(Status::MemoryFailure);
                b.zeroize();
                k
            }
            None => Ok(MgmtKey::factory()),
        }
    }

    /// Read the key record of `slot` into `rec` (in place: the record is
    /// ~900 bytes and must not be copied around on the stack).
    #[inline(never)]
    pub(super) fn key_record(&mut self, slot: KeyRef, rec: &mut KeyRecord) -> Result<(), Status> {
        let key = records::slot_key(slot).ok_or(Status::KeyReferenceNotFound)?;
        let len = self.store.len(key).ok_or(Status::KeyReferenceNotFound)?;
        let mut buf = [0u8; KeyRecord::MAX_LEN];
        let dst = buf.get_mut(..len).ok_or(Status::MemoryFailure)?;
        let r = match self.store.read(key, 0, dst) {
            Ok(got) if got == len && rec.decode_into(dst) => Ok(()),
            Ok(_) => Err(Status::MemoryFailure),
            Err(e) => Err(store_status(e)),
        };
        buf.zeroize();
        r
    }

    /// Write the key record of `slot`.
    pub(super) fn store_key(&mut self, slot: KeyRef, rec: &KeyRecord) -> Result<(), Status> {
        let key = records::slot_key(slot).ok_or(Status::KeyReferenceNotFound)?;
        let mut enc = [0u8; KeyRecord::MAX_LEN];
        let n = rec.encode(&mut enc);
        let r = self.commit(&[Op::Put(key, enc.get(..n).unwrap_or(&[]))]);
        enc.zeroize();
        r
    }

    /// Commit `ops` as one atomic transaction.
    pub(super) fn commit(&mut self, ops: &[Op<'_>]) -> Result<(), Status> {
        self.store.commit(ops).map_err(store_status)
    }

    /// `Ok` if the management key was authenticated in this session.
    pub(super) fn require_mgmt(&self) -> Result<(), Status> {
        if self.session.mgmt {
            Ok(())
        } else {
            Err(Status::SecurityStatusNotSatisfied)
        }
    }
}

/// The store key of the PIN (`puk == false`) or PUK record.
pub(super) fn secret_key(puk: bool) -> tamga_store::Key {
    if puk { records::PUK } else { records::PIN }
}
