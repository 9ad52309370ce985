//! What the interop tests share: a Tamga card on vpcd under the lab lock,
//! external tools run with a time limit, the checks made with openssl, the
//! card's APDU trace, and a PKCS#11 signature through `cryptoki`.
//!
//! Every helper panics with the tool's output (and the tail of the card's
//! APDU trace) when something goes wrong: a failed check is a failed test.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use der::{Decode, Encode};
use tamga::enroll::{self, Request};
use tamga::piv::{MgmtKey, Pin, Piv, PublicKey};
use tamga::transport::Transport;
use tamga_board_host::trace;
use tamga_hil::{Card, Lab, SLOTS, Target};
use tamga_spec::{Algorithm, KeyRef, defaults};
pub use tamga_testkit::which;
use x509_cert::Certificate;

/// The reader of vpcd slot 0, where [`Bench`] puts its card.
pub const READER: &str = SLOTS[0].1;
/// OpenSC's PKCS#11 module (Debian `opensc-pkcs11`).
pub const OPENSC_PKCS11: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
/// Yubico's PKCS#11 module (Debian `ykcs11`).
pub const YKCS11: &str = "/usr/lib/x86_64-linux-gnu/libykcs11.so";
/// The factory PIN, as tools take it.
pub const PIN: &str = utf8(defaults::PIN);
/// The factory PUK, as tools take it.
pub const PUK: &str = utf8(defaults::PUK);

const fn utf8(b: &'static [u8]) -> &'static str {
    match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    }
}

/// Bytes as hex digits, `sep` between them.
pub fn hex(bytes: &[u8], sep: &str) -> String {
    bytes
        .iter()
        .map(|b| hex::encode_upper([*b]))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The factory management key as the hex `yubico-piv-tool --key` takes.
pub fn default_mgmt_hex() -> String {
    hex(&defaults::MANAGEMENT_KEY, "")
}
/// Longest a single tool run may take.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(40);

/// A fresh card in [`READER`], its lab (temporary directory and CA), and the
/// lab lock, held until the bench is dropped. Fields drop in order: the card
/// process is killed before its directory goes.
pub struct Bench {
    /// The card under test.
    pub card: Card,
    /// Its lab.
    pub lab: Lab,
    /// More files [`Bench::fail`] shows the end of: (label, path).
    shown: std::cell::RefCell<Vec<(String, PathBuf)>>,
    _lock: tamga_hil::Exclusive,
}

/// A fresh card on vpcd for `test`, or `None` (with `SKIPPED test: why`
/// printed) when vpcd or one of `needs` (programs or files) is missing.
pub fn bench(test: &str, needs: &[&str]) -> Option<Bench> {
    if let Some(why) = Target::Vpcd.unavailable() {
        println!("SKIPPED {test}: {why}");
        return None;
    }
    if let Some(missing) = needs.iter().find(|n| which(n).is_none()) {
        println!("SKIPPED {test}: {missing} is not installed");
        return None;
    }
    let lock = tamga_hil::exclusive();
    let lab = Lab::new().unwrap_or_else(|e| panic!("{test}: lab: {e}"));
    let card = Card::start(&Target::Vpcd, lab.dir.path(), 0)
        .unwrap_or_else(|e| panic!("{test}: card: {e}"));
    Some(Bench {
        card,
        lab,
        shown: Default::default(),
        _lock: lock,
    })
}

/// A tool's exit status and output.
pub struct Run {
    /// Exit status 0.
    pub ok: bool,
    /// stdout then stderr.
    pub out: String,
    /// stdout alone, as bytes.
    pub stdout: Vec<u8>,
}

impl Bench {
    /// A file in the lab directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.lab.dir.path().join(name)
    }

    /// A new PIV session (drop it before running an external tool: the
    /// PC/SC transport holds the card exclusively).
    pub fn piv(&self) -> Piv<Box<dyn Transport>> {
        self.card
            .open()
            .unwrap_or_else(|e| self.fail(&format!("open: {e}")))
    }

    /// Enrol the test applicant (RSA-2048 or P-256 keys in 9A and 9C, NCA
    /// certificates from the lab CA) with the factory PIN and management key.
    pub fn enrol(&self, alg: Algorithm) {
        let mut piv = self.piv();
        let applicant = serde_json::from_value(
            serde_json::json!({"iin": "871008401427", "surname": "ИСМАИЛОВ", "name": "ТЕСТ"}),
        )
        .unwrap();
        let req = Request {
            applicant,
            alg,
            signature_alg: None,
            replace: false,
        };
        let report = enroll::enroll(
            &mut piv,
            &self.lab.ca,
            &req,
            &pin(),
            &MgmtKey::default_key(),
            &mut |_| {},
        )
        .unwrap_or_else(|e| self.fail(&format!("enrolment: {e}")));
        assert!(
            report.slots.iter().all(|s| s.outcome == "enrolled"),
            "both keys enrolled"
        );
    }

    /// The DER certificate in `slot` (the card must hold one).
    pub fn certificate(&self, slot: KeyRef) -> Vec<u8> {
        self.piv()
            .read_certificate(slot)
            .unwrap_or_else(|e| self.fail(&format!("read certificate: {e}")))
            .unwrap_or_else(|| self.fail(&format!("no certificate in {:02X}", slot.to_u8())))
    }

    /// The public key GET METADATA reports for `slot`, if the slot has a key.
    pub fn metadata_key(&self, slot: KeyRef) -> Option<PublicKey> {
        self.piv()
            .metadata(slot)
            .unwrap_or_else(|e| self.fail(&format!("GET METADATA: {e}")))
            .and_then(|m| m.public)
    }

    /// Run `program args` with `env`, at most [`TOOL_TIMEOUT`] (killed then).
    pub fn run<I, S>(&self, program: &str, args: I, env: &[(&str, &OsStr)]) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let (so, se) = (self.path("tool.stdout"), self.path("tool.stderr"));
        let file = |p: &Path| std::fs::File::create(p).expect("tool output file");
        let mut cmd = Command::new(program);
        cmd.args(args)
            .current_dir(self.lab.dir.path())
            .stdin(Stdio::null())
            .stdout(file(&so))
            .stderr(file(&se));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| self.fail(&format!("cannot run {program}: {e}")));
        let end = Instant::now() + TOOL_TIMEOUT;
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait") {
                break Some(s);
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stdout = std::fs::read(&so).unwrap_or_default();
        let mut out = String::from_utf8_lossy(&stdout).into_owned();
        out.push_str(&String::from_utf8_lossy(
            &std::fs::read(&se).unwrap_or_default(),
        ));
        match status {
            None => self.fail(&format!(
                "{program} did not finish in {TOOL_TIMEOUT:?}: {out}"
            )),
            Some(s) => Run {
                ok: s.success(),
                out,
                stdout,
            },
        }
    }

    /// [`Bench::run`] that must succeed; its output.
    pub fn run_ok<I, S>(&self, program: &str, args: I, env: &[(&str, &OsStr)]) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let r = self.run(program, &args, env);
        if !r.ok {
            self.fail(&format!("{program} {args:?} failed:\n{}", r.out));
        }
        r.out
    }

    /// Have [`Bench::fail`] also show the end of `path` (an APDU trace when
    /// it ends in `.jsonl`, a log otherwise) under `label`.
    pub fn show_on_failure(&self, label: &str, path: &Path) {
        self.shown
            .borrow_mut()
            .push((label.to_string(), path.to_path_buf()));
    }

    /// Panic with `what`, the end of the card's APDU trace and of the files
    /// given to [`Bench::show_on_failure`].
    pub fn fail(&self, what: &str) -> ! {
        let mut msg = format!(
            "{what}\n--- last APDUs (trace {}) ---\n{}",
            self.card.trace().display(),
            trace_tail(self.card.trace(), 16)
        );
        for (label, path) in self.shown.borrow().iter() {
            let tail = if path.extension().is_some_and(|e| e == "jsonl") {
                trace_tail(path, 16)
            } else {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let lines: Vec<_> = text.lines().collect();
                lines[lines.len().saturating_sub(40)..].join("\n")
            };
            msg.push_str(&format!("\n--- {label} ({}) ---\n{tail}", path.display()));
        }
        panic!("{msg}")
    }

    /// Assert `cond`, else [`Bench::fail`].
    pub fn check(&self, cond: bool, what: &str) {
        if !cond {
            self.fail(&format!("check failed: {what}"));
        }
    }

    /// Whether openssl accepts `sig` (a file) as a SHA-256 signature over the
    /// file `data` by the public key in the PEM file `key`.
    pub fn openssl_verifies(&self, key: &Path, data: &Path, sig: &Path) -> bool {
        let r = self.run(
            "openssl",
            [
                OsStr::new("dgst"),
                OsStr::new("-sha256"),
                OsStr::new("-verify"),
                key.as_os_str(),
                OsStr::new("-signature"),
                sig.as_os_str(),
                data.as_os_str(),
            ],
            &[],
        );
        r.ok && r.out.contains("Verified OK")
    }

    /// Write the public key of the DER certificate `cert` as a PEM file.
    pub fn write_cert_key(&self, cert: &[u8], name: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, spki_pem(&cert_spki(cert))).unwrap();
        path
    }
}

/// The factory PIN.
pub fn pin() -> Pin {
    Pin::new(PIN.as_bytes()).unwrap()
}

/// The SubjectPublicKeyInfo (DER) of a DER certificate.
pub fn cert_spki(cert: &[u8]) -> Vec<u8> {
    Certificate::from_der(cert)
        .expect("certificate DER")
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap()
}

/// A SubjectPublicKeyInfo as a `PUBLIC KEY` PEM.
pub fn spki_pem(spki: &[u8]) -> String {
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki).unwrap()
}

/// The DER inside a `PUBLIC KEY` (or other) PEM text, if it is one.
pub fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN ")?;
    der::pem::decode_vec(&pem.as_bytes()[start..])
        .ok()
        .map(|(_, d)| d)
}

/// The SubjectPublicKeyInfo (DER) of a key GET METADATA reported.
pub fn key_spki(key: &PublicKey) -> Vec<u8> {
    key.spki_der().expect("public key")
}

/// Check a signature over `data` with the key of the DER certificate `cert`:
/// PKCS#1 v1.5 with SHA-256 for RSA, ECDSA with SHA-256 (DER or raw r‖s)
/// for P-256 (the `rsa` and `p256` crates, through tamga-ca).
pub fn verify_with_cert(cert: &[u8], data: &[u8], sig: &[u8]) -> bool {
    let c = Certificate::from_der(cert).expect("certificate DER");
    let spki = c.tbs_certificate().subject_public_key_info();
    let der_sig = match p256::ecdsa::Signature::from_slice(sig) {
        Ok(s) if sig.len() == 64 => s.to_der().as_bytes().to_vec(),
        _ => sig.to_vec(),
    };
    tamga_pki::verify::signature(spki, None, data, &der_sig).is_ok()
}

/// One exchange of the trace: command or response bytes.
struct Entry {
    cmd: bool,
    bytes: Vec<u8>,
}

fn trace_entries(path: &Path) -> Vec<Entry> {
    trace::read(path)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|l| {
            let cmd = match l.kind.as_str() {
                "cmd" => true,
                "rsp" => false,
                _ => return None,
            };
            let bytes = l.bytes().ok()?;
            Some(Entry { cmd, bytes })
        })
        .collect()
}

/// The last `n` APDUs of the trace, `> command` / `< response` in hex
/// (secrets are masked by `tamga-vcard`).
pub fn trace_tail(trace: &Path, n: usize) -> String {
    let e = trace_entries(trace);
    e[e.len().saturating_sub(2 * n)..]
        .iter()
        .map(|e| format!("{} {}", if e.cmd { ">" } else { "<" }, hex(&e.bytes, "")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The response to the last command of the trace that starts with `prefix`,
/// its `61xx` / GET RESPONSE chain joined: (data, final status word).
pub fn trace_response(trace: &Path, prefix: &[u8]) -> Option<(Vec<u8>, u16)> {
    let e = trace_entries(trace);
    let mut i = e
        .iter()
        .rposition(|x| x.cmd && x.bytes.starts_with(prefix))?;
    let mut data = vec![];
    loop {
        let r = e.get(i + 1).filter(|x| !x.cmd)?;
        let (body, sw) = r.bytes.split_at(r.bytes.len().checked_sub(2)?);
        data.extend_from_slice(body);
        let sw = u16::from_be_bytes([sw[0], sw[1]]);
        if sw >> 8 != 0x61 {
            return Some((data, sw));
        }
        // The next command must be the GET RESPONSE.
        i += 2;
        if !e.get(i)?.bytes.starts_with(&[0x00, 0xC0]) {
            return Some((data, sw));
        }
    }
}

/// What [`pkcs11_sign`] did.
pub struct P11Signature {
    /// The token's label.
    pub token: String,
    /// The signature (RSA PKCS#1 v1.5, or ECDSA r‖s).
    pub signature: Vec<u8>,
    /// The certificate with the key's CKA_ID, as the module read it.
    pub certificate: Vec<u8>,
    /// Whether the key demanded a context-specific login (PIN-always).
    pub always_authenticate: bool,
}

/// Sign `data` through the PKCS#11 `module`: the token in the slot whose
/// description starts with `reader`, user login with [`PIN`], the private key
/// with `id`, SHA256-RSA-PKCS or ECDSA-SHA256 by `alg`, with a
/// context-specific login when the key asks for one (CKA_ALWAYS_AUTHENTICATE).
pub fn pkcs11_sign(
    module: &str,
    reader: &str,
    id: u8,
    alg: Algorithm,
    data: &[u8],
) -> Result<P11Signature, String> {
    let e = |what: &'static str| move |err: cryptoki::error::Error| format!("{what}: {err}");
    let p11 = Pkcs11::new(module).map_err(e("load module"))?;
    p11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .map_err(e("C_Initialize"))?;
    // The token may take a moment to appear (a card just inserted, a pcscd
    // just started: C_GetSlotList fails until it has its reader).
    let end = Instant::now() + Duration::from_secs(15);
    let slot = loop {
        let found = p11.get_slots_with_token().map(|slots| {
            slots.into_iter().find(|s| {
                p11.get_slot_info(*s)
                    .map(|i| i.slot_description().starts_with(reader))
                    .unwrap_or(false)
            })
        });
        match found {
            Ok(Some(s)) => break s,
            _ if Instant::now() < end => std::thread::sleep(Duration::from_millis(200)),
            Ok(None) => return Err(format!("no token in a slot named {reader}")),
            Err(err) => return Err(format!("C_GetSlotList: {err}")),
        }
    };
    let token = p11
        .get_token_info(slot)
        .map_err(e("C_GetTokenInfo"))?
        .label()
        .trim()
        .to_string();
    let session = p11.open_ro_session(slot).map_err(e("C_OpenSession"))?;
    let pin = AuthPin::from(PIN);
    session
        .login(UserType::User, Some(&pin))
        .map_err(e("C_Login"))?;
    let find = |class| {
        session
            .find_objects(&[Attribute::Class(class), Attribute::Id(vec![id])])
            .map_err(e("C_FindObjects"))?
            .first()
            .copied()
            .ok_or_else(|| format!("no {class} object with CKA_ID {id:02X}"))
    };
    let key = find(ObjectClass::PRIVATE_KEY)?;
    let cert = find(ObjectClass::CERTIFICATE)?;
    let certificate = match session
        .get_attributes(cert, &[AttributeType::Value])
        .map_err(e("C_GetAttributeValue"))?
        .first()
    {
        Some(Attribute::Value(v)) => v.clone(),
        _ => return Err("certificate without CKA_VALUE".into()),
    };
    let always_authenticate = matches!(
        session
            .get_attributes(key, &[AttributeType::AlwaysAuthenticate])
            .ok()
            .as_deref(),
        Some([Attribute::AlwaysAuthenticate(true)])
    );
    let mechanism = match alg {
        Algorithm::Rsa2048 => Mechanism::Sha256RsaPkcs,
        _ => Mechanism::EcdsaSha256,
    };
    session
        .sign_init(&mechanism, key)
        .map_err(e("C_SignInit"))?;
    if always_authenticate {
        session
            .login(UserType::ContextSpecific, Some(&pin))
            .map_err(e("C_Login(CKU_CONTEXT_SPECIFIC)"))?;
    }
    session.sign_update(data).map_err(e("C_SignUpdate"))?;
    let signature = session.sign_final().map_err(e("C_SignFinal"))?;
    drop(session);
    p11.finalize().map_err(e("C_Finalize"))?;
    Ok(P11Signature {
        token,
        signature,
        certificate,
        always_authenticate,
    })
}

/// The name of the reader of the private pcscd
/// ([`tamga_testkit::pcscd::Private`]) ykcs11 needs: ykcs11 2.2 only lists
/// readers whose name starts with "Yubico".
pub const YUBICO_NAME: &str = "Yubico Tamga vpcd";

/// That reader's name as PC/SC lists it (vpcd adds ` 00 00`).
pub const YUBICO_READER: &str = "Yubico Tamga vpcd 00 00";

/// A `tamga-vcard` process on `state` (a card's state directory) and vpcd
/// `port`, killed by pid when dropped.
pub struct VcardProcess(std::process::Child);

impl VcardProcess {
    /// Start it, tracing to `trace`.
    pub fn start(state: &Path, port: u16, trace: &Path) -> VcardProcess {
        let bin = tamga_hil::vcard_binary().expect("tamga-vcard");
        let child = Command::new(bin)
            .arg("--state")
            .arg(state)
            .args(["--vpcd", &tamga_testkit::vpcd::address(port), "--trace"])
            .arg(trace)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tamga-vcard");
        VcardProcess(child)
    }
}

impl Drop for VcardProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
