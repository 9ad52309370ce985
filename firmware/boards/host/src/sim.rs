//! Simulated NOR flash with power-cut injection.

use std::sync::{Arc, Mutex, MutexGuard};

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::{FlashError, check, check_erase};

/// RAM-backed NOR flash with strict semantics and power-cut injection.
///
/// Const parameters: `WRITE` = `WRITE_SIZE` (program granularity, default 4),
/// `READ` = `READ_SIZE` (default 1), `ERASE` = `ERASE_SIZE` (default 2048).
///
/// Strict semantics: programming a write unit that was programmed since its last
/// erase (even with 0xFF, as on STM32L4 with ECC) fails with
/// [`FlashError::NotErased`] and changes nothing; misaligned or out-of-bounds
/// accesses fail too. Nothing panics on any access.
///
/// Clones share the same memory and power state (`Arc<Mutex<..>>`), so a test keeps
/// one clone to cut power / inspect while the store owns another, then mounts a new
/// store on a clone to "reboot".
///
/// Power cuts ([`SimFlash::cut_after`]): the chosen program/erase operation is
/// torn, then every operation (reads included) fails with [`FlashError::PowerOff`]
/// until [`SimFlash::power_on`]. A torn program writes a random prefix of its write
/// units, then the next unit gets random bits cleared (erased `0xFF` AND random);
/// a torn erase erases a random prefix of its range, sets random bits of the next
/// write unit, and leaves the rest as it was. Randomness is deterministic (seed
/// with [`SimFlash::with_seed`]).
#[derive(Clone, Debug)]
pub struct SimFlash<const WRITE: usize = 4, const READ: usize = 1, const ERASE: usize = 2048> {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    mem: Vec<u8>,
    /// One flag per write unit: programmed since the last erase.
    programmed: Vec<bool>,
    ops: u64,
    /// Operations left before the torn one (1 = the next one is torn).
    cut: Option<u64>,
    powered: bool,
    rng: u64,
}

impl Inner {
    fn rand(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// One random byte: the low byte of the next number.
    fn rand_byte(&mut self) -> u8 {
        self.rand().to_le_bytes()[0]
    }

    fn rand_below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            // The remainder is below `n`, a usize.
            usize::try_from(self.rand() % n as u64).unwrap_or(0)
        }
    }

    /// Count an operation; true if it is the torn one (power goes off).
    fn start_op(&mut self) -> Result<bool, FlashError> {
        if !self.powered {
            return Err(FlashError::PowerOff);
        }
        self.ops += 1;
        match self.cut {
            Some(n) if n <= 1 => {
                self.cut = None;
                self.powered = false;
                Ok(true)
            }
            Some(n) => {
                self.cut = Some(n - 1);
                Ok(false)
            }
            None => Ok(false),
        }
    }
}

impl<const WRITE: usize, const READ: usize, const ERASE: usize> SimFlash<WRITE, READ, ERASE> {
    /// A fully erased flash of `size` bytes.
    ///
    /// # Panics
    /// If `size` is not a positive multiple of `ERASE`, or `WRITE`/`READ` do not
    /// divide `ERASE` (a test set-up error).
    pub fn new(size: usize) -> Self {
        Self::with_seed(size, 0x5EED_7A36_A000_0001)
    }

    /// Like [`SimFlash::new`] with a seed for the tear randomness.
    pub fn with_seed(size: usize, seed: u64) -> Self {
        assert!(WRITE > 0 && READ > 0 && ERASE > 0, "zero-sized flash unit");
        assert!(
            ERASE.is_multiple_of(WRITE) && ERASE.is_multiple_of(READ),
            "WRITE and READ must divide ERASE"
        );
        assert!(
            size > 0 && size.is_multiple_of(ERASE),
            "size must be a positive multiple of ERASE"
        );
        SimFlash {
            inner: Arc::new(Mutex::new(Inner {
                mem: vec![0xFF; size],
                programmed: vec![false; size / WRITE],
                ops: 0,
                cut: None,
                powered: true,
                rng: seed | 1,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Size in bytes.
    pub fn size(&self) -> usize {
        self.lock().mem.len()
    }

    /// Arm a power cut: the `n`-th following program/erase operation (1 = the next
    /// one) is torn and the power goes off. `cut_after(0)` cuts the power now.
    /// Replaces any cut armed before.
    pub fn cut_after(&self, n: u64) {
        let mut i = self.lock();
        if n == 0 {
            i.powered = false;
            i.cut = None;
        } else {
            i.cut = Some(n);
        }
    }

    /// Disarm a pending cut (does not restore power).
    pub fn disarm(&self) {
        self.lock().cut = None;
    }

    /// Restore power (and disarm any pending cut).
    pub fn power_on(&self) {
        let mut i = self.lock();
        i.powered = true;
        i.cut = None;
    }

    /// False after a cut, until [`SimFlash::power_on`].
    pub fn is_powered(&self) -> bool {
        self.lock().powered
    }

    /// Program + erase operations attempted while powered (the torn one included).
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// An independent deep copy (memory, programmed units, power state, op count,
    /// RNG state), unlike [`Clone`] which shares. The copy has no cut armed.
    pub fn fork(&self) -> Self {
        let i = self.lock();
        SimFlash {
            inner: Arc::new(Mutex::new(Inner {
                mem: i.mem.clone(),
                programmed: i.programmed.clone(),
                ops: i.ops,
                cut: None,
                powered: i.powered,
                rng: i.rng,
            })),
        }
    }

    /// Reseed the tear randomness.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = seed | 1;
    }

    /// Copy of the whole memory.
    pub fn snapshot(&self) -> Vec<u8> {
        self.lock().mem.clone()
    }

    /// Overwrite memory directly (fault injection): bytes are stored as given
    /// (bits may go 0 -> 1) and the touched write units count as programmed.
    /// Out-of-range bytes are ignored.
    pub fn poke(&self, offset: usize, bytes: &[u8]) {
        let mut i = self.lock();
        for (k, &b) in bytes.iter().enumerate() {
            let a = offset + k;
            if a < i.mem.len() {
                i.mem[a] = b;
                i.programmed[a / WRITE] = true;
            }
        }
    }

    /// Fill the range with random bytes (seeded, deterministic); see [`SimFlash::poke`].
    pub fn scramble(&self, offset: usize, len: usize) {
        let bytes: Vec<u8> = {
            let mut i = self.lock();
            (0..len).map(|_| i.rand_byte()).collect()
        };
        self.poke(offset, &bytes);
    }
}

impl<const WRITE: usize, const READ: usize, const ERASE: usize> ErrorType
    for SimFlash<WRITE, READ, ERASE>
{
    type Error = FlashError;
}

impl<const WRITE: usize, const READ: usize, const ERASE: usize> ReadNorFlash
    for SimFlash<WRITE, READ, ERASE>
{
    const READ_SIZE: usize = READ;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashError> {
        let i = self.lock();
        if !i.powered {
            return Err(FlashError::PowerOff);
        }
        check(offset, bytes.len(), READ, i.mem.len())?;
        let o = offset as usize;
        bytes.copy_from_slice(&i.mem[o..o + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.size()
    }
}

impl<const WRITE: usize, const READ: usize, const ERASE: usize> NorFlash
    for SimFlash<WRITE, READ, ERASE>
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashError> {
        let mut i = self.lock();
        if !i.powered {
            return Err(FlashError::PowerOff);
        }
        check_erase(from, to, ERASE, i.mem.len())?;
        let (from, to) = (from as usize, to as usize);
        if !i.start_op()? {
            i.mem[from..to].fill(0xFF);
            i.programmed[from / WRITE..to / WRITE].fill(false);
            return Ok(());
        }
        // Torn erase: a prefix erased, the next unit half-erased, the rest untouched.
        let units = (to - from) / WRITE;
        let k = i.rand_below(units);
        let mid = from + k * WRITE;
        i.mem[from..mid].fill(0xFF);
        i.programmed[from / WRITE..mid / WRITE].fill(false);
        if k < units {
            for a in mid..mid + WRITE {
                let r = i.rand_byte();
                i.mem[a] |= r;
            }
        }
        Err(FlashError::PowerOff)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashError> {
        let mut i = self.lock();
        if !i.powered {
            return Err(FlashError::PowerOff);
        }
        check(offset, bytes.len(), WRITE, i.mem.len())?;
        let o = offset as usize;
        let units = bytes.len() / WRITE;
        let u0 = o / WRITE;
        let clean = (0..units).all(|u| {
            !i.programmed[u0 + u]
                && i.mem[o + u * WRITE..o + (u + 1) * WRITE]
                    .iter()
                    .all(|&b| b == 0xFF)
        });
        if !clean {
            return Err(FlashError::NotErased);
        }
        if !i.start_op()? {
            i.mem[o..o + bytes.len()].copy_from_slice(bytes);
            i.programmed[u0..u0 + units].fill(true);
            return Ok(());
        }
        // Torn program: a prefix of units, then one unit of garbage.
        let k = i.rand_below(units);
        i.mem[o..o + k * WRITE].copy_from_slice(&bytes[..k * WRITE]);
        i.programmed[u0..u0 + k].fill(true);
        if k < units {
            for a in o + k * WRITE..o + (k + 1) * WRITE {
                let r = i.rand_byte();
                i.mem[a] &= r;
            }
            i.programmed[u0 + k] = true;
        }
        Err(FlashError::PowerOff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_program_and_erase() {
        let f = SimFlash::<4, 1, 2048>::new(4096);
        let mut g = f.clone();
        g.write(0, &[0x11; 8]).unwrap();
        assert_eq!(f.ops(), 1);
        f.cut_after(2);
        g.write(8, &[0x22; 8]).unwrap();
        assert_eq!(g.write(256, &[0x00; 256]), Err(FlashError::PowerOff));
        assert!(!f.is_powered());
        let mut b = [0u8; 4];
        assert_eq!(g.read(0, &mut b), Err(FlashError::PowerOff));
        assert_eq!(g.erase(0, 2048), Err(FlashError::PowerOff));
        f.power_on();
        let mem = f.snapshot();
        assert_eq!(
            &mem[..16],
            &[
                0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
                0x22, 0x22
            ]
        );
        // The torn program: a prefix of zeros, then at most one garbage unit, then erased.
        let torn = &mem[256..512];
        let zeros = torn.iter().take_while(|&&x| x == 0).count() / 4 * 4;
        assert!(torn[zeros + 4..].iter().all(|&x| x == 0xFF));
        // Torn units cannot be programmed again without an erase.
        assert_eq!(g.write(256, &[0; 4]), Err(FlashError::NotErased));
        // Torn erase: part of the sector stays programmed.
        g.write(2048, &[0; 2048]).unwrap();
        f.cut_after(1);
        assert_eq!(g.erase(2048, 4096), Err(FlashError::PowerOff));
        f.power_on();
        let mem = f.snapshot();
        assert!(mem[2048..].contains(&0x00) || mem[2048..].iter().all(|&x| x == 0xFF));
        // A fork is independent.
        let h = f.fork();
        g.erase(0, 4096).unwrap();
        assert_eq!(h.snapshot()[0], 0x11);
        assert_eq!(f.snapshot()[0], 0xFF);
    }
}
