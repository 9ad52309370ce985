//! The virtual card's side of the vpcd protocol, against a fake vpcd that
//! splits messages the way Debian's vpcd does (and slower): a message that
//! straddles the card's stop-flag poll must still be read whole.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tamga_board_host::vpcd::{Options, run};
use tamga_spec::apdu::{self, Form, Header, P1_SELECT_BY_NAME};
use tamga_spec::{Ins, PIV_AID};
use tamga_vpcd::Control;

/// SELECT the PIV application (the card answers its application property
/// template and 9000).
fn select() -> Vec<u8> {
    let h = Header::new(Ins::Select.to_u8(), P1_SELECT_BY_NAME, 0x00);
    apdu::to_vec(h, &PIV_AID, None, Form::Short).unwrap()
}

fn reply(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len).into()];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Write `data` as a vpcd message (length prefix included) in pieces split
/// at `cuts`, pausing `pause` between them.
fn send_split(s: &mut TcpStream, data: &[u8], cuts: &[usize], pause: Duration) {
    let mut msg = vec![0u8; tamga_vpcd::PREFIX_LEN + data.len()];
    tamga_vpcd::encode(data, &mut msg).unwrap();
    let mut at = 0;
    for &c in cuts.iter().chain([&msg.len()]) {
        s.write_all(&msg[at..c]).unwrap();
        s.flush().unwrap();
        at = c;
        if c < msg.len() {
            std::thread::sleep(pause);
        }
    }
}

#[test]
fn messages_split_across_the_poll_interval_are_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let vpcd = TcpListener::bind("127.0.0.1:0").unwrap();
    let opts = Options {
        state: dir.path().join("card"),
        vpcd: vpcd.local_addr().unwrap().to_string(),
        trace: None,
        once: true,
        fsync: false,
    };
    let card = std::thread::spawn(move || run(&opts, Arc::new(AtomicBool::new(false))));
    let (mut s, _) = vpcd.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Longer than the card's 500 ms poll: before the fix, the card dropped
    // the length it had read and took the body for a new message.
    let pause = Duration::from_millis(700);

    // Get ATR, its length and body apart.
    send_split(&mut s, &[Control::GetAtr.to_u8()], &[2], pause);
    assert_eq!(reply(&mut s), tamga_spec::atr::ATR);
    // Power on, split inside the length.
    send_split(&mut s, &[Control::PowerOn.to_u8()], &[1], pause);
    // SELECT split inside the length, after it and inside the data.
    send_split(&mut s, &select(), &[1, 2, 9], pause);
    let r = reply(&mut s);
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "SELECT answered: {r:02X?}");
    assert_eq!(r[0], 0x61, "the application property template");

    // An unknown control code is ignored; a message too short to be an APDU
    // gets the one malformed-message answer (the QEMU board's too).
    send_split(&mut s, &[0x03], &[], pause);
    send_split(&mut s, &select()[..3], &[], pause);
    assert_eq!(reply(&mut s), tamga_vpcd::malformed_answer());

    // vpcd goes away: with `once`, the card returns cleanly.
    drop(s);
    card.join().unwrap().unwrap();
}
