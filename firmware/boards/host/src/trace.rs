//! The APDU trace of the emulated card on vpcd (`tamga-vcard --trace`): JSON
//! lines, one per event, command data withheld when it is a secret
//! ([`tamga_spec::ins::is_secret`]). `tamga trace FILE` reads it.

use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use tamga_spec::ins::is_secret;

/// One line of a trace file.
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

impl TraceLine {
    /// The bytes of [`TraceLine::hex`].
    pub fn bytes(&self) -> Result<Vec<u8>, hex::FromHexError> {
        hex::decode(&self.hex)
    }
}

/// Read a trace file; a line that is not a [`TraceLine`] is `InvalidData`.
pub fn read(path: &Path) -> io::Result<Vec<TraceLine>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} line {}: {e}", path.display(), i + 1),
                )
            })
        })
        .collect()
}

/// Appends [`TraceLine`]s to a file (or nowhere).
pub(crate) struct Tracer {
    file: Option<std::fs::File>,
    start: Instant,
}

impl Tracer {
    /// A tracer writing to `file`, if any; time counts from now.
    pub(crate) fn new(file: Option<std::fs::File>) -> Self {
        Tracer {
            file,
            start: Instant::now(),
        }
    }

    /// Record an event with its bytes.
    pub(crate) fn line(&mut self, kind: &str, bytes: &[u8], masked: usize) {
        if let Some(f) = &mut self.file {
            let l = TraceLine {
                t_us: u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX),
                kind: kind.into(),
                hex: hex::encode_upper(bytes),
                masked,
            };
            if let Ok(s) = serde_json::to_string(&l) {
                let _ = writeln!(f, "{s}");
            }
        }
    }

    /// Record a command APDU: the header only, and the length of the data,
    /// when the data is a secret.
    pub(crate) fn command(&mut self, apdu: &[u8]) {
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
