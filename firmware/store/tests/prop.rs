//! Property test: random transactions with random power cuts, checked against a
//! `BTreeMap` model.

mod common;

use common::{Model, TOp, Txn, dump, used};
use proptest::prelude::*;
use tamga_board_host::SimFlash;
use tamga_store::{Error, MAX_VALUE_LEN, Store};

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 0..48),
        3 => prop::collection::vec(any::<u8>(), 48..700),
        1 => prop::collection::vec(any::<u8>(), 3000..=MAX_VALUE_LEN + 1),
    ]
}

fn op() -> impl Strategy<Value = TOp> {
    let key = prop_oneof![80 => 1u16..=14, 1 => Just(0u16), 1 => Just(0xFFFFu16)];
    prop_oneof![
        3 => (key.clone(), value()).prop_map(|(k, v)| TOp::Put(k, v)),
        1 => key.prop_map(TOp::Del),
    ]
}

fn txn() -> impl Strategy<Value = Txn> {
    (
        prop::bool::weighted(0.08),
        prop::collection::vec(op(), 0..5),
    )
        .prop_map(|(wipe, ops)| Txn { wipe, ops })
}

/// What the store must answer (without power cuts).
fn expected(txn: &Txn, model: &Model, capacity: usize) -> Result<Model, Error> {
    for op in &txn.ops {
        let (TOp::Put(k, _) | TOp::Del(k)) = op;
        if *k == 0 || *k == 0xFFFF {
            return Err(Error::BadKey);
        }
        if let TOp::Put(_, v) = op
            && v.len() > MAX_VALUE_LEN
        {
            return Err(Error::TooLarge);
        }
    }
    let after = txn.apply(model);
    if used(&after) > capacity {
        return Err(Error::Full);
    }
    Ok(after)
}

fn run<const W: usize, const R: usize>(
    sectors_per_bank: usize,
    txns: Vec<Txn>,
    cuts: Vec<Option<u64>>,
    seed: u64,
) {
    let flash = SimFlash::<W, R, 2048>::with_seed(2 * sectors_per_bank * 2048, seed);
    let mut store = Store::mount(flash.clone()).unwrap();
    let capacity = store.capacity_bytes();
    let mut model = Model::new();
    for (i, txn) in txns.iter().enumerate() {
        let want = expected(txn, &model, capacity);
        let cut = cuts.get(i).copied().flatten();
        if let Some(n) = cut {
            flash.cut_after(n);
        }
        let r = txn.run(&mut store);
        if flash.is_powered() {
            flash.disarm();
            match want {
                Ok(after) => {
                    assert_eq!(r, Ok(()), "txn {i}");
                    model = after;
                }
                Err(e) => assert_eq!(r, Err(e), "txn {i}"),
            }
            assert_eq!(dump(&mut store), model, "txn {i}");
            if i % 7 == 3 {
                store = Store::mount(store.into_flash()).unwrap();
                assert_eq!(dump(&mut store), model, "txn {i} remount");
            }
        } else {
            // Torn: reboot; the content is exactly before or after.
            assert_eq!(r, Err(Error::Flash), "txn {i}");
            let after = want.expect("a rejected transaction writes nothing");
            drop(store);
            flash.power_on();
            store = Store::mount(flash.clone()).unwrap();
            let got = dump(&mut store);
            assert!(got == model || got == after, "txn {i}: mixed state");
            model = got;
        }
    }
    let mut store = Store::mount(store.into_flash()).unwrap();
    assert_eq!(dump(&mut store), model);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn random_transactions_and_cuts_write8_read4(
        sectors in 2usize..=4,
        txns in prop::collection::vec(txn(), 1..40),
        cuts in prop::collection::vec(prop::option::weighted(0.3, 1u64..14), 40),
        seed in any::<u64>(),
    ) {
        run::<8, 4>(sectors, txns, cuts, seed);
    }

    #[test]
    fn random_transactions_and_cuts_write4_read1(
        sectors in 1usize..=3,
        txns in prop::collection::vec(txn(), 1..40),
        cuts in prop::collection::vec(prop::option::weighted(0.3, 1u64..14), 40),
        seed in any::<u64>(),
    ) {
        run::<4, 1>(sectors, txns, cuts, seed);
    }
}
