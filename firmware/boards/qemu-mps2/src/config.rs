//! The emulator's command line, read through semihosting (`SYS_GET_CMDLINE`:
//! QEMU's `-semihosting-config …,arg=…` values, separated by spaces).

use core::ffi::CStr;

use semihosting::io::Write;

/// Longest path accepted, with its NUL.
const PATH_MAX: usize = 160;

/// A NUL-terminated host path.
#[derive(Clone, Copy)]
pub struct HostPath([u8; PATH_MAX]);

impl HostPath {
    fn new(s: &str) -> Option<Self> {
        let mut buf = [0u8; PATH_MAX];
        let dst = buf.get_mut(..s.len())?;
        if s.len() >= PATH_MAX || s.bytes().any(|b| b == 0) {
            return None;
        }
        dst.copy_from_slice(s.as_bytes());
        Some(HostPath(buf))
    }

    /// The path as a C string.
    pub fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.0).unwrap_or(c"")
    }
}

/// Options of a run.
pub struct Config {
    /// Host file of the flash; `None` = RAM only.
    flash: Option<HostPath>,
    /// Reproducible RNG seed (tests and benchmarks only).
    pub seed: Option<u64>,
    /// Host file that receives the stack high-water mark at each power-off.
    stack_report: Option<HostPath>,
}

impl Config {
    /// Parse the semihosting command line; unknown words are ignored (QEMU
    /// passes the image name first).
    pub fn from_semihosting() -> Self {
        let mut config = Config {
            flash: HostPath::new("tamga-mps2-flash.bin"),
            seed: None,
            stack_report: None,
        };
        let Ok(args) = semihosting::experimental::env::args::<512>() else {
            return config;
        };
        let mut it = (&args).flatten();
        while let Some(arg) = it.next() {
            match arg {
                "--flash" => {
                    config.flash = it.next().filter(|p| *p != "-").and_then(HostPath::new);
                }
                "--seed" => config.seed = it.next().and_then(|s| s.parse().ok()),
                "--stack-report" => config.stack_report = it.next().and_then(HostPath::new),
                _ => {}
            }
        }
        config
    }

    /// The flash file, if the flash persists.
    pub fn flash(&self) -> Option<&CStr> {
        self.flash.as_ref().map(HostPath::as_cstr)
    }

    /// Write `boot=B peak=P capacity=C` (bytes of stack) to the report file.
    /// Not inlined: its path buffer stays out of the main loop's frame.
    #[inline(never)]
    pub fn report_stack(&self, boot: usize, peak: usize) {
        let Some(path) = &self.stack_report else {
            return;
        };
        let Ok(mut f) = semihosting::fs::File::create(path.as_cstr()) else {
            return;
        };
        let mut line = [0u8; 80];
        let mut n = 0;
        for (key, value) in [
            ("boot=", boot),
            (" peak=", peak),
            (" capacity=", crate::stack::capacity()),
        ] {
            n = put(&mut line, n, key.as_bytes());
            n = put_decimal(&mut line, n, value);
        }
        n = put(&mut line, n, b"\n");
        let _ = f.write_all(line.get(..n).unwrap_or(&[]));
    }
}

fn put(buf: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    match buf.get_mut(at..at + bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            at + bytes.len()
        }
        None => at,
    }
}

/// Decimal without `core::fmt` (which would add kilobytes to the image).
pub fn put_decimal(buf: &mut [u8], at: usize, mut value: usize) -> usize {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (value % 10).to_le_bytes()[0];
        }
        value /= 10;
        if value == 0 || i == 0 {
            break;
        }
    }
    put(buf, at, digits.get(i..).unwrap_or(&[]))
}
