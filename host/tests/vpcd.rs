//! The virtual card's side of the vpcd protocol, against a fake vpcd that
//! splits messages the way Debian's vpcd does (and slower): a message that
//! straddles the card's stop-flag poll must still be read whole.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tamga::vpcd::{Options, run};

/// SELECT the PIV application (the card answers its application property
/// template and 9000).
const SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00,
];

fn reply(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut buf = vec![0u8; u16::from_be_bytes(len).into()];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Write `msg` (length prefix included) in pieces split at `cuts`, pausing
/// `pause` between them.
fn send_split(s: &mut TcpStream, data: &[u8], cuts: &[usize], pause: Duration) {
    let mut msg = (data.len() as u16).to_be_bytes().to_vec();
    msg.extend_from_slice(data);
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
    send_split(&mut s, &[0x04], &[2], pause);
    assert_eq!(reply(&mut s), tamga_spec::atr::ATR);
    // Power on, split inside the length.
    send_split(&mut s, &[0x01], &[1], pause);
    // SELECT split inside the length, after it and inside the data.
    send_split(&mut s, &SELECT, &[1, 2, 9], pause);
    let r = reply(&mut s);
    assert_eq!(r[r.len() - 2..], [0x90, 0x00], "SELECT answered: {r:02X?}");
    assert_eq!(r[0], 0x61, "the application property template");

    // vpcd goes away: with `once`, the card returns cleanly.
    drop(s);
    card.join().unwrap().unwrap();
}
