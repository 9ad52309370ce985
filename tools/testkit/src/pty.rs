//! A pseudo-terminal with a typist at its keyboard, for text-mode dialogs
//! (pinentry-tty, `tamga`'s own prompts) in tests: each time the terminal
//! shows `PIN: ` or `PUK: `, the typist types what the test queued next, and
//! remembers what the screen said.

use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the typist does at the next prompt.
#[derive(Clone, Debug)]
pub enum Keys {
    /// Types this line (Enter is added), after waiting this long.
    Line(String, Duration),
    /// Presses Ctrl-D: the dialog is cancelled.
    Cancel,
    /// Answers a yes/no question (`[oc]? `: the key of the first choice, or
    /// of the second).
    Confirm(bool),
}

/// A terminal and its typist thread.
pub struct Typist {
    tty: PathBuf,
    keyboard: Mutex<File>,
    _slave: OwnedFd,
    orders: Sender<Keys>,
    screen: Arc<Mutex<String>>,
    prompts: Arc<Mutex<usize>>,
}

impl Typist {
    /// Opens a pseudo-terminal and starts the typist.
    pub fn new() -> Typist {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty writes two descriptors into the pointed-to ints; the
        // name, termios and window size arguments may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: ttyname returns a pointer to a static buffer, copied at once.
        let name = unsafe { CStr::from_ptr(libc::ttyname(slave)) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: both descriptors were just opened by openpty and are owned here.
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let keyboard = Mutex::new(master.try_clone().expect("a second handle on the terminal"));
        let (orders, rx) = channel();
        let screen = Arc::new(Mutex::new(String::new()));
        let prompts = Arc::new(Mutex::new(0));
        let (s, p) = (Arc::clone(&screen), Arc::clone(&prompts));
        std::thread::spawn(move || type_at_prompts(master, rx, s, p));
        Typist {
            tty: PathBuf::from(name),
            keyboard,
            _slave: slave,
            orders,
            screen,
            prompts,
        }
    }

    /// The terminal's device, for `pinentry --ttyname`.
    pub fn tty(&self) -> &PathBuf {
        &self.tty
    }

    /// Makes the terminal `cmd`'s standard input, output and error and its
    /// controlling terminal (a new session), as a program started in a
    /// terminal window has it.
    pub fn attach(&self, cmd: &mut std::process::Command) -> std::io::Result<()> {
        use std::os::unix::process::CommandExt;
        let tty = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&self.tty)
        };
        cmd.stdin(tty()?).stdout(tty()?).stderr(tty()?);
        // SAFETY: setsid and ioctl are async-signal-safe; they run in the child
        // between fork and exec and touch only its own session and descriptor 0.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Ok(())
    }

    /// Types `text` now, prompt or not (an answer to a yes/no question).
    pub fn type_now(&self, text: &str) {
        if let Ok(mut k) = self.keyboard.lock() {
            let _ = k.write_all(text.as_bytes());
        }
    }

    /// Queues what to type at a coming prompt.
    pub fn then(&self, keys: Keys) {
        let _ = self.orders.send(keys);
    }

    /// Everything the terminal showed so far (escape sequences included).
    pub fn screen(&self) -> String {
        self.screen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// How many prompts the terminal showed.
    pub fn prompts(&self) -> usize {
        self.prompts.lock().map(|n| *n).unwrap_or(0)
    }
}

impl Default for Typist {
    fn default() -> Self {
        Typist::new()
    }
}

fn type_at_prompts(
    mut master: File,
    orders: Receiver<Keys>,
    screen: Arc<Mutex<String>>,
    prompts: Arc<Mutex<usize>>,
) {
    let mut pending = String::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Ok(mut s) = screen.lock() {
            s.push_str(&text);
        }
        pending.push_str(&text);
        while let Some((at, len)) = ["PIN: ", "PUK: ", "]? "]
            .iter()
            .filter_map(|p| pending.find(p).map(|at| (at, p.len())))
            .min()
        {
            // The keys of a question, `[oc]? `: the letters after the last `[`.
            let choices: Vec<char> = pending[..at]
                .rsplit('[')
                .next()
                .unwrap_or("")
                .chars()
                .collect();
            pending.drain(..at + len);
            if let Ok(mut p) = prompts.lock() {
                *p += 1;
            }
            let keys = match orders.recv_timeout(Duration::from_secs(60)) {
                Ok(k) => k,
                Err(_) => Keys::Cancel,
            };
            let bytes = match keys {
                Keys::Line(line, wait) => {
                    std::thread::sleep(wait);
                    format!("{line}\n").into_bytes()
                }
                Keys::Cancel => vec![0x04],
                Keys::Confirm(yes) => {
                    let c = if yes { choices.first() } else { choices.get(1) };
                    format!("{}\n", c.copied().unwrap_or('n')).into_bytes()
                }
            };
            if master.write_all(&bytes).is_err() {
                return;
            }
        }
    }
}
