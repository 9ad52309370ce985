//! A card on vsmartcard's vpcd: the emulated card (firmware on a file-backed
//! flash) answers pcscd through the virtual reader driver, so every PC/SC
//! application (OpenSC, yubico-piv-tool, `tamga`) sees a card in a reader.
//!
//! vpcd protocol: each message is a 2-byte big-endian length and the data; a
//! 1-byte message is a control: 00 power off, 01 power on, 02 reset, 04 get
//! ATR. Debian's vpcd sends length and data in two writes, so the socket sets
//! TCP_NODELAY and re-arms TCP_QUICKACK after each read (else each APDU waits
//! ~40 ms for a delayed ACK).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::apdu::is_secret;
use crate::error::{Error, Result};
use crate::transport::Transport;
use crate::transport::emu::EmuCard;

/// How to run the virtual card.
#[derive(Clone, Debug)]
pub struct Options {
    /// Directory holding the card's flash (`card.flash`).
    pub state: PathBuf,
    /// vpcd address, e.g. 127.0.0.1:35963 (reader `Virtual PCD 00 00`).
    pub vpcd: String,
    /// Append every APDU and response (secrets masked) to this file.
    pub trace: Option<PathBuf>,
    /// Return when vpcd closes the connection instead of reconnecting.
    pub once: bool,
    /// `fsync` every flash operation (survives an OS crash; slower).
    pub fsync: bool,
}

/// One line of a trace file (JSON lines).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TraceLine {
    /// Microseconds since the card started.
    pub t_us: u64,
    /// "power-on", "power-off", "reset", "atr", "cmd" or "rsp".
    pub kind: String,
    /// The bytes, hex (command data masked when secret).
    pub hex: String,
    /// Bytes of command data withheld from `hex` (a PIN, a key).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub masked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

struct Tracer {
    file: Option<std::fs::File>,
    start: Instant,
}

impl Tracer {
    fn line(&mut self, kind: &str, bytes: &[u8], masked: usize) {
        if let Some(f) = &mut self.file {
            let l = TraceLine {
                t_us: self.start.elapsed().as_micros() as u64,
                kind: kind.into(),
                hex: hex(bytes),
                masked,
            };
            if let Ok(s) = serde_json::to_string(&l) {
                let _ = writeln!(f, "{s}");
            }
        }
    }

    fn command(&mut self, apdu: &[u8]) {
        // Keep the header, withhold the data (its length is recorded).
        let lc = match apdu.get(4..) {
            Some([0, h, l, d @ ..]) if d.len() >= usize::from(u16::from_be_bytes([*h, *l])) => {
                usize::from(u16::from_be_bytes([*h, *l]))
            }
            Some([n, d @ ..]) if *n != 0 && d.len() >= usize::from(*n) => usize::from(*n),
            _ => 0,
        };
        match apdu {
            [_, ins, _, p2, ..] if is_secret(*ins, *p2) && lc > 0 => {
                self.line("cmd", apdu.get(..4).unwrap_or(apdu), lc)
            }
            _ => self.line("cmd", apdu, 0),
        }
    }
}

/// How long [`serve`] waits for a message before it checks its stop flag.
const POLL: Duration = Duration::from_millis(500);

/// One vpcd message, `None` when vpcd closed the connection. Only the wait
/// for its first byte may time out: once a message has begun it is read
/// whole, so a timeout never leaves the stream mid-message.
fn read_msg(s: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    if s.read(&mut len[..1])? == 0 {
        return Ok(None);
    }
    s.set_read_timeout(None)?;
    let rest = (|| -> io::Result<Vec<u8>> {
        s.read_exact(&mut len[1..])?;
        let _ = SockRef::from(&*s).set_tcp_quickack(true);
        let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut buf)?;
        let _ = SockRef::from(&*s).set_tcp_quickack(true);
        Ok(buf)
    })();
    s.set_read_timeout(Some(POLL))?;
    match rest {
        Ok(buf) => Ok(Some(buf)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_msg(s: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut m = Vec::with_capacity(data.len() + 2);
    m.extend_from_slice(&(data.len() as u16).to_be_bytes());
    m.extend_from_slice(data);
    s.write_all(&m)
}

/// Serve one vpcd connection until it closes.
fn serve(
    card: &mut EmuCard,
    s: &mut TcpStream,
    tracer: &mut Tracer,
    stop: &AtomicBool,
) -> io::Result<()> {
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(POLL))?;
    let mut powered = false;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let msg = match read_msg(s) {
            Ok(Some(m)) => m,
            Ok(None) => return Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        match msg.as_slice() {
            [0x00] => {
                powered = false;
                let _ = card.reset();
                tracer.line("power-off", &[], 0);
            }
            [0x01] => {
                powered = true;
                let _ = card.reset();
                tracer.line("power-on", &[], 0);
            }
            [0x02] => {
                let _ = card.reset();
                tracer.line("reset", &[], 0);
            }
            [0x04] => {
                write_msg(s, &tamga_spec::atr::ATR)?;
                tracer.line("atr", &tamga_spec::atr::ATR, 0);
            }
            [_] => {}
            apdu => {
                if !powered {
                    // A command to an unpowered card: answer as a fresh card would.
                    powered = true;
                    let _ = card.reset();
                }
                tracer.command(apdu);
                let r = card.transmit(apdu).unwrap_or_else(|_| vec![0x6F, 0x00]);
                write_msg(s, &r)?;
                tracer.line("rsp", &r, 0);
            }
        }
    }
}

/// Open the card in `state` and serve vpcd until `stop` is set (or, with
/// `once`, until vpcd closes). Reconnects when vpcd (pcscd) goes away.
pub fn run(opts: &Options, stop: Arc<AtomicBool>) -> Result<()> {
    std::fs::create_dir_all(&opts.state).map_err(|source| Error::Io {
        path: opts.state.display().to_string(),
        source,
    })?;
    let mut card = EmuCard::open_with(opts.state.join("card.flash"), opts.fsync)?;
    let file = match &opts.trace {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|source| Error::Io {
                    path: p.display().to_string(),
                    source,
                })?,
        ),
        None => None,
    };
    let mut tracer = Tracer {
        file,
        start: Instant::now(),
    };
    let mut announced = false;
    while !stop.load(Ordering::Relaxed) {
        match TcpStream::connect(&opts.vpcd) {
            Ok(mut s) => {
                tracing::info!("connected to vpcd at {}", opts.vpcd);
                announced = false;
                let r = serve(&mut card, &mut s, &mut tracer, &stop);
                let _ = card.reset();
                if opts.once {
                    return r.map_err(|e| Error::Pcsc(format!("vpcd: {e}")));
                }
                tracing::warn!("vpcd connection closed ({r:?}); reconnecting");
            }
            Err(e) => {
                if !announced {
                    tracing::warn!("vpcd at {} not reachable ({e}); retrying", opts.vpcd);
                    announced = true;
                }
                if opts.once {
                    return Err(Error::Pcsc(format!("vpcd at {}: {e}", opts.vpcd)));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Ok(())
}

/// Read a trace file.
pub fn read_trace(path: &Path) -> Result<Vec<TraceLine>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Invalid(format!("{} line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}
