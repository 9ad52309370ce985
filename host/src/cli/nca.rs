//! NCA commands: enroll (and the CA options they share).

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tamga::ca::{CaClient, RemoteCa};
use tamga::enroll::{self, Request};
use tamga::{Error, secrets};
use tamga_pki::{Applicant, LegalEntity, Role};
use tamga_spec::Algorithm;

use super::SecretArgs;
use super::card::Ctx;

/// Which CA to use.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CaArgs {
    /// A local CA directory (made by `tamga-ca init`), or `http://HOST:PORT` of a
    /// `tamga-ca serve`.
    #[arg(long, global = true, env = "TAMGA_CA")]
    pub ca: Option<String>,
    /// A remote CA (`tamga-ca serve`), as http://HOST:PORT or https://HOST[:PORT].
    #[arg(long, global = true, env = "TAMGA_CA_URL", conflicts_with = "ca")]
    pub ca_url: Option<String>,
    /// File holding the operator token of a remote CA (else TAMGA_CA_TOKEN).
    #[arg(long, global = true)]
    pub ca_token_file: Option<PathBuf>,
}

impl CaArgs {
    /// Open the chosen CA to operate it (issue, renew, revoke).
    pub fn open(&self, operator: &str) -> Result<Box<dyn CaClient>, Error> {
        self.open_as(Some(operator))
    }

    /// Open the chosen CA to read what it publishes (certificate, CRL): a local
    /// CA directory is opened without its key and nothing is written to it.
    pub fn open_read_only(&self) -> Result<Box<dyn CaClient>, Error> {
        self.open_as(None)
    }

    /// Whether the CA is a remote `tamga-ca serve` (`--ca-url`, or an `http(s)://` `--ca`).
    pub fn is_remote(&self) -> bool {
        self.ca_url.is_some()
            || self
                .ca
                .as_deref()
                .is_some_and(|c| c.starts_with("http://") || c.starts_with("https://"))
    }

    fn open_as(&self, operator: Option<&str>) -> Result<Box<dyn CaClient>, Error> {
        let is_url = |c: &String| c.starts_with("http://") || c.starts_with("https://");
        let url = self
            .ca_url
            .clone()
            .or_else(|| self.ca.clone().filter(is_url));
        if let Some(url) = url {
            let token = match (&self.ca_token_file, std::env::var("TAMGA_CA_TOKEN")) {
                (Some(f), _) => {
                    Some(secrets::read(Some(f), "TAMGA_CA_TOKEN", "CA token")?.to_string())
                }
                (None, Ok(t)) => Some(t),
                (None, Err(_)) => None,
            };
            return Ok(Box::new(RemoteCa::new(&url, token)?));
        }
        match &self.ca {
            Some(dir) => local_ca(std::path::Path::new(dir), operator),
            None => Err(Error::Invalid(
                "no certification authority: give --ca DIR, --ca-url URL, or set TAMGA_CA".into(),
            )),
        }
    }
}

#[cfg(feature = "local-ca")]
fn local_ca(dir: &std::path::Path, operator: Option<&str>) -> Result<Box<dyn CaClient>, Error> {
    Ok(match operator {
        Some(op) => Box::new(tamga::ca::LocalCa::open(dir, op)?),
        None => Box::new(tamga::ca::PublishedLocalCa::open(dir)?),
    })
}

#[cfg(not(feature = "local-ca"))]
fn local_ca(dir: &std::path::Path, _: Option<&str>) -> Result<Box<dyn CaClient>, Error> {
    Err(Error::Invalid(format!(
        "{}: this tamga is built without local CA support (feature local-ca); use --ca-url",
        dir.display()
    )))
}

/// Key algorithm for `--alg`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSA-2048 (the NCA norm for individuals).
    Rsa2048,
    /// ECC P-256.
    P256,
    /// Signature key GOST 34.10-2015 512-bit, authentication key RSA-2048:
    /// the legal-entity form's keys.
    Gost2015,
    /// Signature key GOST 34.310-2004, authentication key RSA-2048.
    Gost2004,
}

impl Alg {
    /// (authentication key, signature key) algorithms.
    pub fn keys(self) -> (Algorithm, Algorithm) {
        match self {
            Alg::Rsa2048 => (Algorithm::Rsa2048, Algorithm::Rsa2048),
            Alg::P256 => (Algorithm::EccP256, Algorithm::EccP256),
            Alg::Gost2015 => (Algorithm::Rsa2048, Algorithm::Gost2015_512),
            Alg::Gost2004 => (Algorithm::Rsa2048, Algorithm::Gost2004),
        }
    }
}

/// A legal-entity role for `--role`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    /// Head of the organisation.
    Head,
    /// Employee who may sign.
    MaySign,
    /// Finance.
    Finance,
    /// Human resources.
    Hr,
    /// Employee.
    Employee,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Head => Role::Head,
            RoleArg::MaySign => Role::MaySign,
            RoleArg::Finance => Role::Finance,
            RoleArg::Hr => Role::Hr,
            RoleArg::Employee => Role::Employee,
        }
    }
}

/// `tamga enroll` options.
#[derive(clap::Args, Debug)]
pub struct EnrollArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Applicant data as a JSON file (instead of the flags below).
    #[arg(long, conflicts_with_all = ["iin", "surname", "name"])]
    applicant: Option<PathBuf>,
    /// Individual identification number (12 digits).
    #[arg(long, required_unless_present = "applicant")]
    iin: Option<String>,
    /// Surname.
    #[arg(long, required_unless_present = "applicant")]
    surname: Option<String>,
    /// Given name.
    #[arg(long, required_unless_present = "applicant")]
    name: Option<String>,
    /// Patronymic.
    #[arg(long)]
    patronymic: Option<String>,
    /// E-mail address.
    #[arg(long)]
    email: Option<String>,
    /// Phone number.
    #[arg(long)]
    phone: Option<String>,
    /// Locality (city).
    #[arg(long)]
    locality: Option<String>,
    /// Region.
    #[arg(long)]
    region: Option<String>,
    /// Legal entity: business identification number (12 digits).
    #[arg(long, requires_all = ["org", "role"])]
    bin: Option<String>,
    /// Legal entity: organisation name.
    #[arg(long, requires = "bin")]
    org: Option<String>,
    /// Legal entity: the employee's role.
    #[arg(long, requires = "bin")]
    role: Option<RoleArg>,
    /// Key algorithm (default: RSA-2048 when the card supports it, else
    /// P-256; for an employee of a legal entity, as the standard's form has
    /// it, gost2015 when the card supports GOST 34.10-2015).
    #[arg(long, value_enum)]
    alg: Option<Alg>,
    /// Generate new keys and certificates even if the card holds some.
    #[arg(long)]
    replace: bool,
}

fn applicant(a: &EnrollArgs) -> Result<Applicant, Error> {
    let invalid = Error::Pki;
    if let Some(path) = &a.applicant {
        let text = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let app: Applicant = serde_json::from_slice(&text)
            .map_err(|e| Error::Invalid(format!("{}: {e}", path.display())))?;
        app.validate().map_err(invalid)?;
        return Ok(app);
    }
    let iin = a.iin.as_deref().unwrap_or("").parse().map_err(invalid)?;
    let legal_entity = match (&a.bin, &a.org, a.role) {
        (Some(bin), Some(org), Some(role)) => Some(LegalEntity {
            bin: bin.parse().map_err(invalid)?,
            name: org.clone(),
            role: role.into(),
        }),
        _ => None,
    };
    let app = Applicant {
        iin,
        surname: a.surname.clone().unwrap_or_default(),
        name: a.name.clone().unwrap_or_default(),
        patronymic: a.patronymic.clone(),
        email: a.email.clone(),
        phone: a.phone.as_deref().map(tamga_pki::normalize_phone),
        locality: a.locality.clone(),
        region: a.region.clone(),
        legal_entity,
    };
    app.validate().map_err(invalid)?;
    Ok(app)
}

/// `tamga enroll`.
pub fn enroll(ctx: &Ctx, ca: &CaArgs, a: &EnrollArgs) -> Result<(), Error> {
    let applicant = applicant(a)?;
    let ca = ca.open(&ctx.audit.operator)?;
    let pin = secrets::pin(a.secrets.pin_file.as_deref(), "TAMGA_PIN", "PIN")?;
    let mgmt = secrets::mgmt_key(a.secrets.mgmt_key_file.as_deref())?;
    let mut piv = ctx.open()?;
    let info = piv.select()?;
    let has = |alg: Algorithm| info.algorithms.contains(&alg.to_u8());
    let chosen = match a.alg {
        Some(alg) => alg,
        None if applicant.legal_entity.is_some()
            && has(Algorithm::Gost2015_512)
            && has(Algorithm::Rsa2048) =>
        {
            Alg::Gost2015
        }
        None if has(Algorithm::Rsa2048) => Alg::Rsa2048,
        None => Alg::P256,
    };
    let (alg, signature_alg) = chosen.keys();
    let bar = spinner(ctx);
    let req = Request {
        applicant: applicant.clone(),
        alg,
        signature_alg: (signature_alg != alg).then_some(signature_alg),
        replace: a.replace,
    };
    let result = enroll::enroll(&mut piv, ca.as_ref(), &req, &pin, &mgmt, &mut |step| {
        bar.set_message(step.to_string())
    });
    bar.finish_and_clear();
    let serial = piv.serial().ok();
    match &result {
        Ok(r) => ctx.audit.record(
            "enroll",
            serial,
            "ok",
            json!({"iin": applicant.iin.to_string(), "ca": ca.describe(), "certificates": r.slots}),
        ),
        Err(e) => ctx.audit.record(
            "enroll",
            serial,
            "failed",
            json!({"iin": applicant.iin.to_string(), "ca": ca.describe(), "error": e.to_string()}),
        ),
    }
    let r = result?;
    print_report(
        ctx,
        &r,
        &format!(
            "card {} enrolled ({:?}), {}",
            r.card_serial,
            alg,
            ca.describe()
        ),
    );
    Ok(())
}

/// Print an enrolment or renewal report (or its JSON).
fn print_report(ctx: &Ctx, r: &enroll::Report, headline: &str) {
    if ctx.json {
        let steps: Vec<_> = r
            .steps
            .iter()
            .map(|(n, d)| json!({"step": n, "ms": d.as_secs_f64() * 1e3}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "card_serial": r.card_serial, "certificates": r.slots, "steps": steps,
                "apdus": r.apdus, "bytes": r.bytes, "total_ms": r.total.as_secs_f64() * 1e3,
            }))
            .unwrap_or_default()
        );
        return;
    }
    println!("{headline}");
    for s in &r.slots {
        println!(
            "  {} {:<16} {:<17} serial {}  {}",
            s.slot, s.profile, s.outcome, s.serial, s.subject
        );
    }
    println!("steps:");
    for (n, d) in &r.steps {
        println!("  {:>9.1} ms  {n}", d.as_secs_f64() * 1e3);
    }
    println!(
        "total {:.1} ms, {} APDUs, {} bytes on the wire",
        r.total.as_secs_f64() * 1e3,
        r.apdus,
        r.bytes
    );
}

/// `tamga renew` options.
#[derive(clap::Args, Debug)]
pub struct RenewArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Key algorithm for the new keys (default: each slot's current key's).
    #[arg(long, value_enum)]
    alg: Option<Alg>,
}

fn spinner(ctx: &Ctx) -> ProgressBar {
    let bar = if ctx.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or(ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// `tamga renew`: new keys and certificates, the request signed by the current keys.
pub fn renew(ctx: &Ctx, ca: &CaArgs, a: &RenewArgs) -> Result<(), Error> {
    let ca = ca.open(&ctx.audit.operator)?;
    let pin = secrets::pin(a.secrets.pin_file.as_deref(), "TAMGA_PIN", "PIN")?;
    let mgmt = secrets::mgmt_key(a.secrets.mgmt_key_file.as_deref())?;
    let mut piv = ctx.open()?;
    if piv.metadata(tamga_spec::KeyRef::Signature)?.is_none() {
        return Err(Error::Invalid(
            "the card has no signature key: enrol first".into(),
        ));
    }
    let keys = a.alg.map(Alg::keys);
    let bar = spinner(ctx);
    let result = enroll::renew(&mut piv, ca.as_ref(), keys, &pin, &mgmt, &mut |s| {
        bar.set_message(s.to_string())
    });
    bar.finish_and_clear();
    let serial = piv.serial().ok();
    match &result {
        Ok(r) => ctx.audit.record(
            "renew",
            serial,
            "ok",
            json!({"ca": ca.describe(), "certificates": r.slots}),
        ),
        Err(e) => ctx.audit.record(
            "renew",
            serial,
            "failed",
            json!({"ca": ca.describe(), "error": e.to_string()}),
        ),
    }
    let r = result?;
    print_report(
        ctx,
        &r,
        &format!(
            "card {} renewed ({}), {}",
            r.card_serial,
            a.alg
                .map_or("the current algorithms".to_string(), |a| format!("{a:?}")),
            ca.describe()
        ),
    );
    Ok(())
}
