//! `tamga-mps2`: the Tamga firmware on an emulated Cortex-M4 (QEMU
//! `mps2-an386`), reachable through PC/SC.
//!
//! - UART0 speaks the vpcd framing; QEMU connects it straight to vpcd's socket
//!   (`-chardev socket,…,port=35963 -serial chardev:u0`), so the card appears
//!   in pcscd's `Virtual PCD 00 00` with no other process.
//! - The store lives on emulated NOR flash (2 KiB pages, 8-byte writes),
//!   persisted to a host file through semihosting ([`flash`]).
//! - The RNG is ChaCha20 keyed from the host's `/dev/urandom` through
//!   semihosting: emulator only ([`rng`]).
//! - defmt logs go out on UART1 ([`log`]); decode them with `defmt-print`.
//! - The stack is painted at boot; its high-water mark is logged and written
//!   to a host file at every power-off ([`stack`]).
//!
//! Semihosting command line (`-semihosting-config …,arg=…`):
//! `--flash PATH` (default `tamga-mps2-flash.bin` in QEMU's directory; `-` for
//! RAM only), `--seed N` (reproducible RNG, tests only), `--stack-report PATH`.
//! The feature `bench` turns the image into the instruction-count benchmark.
//!
//! This crate holds the only `unsafe` code of the firmware: register access
//! ([`uart`], [`bench`]), the store region ([`flash`]), the stack region
//! ([`stack`]) and the logger ([`log`]); every block says why it is sound.
#![no_std]
#![no_main]
// The benchmark image does not serve a reader.
#![cfg_attr(feature = "bench", allow(dead_code))]

#[cfg(feature = "bench")]
mod bench;
mod board;
mod config;
mod flash;
#[cfg(feature = "defmt")]
mod log;
#[cfg(feature = "p256-m4")]
mod p256m4;
mod rng;
#[cfg(feature = "p256-m4")]
mod rsakernel;
mod stack;
mod uart;
mod vpcd;

use core::panic::PanicInfo;

use cortex_m_rt::{ExceptionFrame, entry, exception};
use semihosting::io::Write;
use static_cell::{ConstStaticCell, StaticCell};
use tamga_firmware::Applet;

use board::{Board, CardLink, Event};
use config::Config;
use flash::EmuFlash;
use rng::EmuRng;
use uart::{UART0, UART0_RX_IRQ, Uart};
use vpcd::VpcdLink;

/// Largest command APDU the link accepts: every short APDU (header, Lc, 255
/// data bytes, Le). The ATR (`tamga_spec::atr::ATR_MCU`) announces command
/// chaining and no extended lengths, so hosts (OpenSC, yubico-piv-tool, the
/// `tamga` CLI) chain longer data; an extended APDU gets `6700` from the link.
const COMMAND_BUF: usize = 5 + 255 + 1;
/// Response buffer: up to 256 bytes of data (a short Le), then SW1 SW2; the
/// applet sends longer responses in parts (`61xx`, GET RESPONSE).
const REPLY_BUF: usize = 256 + 2;

/// The emulated board.
struct Mps2 {
    flash: EmuFlash,
    rng: EmuRng,
    link: VpcdLink,
}

/// The board's P-256: the P256-Cortex-M4 assembly.
#[cfg(feature = "p256-m4")]
type Ec = p256m4::M4P256;
/// The board's P-256: RustCrypto's portable `p256` (built without `p256-m4`).
#[cfg(not(feature = "p256-m4"))]
type Ec = tamga_firmware::crypto::SoftP256;

impl Board for Mps2 {
    type Flash = EmuFlash;
    type Rng = EmuRng;
    type Ec = Ec;
    type Link = VpcdLink;

    fn into_parts(self) -> (EmuFlash, EmuRng, Ec, VpcdLink) {
        (self.flash, self.rng, Ec::default(), self.link)
    }
}

impl Mps2 {
    fn new(config: &Config) -> Result<Self, &'static str> {
        let flash = EmuFlash::open(config.flash()).ok_or("cannot open the flash file")?;
        let rng = match config.seed {
            Some(seed) => EmuRng::from_test_seed(seed),
            None => EmuRng::from_host().ok_or("no entropy from the host")?,
        };
        // SAFETY: UART0 is a CMSDK UART and the link is its only driver.
        let uart = unsafe { Uart::new(UART0, Some(UART0_RX_IRQ)) };
        Ok(Mps2 {
            flash,
            rng,
            link: VpcdLink::new(uart),
        })
    }
}

type Card = Applet<EmuFlash, EmuRng, Ec>;

/// Mount the store and create the applet in a static, built in place
/// ([`Applet::init`]) so that the ~5.5 KiB applet never sits in a stack frame.
#[inline(never)]
fn start(flash: EmuFlash, rng: EmuRng, ec: Ec) -> Result<&'static mut Card, &'static str> {
    static CARD: StaticCell<Card> = StaticCell::new();
    Applet::init(CARD.uninit(), flash, rng, ec).map_err(|_e| {
        #[cfg(feature = "defmt")]
        defmt::error!("applet start failed: {}", _e);
        "cannot start the applet (store)"
    })
}

#[entry]
fn main() -> ! {
    // Interrupts stay masked: the UART's receive interrupt only wakes `wfi`.
    cortex_m::interrupt::disable();
    let config = Config::from_semihosting();

    #[cfg(feature = "bench")]
    bench::run(&config);
    #[cfg(not(feature = "bench"))]
    card(&config)
}

/// Boot the card and serve the reader.
fn card(config: &Config) -> ! {
    let (card, mut link, boot) = boot(config);
    stack::repaint();
    serve(card, &mut link, config, boot)
}

/// Bring up the board and the applet; returns the applet (in its static),
/// the link and the boot stack high-water mark. Out of line, so that the
/// board parts it moves around are off the stack while the card serves.
#[inline(never)]
fn boot(config: &Config) -> (&'static mut Card, VpcdLink, usize) {
    let board = Mps2::new(config).unwrap_or_else(|e| fatal(e));
    let (flash, rng, ec, link) = board.into_parts();
    let card = start(flash, rng, ec).unwrap_or_else(|e| fatal(e));
    let boot = stack::high_water();
    #[cfg(feature = "defmt")]
    defmt::info!(
        "tamga-mps2 up: serial {}, stack {} B used by boot of {} B",
        card.serial(),
        boot,
        stack::capacity()
    );
    (card, link, boot)
}

/// The card's main loop: reader events in, applet calls, responses out.
fn serve<L: CardLink>(card: &mut Card, link: &mut L, config: &Config, boot: usize) -> ! {
    // Zero-initialized in .bss: taken without passing through the stack.
    static COMMAND: ConstStaticCell<[u8; COMMAND_BUF]> = ConstStaticCell::new([0; COMMAND_BUF]);
    static REPLY: ConstStaticCell<[u8; REPLY_BUF]> = ConstStaticCell::new([0; REPLY_BUF]);
    let command = COMMAND.take();
    let reply = REPLY.take();
    loop {
        match link.next_event(command) {
            Event::Apdu(n) => {
                let apdu = command.get(..n).unwrap_or(&[]);
                let len = card.process(apdu, reply);
                link.respond(reply.get(..len).unwrap_or(&[]));
            }
            Event::PowerOn | Event::Reset => card.reset(),
            Event::PowerOff => {
                card.reset();
                let peak = stack::high_water();
                #[cfg(feature = "defmt")]
                defmt::info!("power off; stack high-water {} B (boot {} B)", peak, boot);
                config.report_stack(boot, peak);
            }
        }
    }
}

/// Stop the emulator with a message on its stderr and exit status 1.
fn fatal(msg: &str) -> ! {
    #[cfg(feature = "defmt")]
    defmt::error!("{=str}", msg);
    if let Ok(mut err) = semihosting::io::stderr() {
        let _ = err.write_all(b"tamga-mps2: ");
        let _ = err.write_all(msg.as_bytes());
        let _ = err.write_all(b"\n");
    }
    semihosting::process::exit(1)
}

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    // No message formatting: it would pull `core::fmt` into the image.
    if let Ok(mut err) = semihosting::io::stderr() {
        let _ = err.write_all(b"tamga-mps2: panic\n");
    }
    semihosting::process::exit(101)
}

// `unsafe fn` is the signature cortex-m-rt requires; the body only reads the
// stacked frame and calls safe semihosting functions.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    if let Ok(mut err) = semihosting::io::stderr() {
        let mut hex = *b"tamga-mps2: hard fault at pc 0x00000000\n";
        let pc = frame.pc();
        for (i, d) in hex.iter_mut().skip(31).take(8).enumerate() {
            *d = b"0123456789abcdef"[((pc >> (28 - 4 * i)) & 0xF) as usize];
        }
        let _ = err.write_all(&hex);
    }
    semihosting::process::exit(102)
}
