//! The PIN dialog: a GnuPG `pinentry` program (pinentry-gnome3, -qt, -curses,
//! -tty, …) spoken to over the Assuan protocol on its stdin and stdout.
//!
//! One dialog per signature: the title, a description (the requesting page's
//! origin, the certificate's holder, what is signed), on a second try the
//! previous error (wrong PIN, tries left). Cancel in the dialog is
//! [`Answer::Cancelled`]. The PIN is never logged; it lives in a
//! zeroized buffer.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Assuan error code for a cancelled dialog (GPG_ERR_CANCELED with the
/// pinentry source): `ERR 83886179 Operation cancelled`.
const CANCELLED: &str = "83886179";

/// Assuan error code for a question answered no (GPG_ERR_NOT_CONFIRMED).
const NOT_CONFIRMED: &str = "83886194";

/// Longest line a pinentry may send (Assuan's limit is 1000 bytes).
const MAX_LINE: usize = 4096;

/// How to run the dialog program.
#[derive(Clone, Debug)]
pub struct Pinentry {
    /// The program (a path or a name on PATH), e.g. `pinentry-gnome3`.
    pub program: PathBuf,
    /// The terminal for text-mode programs (`OPTION ttyname`), if any.
    pub tty: Option<PathBuf>,
}

/// What the person did in the dialog.
#[derive(Debug)]
pub enum Answer {
    /// Typed a PIN (zeroized on drop).
    Pin(Zeroizing<Vec<u8>>),
    /// Pressed cancel or closed the dialog.
    Cancelled,
}

/// What the dialog shows.
#[derive(Clone, Debug, Default)]
pub struct Prompt {
    /// The window title.
    pub title: String,
    /// The text above the PIN field (several lines).
    pub description: String,
    /// An error from the previous try (shown in the dialog), if any.
    pub error: Option<String>,
}

/// Percent-escapes what Assuan cannot carry in a line: `%`, CR, LF (and
/// other control characters).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            c if (c as u32) < 0x20 => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Decodes a `D` line's percent escapes.
fn unescape(s: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(s.len()));
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            let hex = std::str::from_utf8(&s[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// A running pinentry.
struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "BYE");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pin_err(what: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("pinentry: {what}"))
}

impl Session {
    /// Reads one line (without the newline), zeroized.
    fn line(&mut self) -> Result<Zeroizing<Vec<u8>>> {
        let mut buf = Zeroizing::new(Vec::new());
        let n = std::io::Read::take(&mut self.stdout, MAX_LINE as u64)
            .read_until(b'\n', &mut buf)
            .map_err(pin_err)?;
        if n == 0 {
            return Err(pin_err("the program ended without an answer"));
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        Ok(buf)
    }

    /// Reads up to the `OK` or `ERR` line; returns the data of the `D` lines
    /// and `None` for OK, or the error code and text.
    fn answer(&mut self) -> Result<(Zeroizing<Vec<u8>>, Option<String>)> {
        let mut data = Zeroizing::new(Vec::new());
        loop {
            let line = self.line()?;
            if line.starts_with(b"OK") {
                return Ok((data, None));
            }
            if let Some(rest) = line.strip_prefix(b"ERR ") {
                return Ok((data, Some(String::from_utf8_lossy(rest).into_owned())));
            }
            if let Some(d) = line.strip_prefix(b"D ") {
                data.extend_from_slice(&unescape(d));
            }
            // S (status), # (comment) and INQUIRE-free lines are skipped.
        }
    }

    /// Sends a command and expects OK.
    fn command(&mut self, cmd: &str) -> Result<()> {
        writeln!(self.stdin, "{cmd}").map_err(pin_err)?;
        self.stdin.flush().map_err(pin_err)?;
        match self.answer()?.1 {
            None => Ok(()),
            Some(e) => Err(pin_err(format!(
                "{} refused: {e}",
                cmd.split(' ').next().unwrap_or(cmd)
            ))),
        }
    }
}

impl Pinentry {
    /// Asks a yes/no question (`CONFIRM`) with the buttons `ok` and `cancel`;
    /// true when the person chose `ok`.
    pub fn confirm(&self, prompt: &Prompt, ok: &str, cancel: &str) -> Result<bool> {
        let mut s = self.start(prompt)?;
        s.command(&format!("SETOK {}", escape(ok)))?;
        s.command(&format!("SETCANCEL {}", escape(cancel)))?;
        writeln!(s.stdin, "CONFIRM").map_err(pin_err)?;
        s.stdin.flush().map_err(pin_err)?;
        match s.answer()?.1 {
            None => Ok(true),
            Some(e) if e.starts_with(CANCELLED) || e.starts_with(NOT_CONFIRMED) => Ok(false),
            Some(e) => Err(pin_err(format!("CONFIRM: {e}"))),
        }
    }

    /// Shows the PIN dialog and waits for the person.
    pub fn ask(&self, prompt: &Prompt) -> Result<Answer> {
        let mut s = self.start(prompt)?;
        s.command("SETPROMPT PIN:")?;
        writeln!(s.stdin, "GETPIN").map_err(pin_err)?;
        s.stdin.flush().map_err(pin_err)?;
        match s.answer()? {
            (pin, None) => Ok(Answer::Pin(pin)),
            (_, Some(e)) if e.starts_with(CANCELLED) => Ok(Answer::Cancelled),
            (_, Some(e)) => Err(pin_err(format!("GETPIN: {e}"))),
        }
    }

    /// Starts the program and sets the terminal, title, description and error.
    fn start(&self, prompt: &Prompt) -> Result<Session> {
        let mut child = Command::new(&self.program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                pin_err(format!(
                    "cannot run {}: {e} (install pinentry-gnome3, pinentry-qt or pinentry-tty, or give --pinentry)",
                    self.program.display()
                ))
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(pin_err("no pipes to the program"));
        };
        let mut s = Session {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        if let Some(e) = s.answer()?.1 {
            return Err(pin_err(format!("greeting: {e}")));
        }
        if let Some(tty) = &self.tty {
            s.command(&format!("OPTION ttyname={}", tty.display()))?;
            // Text-mode programs draw with it; a plain terminal type is enough.
            s.command("OPTION ttytype=vt100")?;
        }
        s.command(&format!("SETTITLE {}", escape(&prompt.title)))?;
        s.command(&format!("SETDESC {}", escape(&prompt.description)))?;
        if let Some(e) = &prompt.error {
            s.command(&format!("SETERROR {}", escape(e)))?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_line_cannot_carry() {
        assert_eq!(escape("a%b\nc\rd"), "a%25b%0Ac%0Dd");
        assert_eq!(escape("Подпись"), "Подпись");
    }

    #[test]
    fn unescapes_data_lines() {
        assert_eq!(unescape(b"12%2534").as_slice(), b"12%34");
        assert_eq!(unescape(b"%4").as_slice(), b"%4");
        assert_eq!(unescape(b"%zz1").as_slice(), b"%zz1");
        assert_eq!(unescape(b"").as_slice(), b"");
    }
}
