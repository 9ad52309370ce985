//! The emulated card on vsmartcard's vpcd: [`run`] connects to vpcd's TCP
//! port and answers pcscd through the virtual reader, so every PC/SC
//! application (OpenSC, yubico-piv-tool, `tamga`) sees a card in a reader.
//!
//! The framing and the control codes are `tamga-vpcd`'s (shared with the
//! Cortex-M4 board). Debian's vpcd sends length and data in two writes, so
//! the socket sets TCP_NODELAY and re-arms TCP_QUICKACK after each read (else
//! each APDU waits ~40 ms for a delayed ACK).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use socket2::SockRef;
use tamga_vpcd::{Control, Frame, PREFIX_LEN, malformed_answer};

use crate::emu::{EmuCard, OpenError};
use crate::trace::Tracer;

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

/// Why [`run`] stopped.
#[derive(Debug)]
pub enum RunError {
    /// The state directory or the trace file.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The card's flash.
    Card(OpenError),
    /// The vpcd connection (unreachable, or broken with `once`).
    Vpcd {
        /// vpcd's address.
        addr: String,
        /// The error.
        source: io::Error,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            RunError::Card(e) => e.fmt(f),
            RunError::Vpcd { addr, source } => write!(f, "vpcd at {addr}: {source}"),
        }
    }
}

impl std::error::Error for RunError {}

/// How long [`run`] waits for a message before it checks its stop flag.
const POLL: Duration = Duration::from_millis(500);

/// One vpcd message (its frame and the bytes after the prefix), `None` when
/// vpcd closed the connection. Only the wait for its first byte may time
/// out: once a message has begun it is read whole, so a timeout never leaves
/// the stream mid-message.
fn read_msg(s: &mut TcpStream) -> io::Result<Option<(Frame, Vec<u8>)>> {
    let mut prefix = [0u8; PREFIX_LEN];
    if s.read(&mut prefix[..1])? == 0 {
        return Ok(None);
    }
    s.set_read_timeout(None)?;
    let rest = (|| -> io::Result<(Frame, Vec<u8>)> {
        s.read_exact(&mut prefix[1..])?;
        let _ = SockRef::from(&*s).set_tcp_quickack(true);
        // The emulated card takes any command a message can hold.
        let frame = Frame::from_prefix(prefix, tamga_vpcd::MAX_LEN);
        let mut body = vec![0u8; frame.len()];
        s.read_exact(&mut body)?;
        let _ = SockRef::from(&*s).set_tcp_quickack(true);
        Ok((frame, body))
    })();
    s.set_read_timeout(Some(POLL))?;
    match rest {
        Ok(msg) => Ok(Some(msg)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_msg(s: &mut TcpStream, data: &[u8]) -> io::Result<()> {
    let mut m = vec![0u8; PREFIX_LEN + data.len()];
    tamga_vpcd::encode(data, &mut m)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
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
        let (frame, body) = match read_msg(s) {
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
        match frame {
            Frame::Control => match body.first().copied().and_then(Control::from_u8) {
                Some(Control::PowerOff) => {
                    powered = false;
                    card.reset();
                    tracer.line("power-off", &[], 0);
                }
                Some(Control::PowerOn) => {
                    powered = true;
                    card.reset();
                    tracer.line("power-on", &[], 0);
                }
                Some(Control::Reset) => {
                    card.reset();
                    tracer.line("reset", &[], 0);
                }
                Some(Control::GetAtr) => {
                    write_msg(s, &tamga_spec::atr::ATR)?;
                    tracer.line("atr", &tamga_spec::atr::ATR, 0);
                }
                None => tracing::debug!("vpcd: unknown control code {body:02X?} ignored"),
            },
            Frame::Apdu(_) => {
                if !powered {
                    // A command to an unpowered card: answer as a fresh card would.
                    powered = true;
                    card.reset();
                }
                tracer.command(&body);
                let r = card.transmit(&body);
                write_msg(s, &r)?;
                tracer.line("rsp", &r, 0);
            }
            Frame::Malformed(_) => {
                tracer.command(&body);
                let r = malformed_answer();
                write_msg(s, &r)?;
                tracer.line("rsp", &r, 0);
            }
        }
    }
}

/// Open the card in `opts.state` and serve vpcd until `stop` is set (or,
/// with `once`, until vpcd closes). Reconnects when vpcd (pcscd) goes away.
pub fn run(opts: &Options, stop: Arc<AtomicBool>) -> Result<(), RunError> {
    let io_err = |path: &PathBuf| {
        let path = path.clone();
        move |source| RunError::Io { path, source }
    };
    std::fs::create_dir_all(&opts.state).map_err(io_err(&opts.state))?;
    let mut card =
        EmuCard::open(opts.state.join("card.flash"), opts.fsync).map_err(RunError::Card)?;
    let file = match &opts.trace {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io_err(p))?,
        ),
        None => None,
    };
    let mut tracer = Tracer::new(file);
    let vpcd_err = |source| RunError::Vpcd {
        addr: opts.vpcd.clone(),
        source,
    };
    let mut announced = false;
    while !stop.load(Ordering::Relaxed) {
        match TcpStream::connect(&opts.vpcd) {
            Ok(mut s) => {
                tracing::info!("connected to vpcd at {}", opts.vpcd);
                announced = false;
                let r = serve(&mut card, &mut s, &mut tracer, &stop);
                card.reset();
                if opts.once {
                    return r.map_err(vpcd_err);
                }
                tracing::warn!("vpcd connection closed ({r:?}); reconnecting");
            }
            Err(e) => {
                if !announced {
                    tracing::warn!("vpcd at {} not reachable ({e}); retrying", opts.vpcd);
                    announced = true;
                }
                if opts.once {
                    return Err(vpcd_err(e));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Ok(())
}
