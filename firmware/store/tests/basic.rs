//! Functional behaviour of the store on simulated and file flash.
#![allow(
    clippy::cast_possible_truncation,
    reason = "test data: small counters as keys, lengths and pattern bytes"
)]

mod common;

use common::{Model, TOp, Txn, dump, used, val};
use embedded_storage::nor_flash::NorFlash;
use tamga_board_host::{FileFlash, SimFlash};
use tamga_store::{Error, MAX_KEYS, MAX_VALUE_LEN, Op, Store};

const KIB: usize = 1024;

fn remount<F: NorFlash>(s: Store<F>) -> Store<F> {
    Store::mount(s.into_flash()).expect("remount")
}

/// Put/get/overwrite/delete, then remount, on any flash.
fn crud<F: NorFlash>(flash: F) {
    let mut s = Store::mount(flash).unwrap();
    assert_eq!(s.keys().count(), 0);
    assert_eq!(s.len(1), None);
    s.commit(&[Op::Put(1, b"hello"), Op::Put(2, b"")]).unwrap();
    assert_eq!(s.len(1), Some(5));
    assert_eq!(s.len(2), Some(0));
    let mut b = [0u8; 16];
    assert_eq!(s.read(1, 0, &mut b), Ok(5));
    assert_eq!(&b[..5], b"hello");
    s.commit(&[Op::Put(1, b"bye")]).unwrap();
    assert_eq!(s.read(1, 0, &mut b), Ok(3));
    assert_eq!(&b[..3], b"bye");
    s.commit(&[Op::Delete(2)]).unwrap();
    assert_eq!(s.len(2), None);
    assert_eq!(s.read(2, 0, &mut b), Err(Error::BadKey));
    let mut s = remount(s);
    assert_eq!(s.keys().collect::<Vec<_>>(), vec![1]);
    assert_eq!(s.read(1, 0, &mut b), Ok(3));
    assert_eq!(&b[..3], b"bye");
    // Values of all sizes around the alignment boundaries, with odd offsets.
    let mut m = dump(&mut s);
    for (i, len) in [
        1usize, 2, 3, 4, 5, 7, 8, 15, 16, 17, 31, 33, 255, 256, 257, 1000,
    ]
    .into_iter()
    .enumerate()
    {
        let t = Txn::commit(vec![TOp::Put(100 + i as u16, val(len, i as u32))]);
        t.run(&mut s).unwrap();
        m = t.apply(&m);
    }
    assert_eq!(dump(&mut s), m);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), m);
}

#[test]
fn crud_write4_read1() {
    crud(SimFlash::<4, 1, 2048>::new(16 * KIB));
}

#[test]
fn crud_write1() {
    crud(SimFlash::<1, 1, 2048>::new(16 * KIB));
}

#[test]
fn crud_write8_read8() {
    crud(SimFlash::<8, 8, 2048>::new(16 * KIB));
}

#[test]
fn crud_write16_read4_erase4096() {
    crud(SimFlash::<16, 4, 4096>::new(32 * KIB));
}

#[test]
fn crud_write32_read32() {
    crud(SimFlash::<32, 32, 2048>::new(16 * KIB));
}

#[test]
fn geometry_errors() {
    // One sector cannot make two banks.
    assert_eq!(
        Store::mount(SimFlash::<4, 1, 2048>::new(2048)).err(),
        Some(Error::Geometry)
    );
    // Write units above 32 bytes are not supported.
    assert_eq!(
        Store::mount(SimFlash::<64, 1, 2048>::new(8192)).err(),
        Some(Error::Geometry)
    );
    assert_eq!(
        Store::mount(SimFlash::<4, 64, 2048>::new(8192)).err(),
        Some(Error::Geometry)
    );
    // Not a power of two.
    assert_eq!(
        Store::mount(SimFlash::<12, 1, 2052>::new(2052 * 2)).err(),
        Some(Error::Geometry)
    );
    // An odd sector count leaves the last sector unused.
    let s = Store::mount(SimFlash::<4, 1, 2048>::new(3 * 2048)).unwrap();
    assert_eq!(s.capacity_bytes(), 2048 - 16 - 16);
}

#[test]
fn read_offsets() {
    let mut s = Store::mount(SimFlash::<8, 8, 2048>::new(16 * KIB)).unwrap();
    let v = val(300, 9);
    s.commit(&[Op::Put(7, &v)]).unwrap();
    let mut b = [0u8; 64];
    assert_eq!(s.read(7, 0, &mut b), Ok(64));
    assert_eq!(&b[..], &v[..64]);
    assert_eq!(s.read(7, 3, &mut b[..5]), Ok(5));
    assert_eq!(&b[..5], &v[3..8]);
    assert_eq!(s.read(7, 290, &mut b), Ok(10));
    assert_eq!(&b[..10], &v[290..]);
    assert_eq!(s.read(7, 300, &mut b), Ok(0));
    assert_eq!(s.read(7, 10_000, &mut b), Ok(0));
    assert_eq!(s.read(7, 5, &mut []), Ok(0));
    assert_eq!(s.read(8, 0, &mut b), Err(Error::BadKey));
}

#[test]
fn value_limits_and_bad_keys() {
    let mut s = Store::mount(SimFlash::<4, 1, 2048>::new(16 * KIB)).unwrap();
    let big = val(MAX_VALUE_LEN, 1);
    s.commit(&[Op::Put(1, &big)]).unwrap();
    let too_big = val(MAX_VALUE_LEN + 1, 2);
    let w = s.writes();
    assert_eq!(
        s.commit(&[Op::Put(2, b"x"), Op::Put(3, &too_big)]),
        Err(Error::TooLarge)
    );
    assert_eq!(
        s.commit(&[Op::Put(2, b"x"), Op::Put(0, b"y")]),
        Err(Error::BadKey)
    );
    assert_eq!(s.commit(&[Op::Delete(0xFFFF)]), Err(Error::BadKey));
    assert_eq!(s.wipe(&[Op::Put(0xFFFF, b"")]), Err(Error::BadKey));
    assert_eq!(s.writes(), w, "rejected transactions write nothing");
    assert_eq!(s.len(2), None);
    assert_eq!(s.len(0), None);
    let mut s = remount(s);
    let mut b = vec![0u8; MAX_VALUE_LEN + 10];
    assert_eq!(s.read(1, 0, &mut b), Ok(MAX_VALUE_LEN));
    assert_eq!(&b[..MAX_VALUE_LEN], &big[..]);
}

#[test]
fn duplicate_keys_in_one_transaction() {
    let mut s = Store::mount(SimFlash::<4, 1, 2048>::new(16 * KIB)).unwrap();
    s.commit(&[
        Op::Put(1, b"a"),
        Op::Put(1, b"bb"),
        Op::Put(2, b"x"),
        Op::Delete(2),
    ])
    .unwrap();
    s.commit(&[Op::Delete(3), Op::Put(3, b"ccc")]).unwrap();
    let want: Model = [(1, b"bb".to_vec()), (3, b"ccc".to_vec())].into();
    assert_eq!(dump(&mut s), want);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), want);
}

#[test]
fn empty_transactions_write_nothing() {
    let mut s = Store::mount(SimFlash::<4, 1, 2048>::new(16 * KIB)).unwrap();
    let w = s.writes();
    s.commit(&[]).unwrap();
    s.commit(&[Op::Delete(5)]).unwrap();
    s.wipe(&[]).unwrap();
    assert_eq!(s.writes(), w);
}

#[test]
fn wipe_then_apply() {
    let mut s = Store::mount(SimFlash::<4, 1, 2048>::new(16 * KIB)).unwrap();
    s.commit(&[Op::Put(1, b"one"), Op::Put(2, b"two"), Op::Put(3, b"three")])
        .unwrap();
    s.wipe(&[Op::Put(2, b"new"), Op::Put(4, b"four"), Op::Delete(4)])
        .unwrap();
    let want: Model = [(2, b"new".to_vec())].into();
    assert_eq!(dump(&mut s), want);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), want);
    s.wipe(&[]).unwrap();
    assert_eq!(s.keys().count(), 0);
    assert_eq!(s.used_bytes(), 0);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), Model::new());
}

#[test]
fn full_leaves_state_unchanged() {
    let flash = SimFlash::<4, 1, 2048>::new(16 * KIB);
    let mut s = Store::mount(flash.clone()).unwrap();
    assert_eq!(s.capacity_bytes(), 8 * KIB - 32);
    let mut m = Model::new();
    let mut k = 1;
    loop {
        let t = Txn::commit(vec![TOp::Put(k, val(1000, k as u32))]);
        let before = flash.snapshot();
        let w = s.writes();
        match t.run(&mut s) {
            Ok(()) => m = t.apply(&m),
            Err(e) => {
                assert_eq!(e, Error::Full);
                assert_eq!(s.writes(), w, "Full is detected before writing");
                assert_eq!(flash.snapshot(), before);
                break;
            }
        }
        k += 1;
    }
    assert_eq!(k, 9, "8 values of 1000 bytes fit in 8 KiB banks");
    assert_eq!(s.used_bytes(), used(&m));
    assert!(s.used_bytes() <= s.capacity_bytes());
    assert_eq!(dump(&mut s), m);
    // Replacing a value by a bigger one that does not fit is refused too...
    assert_eq!(
        s.commit(&[Op::Put(
            1,
            &val(1000 + s.capacity_bytes() - s.used_bytes() + 1, 0)
        )]),
        Err(Error::Full)
    );
    // ...but a transaction that frees room first fits.
    let t = Txn::commit(vec![TOp::Del(1), TOp::Del(2), TOp::Put(50, val(1900, 5))]);
    t.run(&mut s).unwrap();
    m = t.apply(&m);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), m);
}

#[test]
fn exact_capacity_fits() {
    let mut s = Store::mount(SimFlash::<16, 16, 2048>::new(8 * KIB)).unwrap();
    let cap = s.capacity_bytes();
    // One value filling the bank exactly (cap - 4 bytes of entry header).
    let len = cap - 4;
    assert!(len <= MAX_VALUE_LEN);
    let v = val(len, 3);
    s.commit(&[Op::Put(1, &v)]).unwrap();
    assert_eq!(s.used_bytes(), cap);
    assert_eq!(s.commit(&[Op::Put(2, b"")]), Err(Error::Full));
    s.commit(&[Op::Put(1, &v)]).unwrap(); // forces a compaction
    let mut s = remount(s);
    assert_eq!(dump(&mut s), [(1, v)].into());
}

#[test]
fn too_many_keys() {
    let mut s = Store::mount(SimFlash::<4, 1, 2048>::new(32 * KIB)).unwrap();
    let vals: Vec<[u8; 2]> = (0..=MAX_KEYS as u16).map(|k| k.to_le_bytes()).collect();
    let ops: Vec<Op<'_>> = (1..=MAX_KEYS as u16)
        .map(|k| Op::Put(k, &vals[k as usize]))
        .collect();
    s.commit(&ops).unwrap();
    assert_eq!(s.keys().count(), MAX_KEYS);
    let w = s.writes();
    assert_eq!(s.commit(&[Op::Put(500, b"x")]), Err(Error::TooManyKeys));
    assert_eq!(s.wipe(&ops[..0]), Ok(()));
    assert_eq!(s.keys().count(), 0);
    s.commit(&ops).unwrap();
    assert!(s.writes() > w);
    // Delete one and add one in the same transaction: fine, in either order.
    s.commit(&[Op::Put(500, b"x"), Op::Delete(1)]).unwrap();
    s.commit(&[Op::Delete(2), Op::Put(501, b"y")]).unwrap();
    // Overwriting at the limit is fine.
    s.commit(&[Op::Put(500, b"xx")]).unwrap();
    assert_eq!(s.keys().count(), MAX_KEYS);
    let mut s = remount(s);
    assert_eq!(s.keys().count(), MAX_KEYS);
    assert_eq!(s.len(1), None);
    assert_eq!(s.len(2), None);
    assert_eq!(s.len(500), Some(2));
    assert_eq!(s.commit(&[Op::Put(502, b"z")]), Err(Error::TooManyKeys));
}

#[test]
fn compaction_keeps_only_live_data() {
    let flash = SimFlash::<4, 1, 2048>::new(16 * KIB);
    let ops0 = flash.ops();
    let mut s = Store::mount(flash.clone()).unwrap();
    assert_eq!(u64::from(s.writes()), flash.ops() - ops0, "format writes");
    let g0 = s.generation();
    let mut m = Model::new();
    for i in 0..600u32 {
        let k = (i % 5) as u16 + 1;
        let t = Txn::commit(vec![TOp::Put(k, val(100 + (i as usize * 37) % 900, i))]);
        t.run(&mut s).unwrap();
        m = t.apply(&m);
        if i % 97 == 0 {
            s = remount(s);
        }
        if i == 300 {
            let (o, w) = (flash.ops(), s.writes());
            for j in 0..50u32 {
                let t = Txn::commit(vec![TOp::Put(1, val(500, j))]);
                t.run(&mut s).unwrap();
                m = t.apply(&m);
            }
            assert_eq!(
                u64::from(s.writes() - w),
                flash.ops() - o,
                "writes() counts flash ops"
            );
        }
    }
    assert!(
        s.generation() - g0 > 20,
        "compacted {} times",
        s.generation() - g0
    );
    assert_eq!(s.used_bytes(), used(&m));
    assert_eq!(dump(&mut s), m);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), m);
    // Compaction with all large values.
    for i in 0..20u32 {
        let t = Txn::commit(vec![TOp::Put(1, val(MAX_VALUE_LEN, i))]);
        t.run(&mut s).unwrap();
        m = t.apply(&m);
    }
    let mut s = remount(s);
    assert_eq!(dump(&mut s), m);
}

#[test]
fn multi_sector_banks_write16() {
    // 2 x 16 KiB banks of 4 KiB sectors, 16-byte write units.
    let mut s = Store::mount(SimFlash::<16, 16, 4096>::new(32 * KIB)).unwrap();
    let mut m = Model::new();
    for i in 0..300u32 {
        let t = if i % 50 == 49 {
            Txn::wipe(vec![TOp::Put(9, val(i as usize, i))])
        } else {
            Txn::commit(vec![
                TOp::Put((i % 7) as u16 + 1, val((i as usize * 131) % 2000, i)),
                TOp::Del((i % 11) as u16 + 1),
            ])
        };
        t.run(&mut s).unwrap();
        m = t.apply(&m);
    }
    assert_eq!(dump(&mut s), m);
    let mut s = remount(s);
    assert_eq!(dump(&mut s), m);
}

#[test]
fn garbage_never_panics() {
    for seed in 0..200u64 {
        let flash = SimFlash::<4, 1, 2048>::with_seed(16 * KIB, seed);
        let mut s = Store::mount(flash.clone()).unwrap();
        let mut m = Model::new();
        let mut history = vec![m.clone()];
        for i in 0..(seed % 40) as u32 {
            let t = Txn::commit(vec![TOp::Put(
                (i % 9) as u16 + 1,
                val((i as usize * 89) % 700, i),
            )]);
            t.run(&mut s).unwrap();
            m = t.apply(&m);
            history.push(m.clone());
        }
        drop(s);
        // Scramble a region: an inactive bank, the active log, or everything.
        let (off, len) = match seed % 4 {
            0 => (0, 16 * KIB),
            1 => (8 * KIB, 8 * KIB),
            2 => (((seed as usize * 131) % (16 * KIB)) & !3, 64),
            _ => (16 + (seed as usize % 64) * 4, 8),
        };
        flash.scramble(off, len);
        let mut s = Store::mount(flash.clone()).unwrap();
        let got = dump(&mut s);
        // One state of the history (a prefix of the log, an older bank, or
        // formatted = empty), self-consistent and usable.
        assert!(history.contains(&got), "seed {seed}: state not in history");
        assert!(s.used_bytes() <= s.capacity_bytes());
        s.commit(&[Op::Put(0x4242, b"probe")]).unwrap();
        let mut want = got.clone();
        want.insert(0x4242, b"probe".to_vec());
        let mut s = remount(s);
        assert_eq!(dump(&mut s), want, "seed {seed}");
    }
}

#[test]
fn file_flash_survives_reopen() {
    let path = std::env::temp_dir().join(format!("tamga-store-test-{}.bin", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut m = Model::new();
    {
        let f = FileFlash::<4, 2048>::open(&path, 16 * KIB).unwrap();
        let mut s = Store::mount(f).unwrap();
        for i in 0..30u32 {
            let t = Txn::commit(vec![TOp::Put((i % 4) as u16 + 1, val(400, i))]);
            t.run(&mut s).unwrap();
            m = t.apply(&m);
        }
    }
    {
        let f = FileFlash::<4, 2048>::open(&path, 16 * KIB).unwrap();
        let mut s = Store::mount(f).unwrap();
        assert_eq!(dump(&mut s), m);
    }
    assert!(FileFlash::<4, 2048>::open(&path, 32 * KIB).is_err());
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn strict_flash_rejects_double_program() {
    use embedded_storage::nor_flash::ReadNorFlash;
    let mut f = SimFlash::<4, 1, 2048>::new(4096);
    f.write(0, &[0xFF; 4]).unwrap();
    assert!(
        f.write(0, &[0x00; 4]).is_err(),
        "programmed once, even with 0xFF"
    );
    assert!(f.write(2, &[0; 4]).is_err(), "misaligned");
    assert!(f.write(4096, &[0; 4]).is_err(), "out of bounds");
    f.erase(0, 2048).unwrap();
    f.write(0, &[1, 2, 3, 4]).unwrap();
    let mut b = [0u8; 4];
    f.read(0, &mut b).unwrap();
    assert_eq!(b, [1, 2, 3, 4]);
    f.cut_after(0);
    assert!(f.read(0, &mut b).is_err());
    f.power_on();
    f.read(0, &mut b).unwrap();
}

#[test]
fn store_is_small() {
    let size = std::mem::size_of::<Store<SimFlash>>();
    println!("size_of::<Store<SimFlash>>() = {size}");
    assert!(size <= 1200, "{size}");
}

/// Build a record as README.md specifies (alignment 4).
fn record(flags: u8, seq: u32, entries: &[(u16, Option<&[u8]>)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (k, v) in entries {
        payload.extend_from_slice(&k.to_le_bytes());
        match v {
            Some(v) => {
                payload.extend_from_slice(&(v.len() as u16).to_le_bytes());
                payload.extend_from_slice(v);
                payload.resize(payload.len().div_ceil(4) * 4, 0);
            }
            None => payload.extend_from_slice(&0xFFFFu16.to_le_bytes()),
        }
    }
    let mut r = b"TR".to_vec();
    r.extend_from_slice(&[flags, 0]);
    r.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    r.extend_from_slice(&seq.to_le_bytes());
    let mut covered = r.clone();
    covered.extend_from_slice(&payload);
    let crc = tamga_store::crc32(&covered);
    r.extend_from_slice(&crc.to_le_bytes());
    r.extend_from_slice(&payload);
    r
}

fn bank_header(generation: u32) -> Vec<u8> {
    let mut h = b"TMGS".to_vec();
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&generation.to_le_bytes());
    let crc = tamga_store::crc32(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

#[test]
fn handcrafted_format_and_hostile_records() {
    let flash = SimFlash::<4, 1, 2048>::new(16 * KIB);
    // Bank 1, generation 7: a valid record, then a CRC-valid record that would
    // overflow the index (200 distinct keys), then a valid one after it.
    let base = 8 * KIB;
    let mut at = base;
    let mut put = |bytes: &[u8]| {
        flash.poke(at, bytes);
        at += bytes.len();
    };
    put(&bank_header(7));
    put(&record(
        0,
        10,
        &[(1, Some(b"one")), (2, Some(b"two")), (3, None)],
    ));
    let many: Vec<(u16, Option<&[u8]>)> = (100..300).map(|k| (k, Some(&b""[..]))).collect();
    put(&record(0, 11, &many));
    put(&record(0, 12, &[(4, Some(b"four"))]));
    // Bank 0, generation 6 (older): ignored.
    flash.poke(0, &bank_header(6));
    flash.poke(16, &record(0, 1, &[(9, Some(b"old"))]));

    let mut s = Store::mount(flash.clone()).unwrap();
    let want: Model = [(1, b"one".to_vec()), (2, b"two".to_vec())].into();
    assert_eq!(dump(&mut s), want, "log cut before the overflowing record");
    assert_eq!(s.generation(), 7);
    // The bank is dirty: the next commit compacts into bank 0.
    s.commit(&[Op::Put(5, b"five")]).unwrap();
    assert_eq!(s.generation(), 8);
    let mut s = remount(s);
    let mut want = want;
    want.insert(5, b"five".to_vec());
    assert_eq!(dump(&mut s), want);

    // CRC-valid records with a bad structure end the log.
    for bad in [
        record(0, 3, &[(0, Some(b"reserved key"))]),
        record(0, 3, &[(0xFFFF, None)]),
        record(0x80, 3, &[(5, Some(b"unknown flag"))]),
        {
            // Value length beyond MAX_VALUE_LEN.
            let mut r = record(0, 3, &[(5, Some(&[0u8; 8]))]);
            r[18..20].copy_from_slice(&5000u16.to_le_bytes());
            let mut covered = r[..12].to_vec();
            covered.extend_from_slice(&r[16..]);
            let crc = tamga_store::crc32(&covered);
            r[12..16].copy_from_slice(&crc.to_le_bytes());
            r
        },
        record(0, 99, &[(5, Some(b"sequence gap"))]),
    ] {
        let flash = SimFlash::<4, 1, 2048>::new(16 * KIB);
        flash.poke(0, &bank_header(1));
        let first = record(FLAG_WIPE_BIT, 2, &[(7, Some(b"seven"))]);
        flash.poke(16, &first);
        flash.poke(16 + first.len(), &bad);
        let mut s = Store::mount(flash.clone()).unwrap();
        assert_eq!(dump(&mut s), [(7, b"seven".to_vec())].into());
        s.commit(&[Op::Put(8, b"eight")]).unwrap();
        assert_eq!(s.generation(), 2, "dirty bank compacted");
        let mut s = remount(s);
        assert_eq!(
            dump(&mut s),
            [(7, b"seven".to_vec()), (8, b"eight".to_vec())].into()
        );
    }
}

const FLAG_WIPE_BIT: u8 = 1;

#[test]
fn unmounted_then_load_is_mount_in_place() {
    let flash = SimFlash::<8, 8, 2048>::new(16 * KIB);
    let mut s = Store::mount(flash.clone()).unwrap();
    s.commit(&[Op::Put(7, &val(40, 1)), Op::Put(9, &val(5, 2))])
        .unwrap();
    drop(s);

    // Before `load`: nothing visible, every change refused, flash untouched.
    let writes_before = flash.ops();
    let mut u = Store::unmounted(flash.clone()).unwrap();
    assert_eq!(u.len(7), None);
    assert_eq!(u.read(7, 0, &mut [0u8; 4]), Err(Error::BadKey));
    assert_eq!(u.commit(&[Op::Put(3, b"x")]), Err(Error::NotMounted));
    assert_eq!(u.wipe(&[]), Err(Error::NotMounted));
    assert_eq!(flash.ops(), writes_before);

    // After: the same content as `mount`, twice in a row.
    for _ in 0..2 {
        u.load().unwrap();
        assert_eq!(u.keys().collect::<Vec<_>>(), vec![7, 9]);
        let mut b = [0u8; 40];
        assert_eq!(u.read(7, 0, &mut b), Ok(40));
        assert_eq!(&b[..], &val(40, 1)[..]);
    }
    u.commit(&[Op::Delete(9)]).unwrap();
    assert_eq!(remount(u).keys().collect::<Vec<_>>(), vec![7]);

    // A blank flash is formatted by `load` as by `mount`.
    let mut b = Store::unmounted(SimFlash::<8, 8, 2048>::new(16 * KIB)).unwrap();
    b.load().unwrap();
    b.commit(&[Op::Put(1, b"ok")]).unwrap();
    assert_eq!(remount(b).len(1), Some(2));
}
