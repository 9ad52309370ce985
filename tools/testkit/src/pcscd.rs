//! pcscd with vsmartcard's vpcd driver, for tests: is it installed, start it
//! (one policy for every suite and `cargo xtask`), wait for a reader's state,
//! and a private pcscd in its own mount namespace.
//!
//! pcscd is always started as `pcscd -f` and never with `-a`: that option
//! logs every APDU, PINs and keys included.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pcsc::{Context, ReaderState, Scope, State};

use crate::vpcd::READER_PREFIX;
use crate::which;

/// vpcd's reader driver, as Debian installs it (`vsmartcard-vpcd`).
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// pcscd's socket.
pub const SOCKET: &str = "/run/pcscd/pcscd.comm";
/// How long a started pcscd may take to list vpcd's readers.
const UP_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the PC/SC stack (pcscd and vpcd) cannot be used here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !Path::new(VPCD_DRIVER).exists() {
        return Some(format!(
            "vsmartcard-vpcd is not installed ({VPCD_DRIVER} missing)"
        ));
    }
    if which("pcscd").is_none() {
        return Some("pcscd is not installed".into());
    }
    None
}

/// A reader as PC/SC lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reader {
    /// Its name.
    pub name: String,
    /// Whether a card is present.
    pub card: bool,
}

/// The readers pcscd lists; an error when pcscd does not answer.
pub fn readers() -> Result<Vec<Reader>, String> {
    let ctx = Context::establish(Scope::User).map_err(|e| format!("PC/SC: {e}"))?;
    let names: Vec<CString> = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(vec![]),
        Err(e) => return Err(format!("PC/SC readers: {e}")),
    };
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    if !states.is_empty() {
        ctx.get_status_change(Duration::ZERO, &mut states)
            .map_err(|e| format!("PC/SC status: {e}"))?;
    }
    Ok(states
        .iter()
        .map(|s| Reader {
            name: s.name().to_string_lossy().into_owned(),
            card: s.event_state().contains(State::PRESENT),
        })
        .collect())
}

/// pcscd: started by [`Pcscd::ensure`] (stopped, by its pid, when dropped)
/// or found running (left alone).
pub struct Pcscd(Option<Child>);

impl Pcscd {
    /// Start `pcscd -f` unless pcscd answers already, then wait until it
    /// lists vpcd's readers.
    pub fn ensure() -> Result<Pcscd, String> {
        if readers().is_ok() {
            return Ok(Pcscd(None));
        }
        let exe = which("pcscd").ok_or("pcscd is not installed")?;
        let child = Command::new(exe)
            .arg("-f")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start pcscd: {e}"))?;
        let mut me = Pcscd(Some(child));
        let end = Instant::now() + UP_TIMEOUT;
        loop {
            let listed =
                readers().is_ok_and(|rs| rs.iter().any(|r| r.name.starts_with(READER_PREFIX)));
            if listed {
                return Ok(me);
            }
            if let Some(Ok(Some(status))) = me.0.as_mut().map(Child::try_wait) {
                me.0 = None;
                return Err(format!("pcscd exited ({status})"));
            }
            if Instant::now() > end {
                return Err(format!(
                    "pcscd started but lists no vpcd reader after {UP_TIMEOUT:?} (socket {SOCKET})"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id of the pcscd this guard started, if it started one.
    pub fn started(&self) -> Option<u32> {
        self.0.as_ref().map(Child::id)
    }

    /// Leave pcscd running after this guard is gone.
    pub fn detach(mut self) {
        self.0 = None;
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A test fixture's policy: make sure pcscd runs, and leave one it starts
/// running for the machine's other tests (one pcscd per machine; `cargo
/// xtask test` starts it first and stops it after the suite).
pub fn ensure() -> Result<(), String> {
    Pcscd::ensure().map(Pcscd::detach)
}

/// Wait until `reader` shows a card (`present`) or no card (`!present`).
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> Result<(), String> {
    let end = Instant::now() + timeout;
    loop {
        let seen =
            readers().is_ok_and(|rs| rs.iter().any(|r| r.name == reader && r.card == present));
        if seen {
            return Ok(());
        }
        if Instant::now() > end {
            return Err(format!(
                "reader {reader} did not {} a card in {timeout:?}",
                if present { "show" } else { "lose" }
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private pcscd in its own mount namespace (its socket is
/// `/proc/<pid>/root/run/pcscd/pcscd.comm`) with one vpcd reader, killed (by
/// pid) when dropped. Needs root (`unshare -m`, a tmpfs over /run/pcscd).
pub struct Private {
    child: Child,
    /// The value of `PCSCLITE_CSOCK_NAME` for its clients.
    pub socket: PathBuf,
}

impl Private {
    /// Start it in `dir` (its configuration and `pcscd.log`), its reader
    /// named `name` (vpcd adds ` 00 00`) on vpcd `port`.
    pub fn start(dir: &Path, name: &str, port: u16) -> Result<Private, String> {
        let conf = dir.join("reader.conf.d");
        std::fs::create_dir_all(&conf).map_err(|e| e.to_string())?;
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"{name}\"\nDEVICENAME /dev/null:0x{port:04X}\n\
                 LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{port:04X}\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let pcscd = which("pcscd").ok_or("pcscd is not installed")?;
        let log = dir.join("pcscd.log");
        // unshare and sh exec: the child's pid is pcscd's.
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c"])
            .arg(format!(
                "mount -t tmpfs tmpfs /run/pcscd && exec {} -f -c {}",
                pcscd.display(),
                conf.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("unshare: {e}"))?;
        let socket = PathBuf::from(format!("/proc/{}/root{SOCKET}", child.id()));
        let mut me = Private { child, socket };
        let end = Instant::now() + Duration::from_secs(10);
        while !me.socket.exists() {
            if let Ok(Some(s)) = me.child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("private pcscd exited ({s}): {log}"));
            }
            if Instant::now() > end {
                return Err("private pcscd did not come up".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(me)
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
