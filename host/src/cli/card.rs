//! Card-level commands: readers, status, init, pin.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use serde_json::json;
use tamga::audit::Audit;
use tamga::piv::{MgmtKey, Piv};
use tamga::transport::{self, Transport};
use tamga::{Error, secrets};
use tamga_spec::{Algorithm, KeyRef, ObjectTag};

use super::SecretArgs;

/// What every command needs.
pub struct Ctx {
    /// `--card`.
    pub card: Option<String>,
    /// `--wait` seconds.
    pub wait: u64,
    /// `--create`: a missing `emu:` file is a new card.
    pub create: bool,
    /// `--json`.
    pub json: bool,
    /// The audit log.
    pub audit: Audit,
}

impl Ctx {
    /// Open the chosen card and select PIV.
    pub fn open(&self) -> Result<Piv<Box<dyn Transport>>, Error> {
        open_card(self.card.as_deref(), self.wait, self.create)
    }
}

/// Open the card `card` names (`emu:FILE`, a reader, or the only card) within
/// `wait` seconds, and select PIV. A missing `emu:` file is a new card only
/// when `create`.
pub fn open_card(
    card: Option<&str>,
    wait: u64,
    create: bool,
) -> Result<Piv<Box<dyn Transport>>, Error> {
    let t: Box<dyn Transport> = match card {
        Some(s) if s.starts_with("emu:") => {
            let path = std::path::Path::new(&s["emu:".len()..]);
            if !create && !path.exists() {
                return Err(Error::Invalid(format!(
                    "{} does not exist: no emulated card there (a typo?); give --create to make a new one",
                    path.display()
                )));
            }
            transport::open(Some(s))?
        }
        q => Box::new(transport::pcsc::PcscCard::open(
            q,
            Duration::from_secs(wait),
        )?),
    };
    let mut piv = Piv::new(t);
    piv.select()?;
    Ok(piv)
}

/// `tamga readers`.
pub fn readers(ctx: &Ctx) -> Result<(), Error> {
    let list = match transport::pcsc::readers() {
        Ok(l) => l,
        Err(Error::NoReader) => vec![],
        Err(e) => return Err(e),
    };
    if ctx.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(());
    }
    if list.is_empty() {
        println!("no readers");
    }
    for r in list {
        match r.atr {
            Some(atr) => println!("[{}] {}  card, ATR {atr}", r.index, r.name),
            None => println!("[{}] {}  empty", r.index, r.name),
        }
    }
    Ok(())
}

fn slot_name(slot: KeyRef) -> &'static str {
    match slot {
        KeyRef::Authentication => "9A authentication (NCA auth)",
        KeyRef::Signature => "9C signature (NCA EDS)",
        KeyRef::KeyManagement => "9D key management",
        KeyRef::CardAuthentication => "9E card authentication",
        _ => "retired",
    }
}

/// What the CA says of a certificate: `valid`, `revoked (reason)`, or why it
/// could not say.
fn ca_word(ca: &dyn tamga::ca::CaClient, der: &[u8]) -> String {
    use der::Decode;
    let Ok(c) = x509_cert::Certificate::from_der(der) else {
        return "unreadable certificate".into();
    };
    let Ok(serial) = tamga_pki::Serial::from_bytes(c.tbs_certificate().serial_number().as_bytes())
    else {
        return "bad serial".into();
    };
    match ca.record(&serial) {
        Ok(r) => match (r.status, r.revocation_reason) {
            (tamga_pki::CertStatus::Valid, _) if r.awaiting_confirmation() => {
                "valid (a renewal awaiting confirmation)".into()
            }
            (tamga_pki::CertStatus::Valid, _) => "valid".into(),
            (_, Some(reason)) => format!("revoked ({})", reason.as_str()),
            (_, None) => "revoked".into(),
        },
        Err(e) => format!("unknown ({e})"),
    }
}

/// Days from now to a certificate's notAfter (negative once expired).
fn days_left(der: &[u8]) -> Option<i64> {
    use der::Decode;
    let c = x509_cert::Certificate::from_der(der).ok()?;
    let end = c
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration()
        .as_secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some((i64::try_from(end).ok()? - i64::try_from(now).ok()?).div_euclid(86400))
}

/// Whether the certificate `der` is for the public key `key`.
fn certifies(der: &[u8], key: &tamga::piv::PublicKey) -> bool {
    use der::{Decode, Encode};
    let Ok(c) = x509_cert::Certificate::from_der(der) else {
        return false;
    };
    let (Ok(a), Ok(b)) = (
        c.tbs_certificate().subject_public_key_info().to_der(),
        key.spki_der(),
    ) else {
        return false;
    };
    a == b
}

/// `tamga status`: the card; with `--ca`/`--ca-url`, what the CA says of its certificates.
pub fn status(ctx: &Ctx, ca: &super::nca::CaArgs) -> Result<(), Error> {
    let ca = if ca.ca.is_some() || ca.ca_url.is_some() {
        Some(ca.open_read_only()?)
    } else {
        None
    };
    let mut piv = ctx.open()?;
    let where_ = piv.channel().transport().describe();
    let serial = piv.serial()?;
    let version = piv.version()?;
    let pin = piv.metadata(KeyRef::Pin)?;
    let puk = piv.metadata(KeyRef::Puk)?;
    let mgmt = piv.metadata(KeyRef::Management)?;
    let mut warnings: Vec<String> = vec![];
    if pin.as_ref().and_then(|m| m.is_default) == Some(true) {
        warnings.push(
            "the PIN is the factory default: change it (tamga init / tamga pin change)".into(),
        );
    }
    if puk.as_ref().and_then(|m| m.is_default) == Some(true) {
        warnings.push("the PUK is the factory default: change it (tamga init)".into());
    }
    if mgmt.as_ref().and_then(|m| m.is_default) == Some(true) {
        warnings.push(
            "the management key is the factory default: personalize the card (tamga init)".into(),
        );
    }
    let mut slots = vec![];
    for slot in [
        KeyRef::Authentication,
        KeyRef::Signature,
        KeyRef::KeyManagement,
        KeyRef::CardAuthentication,
    ] {
        let meta = piv.metadata(slot)?;
        let cert = piv.read_certificate(slot)?;
        let mut cert_info = cert.as_deref().map(tamga::certinfo::describe);
        if let (Some(info), Some(der)) = (cert_info.as_mut(), cert.as_deref()) {
            let days = days_left(der);
            info["days_left"] = json!(days);
            info["expired"] = json!(days.is_some_and(|d| d < 0));
            let matches = meta
                .as_ref()
                .and_then(|m| m.public.as_ref())
                .is_some_and(|k| certifies(der, k));
            info["for_the_slots_key"] = json!(matches);
            if !matches {
                warnings.push(format!(
                    "slot {:02X}: the certificate is not for the slot's key (an interrupted enrolment or renewal): enrol or renew",
                    slot.to_u8()
                ));
            }
            if days.is_some_and(|d| d < 0) {
                warnings.push(format!(
                    "slot {:02X}: the certificate has expired: enrol again",
                    slot.to_u8()
                ));
            } else if days.is_some_and(|d| d < 30) {
                warnings.push(format!(
                    "slot {:02X}: the certificate expires within 30 days: renew",
                    slot.to_u8()
                ));
            }
            if let Some(ca) = &ca {
                let word = ca_word(ca.as_ref(), der);
                if word.starts_with("revoked") {
                    warnings.push(format!(
                        "slot {:02X}: the certificate is {word} at the CA: enrol again",
                        slot.to_u8()
                    ));
                }
                info["at_the_ca"] = json!(word);
            }
        }
        slots.push(json!({
            "slot": format!("{:02X}", slot.to_u8()),
            "name": slot_name(slot),
            "key": meta.as_ref().map(|m| json!({
                "algorithm": Algorithm::try_from(m.alg).map(|a| format!("{a:?}")).unwrap_or_else(|b| format!("{b:02X}")),
                "origin": m.origin.map(|o| format!("{o:?}").to_lowercase()),
                "pin_policy": m.policy.map(|p| match p.0 { 1 => "never", 2 => "once", 3 => "always", _ => "default" }),
            })),
            "certificate": cert_info,
        }));
    }
    let tries = |m: &Option<tamga::piv::Metadata>| m.as_ref().and_then(|m| m.retries);
    let report = json!({
        "card": where_,
        "serial": serial,
        "version": format!("{}.{}.{}", version[0], version[1], version[2]),
        "pin": tries(&pin).map(|(t, l)| json!({"tries_left": l, "tries": t})),
        "puk": tries(&puk).map(|(t, l)| json!({"tries_left": l, "tries": t})),
        "management_key": mgmt.as_ref().map(|m| Algorithm::try_from(m.alg).map(|a| format!("{a:?}")).unwrap_or_default()),
        "slots": slots,
        "warnings": warnings,
    });
    if ctx.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(());
    }
    println!("{where_}");
    println!(
        "serial {serial}, PIV compatibility {}.{}.{}",
        version[0], version[1], version[2]
    );
    if let (Some((pt, pl)), Some((ut, ul))) = (tries(&pin), tries(&puk)) {
        println!("PIN {pl}/{pt} tries left, PUK {ul}/{ut} tries left");
    }
    for s in report["slots"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or("");
        match (&s["key"], &s["certificate"]) {
            (serde_json::Value::Null, _) => println!("  {name}: empty"),
            (k, c) => {
                println!(
                    "  {name}: {} key ({}), PIN {}",
                    k["algorithm"].as_str().unwrap_or("?"),
                    k["origin"].as_str().unwrap_or("?"),
                    k["pin_policy"].as_str().unwrap_or("?")
                );
                if let Some(c) = c.as_object() {
                    println!(
                        "      certificate: {} | serial {} | valid {} to {} ({} days left){}",
                        c.get("subject").and_then(|v| v.as_str()).unwrap_or("?"),
                        c.get("serial").and_then(|v| v.as_str()).unwrap_or("?"),
                        c.get("not_before").and_then(|v| v.as_str()).unwrap_or("?"),
                        c.get("not_after").and_then(|v| v.as_str()).unwrap_or("?"),
                        c.get("days_left").and_then(|v| v.as_i64()).unwrap_or(0),
                        c.get("at_the_ca")
                            .and_then(|v| v.as_str())
                            .map(|w| format!(" | at the CA: {w}"))
                            .unwrap_or_default(),
                    );
                } else {
                    println!("      no certificate");
                }
            }
        }
    }
    for w in warnings {
        println!("warning: {w}");
    }
    Ok(())
}

/// `tamga init` options.
#[derive(clap::Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Where to write the new random AES-256 management key (hex, mode 0600).
    #[arg(long)]
    new_mgmt_key_file: PathBuf,
    /// File holding the new PIN (else TAMGA_NEW_PIN, else a prompt).
    #[arg(long)]
    new_pin_file: Option<PathBuf>,
    /// File holding the current PUK (else TAMGA_PUK, else the factory default).
    #[arg(long)]
    puk_file: Option<PathBuf>,
    /// File holding the new PUK (else TAMGA_NEW_PUK, else a prompt).
    #[arg(long)]
    new_puk_file: Option<PathBuf>,
}

fn write_secret_file(path: &PathBuf, content: &str) -> Result<(), Error> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = opts.open(path).map_err(io)?;
    writeln!(f, "{content}").map_err(io)?;
    f.sync_all().map_err(io)
}

/// `tamga init`.
pub fn init(ctx: &Ctx, a: &InitArgs) -> Result<(), Error> {
    if a.new_mgmt_key_file.exists() {
        return Err(Error::Invalid(format!(
            "{} exists: choose a new file for the new management key",
            a.new_mgmt_key_file.display()
        )));
    }
    let old_pin = secrets::pin(a.secrets.pin_file.as_deref(), "TAMGA_PIN", "current PIN")?;
    let new_pin = secrets::new_pin(a.new_pin_file.as_deref(), "TAMGA_NEW_PIN", "new PIN")?;
    let old_puk = match (&a.puk_file, std::env::var("TAMGA_PUK")) {
        (None, Err(_)) => tamga::piv::Pin::new(tamga_spec::defaults::PUK)?,
        (f, _) => secrets::pin(f.as_deref(), "TAMGA_PUK", "current PUK")?,
    };
    let new_puk = secrets::new_pin(a.new_puk_file.as_deref(), "TAMGA_NEW_PUK", "new PUK")?;
    let key = secrets::mgmt_key(a.secrets.mgmt_key_file.as_deref())?;
    let mut piv = ctx.open()?;
    let serial = piv.serial()?;
    // Every secret is checked before anything changes: a wrong one changes nothing.
    piv.authenticate(&key)?;
    piv.verify_pin(&old_pin)?;
    // The PUK "changed" to itself: checked, unchanged.
    piv.change(true, &old_puk, &old_puk)?;
    let mut raw = zeroize::Zeroizing::new([0u8; 32]);
    tamga::rng::fill(raw.as_mut_slice())?;
    let new_key = MgmtKey::new(Algorithm::Aes256, raw.as_slice())?;
    // The key file first: a card whose key nobody knows is lost.
    write_secret_file(&a.new_mgmt_key_file, &new_key.to_hex())?;
    let mut done: Vec<&str> = Vec::new();
    let steps = (|| {
        piv.change(true, &old_puk, &new_puk)?;
        done.push("the PUK is the new one");
        piv.change(false, &old_pin, &new_pin)?;
        done.push("the PIN is the new one");
        piv.set_management_key(&new_key)?;
        done.push("the management key is the one in the new key file");
        let mut guid = [0u8; 16];
        tamga::rng::fill(&mut guid)?;
        piv.write_object(ObjectTag::CHUID, &tamga::piv::chuid(&guid))?;
        piv.write_object(ObjectTag::CCC, &tamga::piv::ccc(&guid))?;
        Ok::<(), Error>(())
    })();
    // A card pulled half-way: say what it holds now, so the operator can finish.
    let steps = steps.map_err(|e| {
        if done.is_empty() {
            return e;
        }
        Error::Invalid(format!(
            "init stopped ({e}) with {}; the rest is as before (the key file {} is kept): finish with tamga pin change / tamga init using those",
            done.join(", "),
            a.new_mgmt_key_file.display()
        ))
    });
    let outcome = if steps.is_ok() { "ok" } else { "failed" };
    ctx.audit.record(
        "init",
        Some(serial),
        outcome,
        json!({"management_key": "AES-256", "key_file": a.new_mgmt_key_file.display().to_string()}),
    );
    steps?;
    println!(
        "card {serial} personalized: PIN and PUK changed, AES-256 management key in {}",
        a.new_mgmt_key_file.display()
    );
    Ok(())
}

/// `tamga pin ...`.
#[derive(Subcommand, Debug)]
pub enum PinCommand {
    /// Change the PIN (current and new from files, TAMGA_PIN / TAMGA_NEW_PIN, or prompts).
    Change {
        /// File holding the current PIN.
        #[arg(long)]
        pin_file: Option<PathBuf>,
        /// File holding the new PIN.
        #[arg(long)]
        new_pin_file: Option<PathBuf>,
    },
    /// Unblock the PIN with the PUK, setting a new PIN.
    Unblock {
        /// File holding the PUK (else TAMGA_PUK, else a prompt).
        #[arg(long)]
        puk_file: Option<PathBuf>,
        /// File holding the new PIN.
        #[arg(long)]
        new_pin_file: Option<PathBuf>,
    },
    /// Show the PIN and PUK tries left (consumes none).
    Retries,
}

/// `tamga pin`.
pub fn pin(ctx: &Ctx, cmd: &PinCommand) -> Result<(), Error> {
    match cmd {
        PinCommand::Change {
            pin_file,
            new_pin_file,
        } => {
            let old = secrets::pin(pin_file.as_deref(), "TAMGA_PIN", "current PIN")?;
            let new = secrets::new_pin(new_pin_file.as_deref(), "TAMGA_NEW_PIN", "new PIN")?;
            let mut piv = ctx.open()?;
            let serial = piv.serial()?;
            let r = piv.change(false, &old, &new);
            ctx.audit.record(
                "pin change",
                Some(serial),
                if r.is_ok() { "ok" } else { "failed" },
                json!({}),
            );
            r?;
            println!("PIN changed");
        }
        PinCommand::Unblock {
            puk_file,
            new_pin_file,
        } => {
            let puk = secrets::pin(puk_file.as_deref(), "TAMGA_PUK", "PUK")?;
            let new = secrets::new_pin(new_pin_file.as_deref(), "TAMGA_NEW_PIN", "new PIN")?;
            let mut piv = ctx.open()?;
            let serial = piv.serial()?;
            let r = piv.unblock(&puk, &new);
            ctx.audit.record(
                "pin unblock",
                Some(serial),
                if r.is_ok() { "ok" } else { "failed" },
                json!({}),
            );
            r?;
            println!("PIN unblocked and set");
        }
        PinCommand::Retries => {
            let mut piv = ctx.open()?;
            let pin = piv.metadata(KeyRef::Pin)?.and_then(|m| m.retries);
            let puk = piv.metadata(KeyRef::Puk)?.and_then(|m| m.retries);
            if ctx.json {
                println!(
                    "{}",
                    json!({"pin": pin.map(|(t, l)| json!({"tries": t, "tries_left": l})),
                           "puk": puk.map(|(t, l)| json!({"tries": t, "tries_left": l}))})
                );
            } else {
                match (pin, puk) {
                    (Some((pt, pl)), Some((ut, ul))) => {
                        println!("PIN: {pl} of {pt} tries left\nPUK: {ul} of {ut} tries left")
                    }
                    _ => {
                        let left = piv.pin_tries()?;
                        println!(
                            "PIN: {}",
                            left.map_or("verified".to_string(), |l| format!("{l} tries left"))
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
