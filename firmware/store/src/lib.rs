//! Tamga's persistent key-value store on NOR flash.
//!
//! `no_std`, no heap, no `unsafe`, and tear-safe: every [`Store::commit`] (and
//! [`Store::wipe`]) is atomic against power loss. The flash is split into two
//! banks; transactions are appended as CRC-protected records to the active bank
//! and the live data is compacted into the other bank when the active one is full
//! or was left dirty by a torn write. A RAM index (≈1 KiB) maps each key to the
//! flash location of its value; values are read from flash on demand.
//!
//! The on-flash format is described in `README.md` next to this crate.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use embedded_storage::nor_flash::NorFlash;
use heapless::Vec;

mod crc;

pub use crc::crc32;

/// A record key. `0x0000` and `0xFFFF` are reserved ([`Error::BadKey`]).
pub type Key = u16;
/// Maximum number of distinct live keys.
pub const MAX_KEYS: usize = 128;
/// Maximum length of one value in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Version of the on-flash format written in every bank header.
pub const FORMAT_VERSION: u16 = 1;

/// Store errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The flash driver reported an error (e.g. power loss); nothing changed in RAM.
    Flash,
    /// The live data after the transaction would not fit in one bank.
    Full,
    /// A value is longer than [`MAX_VALUE_LEN`].
    TooLarge,
    /// The transaction would leave more than [`MAX_KEYS`] live keys.
    TooManyKeys,
    /// Reserved key (`0x0000`/`0xFFFF`), or reading a key that is absent.
    BadKey,
    /// The flash geometry cannot hold two banks or has unsupported read/write sizes.
    Geometry,
    /// A store from [`Store::unmounted`] whose [`Store::load`] has not succeeded.
    NotMounted,
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            Error::Flash => "flash error",
            Error::Full => "store full",
            Error::TooLarge => "value too large",
            Error::TooManyKeys => "too many keys",
            Error::BadKey => "bad or absent key",
            Error::Geometry => "unsupported flash geometry",
            Error::NotMounted => "store not mounted",
        };
        f.write_str(s)
    }
}

impl core::error::Error for Error {}

/// One operation of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    /// Create or replace the value of a key.
    Put(Key, &'a [u8]),
    /// Remove a key (no effect if absent).
    Delete(Key),
}

impl Op<'_> {
    /// The key this operation touches.
    pub fn key(&self) -> Key {
        match *self {
            Op::Put(k, _) | Op::Delete(k) => k,
        }
    }
}

// ---------------------------------------------------------------------------
// On-flash constants (see README.md).

const BANK_MAGIC: [u8; 4] = *b"TMGS";
const BANK_HDR_LEN: u32 = 16;
const REC_MAGIC: [u8; 2] = *b"TR";
const REC_HDR_LEN: u32 = 16;
const ENTRY_HDR_LEN: u32 = 4;
const DELETE_LEN: u16 = 0xFFFF;
const FLAG_WIPE: u8 = 0x01;
/// Padding byte inside records (entry padding and record tail padding).
const PAD: u8 = 0x00;
/// Size of the stack buffers used to stream data (program staging, copy, scan).
const CHUNK: usize = 256;
/// Largest supported `READ_SIZE` / `WRITE_SIZE`.
const MAX_UNIT: usize = 32;

fn align_up(x: u32, a: u32) -> u32 {
    // `a` is a power of two (checked at mount).
    x.saturating_add(a - 1) & !(a - 1)
}

/// A byte count inside the store (a buffer, a chunk, a value) as a flash
/// offset delta. Such counts are far below 4 GiB; one that is not saturates to
/// an offset past any flash, which the device refuses.
fn u32_len(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The length field of a value. Transactions check every value against
/// [`MAX_VALUE_LEN`] (below [`DELETE_LEN`]) before anything is written, so the
/// clamp never bites and a value never reads as a deletion.
fn value_len(v: &[u8]) -> u16 {
    u16::try_from(v.len().min(MAX_VALUE_LEN)).unwrap_or(0)
}

const _: () = assert!(MAX_VALUE_LEN < DELETE_LEN as usize);

/// Bytes an entry with a value of `len` bytes takes in a record payload.
fn entry_size(len: usize) -> u32 {
    ENTRY_HDR_LEN + align_up(u32_len(len), 4)
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, c, d, e]) => u32::from_le_bytes([a, c, d, e]),
        _ => 0,
    }
}

fn key_ok(k: Key) -> bool {
    k != 0x0000 && k != 0xFFFF
}

// ---------------------------------------------------------------------------
// Flash access: counts program/erase operations and handles READ_SIZE alignment.

struct Dev<F> {
    f: F,
    writes: u32,
}

impl<F: NorFlash> Dev<F> {
    /// Read `buf.len()` bytes at any offset (handles `READ_SIZE` alignment).
    fn read(&mut self, mut off: u32, mut buf: &mut [u8]) -> Result<(), Error> {
        let r = F::READ_SIZE;
        if r <= 1 {
            return self.f.read(off, buf).map_err(|_| Error::Flash);
        }
        while !buf.is_empty() {
            let skew = (off % u32_len(r)) as usize;
            let n;
            if skew == 0 && buf.len() >= r {
                n = buf.len() - buf.len() % r;
                let (head, _) = buf.split_at_mut(n);
                self.f.read(off, head).map_err(|_| Error::Flash)?;
            } else {
                let mut tmp = [0u8; MAX_UNIT];
                let t = tmp.get_mut(..r).ok_or(Error::Geometry)?;
                self.f
                    .read(off - u32_len(skew), t)
                    .map_err(|_| Error::Flash)?;
                n = (r - skew).min(buf.len());
                let src = t.get(skew..skew + n).ok_or(Error::Flash)?;
                let (head, _) = buf.split_at_mut(n);
                head.copy_from_slice(src);
            }
            off += u32_len(n);
            buf = core::mem::take(&mut buf).split_at_mut(n).1;
        }
        Ok(())
    }

    fn program(&mut self, off: u32, data: &[u8]) -> Result<(), Error> {
        self.writes = self.writes.wrapping_add(1);
        self.f.write(off, data).map_err(|_| Error::Flash)
    }

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Error> {
        self.writes = self.writes.wrapping_add(1);
        self.f.erase(from, to).map_err(|_| Error::Flash)
    }

    /// True if `[from, to)` reads as erased (0xFF).
    #[inline(never)] // keep streaming buffers out of the callers' frames
    fn is_erased(&mut self, mut from: u32, to: u32) -> Result<bool, Error> {
        let mut buf = [0u8; CHUNK];
        while from < to {
            let n = ((to - from) as usize).min(CHUNK);
            let b = buf.get_mut(..n).ok_or(Error::Flash)?;
            self.read(from, b)?;
            if b.iter().any(|&x| x != 0xFF) {
                return Ok(false);
            }
            from += u32_len(n);
        }
        Ok(true)
    }
}

/// Destination of a record byte stream: a CRC or the flash.
trait Sink<F> {
    fn put(&mut self, dev: &mut Dev<F>, bytes: &[u8]) -> Result<(), Error>;
}

struct CrcSink(crc::Crc32);

impl<F> Sink<F> for CrcSink {
    fn put(&mut self, _dev: &mut Dev<F>, bytes: &[u8]) -> Result<(), Error> {
        self.0.update(bytes);
        Ok(())
    }
}

/// Stages bytes and programs them in `CHUNK`-sized, write-aligned pieces.
struct ProgSink {
    pos: u32,
    fill: usize,
    buf: [u8; CHUNK],
}

impl ProgSink {
    fn new(pos: u32) -> Self {
        ProgSink {
            pos,
            fill: 0,
            buf: [0xFF; CHUNK],
        }
    }

    /// Pad the staged tail to `align` with [`PAD`] and program it.
    fn finish<F: NorFlash>(&mut self, dev: &mut Dev<F>, align: u32) -> Result<(), Error> {
        if self.fill == 0 {
            return Ok(());
        }
        let end = align_up(u32_len(self.fill), align) as usize;
        self.buf
            .get_mut(self.fill..end)
            .ok_or(Error::Flash)?
            .fill(PAD);
        dev.program(self.pos, self.buf.get(..end).ok_or(Error::Flash)?)?;
        self.pos += u32_len(end);
        self.fill = 0;
        Ok(())
    }
}

impl<F: NorFlash> Sink<F> for ProgSink {
    fn put(&mut self, dev: &mut Dev<F>, mut bytes: &[u8]) -> Result<(), Error> {
        while !bytes.is_empty() {
            let n = (CHUNK - self.fill).min(bytes.len());
            let (now, rest) = bytes.split_at(n);
            self.buf
                .get_mut(self.fill..self.fill + n)
                .ok_or(Error::Flash)?
                .copy_from_slice(now);
            self.fill += n;
            bytes = rest;
            if self.fill == CHUNK {
                dev.program(self.pos, &self.buf)?;
                self.pos += u32_len(CHUNK);
                self.fill = 0;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Transactions as streams of entries.

/// One entry of a record being written.
#[derive(Clone, Copy)]
enum Item<'a> {
    /// Delete marker.
    Del(Key),
    /// Value from RAM (a pending `Op::Put`).
    Ram(Key, &'a [u8]),
    /// Value copied from the old bank (absolute offset, length).
    Flash(Key, u32, u16),
}

impl Item<'_> {
    fn size(&self) -> u32 {
        match *self {
            Item::Del(_) => ENTRY_HDR_LEN,
            Item::Ram(_, v) => entry_size(v.len()),
            Item::Flash(_, _, l) => entry_size(l as usize),
        }
    }
}

fn touched(ops: &[Op<'_>], key: Key) -> bool {
    ops.iter().any(|o| o.key() == key)
}

/// The ops that decide the final state of their key (last op per key), in order.
fn final_ops<'o, 'a>(ops: &'o [Op<'a>]) -> impl Iterator<Item = &'o Op<'a>> + 'o {
    ops.iter()
        .enumerate()
        .filter(move |(i, op)| !ops.iter().skip(i + 1).any(|o| o.key() == op.key()))
        .map(|(_, op)| op)
}

/// The sorted RAM index: key -> (absolute flash offset of value, length).
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Key,
    len: u16,
    off: u32,
}

type Index = Vec<Entry, MAX_KEYS>;

fn find(index: &Index, key: Key) -> Result<usize, usize> {
    index.binary_search_by_key(&key, |e| e.key)
}

/// Insert or replace; false if the index is full.
fn upsert(index: &mut Index, e: Entry) -> bool {
    match find(index, e.key) {
        Ok(i) => {
            if let Some(x) = index.get_mut(i) {
                *x = e;
            }
            true
        }
        Err(i) => index.insert(i, e).is_ok(),
    }
}

fn remove(index: &mut Index, key: Key) {
    if let Ok(i) = find(index, key) {
        index.remove(i);
    }
}

/// Enumerate the entries of the record a transaction is written as.
///
/// Append mode (`compact == false`): final deletes of live keys (none after a
/// wipe), then the final puts. Compact mode: the untouched live entries (none
/// for a wipe) in index order, then the final puts. Every key appears at most
/// once and deletes come first, so applying a record in order never needs more
/// than `max(before, after)` index slots.
fn for_each_item<'a>(
    index: &Index,
    ops: &[Op<'a>],
    wipe: bool,
    compact: bool,
    mut f: impl FnMut(Item<'a>) -> Result<(), Error>,
) -> Result<(), Error> {
    if !wipe {
        if compact {
            for e in index.iter().filter(|e| !touched(ops, e.key)) {
                f(Item::Flash(e.key, e.off, e.len))?;
            }
        } else {
            for op in final_ops(ops) {
                if let Op::Delete(k) = *op
                    && find(index, k).is_ok()
                {
                    f(Item::Del(k))?;
                }
            }
        }
    }
    for op in final_ops(ops) {
        if let Op::Put(k, v) = *op {
            f(Item::Ram(k, v))?;
        }
    }
    Ok(())
}

#[inline(never)] // keep streaming buffers out of the callers' frames
fn emit_item<F: NorFlash, S: Sink<F>>(
    dev: &mut Dev<F>,
    sink: &mut S,
    item: Item<'_>,
) -> Result<(), Error> {
    let (key, len) = match item {
        Item::Del(k) => (k, DELETE_LEN),
        Item::Ram(k, v) => (k, value_len(v)),
        Item::Flash(k, _, l) => (k, l),
    };
    let k = key.to_le_bytes();
    let l = len.to_le_bytes();
    sink.put(dev, &[k[0], k[1], l[0], l[1]])?;
    match item {
        Item::Del(_) => return Ok(()),
        Item::Ram(_, v) => sink.put(dev, v)?,
        Item::Flash(_, off, len) => {
            let mut buf = [0u8; CHUNK];
            let len = len as u32;
            let mut done = 0u32;
            while done < len {
                let n = ((len - done) as usize).min(CHUNK);
                let b = buf.get_mut(..n).ok_or(Error::Flash)?;
                dev.read(off + done, b)?;
                sink.put(dev, b)?;
                done += u32_len(n);
            }
        }
    }
    let pad = (align_up(len as u32, 4) - len as u32) as usize;
    sink.put(dev, [PAD; 3].get(..pad).ok_or(Error::Flash)?)
}

fn rec_header(flags: u8, payload: u32, seq: u32) -> [u8; 12] {
    let m = REC_MAGIC;
    let l = payload.to_le_bytes();
    let s = seq.to_le_bytes();
    [
        m[0], m[1], flags, 0, l[0], l[1], l[2], l[3], s[0], s[1], s[2], s[3],
    ]
}

/// Geometry derived from the flash type and capacity.
#[derive(Clone, Copy)]
struct Geo {
    bank_size: u32,
    align: u32,
    hdr_slot: u32,
}

impl Geo {
    fn of<F: NorFlash>(capacity: usize) -> Result<Self, Error> {
        let (w, r, e) = (F::WRITE_SIZE, F::READ_SIZE, F::ERASE_SIZE);
        let unit_ok = |x: usize| (1..=MAX_UNIT).contains(&x) && x.is_power_of_two();
        if !unit_ok(w) || !unit_ok(r) {
            return Err(Error::Geometry);
        }
        let align = w.max(4);
        if e == 0 || e % align != 0 || e % r != 0 {
            return Err(Error::Geometry);
        }
        let sectors = capacity / e / 2;
        let bank_size = sectors
            .checked_mul(e)
            .and_then(|b| u32::try_from(b.checked_mul(2)?).ok())
            .ok_or(Error::Geometry)?
            / 2;
        let align = u32::try_from(align).map_err(|_| Error::Geometry)?;
        let hdr_slot = align_up(BANK_HDR_LEN, align);
        if bank_size < hdr_slot + REC_HDR_LEN + ENTRY_HDR_LEN {
            return Err(Error::Geometry);
        }
        Ok(Geo {
            bank_size,
            align,
            hdr_slot,
        })
    }
}

/// Parsed header of a valid record.
struct RecInfo {
    flags: u8,
    payload: u32,
    seq: u32,
    size: u32,
}

/// Newer generation in serial-number arithmetic (survives wrap-around).
fn newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

// ---------------------------------------------------------------------------

/// A tear-safe key-value store on a [`NorFlash`].
pub struct Store<F: NorFlash> {
    dev: Dev<F>,
    index: Index,
    geo: Geo,
    /// Active bank: 0 or 1.
    active: u8,
    generation: u32,
    /// Bank-relative offset where the next record goes.
    head: u32,
    /// Sequence number of the next record.
    seq: u32,
    /// The tail of the active bank is not erased: the next commit compacts.
    dirty: bool,
    /// [`Store::load`] succeeded.
    mounted: bool,
}

impl<F: NorFlash> Store<F> {
    /// Mount: scan, pick the valid bank, rebuild the RAM index; format a blank or unreadable flash.
    pub fn mount(flash: F) -> Result<Self, Error> {
        let mut s = Self::unmounted(flash)?;
        s.load()?;
        Ok(s)
    }

    /// The store over `flash`, not yet mounted: it holds nothing and refuses
    /// every operation ([`Error::NotMounted`]) until [`Self::load`] succeeds.
    /// With `load`, this is [`Store::mount`] in place, for a store inside a
    /// static that must not be copied through the stack.
    pub fn unmounted(flash: F) -> Result<Self, Error> {
        let geo = Geo::of::<F>(flash.capacity())?;
        Ok(Store {
            dev: Dev {
                f: flash,
                writes: 0,
            },
            index: Vec::new(),
            geo,
            active: 0,
            generation: 0,
            head: geo.hdr_slot,
            seq: 0,
            dirty: false,
            mounted: false,
        })
    }

    /// Mount in place: pick the valid bank and rebuild the index (format a
    /// blank flash). See [`Self::unmounted`].
    #[inline(never)]
    pub fn load(&mut self) -> Result<(), Error> {
        self.mounted = false;
        self.index.clear();
        let h0 = self.bank_generation(0)?;
        let h1 = self.bank_generation(1)?;
        let (bank, generation) = match (h0, h1) {
            (Some(a), Some(b)) if newer(b, a) => (1, b),
            (Some(a), _) => (0, a),
            (None, Some(b)) => (1, b),
            (None, None) => {
                self.format()?;
                self.mounted = true;
                return Ok(());
            }
        };
        self.active = bank;
        self.generation = generation;
        self.scan()?;
        self.mounted = true;
        Ok(())
    }

    /// Value length, `None` if the key is absent.
    pub fn len(&self, key: Key) -> Option<usize> {
        let i = find(&self.index, key).ok()?;
        self.index.get(i).map(|e| e.len as usize)
    }

    /// Copy the value of `key` from byte `offset` into `buf`; returns the number of
    /// bytes copied (0 at or past the end). `Err(BadKey)` if the key is absent.
    pub fn read(&mut self, key: Key, offset: usize, buf: &mut [u8]) -> Result<usize, Error> {
        let i = find(&self.index, key).map_err(|_| Error::BadKey)?;
        let e = *self.index.get(i).ok_or(Error::BadKey)?;
        let len = e.len as usize;
        if offset >= len {
            return Ok(0);
        }
        let n = (len - offset).min(buf.len());
        let dst = buf.get_mut(..n).ok_or(Error::Flash)?;
        self.dev.read(e.off + u32_len(offset), dst)?;
        Ok(n)
    }

    /// Apply all `ops` atomically, or none. Later ops on the same key win.
    pub fn commit(&mut self, ops: &[Op<'_>]) -> Result<(), Error> {
        self.transact(ops, false)
    }

    /// Atomically delete every key, then apply `ops`.
    pub fn wipe(&mut self, ops: &[Op<'_>]) -> Result<(), Error> {
        self.transact(ops, true)
    }

    /// Live keys, in ascending order.
    pub fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.index.iter().map(|e| e.key)
    }

    /// Bytes the live data takes in a compacted bank (4-byte entry header + value padded to 4, per key).
    pub fn used_bytes(&self) -> usize {
        self.index
            .iter()
            .map(|e| entry_size(e.len as usize) as usize)
            .sum()
    }

    /// Largest [`Store::used_bytes`] that fits in one bank.
    pub fn capacity_bytes(&self) -> usize {
        (self.geo.bank_size - self.geo.hdr_slot - REC_HDR_LEN) as usize
    }

    /// Flash program + erase operations issued since mount.
    pub fn writes(&self) -> u32 {
        self.dev.writes
    }

    /// Generation of the active bank (incremented by each compaction).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Give the flash back (tests "reboot" by mounting it again).
    pub fn into_flash(self) -> F {
        self.dev.f
    }

    // -----------------------------------------------------------------------

    fn bank_base(&self, bank: u8) -> u32 {
        u32::from(bank) * self.geo.bank_size
    }

    /// Generation of a bank if its header is valid.
    fn bank_generation(&mut self, bank: u8) -> Result<Option<u32>, Error> {
        let mut h = [0u8; BANK_HDR_LEN as usize];
        self.dev.read(self.bank_base(bank), &mut h)?;
        let ok = h.get(..4) == Some(&BANK_MAGIC[..])
            && le_u16(&h, 4) == FORMAT_VERSION
            && le_u32(&h, 12) == crc32(h.get(..12).unwrap_or(&[]));
        Ok(ok.then(|| le_u32(&h, 8)))
    }

    fn write_bank_header(&mut self, bank: u8, generation: u32) -> Result<(), Error> {
        let m = BANK_MAGIC;
        let v = FORMAT_VERSION.to_le_bytes();
        let g = generation.to_le_bytes();
        let body = [
            m[0], m[1], m[2], m[3], v[0], v[1], 0, 0, g[0], g[1], g[2], g[3],
        ];
        let c = crc32(&body).to_le_bytes();
        let mut p = ProgSink::new(self.bank_base(bank));
        p.put(&mut self.dev, &body)?;
        p.put(&mut self.dev, &c)?;
        p.finish(&mut self.dev, self.geo.align)
    }

    fn erase_bank(&mut self, bank: u8) -> Result<(), Error> {
        let base = self.bank_base(bank);
        let e = u32_len(F::ERASE_SIZE);
        let mut s = base;
        while s < base + self.geo.bank_size {
            self.dev.erase(s, s + e)?;
            s += e;
        }
        Ok(())
    }

    /// Erase bank 0 and give it an empty log (generation 1).
    #[inline(never)]
    fn format(&mut self) -> Result<(), Error> {
        self.erase_bank(0)?;
        self.write_bank_header(0, 1)?;
        self.index.clear();
        self.active = 0;
        self.generation = 1;
        self.head = self.geo.hdr_slot;
        self.seq = 0;
        self.dirty = false;
        Ok(())
    }

    /// Rebuild the index from the active bank's log.
    #[inline(never)]
    fn scan(&mut self) -> Result<(), Error> {
        let mut limit = None;
        loop {
            match self.scan_until(limit)? {
                None => return Ok(()),
                // A CRC-valid record would overflow the index (never written by
                // this code): roll back by rescanning up to just before it.
                Some(pos) => limit = Some(pos),
            }
        }
    }

    /// Scan records until the end of the log or `limit`; `Some(pos)` if the record
    /// at `pos` cannot be applied (index overflow).
    fn scan_until(&mut self, limit: Option<u32>) -> Result<Option<u32>, Error> {
        self.index.clear();
        let base = self.bank_base(self.active);
        let mut pos = self.geo.hdr_slot;
        let mut seq = None;
        while Some(pos) != limit {
            let Some(info) = self.check_record(pos, seq)? else {
                break;
            };
            if !self.apply_record(base + pos, &info)? {
                return Ok(Some(pos));
            }
            pos += info.size;
            seq = Some(info.seq);
        }
        self.head = pos;
        self.seq = seq.map_or(0, |s: u32| s.wrapping_add(1));
        self.dirty = !self.dev.is_erased(base + pos, base + self.geo.bank_size)?;
        Ok(None)
    }

    /// Validate the record at bank-relative `pos` (header, CRC, entry structure).
    #[inline(never)] // keep streaming buffers out of the callers' frames
    fn check_record(&mut self, pos: u32, prev_seq: Option<u32>) -> Result<Option<RecInfo>, Error> {
        let bank = self.geo.bank_size;
        let base = self.bank_base(self.active);
        if pos.checked_add(REC_HDR_LEN).is_none_or(|end| end > bank) {
            return Ok(None);
        }
        let mut h = [0u8; REC_HDR_LEN as usize];
        self.dev.read(base + pos, &mut h)?;
        let flags = h.get(2).copied().unwrap_or(0xFF);
        let payload = le_u32(&h, 4);
        let seq = le_u32(&h, 8);
        let room = bank - pos - REC_HDR_LEN;
        if h.get(..2) != Some(&REC_MAGIC[..])
            || flags & !FLAG_WIPE != 0
            || h.get(3) != Some(&0)
            || !payload.is_multiple_of(4)
            || payload > room
            || prev_seq.is_some_and(|p| p.wrapping_add(1) != seq)
        {
            return Ok(None);
        }
        // CRC over the header fields, the payload and the tail padding.
        let size = align_up(REC_HDR_LEN + payload, self.geo.align);
        let covered = size - REC_HDR_LEN;
        let mut crc = crc::Crc32::new();
        crc.update(h.get(..12).unwrap_or(&[]));
        let start = base + pos + REC_HDR_LEN;
        let mut buf = [0u8; CHUNK];
        let mut done = 0u32;
        while done < covered {
            let n = ((covered - done) as usize).min(CHUNK);
            let b = buf.get_mut(..n).ok_or(Error::Flash)?;
            self.dev.read(start + done, b)?;
            crc.update(b);
            done += u32_len(n);
        }
        if crc.finish() != le_u32(&h, 12) {
            return Ok(None);
        }
        // Entry structure.
        let mut p = 0u32;
        while p < payload {
            let (key, len) = self.entry_at(start + p)?;
            if !key_ok(key) {
                return Ok(None);
            }
            p += if len == DELETE_LEN {
                ENTRY_HDR_LEN
            } else if len as usize <= MAX_VALUE_LEN {
                entry_size(len as usize)
            } else {
                return Ok(None);
            };
        }
        if p != payload {
            return Ok(None);
        }
        Ok(Some(RecInfo {
            flags,
            payload,
            seq,
            size,
        }))
    }

    fn entry_at(&mut self, off: u32) -> Result<(Key, u16), Error> {
        let mut e = [0u8; ENTRY_HDR_LEN as usize];
        self.dev.read(off, &mut e)?;
        Ok((le_u16(&e, 0), le_u16(&e, 2)))
    }

    /// Apply a validated record at absolute `rec` to the index; false on overflow.
    fn apply_record(&mut self, rec: u32, info: &RecInfo) -> Result<bool, Error> {
        if info.flags & FLAG_WIPE != 0 {
            self.index.clear();
        }
        let start = rec + REC_HDR_LEN;
        let mut p = 0u32;
        while p < info.payload {
            let (key, len) = self.entry_at(start + p)?;
            if len == DELETE_LEN {
                remove(&mut self.index, key);
                p += ENTRY_HDR_LEN;
            } else {
                let e = Entry {
                    key,
                    len,
                    off: start + p + ENTRY_HDR_LEN,
                };
                if !upsert(&mut self.index, e) {
                    return Ok(false);
                }
                p += entry_size(len as usize);
            }
        }
        Ok(true)
    }

    fn transact(&mut self, ops: &[Op<'_>], wipe: bool) -> Result<(), Error> {
        if !self.mounted {
            return Err(Error::NotMounted);
        }
        for op in ops {
            if !key_ok(op.key()) {
                return Err(Error::BadKey);
            }
            if let Op::Put(_, v) = op
                && v.len() > MAX_VALUE_LEN
            {
                return Err(Error::TooLarge);
            }
        }
        // Final state: count and size.
        let mut count = 0usize;
        let mut used = 0usize;
        if !wipe {
            for e in self.index.iter().filter(|e| !touched(ops, e.key)) {
                count += 1;
                used += entry_size(e.len as usize) as usize;
            }
        }
        for op in final_ops(ops) {
            if let Op::Put(_, v) = op {
                count += 1;
                used += entry_size(v.len()) as usize;
            }
        }
        if count > MAX_KEYS {
            return Err(Error::TooManyKeys);
        }
        if used > self.capacity_bytes() {
            return Err(Error::Full);
        }
        // Size of the record if appended.
        let mut payload = 0u32;
        let mut items = 0usize;
        for_each_item(&self.index, ops, wipe, false, |it| {
            payload = payload.saturating_add(it.size());
            items += 1;
            Ok(())
        })?;
        if items == 0 && (!wipe || self.index.is_empty()) {
            return Ok(()); // nothing changes
        }
        let size = align_up(REC_HDR_LEN.saturating_add(payload), self.geo.align);
        if !self.dirty && size <= self.geo.bank_size - self.head {
            self.append(ops, wipe, size)
        } else {
            self.compact(ops, wipe)
        }
    }

    /// Write the transaction as one record at absolute `start`; returns its size
    /// on flash.
    fn write_record(
        &mut self,
        ops: &[Op<'_>],
        wipe: bool,
        compact: bool,
        start: u32,
    ) -> Result<u32, Error> {
        let dev = &mut self.dev;
        let index = &self.index;
        let mut payload = 0u32;
        for_each_item(index, ops, wipe, compact, |it| {
            payload = payload.saturating_add(it.size());
            Ok(())
        })?;
        let flags = if wipe && !compact { FLAG_WIPE } else { 0 };
        let head = rec_header(flags, payload, self.seq);
        let mut crc = CrcSink(crc::Crc32::new());
        crc.0.update(&head);
        let size = align_up(REC_HDR_LEN.saturating_add(payload), self.geo.align);
        // Tail padding up to the record alignment, covered by the CRC too.
        let tail = [PAD; MAX_UNIT];
        let tail = tail
            .get(..size.saturating_sub(REC_HDR_LEN.saturating_add(payload)) as usize)
            .ok_or(Error::Flash)?;
        for_each_item(index, ops, wipe, compact, |it| emit_item(dev, &mut crc, it))?;
        crc.0.update(tail);
        let mut prog = ProgSink::new(start);
        prog.put(dev, &head)?;
        prog.put(dev, &crc.0.finish().to_le_bytes())?;
        for_each_item(index, ops, wipe, compact, |it| {
            emit_item(dev, &mut prog, it)
        })?;
        prog.put(dev, tail)?;
        prog.finish(dev, self.geo.align)?;
        Ok(size)
    }

    fn append(&mut self, ops: &[Op<'_>], wipe: bool, size: u32) -> Result<(), Error> {
        let start = self.bank_base(self.active) + self.head;
        if let Err(e) = self.write_record(ops, wipe, false, start) {
            // The tail is no longer erased; RAM still describes the old state.
            self.dirty = true;
            return Err(e);
        }
        // Mirror `for_each_item` (append mode) to update the index.
        let mut off = start + REC_HDR_LEN;
        if wipe {
            self.index.clear();
        } else {
            for op in final_ops(ops) {
                if let Op::Delete(k) = *op
                    && find(&self.index, k).is_ok()
                {
                    remove(&mut self.index, k);
                    off += ENTRY_HDR_LEN;
                }
            }
        }
        self.insert_puts(ops, off);
        self.head += size;
        self.seq = self.seq.wrapping_add(1);
        Ok(())
    }

    /// Insert the final puts of `ops`, the first value entry starting at `off`.
    fn insert_puts(&mut self, ops: &[Op<'_>], mut off: u32) {
        for op in final_ops(ops) {
            if let Op::Put(key, v) = *op {
                // Cannot overflow: the final key count was checked.
                let _ = upsert(
                    &mut self.index,
                    Entry {
                        key,
                        len: value_len(v),
                        off: off + ENTRY_HDR_LEN,
                    },
                );
                off += entry_size(v.len());
            }
        }
    }

    /// Copy the live data merged with the transaction into the other bank, then
    /// make it active by programming its header.
    fn compact(&mut self, ops: &[Op<'_>], wipe: bool) -> Result<(), Error> {
        let other = 1 - self.active;
        self.erase_bank(other)?;
        let start = self.bank_base(other) + self.geo.hdr_slot;
        let size = self.write_record(ops, wipe, true, start)?;
        let generation = self.generation.wrapping_add(1);
        self.write_bank_header(other, generation)?;
        // Committed. Mirror `for_each_item` (compact mode) to update the index.
        let mut off = start + REC_HDR_LEN;
        if wipe {
            self.index.clear();
        } else {
            for e in self.index.iter_mut().filter(|e| !touched(ops, e.key)) {
                e.off = off + ENTRY_HDR_LEN;
                off += entry_size(e.len as usize);
            }
            self.index.retain(|e| !touched(ops, e.key));
        }
        self.insert_puts(ops, off);
        self.active = other;
        self.generation = generation;
        self.head = self.geo.hdr_slot + size;
        self.seq = self.seq.wrapping_add(1);
        self.dirty = false;
        Ok(())
    }
}
