//! Shared helpers: a `BTreeMap` model of the store and owned transactions.
#![allow(dead_code)]
#![allow(
    clippy::cast_possible_truncation,
    reason = "test data: a generator's words truncated to pattern bytes"
)]

use std::collections::BTreeMap;

use embedded_storage::nor_flash::NorFlash;
use tamga_store::{Error, Key, Op, Store};

/// Expected content: key -> value.
pub type Model = BTreeMap<Key, Vec<u8>>;

/// An owned operation.
#[derive(Clone, Debug)]
pub enum TOp {
    Put(Key, Vec<u8>),
    Del(Key),
}

/// An owned transaction: `commit(ops)` or `wipe(ops)`.
#[derive(Clone, Debug)]
pub struct Txn {
    pub wipe: bool,
    pub ops: Vec<TOp>,
}

impl Txn {
    pub fn commit(ops: Vec<TOp>) -> Self {
        Txn { wipe: false, ops }
    }

    pub fn wipe(ops: Vec<TOp>) -> Self {
        Txn { wipe: true, ops }
    }

    pub fn run<F: NorFlash>(&self, s: &mut Store<F>) -> Result<(), Error> {
        let ops = borrow(&self.ops);
        if self.wipe {
            s.wipe(&ops)
        } else {
            s.commit(&ops)
        }
    }

    /// The model after this transaction succeeds.
    pub fn apply(&self, m: &Model) -> Model {
        let mut m = m.clone();
        if self.wipe {
            m.clear();
        }
        for op in &self.ops {
            match op {
                TOp::Put(k, v) => {
                    m.insert(*k, v.clone());
                }
                TOp::Del(k) => {
                    m.remove(k);
                }
            }
        }
        m
    }
}

pub fn borrow(ops: &[TOp]) -> Vec<Op<'_>> {
    ops.iter()
        .map(|o| match o {
            TOp::Put(k, v) => Op::Put(*k, v),
            TOp::Del(k) => Op::Delete(*k),
        })
        .collect()
}

/// Deterministic value bytes.
pub fn val(len: usize, salt: u32) -> Vec<u8> {
    let mut x = salt.wrapping_mul(2_654_435_761).wrapping_add(len as u32) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Read the whole content through the public API (in odd-sized chunks, to
/// exercise offsets), checking `len`, `keys` and `read` agree.
pub fn dump<F: NorFlash>(s: &mut Store<F>) -> Model {
    let keys: Vec<Key> = s.keys().collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted, "keys() must be ascending and unique");
    let mut m = Model::new();
    for k in keys {
        let len = s.len(k).expect("listed key has a length");
        let mut v = vec![0u8; len];
        let mut off = 0;
        while off < len {
            let end = (off + 97).min(len);
            let n = s.read(k, off, &mut v[off..end]).expect("read");
            assert_eq!(n, end - off);
            off = end;
        }
        assert_eq!(s.read(k, len, &mut [0u8; 4]), Ok(0));
        m.insert(k, v);
    }
    m
}

/// Used bytes of a model, as `Store::used_bytes` counts them.
pub fn used(m: &Model) -> usize {
    m.values().map(|v| 4 + v.len().div_ceil(4) * 4).sum()
}
