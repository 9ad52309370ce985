//! `tamga import`: a GOST key from a Kalkan PKCS#12 file (the NCA's key
//! container, such as its test kit's) onto the card with IMPORT KEY, and its
//! certificate when given.

use std::path::PathBuf;

use der::{Decode, DecodePem, Encode};
use serde_json::json;
use tamga::{Error, secrets};
use tamga_pki::gost::{Generation, PublicKey};
use tamga_spec::{Algorithm, KeyRef, PinPolicy};
use x509_cert::Certificate;

use super::SecretArgs;
use super::card::Ctx;

/// `tamga import` options.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The PKCS#12 file (.p12 / .pfx) holding a GOST key.
    p12: PathBuf,
    /// File holding the PKCS#12 password (else TAMGA_P12_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The key's certificate (PEM or DER) to write beside it; the card
    /// refuses the key unless it is this certificate's.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Slot: 9a, 9c (default: the NCA signature key), 9d or 9e.
    #[arg(long, default_value = "9c", value_parser = parse_slot)]
    slot: KeyRef,
    #[command(flatten)]
    secrets: SecretArgs,
}

fn parse_slot(s: &str) -> Result<KeyRef, String> {
    let byte = u8::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| e.to_string())?;
    match KeyRef::try_from(byte) {
        Ok(k) if k.is_key_slot() => Ok(k),
        _ => Err(format!("{s} is not a key slot (9a, 9c, 9d, 9e, 82-95)")),
    }
}

/// `tamga import`.
pub fn import(ctx: &Ctx, a: &ImportArgs) -> Result<(), Error> {
    fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
    let p12 = std::fs::read(&a.p12).map_err(io(&a.p12))?;
    let password = secrets::read(
        a.password_file.as_deref(),
        "TAMGA_P12_PASSWORD",
        "PKCS#12 password",
    )?;
    let key =
        tamga_pki::p12::gost_key(&p12, &password).map_err(|e| Error::Invalid(e.to_string()))?;
    let alg = match key.generation {
        Generation::Gost2004 => Algorithm::Gost2004,
        Generation::Gost2015 => Algorithm::Gost2015_512,
    };
    let cert = match &a.cert {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(io(path))?;
            let c = Certificate::from_der(&bytes)
                .or_else(|_| Certificate::from_pem(&bytes))
                .map_err(|e| {
                    Error::Invalid(format!("{}: not a certificate ({e})", path.display()))
                })?;
            let public = PublicKey::from_spki(c.tbs_certificate().subject_public_key_info())?
                .filter(|k| k.generation == key.generation)
                .ok_or_else(|| {
                    Error::Invalid(format!("{}: not a {alg:?} certificate", path.display()))
                })?;
            Some((c, public))
        }
        None => None,
    };
    let mgmt = secrets::mgmt_key(a.secrets.mgmt_key_file.as_deref())?;
    let mut piv = ctx.open()?;
    let serial = piv.serial().ok();
    let result = (|| {
        piv.authenticate(&mgmt)?;
        let point = cert.as_ref().map(|(_, k)| k.point.as_slice());
        piv.import_gost(a.slot, alg, &key.d, point, PinPolicy::Default)?;
        if let Some((c, _)) = &cert {
            let der = c
                .to_der()
                .map_err(|_| Error::Malformed { op: "certificate" })?;
            piv.write_certificate(a.slot, &der)?;
        }
        Ok::<(), Error>(())
    })();
    let slot = format!("{:02X}", a.slot.to_u8());
    let cert_serial = cert
        .as_ref()
        .map(|(c, _)| hex::encode(c.tbs_certificate().serial_number().as_bytes()));
    ctx.audit.record(
        "import",
        serial,
        if result.is_ok() { "ok" } else { "failed" },
        json!({"slot": slot, "algorithm": format!("{alg:?}"), "certificate": cert_serial}),
    );
    result?;
    if ctx.json {
        println!(
            "{}",
            json!({"slot": slot, "algorithm": format!("{alg:?}"), "certificate": cert_serial})
        );
    } else {
        println!(
            "imported the {alg:?} key into {slot}{}",
            cert_serial.map_or(String::new(), |s| format!(" with certificate {s}"))
        );
    }
    Ok(())
}
