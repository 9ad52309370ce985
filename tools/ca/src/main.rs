//! `tamga-ca`: the reference NCA issuing CA on the command line.

use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tamga_ca::{
    Application, Ca, CaConfig, Error, InitOptions, KeyAlgorithm, RenewRequest, Result,
    RevocationReason,
};

#[derive(Parser)]
#[command(name = "tamga-ca", version, about = "Reference NCA issuing CA")]
struct Cli {
    /// CA directory (ca.pem, ca.key, config.json, ca.db).
    #[arg(long, global = true, env = "TAMGA_CA_DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a CA: key, certificate (self-signed root or under --parent), config, store.
    Init(InitArgs),
    /// Issue certificates from an application (JSON) or a batch (one JSON per line).
    Issue(IssueArgs),
    /// Renew: new certificates for a request signed by the holder's current key (the old
    /// ones stay valid until `confirm`).
    Renew(RenewArgs),
    /// Confirm renewals once the new certificates are on the card: their predecessors
    /// become superseded.
    Confirm(ConfirmArgs),
    /// List certificates.
    List(ListArgs),
    /// Show one certificate (record and PEM).
    Show(ShowArgs),
    /// Revoke a certificate.
    Revoke(RevokeArgs),
    /// Issue new CRLs, one per issuing key.
    Crl(CrlArgs),
    /// List the issuing keys (key id, algorithm, subject, validity).
    Issuers(IssuersArgs),
    /// Serve the HTTP API.
    Serve(ServeArgs),
    /// Measure issuance throughput (P-256 and RSA-2048 CA keys) against openssl
    /// (scratch CAs under --dir if given, else the temporary directory).
    Bench(BenchArgs),
}

/// `tamga-ca init` options.
#[derive(Args)]
struct InitArgs {
    /// CA key algorithm; two, comma-separated, for an RSA or P-256 key and a GOST
    /// key side by side (`rsa2048,gost2015`, as the NCA runs nca_rsa and nca_gost).
    /// The first is the primary; the second lives in issuers/<algorithm>/.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "p256")]
    key: Vec<KeyAlgorithm>,
    /// CN of the CA certificate.
    #[arg(long, default_value = "Tamga NCA Reference CA")]
    cn: String,
    /// Directory of the root CA that signs this issuing CA.
    #[arg(long)]
    parent: Option<PathBuf>,
    /// Use this PKCS#8 key file instead of generating the first key.
    #[arg(long)]
    import_key: Option<PathBuf>,
    /// Validity of the CA certificate in days.
    #[arg(long, default_value_t = 3650)]
    ca_validity_days: u32,
    /// Validity of issued certificates in days.
    #[arg(long, default_value_t = 365)]
    validity_days: u32,
    /// Hours between a CRL's thisUpdate and nextUpdate.
    #[arg(long, default_value_t = 24)]
    crl_period_hours: u32,
    /// Base URL of the CRL distribution point.
    #[arg(long)]
    crl_base_url: Option<String>,
    /// Base URL of the CA certificate (AIA caIssuers).
    #[arg(long)]
    aia_base_url: Option<String>,
    /// File name stem used in the URLs.
    #[arg(long, default_value = "tamga-ca")]
    name: String,
}

/// `tamga-ca issue` options.
#[derive(Args)]
struct IssueArgs {
    /// Application JSON file.
    #[arg(long, conflicts_with = "batch", required_unless_present = "batch")]
    application: Option<PathBuf>,
    /// File with one application JSON per line; prints `serial<TAB>new|existing` per
    /// line once its chunk is committed.
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Applications per transaction in batch mode.
    #[arg(long, default_value_t = 64)]
    chunk: usize,
    /// Write the certificate PEM here (single application).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// `tamga-ca renew` options.
#[derive(Args)]
struct RenewArgs {
    /// Renewal request JSON file.
    #[arg(long)]
    request: PathBuf,
}

/// `tamga-ca confirm` options.
#[derive(Args)]
struct ConfirmArgs {
    /// Serials (hex) of the new certificates.
    #[arg(required = true)]
    serials: Vec<String>,
}

/// `tamga-ca list` options.
#[derive(Args)]
struct ListArgs {
    /// Only this IIN.
    #[arg(long)]
    iin: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

/// `tamga-ca show` options.
#[derive(Args)]
struct ShowArgs {
    /// Serial (hex).
    serial: String,
}

/// `tamga-ca revoke` options.
#[derive(Args)]
struct RevokeArgs {
    /// Serial (hex).
    serial: String,
    /// Reason.
    #[arg(long, value_enum)]
    reason: RevocationReason,
}

/// `tamga-ca crl` options.
#[derive(Args)]
struct CrlArgs {
    /// Output file of the first issuing key's CRL; a second key's goes beside it
    /// with `-<algorithm>` added to the stem (ca.crl, ca-gost2015.crl).
    #[arg(long)]
    out: PathBuf,
    /// Only this issuing key (key id, algorithm, or `gost`); its CRL goes to --out.
    #[arg(long)]
    issuer: Option<String>,
    /// PEM instead of DER.
    #[arg(long)]
    pem: bool,
}

/// `tamga-ca issuers` options.
#[derive(Args)]
struct IssuersArgs {
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

/// `tamga-ca serve` options.
#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (loopback unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:8700")]
    listen: String,
    /// File holding the operator token.
    #[arg(long)]
    token_file: PathBuf,
    /// Allow a non-loopback listen address.
    #[arg(long)]
    allow_remote: bool,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = tamga_pki::MAX_REQUEST_LEN)]
    max_body: usize,
}

/// `tamga-ca bench` options.
#[derive(Args)]
struct BenchArgs {
    /// Certificates per run.
    #[arg(long, default_value_t = 2000)]
    count: usize,
    /// Applications per transaction.
    #[arg(long, default_value_t = 500)]
    chunk: usize,
    /// Skip the openssl comparison.
    #[arg(long)]
    no_openssl: bool,
}

fn dir(cli: &Option<PathBuf>) -> Result<&Path> {
    cli.as_deref()
        .ok_or_else(|| Error::Config("--dir (or TAMGA_CA_DIR) is required".into()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    const MAX_INPUT: usize = 64 * 1024 * 1024;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_INPUT as u64 {
        return Err(Error::too_large(MAX_INPUT));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// The calendar date (UTC) of Unix seconds, as YYYY-MM-DD.
fn date(secs: i64) -> String {
    let t = u64::try_from(secs)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(std::time::Duration::from_secs(s)).ok());
    match t {
        Some(t) => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
        None => format!("@{secs}"),
    }
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::io("stdout", e)
}

fn pem(label: &str, der: &[u8]) -> Result<String> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| Error::Crypto(e.to_string()))
}

fn init(d: &Path, a: InitArgs, out: &mut impl Write) -> Result<bool> {
    let config = CaConfig {
        validity_days: a.validity_days,
        crl_period_hours: a.crl_period_hours,
        crl_base_url: a.crl_base_url,
        aia_base_url: a.aia_base_url,
        name: a.name,
    };
    let (first, also) = a
        .key
        .split_first()
        .ok_or_else(|| Error::Config("--key names no algorithm".into()))?;
    let opts = InitOptions {
        key: *first,
        also: also.to_vec(),
        common_name: a.cn,
        parent: a.parent,
        import_key: a.import_key,
        ca_validity_days: a.ca_validity_days,
        config,
    };
    let ca = Ca::init(d, &opts)?;
    for i in ca.issuers() {
        writeln!(
            out,
            "CA created in {}: {} ({}, key id {})",
            i.dir().display(),
            i.certificate().tbs_certificate().subject(),
            i.describe(),
            i.id()
        )
        .map_err(stdout_err)?;
    }
    Ok(true)
}

fn issue(ca: &Ca, a: IssueArgs, out: &mut impl Write) -> Result<bool> {
    let Some(path) = a.application else {
        return match a.batch {
            Some(batch) => issue_batch(ca, &batch, a.chunk, out),
            None => Ok(true),
        };
    };
    let app = Application::from_json(&read(&path)?)?;
    let issued = ca.issue(&app, "cli")?;
    match a.out {
        Some(p) => std::fs::write(&p, &issued.certificate).map_err(|e| Error::io(&p, e))?,
        None => out
            .write_all(issued.certificate.as_bytes())
            .map_err(stdout_err)?,
    }
    eprintln!(
        "serial {} ({})",
        issued.serial,
        if issued.existing { "existing" } else { "new" }
    );
    Ok(true)
}

/// Issues one application per line, `chunk` per transaction; false when a line failed.
fn issue_batch(ca: &Ca, path: &Path, chunk: usize, out: &mut impl Write) -> Result<bool> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut ok = true;
    let mut pending: Vec<(usize, Application)> = Vec::new();
    let mut flush = |pending: &mut Vec<(usize, Application)>, ok: &mut bool| -> Result<()> {
        let apps: Vec<Application> = pending.iter().map(|(_, a)| a.clone()).collect();
        let res = ca.issue_batch(&apps, "cli")?;
        for ((line, _), r) in pending.iter().zip(res) {
            match r {
                Ok(i) => writeln!(
                    out,
                    "{}\t{}",
                    i.serial,
                    if i.existing { "existing" } else { "new" }
                )
                .map_err(stdout_err)?,
                Err(e) => {
                    *ok = false;
                    eprintln!("line {line}: {e}");
                }
            }
        }
        out.flush().map_err(stdout_err)?;
        pending.clear();
        Ok(())
    };
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        match Application::from_json(line.as_bytes()) {
            Ok(a) => pending.push((i + 1, a)),
            Err(e) => {
                ok = false;
                eprintln!("line {}: {e}", i + 1);
            }
        }
        if pending.len() >= chunk.max(1) {
            flush(&mut pending, &mut ok)?;
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut ok)?;
    }
    Ok(ok)
}

fn renew(ca: &Ca, a: RenewArgs, out: &mut impl Write) -> Result<bool> {
    let req = RenewRequest::from_json(&read(&a.request)?)?;
    for i in ca.renew(&req, "cli")? {
        eprintln!("serial {} ({})", i.serial, i.profile);
        out.write_all(i.certificate.as_bytes())
            .map_err(stdout_err)?;
    }
    Ok(true)
}

fn confirm(ca: &Ca, a: ConfirmArgs, out: &mut impl Write) -> Result<bool> {
    for c in ca.confirm(&a.serials, "cli")? {
        let what = if c.existing {
            "already confirmed"
        } else {
            "confirmed"
        };
        writeln!(out, "{what} {}: {} superseded", c.serial, c.predecessor).map_err(stdout_err)?;
    }
    Ok(true)
}

fn list(ca: &Ca, a: ListArgs, out: &mut impl Write) -> Result<bool> {
    for r in ca.with_store(|s| s.list(a.iin.as_deref(), a.limit))? {
        if a.json {
            let line = serde_json::to_string(&r).map_err(Error::json)?;
            writeln!(out, "{line}").map_err(stdout_err)?;
        } else {
            writeln!(
                out,
                "{}  {:<15}  {:<8}  {}  {}  {}",
                r.serial,
                r.profile,
                r.status.as_str(),
                r.iin,
                date(r.not_after),
                r.subject
            )
            .map_err(stdout_err)?;
        }
    }
    Ok(true)
}

fn show(ca: &Ca, a: ShowArgs, out: &mut impl Write) -> Result<bool> {
    let r = ca.show(&a.serial)?;
    let json = serde_json::to_string_pretty(&r).map_err(Error::json)?;
    writeln!(out, "{json}").map_err(stdout_err)?;
    out.write_all(pem("CERTIFICATE", &r.der)?.as_bytes())
        .map_err(stdout_err)?;
    Ok(true)
}

fn revoke(ca: &Ca, a: RevokeArgs, out: &mut impl Write) -> Result<bool> {
    let r = ca.revoke(&a.serial, a.reason, "cli")?;
    writeln!(out, "revoked {} ({})", r.serial, a.reason.as_str()).map_err(stdout_err)?;
    Ok(true)
}

/// Where `tamga-ca crl` writes the CRL of the `n`-th issuing key.
fn crl_path(out: &Path, n: usize, issuer: &tamga_ca::Issuer) -> PathBuf {
    if n == 0 {
        return out.to_path_buf();
    }
    let alg = issuer.algorithm().map_or(issuer.id(), |a| a.as_str());
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned());
    let mut name = format!("{}-{alg}", stem.unwrap_or_else(|| "crl".into()));
    if let Some(ext) = out.extension() {
        name.push('.');
        name.push_str(&ext.to_string_lossy());
    }
    out.with_file_name(name)
}

fn crl(ca: &Ca, a: CrlArgs, out: &mut impl Write) -> Result<bool> {
    let chosen: Vec<(PathBuf, &tamga_ca::Issuer)> = match &a.issuer {
        Some(name) => vec![(a.out.clone(), ca.issuer(name)?)],
        None => ca
            .issuers()
            .iter()
            .enumerate()
            .map(|(n, i)| (crl_path(&a.out, n, i), i))
            .collect(),
    };
    for (path, issuer) in chosen {
        let (number, der) = ca.issuer_crl(issuer, "cli")?;
        let data = if a.pem {
            pem("X509 CRL", &der)?.into_bytes()
        } else {
            der
        };
        std::fs::write(&path, data).map_err(|e| Error::io(&path, e))?;
        writeln!(
            out,
            "CRL number {number} of {} written to {}",
            issuer.certificate().tbs_certificate().subject(),
            path.display()
        )
        .map_err(stdout_err)?;
    }
    Ok(true)
}

fn issuers(ca: &Ca, a: IssuersArgs, out: &mut impl Write) -> Result<bool> {
    for i in ca.issuers() {
        let v = i.certificate().tbs_certificate().validity();
        let alg = i.algorithm().map_or("unknown", |a| a.as_str());
        if a.json {
            let line = serde_json::json!({
                "id": i.id(),
                "algorithm": alg,
                "subject": i.certificate().tbs_certificate().subject().to_string(),
                "not_before": v.not_before.to_unix_duration().as_secs(),
                "not_after": v.not_after.to_unix_duration().as_secs(),
                "dir": i.dir(),
            });
            writeln!(out, "{line}").map_err(stdout_err)?;
        } else {
            writeln!(
                out,
                "{}  {:<8}  until {}  {}",
                i.id(),
                alg,
                date(i64::try_from(v.not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX)),
                i.certificate().tbs_certificate().subject()
            )
            .map_err(stdout_err)?;
        }
    }
    Ok(true)
}

fn serve(ca: Ca, a: ServeArgs) -> Result<bool> {
    let opts = tamga_ca::server::ServeOptions {
        listen: a.listen,
        token_file: a.token_file,
        allow_remote: a.allow_remote,
        max_body: a.max_body,
    };
    tamga_ca::server::serve(ca, &opts)?;
    Ok(true)
}

/// Runs a command line; false when some of the work failed (batch lines).
fn run(cli: Cli) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    let cmd = match cli.cmd {
        Cmd::Bench(a) => {
            tamga_ca::bench::run(
                a.count,
                a.chunk,
                !a.no_openssl,
                cli.dir.as_deref(),
                &mut out,
            )?;
            return Ok(true);
        }
        Cmd::Init(a) => return init(dir(&cli.dir)?, a, &mut out),
        other => other,
    };
    let ca = Ca::open(dir(&cli.dir)?)?;
    match cmd {
        Cmd::Init(_) | Cmd::Bench(_) => Ok(true),
        Cmd::Issue(a) => issue(&ca, a, &mut out),
        Cmd::Renew(a) => renew(&ca, a, &mut out),
        Cmd::Confirm(a) => confirm(&ca, a, &mut out),
        Cmd::List(a) => list(&ca, a, &mut out),
        Cmd::Show(a) => show(&ca, a, &mut out),
        Cmd::Revoke(a) => revoke(&ca, a, &mut out),
        Cmd::Crl(a) => crl(&ca, a, &mut out),
        Cmd::Issuers(a) => issuers(&ca, a, &mut out),
        Cmd::Serve(a) => serve(ca, a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("tamga-ca: {e}");
            ExitCode::from(1)
        }
    }
}
