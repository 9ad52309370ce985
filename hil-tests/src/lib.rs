//! The lab fixture: a card under test for each kind of target, and the
//! plumbing the scenarios share.
//!
//! Targets (`TAMGA_HIL_TARGETS`, comma-separated; default `emu,vpcd,qemu`,
//! plus `reader` when `TAMGA_READER` names a real reader):
//! - `emu`: the firmware in this process, its flash in a file;
//! - `vpcd`: `tamga-vcard` processes on pcscd's vpcd driver (readers
//!   `Virtual PCD 00 00` and `00 01`), started and killed by process id;
//! - `qemu`: the Cortex-M4 firmware under qemu-system-arm on vpcd;
//! - `reader`: a real card in the reader `TAMGA_READER` (never killed).
//!
//! A target that cannot run here is skipped with a printed reason.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tamga::ca::LocalCa;
use tamga::piv::Piv;
use tamga::transport::{self, Transport};
use tamga::{Error, Result};
use tamga_testkit::{pcscd, qemu};

pub use tamga_testkit::vpcd::SLOTS;

/// Where a scenario runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The firmware in this process.
    Emu,
    /// `tamga-vcard` on vpcd through pcscd.
    Vpcd,
    /// The Cortex-M4 build under QEMU on vpcd.
    Qemu,
    /// A real reader.
    Reader(String),
}

impl Target {
    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            Target::Emu => "emu".into(),
            Target::Vpcd => "vpcd".into(),
            Target::Qemu => "qemu".into(),
            Target::Reader(r) => format!("reader:{r}"),
        }
    }

    /// Why this target cannot run here (then the scenario is skipped), if so.
    pub fn unavailable(&self) -> Option<String> {
        let wanted =
            std::env::var("TAMGA_HIL_TARGETS").unwrap_or_else(|_| "emu,vpcd,qemu,reader".into());
        let key = match self {
            Target::Reader(_) => "reader".to_string(),
            t => t.name(),
        };
        if !wanted.split(',').any(|w| w.trim() == key) {
            return Some(format!("target {key} not in TAMGA_HIL_TARGETS={wanted}"));
        }
        match self {
            Target::Emu => None,
            Target::Vpcd => {
                pcscd::unavailable().or_else(|| vcard_binary().err().map(|e| e.to_string()))
            }
            Target::Qemu => pcscd::unavailable().or_else(qemu_unavailable),
            Target::Reader(r) if r.is_empty() => {
                Some("TAMGA_READER is not set (no real reader)".into())
            }
            Target::Reader(_) => None,
        }
    }

    /// The real-reader target from `TAMGA_READER` (empty name when unset).
    pub fn reader() -> Target {
        Target::Reader(std::env::var("TAMGA_READER").unwrap_or_default())
    }
}

fn qemu_unavailable() -> Option<String> {
    let image = std::env::var("TAMGA_QEMU_IMAGE").ok();
    match image {
        Some(p) if Path::new(&p).is_file() => None,
        Some(p) => Some(format!("TAMGA_QEMU_IMAGE={p} is not a file")),
        None => Some(
            "TAMGA_QEMU_IMAGE is not set (cargo xtask test sets it after building the board)"
                .into(),
        ),
    }
}

/// A binary of this workspace's build (`tamga`, `tamga-vcard`, `tamga-ca`):
/// next to the running test or tool, where cargo puts them.
pub fn binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| Error::Invalid(e.to_string()))?;
    // A test runs from target/<profile>/deps, a binary from target/<profile>.
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::Invalid(format!("{name} is not built (cargo build -p {name})")))
}

/// The `tamga-vcard` binary (`TAMGA_VCARD` overrides).
pub fn vcard_binary() -> Result<PathBuf> {
    match std::env::var("TAMGA_VCARD") {
        Ok(p) => Ok(PathBuf::from(p)),
        Err(_) => binary("tamga-vcard"),
    }
}

static LAB: Mutex<()> = Mutex::new(());

/// Exclusive use of pcscd's two vpcd slots, held until dropped.
pub struct Exclusive {
    _thread: MutexGuard<'static, ()>,
    _process: Option<std::fs::File>,
}

/// Take the vpcd slots: one scenario at a time in this process (a mutex) and
/// across processes (an advisory lock on a file in the temporary directory:
/// nextest's test processes, `bench-enroll`, a second developer's run).
pub fn exclusive() -> Exclusive {
    let thread = LAB.lock().unwrap_or_else(|e| e.into_inner());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(std::env::temp_dir().join("tamga-vpcd-slots.lock"))
        .ok();
    if let Some(f) = &file {
        let _ = f.lock();
    }
    Exclusive {
        _thread: thread,
        _process: file,
    }
}

/// A card under test.
pub struct Card {
    target: Target,
    /// `--card` value: `emu:FILE` or a reader name.
    pub spec: String,
    state: PathBuf,
    slot: usize,
    process: Option<Child>,
    trace: PathBuf,
}

impl Card {
    /// Bring up a fresh card for `target` in `dir` (vpcd slot `slot`: 0 or 1).
    pub fn start(target: &Target, dir: &Path, slot: usize) -> Result<Card> {
        let state = dir.join(format!("card{slot}"));
        std::fs::create_dir_all(&state).map_err(|source| Error::Io {
            path: state.display().to_string(),
            source,
        })?;
        let (_, reader) = SLOTS[slot];
        let mut card = Card {
            target: target.clone(),
            spec: match target {
                Target::Emu => format!("emu:{}", state.join("card.flash").display()),
                Target::Reader(r) => r.clone(),
                _ => reader.to_string(),
            },
            trace: state.join("trace.jsonl"),
            state,
            slot,
            process: None,
        };
        card.power_on()?;
        Ok(card)
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The process id of the card's process (vpcd, qemu), if it has one.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Child::id)
    }

    /// The APDU trace file (vpcd target).
    pub fn trace(&self) -> &Path {
        &self.trace
    }

    /// Start the card's process (vpcd, qemu) and wait for pcscd to see it.
    pub fn power_on(&mut self) -> Result<()> {
        let (port, reader) = SLOTS[self.slot];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.state.join("card.log"))
            .map_err(|source| Error::Io {
                path: self.state.join("card.log").display().to_string(),
                source,
            })?;
        let child = match &self.target {
            Target::Emu | Target::Reader(_) => return Ok(()),
            Target::Vpcd => {
                pcscd::ensure().map_err(Error::Pcsc)?;
                Command::new(vcard_binary()?)
                    .arg("--state")
                    .arg(&self.state)
                    .args(["--vpcd", &tamga_testkit::vpcd::address(port), "--trace"])
                    .arg(&self.trace)
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
            }
            Target::Qemu => {
                pcscd::ensure().map_err(Error::Pcsc)?;
                let q = qemu::Qemu {
                    elf: std::env::var("TAMGA_QEMU_IMAGE").unwrap_or_default().into(),
                    vpcd: Some((qemu::link_host(true), port)),
                    flash: Some(self.state.join("flash.bin")),
                    seed: None,
                    stack_report: Some(self.state.join("stack.txt")),
                    icount: false,
                    log: Some(self.state.join("defmt.log")),
                };
                q.command()
                    .map_err(Error::Invalid)?
                    .stdout(Stdio::null())
                    .stderr(log)
                    .spawn()
            }
        }
        .map_err(|e| {
            Error::Invalid(format!("cannot start the {} card: {e}", self.target.name()))
        })?;
        self.process = Some(child);
        let card_log = || {
            let log = std::fs::read_to_string(self.state.join("card.log")).unwrap_or_default();
            log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
        };
        let shown = pcscd::wait_for_card(reader, true, Duration::from_secs(30));
        // The card in the reader must be ours: our process still runs.
        if let Some(Ok(Some(status))) = self.process.as_mut().map(Child::try_wait) {
            self.process = None;
            return Err(Error::Invalid(format!(
                "the card process exited ({status}): {}",
                card_log()
            )));
        }
        shown.map_err(|e| Error::Invalid(format!("{e}; card log: {}", card_log())))
    }

    /// Cut the power: kill the card's process (vpcd, qemu) at once.
    pub fn power_off(&mut self) -> Result<()> {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill();
            let _ = p.wait();
            let (_, reader) = SLOTS[self.slot];
            pcscd::wait_for_card(reader, false, Duration::from_secs(10)).map_err(Error::NoCard)?;
        }
        Ok(())
    }

    /// Open the card (a new session) and select PIV.
    pub fn open(&self) -> Result<Piv<Box<dyn Transport>>> {
        let t = transport::open(Some(&self.spec))?;
        let mut piv = Piv::new(t);
        piv.select()?;
        Ok(piv)
    }
}

impl Drop for Card {
    fn drop(&mut self) {
        let _ = self.power_off();
    }
}

/// One scenario's world: a temporary directory and a local CA.
pub struct Lab {
    /// Scratch directory.
    pub dir: tempfile::TempDir,
    /// The CA.
    pub ca: LocalCa,
}

impl Lab {
    /// A fresh lab.
    pub fn new() -> Result<Lab> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: "temporary directory".into(),
            source,
        })?;
        let ca_dir = dir.path().join("ca");
        tamga_ca::Ca::init(&ca_dir, &Default::default()).map_err(|e| Error::Ca(e.to_string()))?;
        let ca = LocalCa::open(&ca_dir, "hil")?;
        Ok(Lab { dir, ca })
    }
}

/// Run `scenario` on `target`, printing a one-line verdict (or why it was skipped).
pub fn run(name: &str, target: Target, scenario: fn(&Lab, &Target) -> Result<()>) {
    if let Some(why) = target.unavailable() {
        println!("HIL {name} on {}: SKIPPED ({why})", target.name());
        return;
    }
    let _one_at_a_time = exclusive();
    let t = std::time::Instant::now();
    let lab = Lab::new().unwrap_or_else(|e| panic!("lab: {e}"));
    match scenario(&lab, &target) {
        Ok(()) => println!(
            "HIL {name} on {}: ok in {:.0} ms",
            target.name(),
            t.elapsed().as_secs_f64() * 1e3
        ),
        Err(e) => panic!("HIL {name} on {}: {e}", target.name()),
    }
}
