//! Power-cut (tear) tests: every program/erase operation of a scripted sequence
//! of transactions is torn in turn, and the store must come back with exactly the
//! state before or exactly the state after the transaction.

mod common;

use common::{Model, TOp, Txn, dump, val};
use tamga_board_host::SimFlash;
use tamga_store::{Error, Op, Store};

const PROBE: u16 = 0x7FF0;
/// Each cut point is tried with this many different tears (random prefix/garbage).
const TEAR_SEEDS: u64 = 3;

/// The script: multi-op transactions, large values, overwrites that trigger
/// compaction, deletes, wipes.
fn script() -> Vec<Txn> {
    use TOp::{Del, Put};
    vec![
        Txn::commit(vec![
            Put(1, val(100, 1)),
            Put(2, val(10, 2)),
            Put(3, vec![]),
        ]),
        Txn::commit(vec![Put(4, val(4096, 4))]),
        Txn::commit(vec![Put(1, val(200, 5)), Del(2)]),
        Txn::commit(vec![Put(5, val(3000, 6))]),
        // Does not fit behind the log: compaction.
        Txn::commit(vec![Put(4, val(3900, 7))]),
        Txn::wipe(vec![Put(6, val(50, 8))]),
        Txn::commit(vec![Put(7, val(4096, 9)), Put(8, val(2500, 10))]),
        Txn::commit(vec![
            Del(7),
            Put(9, val(1000, 11)),
            Put(6, val(60, 12)),
            Del(100),
        ]),
        Txn::commit((20..60).map(|k| Put(k, val(20, k as u32))).collect()),
        Txn::commit((20..60).map(|k| Put(k, val(24, k as u32 + 1))).collect()),
        Txn::commit(vec![Put(10, val(4096, 13)), Del(8)]),
        Txn::commit(vec![Put(10, val(4000, 14)), Put(9, val(999, 15))]),
        Txn::wipe(vec![]),
        Txn::commit(vec![Put(11, val(1, 16))]),
        Txn::commit(vec![Put(12, val(4096, 17)), Put(13, val(3000, 18))]),
        Txn::commit(vec![Put(12, val(4095, 19))]),
    ]
}

fn probe<const W: usize, const R: usize, const E: usize>(
    s: &mut Store<SimFlash<W, R, E>>,
    flash: &SimFlash<W, R, E>,
    base: &Model,
    tag: &str,
) {
    let v = val(8, 0xABC);
    s.commit(&[Op::Put(PROBE, &v)])
        .unwrap_or_else(|e| panic!("{tag}: probe commit: {e:?}"));
    let mut want = base.clone();
    want.insert(PROBE, v);
    assert_eq!(dump(s), want, "{tag}: after probe");
    let mut again = Store::mount(flash.clone()).expect("remount after probe");
    assert_eq!(dump(&mut again), want, "{tag}: probe survives remount");
}

/// Tear every operation of every transaction of the script; returns the number
/// of torn runs.
fn tear_all<const W: usize, const R: usize, const E: usize>(size: usize) -> usize {
    let flash = SimFlash::<W, R, E>::new(size);
    let mut cuts = 0;
    let mut points = 0;
    let (mut saw_old, mut saw_new) = (0, 0);

    // Torn format of a blank flash.
    for n in 1.. {
        let f = flash.fork();
        f.cut_after(n);
        match Store::mount(f.clone()) {
            Ok(_) => {
                f.disarm();
                break;
            }
            Err(e) => assert_eq!(e, Error::Flash),
        }
        cuts += 1;
        points += 1;
        f.power_on();
        let mut s = Store::mount(f.clone()).expect("mount after torn format");
        assert_eq!(dump(&mut s), Model::new());
        probe(&mut s, &f, &Model::new(), &format!("format cut {n}"));
    }

    let mut model = Model::new();
    let mut store = Store::mount(flash.clone()).unwrap();
    for (t, txn) in script().iter().enumerate() {
        let after = txn.apply(&model);
        drop(store);
        for (n, attempt) in (1..).flat_map(|n| (0..TEAR_SEEDS).map(move |a| (n, a))) {
            let f = flash.fork();
            f.reseed(n * 7919 + attempt * 104_729 + t as u64);
            let mut s = Store::mount(f.clone()).unwrap();
            f.cut_after(n);
            let r = txn.run(&mut s);
            if f.is_powered() {
                // The transaction needed fewer than n operations: done.
                f.disarm();
                assert_eq!(r, Ok(()), "txn {t}");
                assert_eq!(dump(&mut s), after);
                break;
            }
            cuts += 1;
            points += usize::from(attempt == 0);
            let tag = format!("txn {t} cut {n} attempt {attempt}");
            assert_eq!(r, Err(Error::Flash), "{tag}");
            // Reboot on the torn flash.
            let g = f.fork();
            g.power_on();
            let mut s2 = Store::mount(g.clone()).unwrap_or_else(|e| panic!("{tag}: {e:?}"));
            let got = dump(&mut s2);
            if got == model {
                saw_old += 1;
            } else if got == after {
                saw_new += 1;
            } else {
                panic!("{tag}: mixed state\n got {got:?}");
            }
            probe(&mut s2, &g, &got, &tag);
            // No reboot: the same store, power back, still shows the old state
            // and keeps working.
            f.power_on();
            assert_eq!(
                dump(&mut s),
                model,
                "{tag}: RAM state after a failed commit"
            );
            probe(&mut s, &f, &model, &format!("{tag} (no reboot)"));
        }
        // Run it for real.
        store = Store::mount(flash.clone()).unwrap();
        txn.run(&mut store).unwrap();
        model = after;
        assert_eq!(dump(&mut store), model);
    }
    let gen_count = store.generation();
    println!(
        "tear W={W} R={R} E={E} size={size}: {points} cut points, {cuts} torn runs \
         ({saw_old} came back old, {saw_new} new), {gen_count} generations"
    );
    assert!(gen_count >= 4, "the script must compact several times");
    cuts
}

#[test]
fn tear_write4() {
    let n = tear_all::<4, 1, 2048>(16 * 1024);
    assert!(n > 300);
}

#[test]
fn tear_write16_read16() {
    let n = tear_all::<16, 16, 2048>(16 * 1024);
    assert!(n > 100);
}

#[test]
fn tear_write8_read4_erase4096() {
    let n = tear_all::<8, 4, 4096>(16 * 1024);
    assert!(n > 100);
}
