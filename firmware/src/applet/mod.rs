//! The applet: one entry point, an APDU in and a response out.
//!
//! [`Applet::process`] passes an APDU through the edge (`edge`: class,
//! lengths, command chaining, `61xx` + GET RESPONSE), then parses it
//! ([`Command`](crate::Command)) and hands it to `dispatch`, which calls the
//! handler group of the command on the card's state (`state`: store, RNG,
//! identity, the volatile `session`, the PIN and PUK `tries`).

mod dispatch;
mod edge;
mod extensions;
mod keygen;
mod mgmt;
mod objects;
mod pin;
mod select;
mod session;
mod sign;
mod state;
mod tries;

use embedded_storage::nor_flash::NorFlash;
use rand_core::CryptoRng;
use tamga_spec::{Status, defaults};
use tamga_store::Store;

use crate::crypto::{P256, SoftP256};
use crate::records::Identity;
use crate::response::Outgoing;
use edge::Chain;
use session::Session;
use state::Core;

/// Largest command data accepted, alone or reassembled from a chain: a
/// [`defaults::MAX_OBJECT_LEN`] object in a PUT DATA with its tag wrappers.
pub const COMMAND_CAP: usize = defaults::MAX_OBJECT_LEN + 16;

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
        let id = state::identity(&mut store, &mut rng)?;
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
        core.id = state::identity(&mut core.store, &mut core.rng)?;
        Ok(app)
    }

    #[inline(always)]
    fn assemble(store: Store<F>, rng: R, ec: E, id: Identity) -> Self {
        Applet {
            core: Core::new(store, rng, ec, id),
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
                edge::put_sw(reply, 0, sw)
            }
        }
    }
}
