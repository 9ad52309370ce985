//! The applet: one entry point, an APDU in and a response out.

use embedded_storage::nor_flash::NorFlash;
use heapless::Vec;
use iso7816::command::{CommandView, FromSliceError};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use tamga_spec::{
    Algorithm, KeyRef, ObjectTag, Origin, PinPolicy, ReadAccess, Status, TouchPolicy, aid,
    defaults, tags, tlv,
};
use tamga_store::{Op, Store};
use zeroize::Zeroize;

use crate::command::{Command, Padded, VerifyAction, asymmetric, policies};
use crate::crypto::{self, EC_SIG_MAX, P256, SoftP256};
use crate::records::{self, Identity, KeyMaterial, KeyRecord, MgmtKey, Secret};
use crate::response::Outgoing;
use crate::rsa2048;

/// Largest command data accepted, alone or reassembled from a chain: a
/// [`defaults::MAX_OBJECT_LEN`] object in a PUT DATA with its tag wrappers.
pub const COMMAND_CAP: usize = defaults::MAX_OBJECT_LEN + 16;

/// CLA bit announcing that more commands of a chain follow.
const CLA_CHAIN: u8 = 0x10;

/// Why the applet could not start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The persistent store could not be mounted or written.
    Store(tamga_store::Error),
    /// The identity record is unreadable.
    Corrupt,
}

/// Usage of the persistent store.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StorageInfo {
    /// Bytes of live data.
    pub used: usize,
    /// Bytes the live data may take.
    pub capacity: usize,
    /// Number of compactions since the flash was formatted (bank generation).
    pub generation: u32,
}

/// A pending management-key authentication step (volatile).
#[derive(Clone, Debug, Default)]
enum AuthPending {
    #[default]
    None,
    /// We sent Enc(witness); the host must send the witness back.
    Witness([u8; 16], usize),
    /// We sent a challenge; the host must send Enc(challenge).
    Challenge([u8; 16], usize),
}

impl Drop for AuthPending {
    fn drop(&mut self) {
        if let AuthPending::Witness(b, _) | AuthPending::Challenge(b, _) = self {
            b.zeroize();
        }
    }
}

/// Volatile security state: cleared by reset, power-off and deselection.
#[derive(Debug, Default)]
struct Session {
    selected: bool,
    /// PIN verified in this session.
    pin: bool,
    /// PIN verified and not yet consumed by a PIN-always key.
    pin_fresh: bool,
    /// Management key authenticated.
    mgmt: bool,
    auth: AuthPending,
}

/// Command chaining state.
#[derive(Debug, Default)]
struct Chain {
    header: Option<[u8; 3]>,
    data: Vec<u8, COMMAND_CAP>,
}

impl Chain {
    fn clear(&mut self) {
        self.header = None;
        self.data.clear();
    }
}

/// Everything the handlers need: storage, randomness, identity, session.
struct Core<F: NorFlash, R: CryptoRng, E: P256> {
    store: Store<F>,
    rng: R,
    /// The P-256 arithmetic (portable, or the board's).
    ec: E,
    id: Identity,
    session: Session,
    /// Called during long operations (RSA key generation) so that the board
    /// can keep the reader link alive (T=1 waiting-time extension).
    keepalive: fn(),
}

fn no_keepalive() {}

/// The Tamga PIV applet over a NOR flash `F`, a cryptographic RNG `R` and a
/// P-256 backend `E` (RustCrypto's by default; see [`Applet::with_p256`]).
///
/// ```
/// use tamga_board_host::{SeededRng, SimFlash};
/// use tamga_firmware::Applet;
///
/// let flash: SimFlash = SimFlash::new(64 * 1024);
/// let mut card = Applet::new(flash, SeededRng::new(1)).unwrap();
/// let mut reply = [0u8; 300];
/// // SELECT PIV by its 5-byte RID, as yubico-piv-tool does.
/// let n = card.process(&[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08], &mut reply);
/// assert_eq!(&reply[n - 2..n], &[0x90, 0x00]);
/// ```
pub struct Applet<F: NorFlash, R: CryptoRng, E: P256 = SoftP256> {
    core: Core<F, R, E>,
    chain: Chain,
    out: Outgoing,
}

fn store_status(e: tamga_store::Error) -> Status {
    match e {
        tamga_store::Error::Full
        | tamga_store::Error::TooLarge
        | tamga_store::Error::TooManyKeys => Status::NotEnoughMemory,
        _ => Status::MemoryFailure,
    }
}

fn overflow<T>(_: T) -> Status {
    Status::UnspecifiedCheckingError
}

/// Whether an 8-byte reference data field is a well-formed PIN/PUK: 6 to 8
/// bytes other than FF, then FF padding.
fn well_formed(p: &Padded) -> bool {
    let n = p.iter().take_while(|&&b| b != defaults::PIN_PAD).count();
    (defaults::PIN_MIN_LEN..=defaults::PIN_MAX_LEN).contains(&n)
        && p.iter().skip(n).all(|&b| b == defaults::PIN_PAD)
}

fn random_block<R: CryptoRng>(rng: &mut R, len: usize) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    rng.fill_bytes(b.get_mut(..len).unwrap_or(&mut []));
    (b, len)
}

/// The card identity from the store, created (and committed) on first use.
#[inline(never)]
fn identity<F: NorFlash, R: CryptoRng>(
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

impl<F: NorFlash, R: CryptoRng> Applet<F, R> {
    /// Power up: mount the store (formatting a blank flash) and create the card
    /// identity (serial, GUID, PIN salt) on first use. P-256 runs on the
    /// portable [`SoftP256`].
    pub fn new(flash: F, rng: R) -> Result<Self, Error> {
        Self::with_p256(flash, rng, SoftP256)
    }
}

impl<F: NorFlash, R: CryptoRng, E: P256> Applet<F, R, E> {
    /// [`Applet::new`] with the board's P-256 backend `ec`.
    pub fn with_p256(flash: F, mut rng: R, ec: E) -> Result<Self, Error> {
        let mut store = Store::mount(flash).map_err(Error::Store)?;
        let id = identity(&mut store, &mut rng)?;
        Ok(Self::assemble(store, rng, ec, id))
    }

    /// [`Applet::with_p256`] built in place in `slot` (typically a static):
    /// the applet (~5.5 KiB: the command-chaining buffer, the response
    /// buffer, the store's index) never passes through the caller's stack,
    /// and the store is mounted where it stays.
    pub fn init(
        slot: &mut core::mem::MaybeUninit<Self>,
        flash: F,
        rng: R,
        ec: E,
    ) -> Result<&mut Self, Error> {
        let blank = Identity {
            serial: 0,
            guid: [0; 16],
            salt: [0; 16],
        };
        let store = Store::unmounted(flash).map_err(Error::Store)?;
        let app = slot.write(Self::assemble(store, rng, ec, blank));
        let core = &mut app.core;
        core.store.load().map_err(Error::Store)?;
        core.id = identity(&mut core.store, &mut core.rng)?;
        Ok(app)
    }

    #[inline(always)]
    fn assemble(store: Store<F>, rng: R, ec: E, id: Identity) -> Self {
        Applet {
            core: Core {
                store,
                rng,
                ec,
                id,
                session: Session::default(),
                keepalive: no_keepalive,
            },
            chain: Chain::default(),
            out: Outgoing::default(),
        }
    }

    /// Install the function called during long operations (RSA-2048 key
    /// generation calls it between prime candidates, at least every few
    /// hundred milliseconds on a Cortex-M4). A T=1 board sends an S(WTX)
    /// request from it when the block waiting time is running out; a board
    /// whose link has no waiting time (vpcd) needs none.
    pub fn set_keepalive(&mut self, f: fn()) {
        self.core.keepalive = f;
    }

    /// The card serial number.
    pub fn serial(&self) -> u32 {
        self.core.id.serial
    }

    /// A card reset or power cycle: clears every volatile state (security
    /// status, selection, chains, pending responses). Persistent state stays.
    pub fn reset(&mut self) {
        self.core.session = Session::default();
        self.chain.clear();
        self.out.clear();
    }

    /// Tries left for the PIN and the PUK, read from the store (for a board's
    /// display, and for tests). No security state changes.
    pub fn retries(&mut self) -> Result<(u8, u8), Status> {
        Ok((self.core.secret(false)?.left, self.core.secret(true)?.left))
    }

    /// How full the card's store is.
    pub fn storage(&self) -> StorageInfo {
        StorageInfo {
            used: self.core.store.used_bytes(),
            capacity: self.core.store.capacity_bytes(),
            generation: self.core.store.generation(),
        }
    }

    /// Give back the flash (tests reboot a fresh applet on it).
    pub fn into_flash(self) -> F {
        self.core.store.into_flash()
    }

    /// Handle one command APDU; write the response (data, then SW1 SW2) into
    /// `reply` and return its length. `reply` needs at least 2 bytes, and 3
    /// for a long answer to move forward (each 61xx carries at least one data
    /// byte then); data beyond its size or beyond Le is sent through 61xx +
    /// GET RESPONSE.
    pub fn process(&mut self, apdu: &[u8], reply: &mut [u8]) -> usize {
        if reply.len() < 2 {
            return 0;
        }
        match self.step(apdu) {
            Ok(le) => self.emit(le, reply),
            Err(sw) => {
                trace!("-> {:04x}", sw.to_u16());
                put_sw(reply, 0, sw)
            }
        }
    }

    /// Parse, reassemble chains, execute. Returns the Le to honour. Every
    /// command but a GET RESPONSE drops the pending response.
    fn step(&mut self, apdu: &[u8]) -> Result<usize, Status> {
        let (cla, view) = match edge(apdu) {
            Ok(x) => x,
            Err(sw) => {
                self.out.clear();
                return Err(sw);
            }
        };
        let le = match view.expected() {
            0 if view.extended => 65536,
            0 => 256,
            n => n,
        };
        let ins: u8 = view.instruction().into();
        let header = [ins, view.p1, view.p2];
        trace!(
            "<- {:02x} {:02x} {:02x} Lc={}",
            ins,
            view.p1,
            view.p2,
            view.data().len()
        );

        if ins == tamga_spec::Ins::GetResponse.to_u8() && cla == 0 && self.chain.header.is_none() {
            if self.out.remaining() == 0 {
                return Err(Status::ConditionsOfUseNotSatisfied);
            }
            if (view.p1, view.p2) != (0, 0) {
                // Keep the pending response: the host may retry correctly.
                return Err(Status::IncorrectP1OrP2Parameter);
            }
            return Ok(le);
        }
        self.out.clear();

        if self.chain.header.is_some_and(|h| h != header) {
            self.chain.clear();
            return Err(Status::LastCommandOfChainExpected);
        }
        if cla & CLA_CHAIN != 0 {
            self.chain.header = Some(header);
            if self.chain.data.extend_from_slice(view.data()).is_err() {
                self.chain.clear();
                return Err(Status::WrongLength);
            }
            return Ok(0);
        }
        let data: &[u8] = if self.chain.header.is_some() {
            if self.chain.data.extend_from_slice(view.data()).is_err() {
                self.chain.clear();
                return Err(Status::WrongLength);
            }
            &self.chain.data
        } else {
            view.data()
        };
        if data.len() > COMMAND_CAP {
            self.chain.clear();
            return Err(Status::WrongLength);
        }
        let result = self.core.execute(header, data, &mut self.out);
        self.chain.clear();
        if result.is_err() {
            self.out.clear();
        }
        result.map(|()| le)
    }

    /// Copy the next chunk of the pending response into `reply`, with its SW.
    fn emit(&mut self, le: usize, reply: &mut [u8]) -> usize {
        let room = reply.len() - 2;
        let n = self.out.remaining().min(le).min(room);
        if let Err(sw) = self.copy_out(n, reply) {
            self.out.clear();
            return put_sw(reply, 0, sw);
        }
        self.out.advance(n);
        let left = self.out.remaining();
        let sw = if left == 0 {
            self.out.clear();
            Status::Success
        } else {
            Status::MoreAvailable(left.min(0x100) as u8)
        };
        put_sw(reply, n, sw)
    }

    fn copy_out(&mut self, n: usize, reply: &mut [u8]) -> Result<(), Status> {
        let pos = self.out.pos();
        let generated = self.out.generated();
        let mut written = 0;
        if pos < generated.len() {
            let g = generated.get(pos..).unwrap_or(&[]);
            let k = g.len().min(n);
            reply
                .get_mut(..k)
                .ok_or(Status::UnspecifiedCheckingError)?
                .copy_from_slice(g.get(..k).unwrap_or(&[]));
            written = k;
        }
        if written < n {
            let (key, _) = self.out.tail().ok_or(Status::UnspecifiedCheckingError)?;
            let offset = (pos + written).saturating_sub(generated.len());
            let dst = reply
                .get_mut(written..n)
                .ok_or(Status::UnspecifiedCheckingError)?;
            let got = self
                .core
                .store
                .read(key, offset, dst)
                .map_err(store_status)?;
            if got != dst.len() {
                return Err(Status::MemoryFailure);
            }
        }
        Ok(())
    }
}

/// Check the class byte and parse the APDU's lengths.
fn edge(apdu: &[u8]) -> Result<(u8, CommandView<'_>), Status> {
    let cla = *apdu.first().ok_or(Status::WrongLength)?;
    match cla {
        0x00 | CLA_CHAIN => {}
        // Proprietary classes.
        c if c & 0x80 != 0 => return Err(Status::ClassNotSupported),
        // Further interindustry classes: bit 6 secure messaging, else channels 4-19.
        c if c & 0x40 != 0 && c & 0x20 != 0 => return Err(Status::SecureMessagingNotSupported),
        c if c & 0x40 != 0 => return Err(Status::LogicalChannelNotSupported),
        // First interindustry classes are 00-1F; 20-3F are reserved.
        c if c & 0x20 != 0 => return Err(Status::ClassNotSupported),
        c if c & 0x0C != 0 => return Err(Status::SecureMessagingNotSupported),
        _ => return Err(Status::LogicalChannelNotSupported),
    }
    let view = CommandView::try_from(apdu).map_err(|e| match e {
        FromSliceError::InvalidClass => Status::ClassNotSupported,
        _ => Status::WrongLength,
    })?;
    Ok((cla, view))
}

fn put_sw(reply: &mut [u8], at: usize, sw: Status) -> usize {
    let [a, b] = sw.to_u16().to_be_bytes();
    match reply.get_mut(at..at + 2) {
        Some(dst) => {
            dst.copy_from_slice(&[a, b]);
            at + 2
        }
        None => 0,
    }
}

fn new_identity<R: CryptoRng>(rng: &mut R, serial: Option<u32>) -> Identity {
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

/// Default CHUID content (tag 53 value) for a card that has not been given one:
/// the all-nines FASC-N of PIV test cards, the card's GUID, an expiry date.
const CHUID_FASCN: [u8; 25] = [
    0xD4, 0xE7, 0x39, 0xDA, 0x73, 0x9C, 0xED, 0x39, 0xCE, 0x73, 0x9D, 0x83, 0x68, 0x58, 0x21, 0x08,
    0x42, 0x10, 0x84, 0x21, 0xC8, 0x42, 0x10, 0xC3, 0xEB,
];
const CHUID_EXPIRY: &[u8; 8] = b"20301231";
const LABEL: &[u8] = b"Tamga PIV";

impl<F: NorFlash, R: CryptoRng, E: P256> Core<F, R, E> {
    fn execute(&mut self, header: [u8; 3], data: &[u8], out: &mut Outgoing) -> Result<(), Status> {
        let [ins, p1, p2] = header;
        let cmd = Command::parse(ins, p1, p2, data)?;
        let auth = core::mem::take(&mut self.session.auth);
        if !self.session.selected && !matches!(cmd, Command::Select { .. }) {
            return Err(Status::ConditionsOfUseNotSatisfied);
        }
        match cmd {
            Command::Select { aid, fci } => self.select(aid, fci, out),
            Command::GetData { tag } => self.get_data(tag, out),
            Command::PutData { tag, content } => self.put_data(tag, content),
            Command::Verify(action) => self.verify(action),
            Command::ChangeReference { puk, old, new } => self.change_reference(puk, old, new),
            Command::ResetRetryCounter { puk, new_pin } => self.reset_retry_counter(puk, new_pin),
            Command::GeneralAuthenticate { alg, key, template } => {
                if key == KeyRef::Management {
                    self.authenticate_mgmt(alg, template, auth, out)
                } else {
                    self.use_key(alg, key, template, out)
                }
            }
            Command::Generate {
                slot,
                alg,
                pin_policy,
                touch_policy,
            } => self.generate(slot, alg, pin_policy, touch_policy, out),
            // A GET RESPONSE with nothing pending (handled before dispatch otherwise).
            Command::GetResponse => Err(Status::ConditionsOfUseNotSatisfied),
            Command::GetVersion => out.bytes(&defaults::COMPAT_VERSION),
            Command::GetSerial => out.bytes(&self.id.serial.to_be_bytes()),
            Command::GetMetadata { key } => self.metadata(key, out),
            Command::SetManagementKey { alg, touch, key } => self.set_mgmt(alg, touch, key),
            Command::SetPinRetries { pin, puk } => self.set_pin_retries(pin, puk),
            Command::Reset => self.reset_card(),
            Command::ImportKey { alg, slot, data } => self.import(alg, slot, data),
            // Attestation is later work.
            Command::Attest { .. } => Err(Status::InstructionNotSupportedOrInvalid),
        }
    }

    // ---- persistent records -------------------------------------------------

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

    fn secret(&mut self, puk: bool) -> Result<Secret, Status> {
        let key = if puk { records::PUK } else { records::PIN };
        match self.read_record::<{ Secret::LEN }>(key)? {
            Some(b) => Secret::decode(&b).ok_or(Status::MemoryFailure),
            None => Ok(Secret::factory(&self.id.salt, puk, None)),
        }
    }

    fn mgmt_key(&mut self) -> Result<MgmtKey, Status> {
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
    fn key_record(&mut self, slot: KeyRef, rec: &mut KeyRecord) -> Result<(), Status> {
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

    fn commit(&mut self, ops: &[Op<'_>]) -> Result<(), Status> {
        self.store.commit(ops).map_err(store_status)
    }

    fn require_mgmt(&self) -> Result<(), Status> {
        if self.session.mgmt {
            Ok(())
        } else {
            Err(Status::SecurityStatusNotSatisfied)
        }
    }

    fn secret_key(puk: bool) -> tamga_store::Key {
        if puk { records::PUK } else { records::PIN }
    }

    /// Check a PIN or PUK: the try counter is decremented and persisted before
    /// the comparison, restored after a match.
    fn check_secret(&mut self, puk: bool, value: &Padded) -> Result<Secret, Status> {
        if !puk {
            // Presenting the PIN, right or wrong, ends the current verification.
            self.session.pin = false;
            self.session.pin_fresh = false;
        }
        let mut s = self.secret(puk)?;
        if s.left == 0 {
            return Err(Status::OperationBlocked);
        }
        s.left -= 1;
        self.commit(&[Op::Put(Self::secret_key(puk), &s.encode())])?;
        let mut h = crypto::pin_hash(&self.id.salt, value);
        let ok: bool = h.ct_eq(&s.hash).into();
        h.zeroize();
        if ok {
            s.left = s.max;
            Ok(s)
        } else {
            debug!(
                "wrong {}, {} tries left",
                if puk { "PUK" } else { "PIN" },
                s.left
            );
            Err(Status::RemainingRetries(s.left))
        }
    }

    fn new_secret(&self, value: &Padded, max: u8, puk: bool) -> Secret {
        let default = Secret::factory(&self.id.salt, puk, Some(max));
        let hash = crypto::pin_hash(&self.id.salt, value);
        Secret {
            left: max,
            max,
            is_default: hash == default.hash,
            hash,
        }
    }

    // ---- SELECT, GET DATA, PUT DATA -------------------------------------------

    fn select(&mut self, aid: &[u8], fci: bool, out: &mut Outgoing) -> Result<(), Status> {
        if !aid::selects_piv(aid) {
            self.session = Session::default();
            return Err(Status::NotFound);
        }
        if !self.session.selected {
            self.session = Session {
                selected: true,
                ..Session::default()
            };
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
        ] {
            out.tlv(tags::ALGORITHM, &[alg.to_u8()])?;
        }
        out.tlv(tags::APT_OID, &[])?;
        out.close(algs)?;
        out.close(apt)
    }

    fn get_data(&mut self, tag: ObjectTag, out: &mut Outgoing) -> Result<(), Status> {
        if tag == ObjectTag::DISCOVERY {
            let d = out.open(ObjectTag::DISCOVERY.0 as u16)?;
            out.tlv(tags::DISCOVERY_AID, &aid::PIV_AID)?;
            out.tlv(tags::DISCOVERY_PIN_POLICY, &[0x40, 0x00])?;
            return out.close(d);
        }
        if tag.read_access() == ReadAccess::Pin && !self.session.pin {
            return Err(Status::SecurityStatusNotSatisfied);
        }
        let key = records::object_key(tag).ok_or(Status::NotFound)?;
        match self.store.len(key) {
            Some(len) => {
                out.header(tags::OBJECT_DATA, len)?;
                out.stream(key, len);
                Ok(())
            }
            None if tag == ObjectTag::CHUID => {
                let c = out.open(tags::OBJECT_DATA)?;
                out.tlv(tags::CHUID_FASCN, &CHUID_FASCN)?;
                out.tlv(tags::CHUID_GUID, &self.id.guid)?;
                out.tlv(tags::CHUID_EXPIRY, CHUID_EXPIRY)?;
                out.tlv(tags::CHUID_SIGNATURE, &[])?;
                out.tlv(tags::ERROR_DETECTION, &[])?;
                out.close(c)
            }
            None => Err(Status::NotFound),
        }
    }

    fn put_data(&mut self, tag: ObjectTag, content: &[u8]) -> Result<(), Status> {
        self.require_mgmt()?;
        if tag == ObjectTag::DISCOVERY {
            // Generated by the card, read-only.
            return Err(Status::FunctionNotSupported);
        }
        let key = records::object_key(tag).ok_or(Status::NotFound)?;
        if content.len() > defaults::MAX_OBJECT_LEN {
            return Err(Status::NotEnoughMemory);
        }
        if content.is_empty() {
            if self.store.len(key).is_none() {
                return Ok(());
            }
            self.commit(&[Op::Delete(key)])
        } else {
            self.commit(&[Op::Put(key, content)])
        }
    }

    // ---- PIN and PUK ----------------------------------------------------------

    fn verify(&mut self, action: VerifyAction<'_>) -> Result<(), Status> {
        match action {
            VerifyAction::Reset => {
                self.session.pin = false;
                self.session.pin_fresh = false;
                Ok(())
            }
            VerifyAction::Status => {
                if self.session.pin {
                    return Ok(());
                }
                match self.secret(false)?.left {
                    0 => Err(Status::OperationBlocked),
                    n => Err(Status::RemainingRetries(n)),
                }
            }
            VerifyAction::Present(pin) => {
                let s = self.check_secret(false, pin)?;
                self.commit(&[Op::Put(records::PIN, &s.encode())])?;
                self.session.pin = true;
                self.session.pin_fresh = true;
                Ok(())
            }
        }
    }

    fn change_reference(&mut self, puk: bool, old: &Padded, new: &Padded) -> Result<(), Status> {
        if !well_formed(new) {
            return Err(Status::IncorrectDataParameter);
        }
        let s = self.check_secret(puk, old)?;
        let updated = self.new_secret(new, s.max, puk);
        self.commit(&[Op::Put(Self::secret_key(puk), &updated.encode())])
    }

    fn reset_retry_counter(&mut self, puk: &Padded, new_pin: &Padded) -> Result<(), Status> {
        if !well_formed(new_pin) {
            return Err(Status::IncorrectDataParameter);
        }
        let pin_max = self.secret(false)?.max;
        let p = self.check_secret(true, puk)?;
        let pin = self.new_secret(new_pin, pin_max, false);
        self.session.pin = false;
        self.session.pin_fresh = false;
        self.commit(&[
            Op::Put(records::PUK, &p.encode()),
            Op::Put(records::PIN, &pin.encode()),
        ])
    }

    // ---- management key ---------------------------------------------------------

    fn authenticate_mgmt(
        &mut self,
        alg: u8,
        template: &[u8],
        pending: AuthPending,
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        let key = self.mgmt_key()?;
        // P1 = 00 means "the default algorithm": the management key's own
        // (OpenSC asks for random challenges that way).
        if alg != key.alg.to_u8() && alg != 0x00 {
            return Err(Status::IncorrectP1OrP2Parameter);
        }
        let block = key.alg.block_len().ok_or(Status::MemoryFailure)?;
        let t = Template::parse(template)?;
        match (t.witness, t.challenge, t.response, t.exponentiation) {
            // Step 1 of either flow: the host asks for an encrypted witness.
            (Some([]), None, None, None) => {
                let (w, n) = random_block(&mut self.rng, block);
                let mut enc = w;
                let e = enc.get_mut(..n).ok_or(Status::UnspecifiedCheckingError)?;
                crypto::mgmt_crypt(key.alg, key.key_bytes(), e, true).map_err(overflow)?;
                let m = out.open(tags::DYN_AUTH)?;
                out.tlv(tags::DYN_WITNESS, e)?;
                out.close(m)?;
                enc.zeroize();
                self.session.auth = AuthPending::Witness(w, n);
                Ok(())
            }
            // Step 2: the decrypted witness, optionally with a challenge for the card.
            (Some(witness), challenge, None, None) if !witness.is_empty() => {
                let AuthPending::Witness(w, n) = &pending else {
                    return Err(Status::ConditionsOfUseNotSatisfied);
                };
                let expected = w.get(..*n).ok_or(Status::UnspecifiedCheckingError)?;
                if challenge.is_some_and(|c| c.len() != block) {
                    return Err(Status::IncorrectDataParameter);
                }
                if !bool::from(witness.ct_eq(expected)) {
                    self.session.mgmt = false;
                    warn!("management key authentication failed");
                    return Err(Status::SecurityStatusNotSatisfied);
                }
                self.session.mgmt = true;
                if let Some(c) = challenge {
                    let mut r = [0u8; 16];
                    let rb = r.get_mut(..block).ok_or(Status::UnspecifiedCheckingError)?;
                    rb.copy_from_slice(c);
                    crypto::mgmt_crypt(key.alg, key.key_bytes(), rb, true).map_err(overflow)?;
                    let m = out.open(tags::DYN_AUTH)?;
                    out.tlv(tags::DYN_RESPONSE, rb)?;
                    out.close(m)?;
                }
                Ok(())
            }
            // External authentication, step 1: the host asks for a challenge.
            (None, Some([]), None | Some([]), None) => {
                let (c, n) = random_block(&mut self.rng, block);
                let m = out.open(tags::DYN_AUTH)?;
                out.tlv(tags::DYN_CHALLENGE, c.get(..n).unwrap_or(&[]))?;
                out.close(m)?;
                self.session.auth = AuthPending::Challenge(c, n);
                Ok(())
            }
            // External authentication, step 2: the host's encryption of our challenge.
            (None, None, Some(response), None) if !response.is_empty() => {
                let AuthPending::Challenge(c, n) = &pending else {
                    return Err(Status::ConditionsOfUseNotSatisfied);
                };
                let mut expected = *c;
                let e = expected
                    .get_mut(..*n)
                    .ok_or(Status::UnspecifiedCheckingError)?;
                crypto::mgmt_crypt(key.alg, key.key_bytes(), e, true).map_err(overflow)?;
                let ok: bool = response.ct_eq(e).into();
                expected.zeroize();
                self.session.mgmt = ok;
                if ok {
                    Ok(())
                } else {
                    warn!("management key authentication failed");
                    Err(Status::SecurityStatusNotSatisfied)
                }
            }
            _ => Err(Status::IncorrectDataParameter),
        }
    }

    fn set_mgmt(&mut self, alg: u8, touch: TouchPolicy, key: &[u8]) -> Result<(), Status> {
        self.require_mgmt()?;
        let alg = Algorithm::try_from(alg).map_err(|_| Status::IncorrectDataParameter)?;
        if alg.symmetric_key_len() != Some(key.len()) {
            return Err(Status::IncorrectDataParameter);
        }
        let mut m = MgmtKey {
            alg,
            touch,
            key: [0u8; 32],
        };
        m.key
            .get_mut(..key.len())
            .ok_or(Status::IncorrectDataParameter)?
            .copy_from_slice(key);
        let mut enc = m.encode();
        let r = self.commit(&[Op::Put(records::MGMT, &enc)]);
        enc.zeroize();
        r
    }

    // ---- asymmetric keys ----------------------------------------------------------

    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    fn use_key(
        &mut self,
        alg: u8,
        slot: KeyRef,
        template: &[u8],
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        let t = Template::parse(template)?;
        let mut rec = KeyRecord::blank(Algorithm::EccP256);
        self.key_record(slot, &mut rec)?;
        if alg != rec.alg.to_u8() {
            return Err(Status::IncorrectP1OrP2Parameter);
        }
        let op = match (t.witness, t.challenge, t.response, t.exponentiation) {
            (None, Some(c), Some([]), None) if !c.is_empty() => Ok(c),
            (None, None, Some([]), Some(p)) if !p.is_empty() => Err(p),
            _ => return Err(Status::IncorrectDataParameter),
        };
        // RSA takes a whole 256-byte block (the host pads) and no peer point.
        if matches!(rec.key, KeyMaterial::Rsa { .. })
            && !matches!(op, Ok(b) if b.len() == rsa2048::MODULUS_LEN)
        {
            return Err(Status::IncorrectDataParameter);
        }
        let allowed = match rec.pin_policy {
            PinPolicy::Never => true,
            PinPolicy::Always => self.session.pin_fresh,
            PinPolicy::Once | PinPolicy::Default => self.session.pin,
        };
        if !allowed {
            return Err(Status::SecurityStatusNotSatisfied);
        }
        let m = out.open(tags::DYN_AUTH)?;
        match (&rec.key, op) {
            (KeyMaterial::Ec { private, .. }, Ok(hash)) => {
                let mut sig = [0u8; EC_SIG_MAX];
                let mut entropy = [0u8; 32];
                self.rng.fill_bytes(&mut entropy);
                let n = crypto::ec_sign(&self.ec, private, hash, &entropy, &mut sig)
                    .map_err(|_| Status::IncorrectDataParameter)?;
                out.tlv(tags::DYN_RESPONSE, sig.get(..n).unwrap_or(&[]))?;
            }
            (KeyMaterial::Ec { private, .. }, Err(peer)) => {
                let mut shared = crypto::ec_ecdh(&self.ec, private, peer)
                    .map_err(|_| Status::IncorrectDataParameter)?;
                let r = out.tlv(tags::DYN_RESPONSE, &shared);
                shared.zeroize();
                r?;
            }
            // Raw RSA: signature and decryption are the same operation.
            // The result is computed straight into the response.
            (KeyMaterial::Rsa { n, crt, .. }, Ok(block)) => {
                let dst = out.tlv_in_place(tags::DYN_RESPONSE, rsa2048::MODULUS_LEN)?;
                let dst: &mut [u8; rsa2048::MODULUS_LEN] = dst
                    .try_into()
                    .map_err(|_| Status::UnspecifiedCheckingError)?;
                rsa2048::private::<E, _>(n, crt, block, &mut self.rng, dst).map_err(rsa_status)?;
            }
            (KeyMaterial::Rsa { .. }, Err(_)) => return Err(Status::IncorrectDataParameter),
        }
        // A PIN-always verification is used up by a completed operation only.
        if rec.pin_policy == PinPolicy::Always {
            self.session.pin_fresh = false;
        }
        out.close(m)
    }

    fn store_key(&mut self, slot: KeyRef, rec: &KeyRecord) -> Result<(), Status> {
        let key = records::slot_key(slot).ok_or(Status::KeyReferenceNotFound)?;
        let mut enc = [0u8; KeyRecord::MAX_LEN];
        let n = rec.encode(&mut enc);
        let r = self.commit(&[Op::Put(key, enc.get(..n).unwrap_or(&[]))]);
        enc.zeroize();
        r
    }

    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    fn generate(
        &mut self,
        slot: KeyRef,
        alg: u8,
        pin_policy: PinPolicy,
        touch_policy: TouchPolicy,
        out: &mut Outgoing,
    ) -> Result<(), Status> {
        self.require_mgmt()?;
        let alg = asymmetric(alg)?;
        // The key is generated straight into the record that is stored.
        let mut rec = KeyRecord::blank(alg);
        rec.pin_policy = resolve_pin(slot, pin_policy);
        rec.touch_policy = resolve_touch(touch_policy);
        let made = match &mut rec.key {
            KeyMaterial::Rsa { n, crt, .. } => {
                rsa2048::generate::<E, _>(&mut self.rng, &mut self.keepalive, n, crt)
                    .map_err(rsa_status)
            }
            KeyMaterial::Ec { public, private } => {
                (*private, *public) = crypto::ec_generate(&self.ec, &mut self.rng);
                Ok(())
            }
        };
        // On an error the record's drop zeroizes whatever was written.
        made?;
        self.store_key(slot, &rec)?;
        info!(
            "generated a key of algorithm {:02x} in slot {:02x}",
            alg.to_u8(),
            slot.to_u8()
        );
        let m = out.open(tags::PUBLIC_KEY)?;
        public_key(&rec.key, out)?;
        out.close(m)
    }

    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    fn import(&mut self, alg: u8, slot: KeyRef, data: &[u8]) -> Result<(), Status> {
        self.require_mgmt()?;
        let alg = asymmetric(alg)?;
        let rsa = alg == Algorithm::Rsa2048;
        // EC: the scalar (06). RSA: p, q, dp, dq, qinv (01-05).
        let mut parts: [Option<&[u8]>; 6] = [None; 6];
        for t in tlv::iter(data) {
            let t = t.map_err(|_| Status::IncorrectDataParameter)?;
            match t.tag {
                tags::IMPORT_RSA_P..=tags::IMPORT_RSA_QINV if rsa => {}
                tags::IMPORT_EC_PRIVATE if !rsa => {}
                tags::PIN_POLICY | tags::TOUCH_POLICY => continue,
                _ => return Err(Status::IncorrectDataParameter),
            }
            let i = usize::from(t.tag).saturating_sub(1);
            let slot = parts.get_mut(i).ok_or(Status::IncorrectDataParameter)?;
            if slot.replace(t.value).is_some() {
                return Err(Status::IncorrectDataParameter);
            }
        }
        let (pin_policy, touch_policy) = policies(data)?;
        let mut rec = KeyRecord::blank(alg);
        rec.pin_policy = resolve_pin(slot, pin_policy);
        rec.touch_policy = resolve_touch(touch_policy);
        rec.origin = Origin::Imported;
        let checked = match (parts, &mut rec.key) {
            (
                [Some(p), Some(q), Some(dp), Some(dq), Some(qinv), None],
                KeyMaterial::Rsa { n, crt, .. },
            ) => rsa2048::import::<E, _>([p, q, dp, dq, qinv], &mut self.rng, n, crt),
            ([None, None, None, None, None, Some(scalar)], KeyMaterial::Ec { public, private }) => {
                crypto::ec_public(&self.ec, scalar).map(|point| {
                    *public = point;
                    private.copy_from_slice(scalar);
                })
            }
            _ => Err(crypto::CryptoError::Input),
        };
        // On an error the record's drop zeroizes whatever was written.
        checked.map_err(|_| Status::IncorrectDataParameter)?;
        self.store_key(slot, &rec)
    }

    // ---- YubiKey extensions -----------------------------------------------------

    // Own frame: its key record (up to 905 bytes) is not kept in the
    // dispatcher's frame next to the other handlers' records.
    #[inline(never)]
    fn metadata(&mut self, key: KeyRef, out: &mut Outgoing) -> Result<(), Status> {
        match key {
            KeyRef::Pin | KeyRef::Puk => {
                let s = self.secret(key == KeyRef::Puk)?;
                out.tlv(tags::META_ALGORITHM, &[Algorithm::Pin.to_u8()])?;
                out.tlv(tags::META_DEFAULT, &[u8::from(s.is_default)])?;
                out.tlv(tags::META_RETRIES, &[s.max, s.left])
            }
            KeyRef::Management => {
                let m = self.mgmt_key()?;
                out.tlv(tags::META_ALGORITHM, &[m.alg.to_u8()])?;
                out.tlv(tags::META_POLICY, &[0, m.touch.to_u8()])?;
                out.tlv(tags::META_DEFAULT, &[u8::from(m.is_default())])
            }
            k if k.is_key_slot() => {
                let mut rec = KeyRecord::blank(Algorithm::EccP256);
                self.key_record(k, &mut rec)?;
                out.tlv(tags::META_ALGORITHM, &[rec.alg.to_u8()])?;
                out.tlv(
                    tags::META_POLICY,
                    &[rec.pin_policy.to_u8(), rec.touch_policy.to_u8()],
                )?;
                out.tlv(tags::META_ORIGIN, &[rec.origin.to_u8()])?;
                let m = out.open(tags::META_PUBLIC_KEY)?;
                public_key(&rec.key, out)?;
                out.close(m)
            }
            _ => Err(Status::KeyReferenceNotFound),
        }
    }

    fn set_pin_retries(&mut self, pin: u8, puk: u8) -> Result<(), Status> {
        self.require_mgmt()?;
        if !self.session.pin {
            return Err(Status::SecurityStatusNotSatisfied);
        }
        let p = Secret::factory(&self.id.salt, false, Some(pin));
        let u = Secret::factory(&self.id.salt, true, Some(puk));
        self.commit(&[
            Op::Put(records::PIN, &p.encode()),
            Op::Put(records::PUK, &u.encode()),
        ])?;
        self.session.pin = false;
        self.session.pin_fresh = false;
        Ok(())
    }

    fn reset_card(&mut self) -> Result<(), Status> {
        // An unreadable PIN or PUK record counts as blocked: RESET is the way
        // back from a damaged card.
        let blocked = |s: Result<Secret, Status>| s.map_or(true, |s| s.left == 0);
        if !blocked(self.secret(false)) || !blocked(self.secret(true)) {
            return Err(Status::ConditionsOfUseNotSatisfied);
        }
        let id = new_identity(&mut self.rng, Some(self.id.serial));
        self.store
            .wipe(&[Op::Put(records::IDENTITY, &id.encode())])
            .map_err(store_status)?;
        self.id = id;
        self.session = Session {
            selected: true,
            ..Session::default()
        };
        info!("application reset");
        Ok(())
    }
}

/// The public key's TLVs: `86 <point>` for P-256, `81 <n> 82 <e>` for RSA.
fn public_key(key: &KeyMaterial, out: &mut Outgoing) -> Result<(), Status> {
    match key {
        KeyMaterial::Ec { public, .. } => out.tlv(tags::EC_POINT, public),
        KeyMaterial::Rsa { e, n, .. } => {
            out.tlv(tags::RSA_MODULUS, n)?;
            let e = e.to_be_bytes();
            let skip = e.iter().take_while(|&&b| b == 0).count();
            out.tlv(tags::RSA_EXPONENT, e.get(skip..).unwrap_or(&[]))
        }
    }
}

/// The status word of a failed RSA operation: bad input is the host's fault
/// (6A80); a withheld faulty result (the fault check) or a generation that
/// found no key is an internal check that failed, nothing changed (6F00).
fn rsa_status(e: crypto::CryptoError) -> Status {
    match e {
        crypto::CryptoError::Input | crypto::CryptoError::Algorithm => {
            Status::IncorrectDataParameter
        }
        crypto::CryptoError::Fault | crypto::CryptoError::Failed => {
            Status::UnspecifiedCheckingError
        }
    }
}

fn resolve_pin(slot: KeyRef, p: PinPolicy) -> PinPolicy {
    match p {
        PinPolicy::Default => slot.default_pin_policy(),
        p => p,
    }
}

fn resolve_touch(t: TouchPolicy) -> TouchPolicy {
    match t {
        TouchPolicy::Default => TouchPolicy::Never,
        t => t,
    }
}

/// The decoded content of a GENERAL AUTHENTICATE 7C template.
#[derive(Default)]
struct Template<'a> {
    witness: Option<&'a [u8]>,
    challenge: Option<&'a [u8]>,
    response: Option<&'a [u8]>,
    exponentiation: Option<&'a [u8]>,
}

impl<'a> Template<'a> {
    fn parse(data: &'a [u8]) -> Result<Self, Status> {
        let mut t = Template::default();
        for item in tlv::iter(data) {
            let item = item.map_err(|_| Status::IncorrectDataParameter)?;
            let field = match item.tag {
                tags::DYN_WITNESS => &mut t.witness,
                tags::DYN_CHALLENGE => &mut t.challenge,
                tags::DYN_RESPONSE => &mut t.response,
                tags::DYN_EXPONENTIATION => &mut t.exponentiation,
                _ => return Err(Status::IncorrectDataParameter),
            };
            if field.replace(item.value).is_some() {
                return Err(Status::IncorrectDataParameter);
            }
        }
        Ok(t)
    }
}
