//! `tamga-ca`: the reference NCA issuing CA on the command line.

use clap::{Parser, Subcommand};
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
    Init {
        /// CA key algorithm.
        #[arg(long, value_enum, default_value = "p256")]
        key: KeyAlgorithm,
        /// CN of the CA certificate.
        #[arg(long, default_value = "Tamga NCA Reference CA")]
        cn: String,
        /// Directory of the root CA that signs this issuing CA.
        #[arg(long)]
        parent: Option<PathBuf>,
        /// Use this PKCS#8 key file instead of generating a key.
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
    },
    /// Issue certificates from an application (JSON) or a batch (one JSON per line).
    Issue {
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
    },
    /// Renew: new certificates for a request signed by the holder's current key (the old
    /// ones stay valid until `confirm`).
    Renew {
        /// Renewal request JSON file.
        #[arg(long)]
        request: PathBuf,
    },
    /// Confirm renewals once the new certificates are on the card: their predecessors
    /// become superseded.
    Confirm {
        /// Serials (hex) of the new certificates.
        #[arg(required = true)]
        serials: Vec<String>,
    },
    /// List certificates.
    List {
        /// Only this IIN.
        #[arg(long)]
        iin: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one certificate (record and PEM).
    Show {
        /// Serial (hex).
        serial: String,
    },
    /// Revoke a certificate.
    Revoke {
        /// Serial (hex).
        serial: String,
        /// Reason.
        #[arg(long, value_enum)]
        reason: RevocationReason,
    },
    /// Issue a new CRL.
    Crl {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// PEM instead of DER.
        #[arg(long)]
        pem: bool,
    },
    /// Serve the HTTP API.
    Serve {
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
        #[arg(long, default_value_t = tamga_ca::application::MAX_REQUEST_LEN)]
        max_body: usize,
    },
    /// Measure issuance throughput (P-256 and RSA-2048 CA keys) against openssl
    /// (scratch CAs under --dir if given, else the temporary directory).
    Bench {
        /// Certificates per run.
        #[arg(long, default_value_t = 2000)]
        count: usize,
        /// Applications per transaction.
        #[arg(long, default_value_t = 500)]
        chunk: usize,
        /// Skip the openssl comparison.
        #[arg(long)]
        no_openssl: bool,
    },
}

fn dir(cli: &Option<PathBuf>) -> Result<&Path> {
    cli.as_deref()
        .ok_or_else(|| Error::Config("--dir (or TAMGA_CA_DIR) is required".into()))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > 64 * 1024 * 1024 {
        return Err(Error::TooLarge(64 * 1024 * 1024));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn date(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn run(cli: Cli) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| Error::io("stdout", e);
    match cli.cmd {
        Cmd::Init {
            key,
            cn,
            parent,
            import_key,
            ca_validity_days,
            validity_days,
            crl_period_hours,
            crl_base_url,
            aia_base_url,
            name,
        } => {
            let d = dir(&cli.dir)?;
            let config = CaConfig {
                validity_days,
                crl_period_hours,
                crl_base_url,
                aia_base_url,
                name,
            };
            let opts = InitOptions {
                key,
                common_name: cn,
                parent,
                import_key,
                ca_validity_days,
                config,
            };
            let ca = Ca::init(d, &opts)?;
            writeln!(
                out,
                "CA created in {}: {}",
                d.display(),
                ca.certificate().tbs_certificate().subject()
            )
            .map_err(w)?;
        }
        Cmd::Issue {
            application,
            batch,
            chunk,
            out: out_file,
        } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            if let Some(path) = application {
                let app = Application::from_json(&read(&path)?)?;
                let issued = ca.issue(&app, "cli")?;
                match out_file {
                    Some(p) => {
                        std::fs::write(&p, &issued.certificate).map_err(|e| Error::io(&p, e))?
                    }
                    None => out.write_all(issued.certificate.as_bytes()).map_err(w)?,
                }
                eprintln!(
                    "serial {} ({})",
                    issued.serial,
                    if issued.existing { "existing" } else { "new" }
                );
            } else if let Some(path) = batch {
                let f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
                let mut ok = true;
                let mut pending: Vec<(usize, Application)> = Vec::new();
                let mut flush = |pending: &mut Vec<(usize, Application)>,
                                 ok: &mut bool|
                 -> Result<()> {
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
                            .map_err(w)?,
                            Err(e) => {
                                *ok = false;
                                eprintln!("line {line}: {e}");
                            }
                        }
                    }
                    out.flush().map_err(w)?;
                    pending.clear();
                    Ok(())
                };
                for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
                    let line = line.map_err(|e| Error::io(&path, e))?;
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
                return Ok(ok);
            }
        }
        Cmd::Renew { request } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let req = RenewRequest::from_json(&read(&request)?)?;
            for i in ca.renew(&req, "cli")? {
                eprintln!("serial {} ({})", i.serial, i.profile);
                out.write_all(i.certificate.as_bytes()).map_err(w)?;
            }
        }
        Cmd::Confirm { serials } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            for c in ca.confirm(&serials, "cli")? {
                let what = if c.existing {
                    "already confirmed"
                } else {
                    "confirmed"
                };
                writeln!(out, "{what} {}: {} superseded", c.serial, c.predecessor).map_err(w)?;
            }
        }
        Cmd::List { iin, limit, json } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let rows = ca.with_store(|s| s.list(iin.as_deref(), limit))?;
            for r in rows {
                if json {
                    let line = serde_json::to_string(&r).map_err(|e| Error::Json(e.to_string()))?;
                    writeln!(out, "{line}").map_err(w)?;
                } else {
                    writeln!(
                        out,
                        "{}  {:<15}  {:<8}  {}  {}  {}",
                        r.serial,
                        r.profile,
                        r.status,
                        r.iin,
                        date(r.not_after),
                        r.subject
                    )
                    .map_err(w)?;
                }
            }
        }
        Cmd::Show { serial } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let r = ca.show(&serial)?;
            let json = serde_json::to_string_pretty(&r).map_err(|e| Error::Json(e.to_string()))?;
            writeln!(out, "{json}").map_err(w)?;
            let pem =
                pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &r.der)
                    .map_err(|e| Error::Crypto(e.to_string()))?;
            out.write_all(pem.as_bytes()).map_err(w)?;
        }
        Cmd::Revoke { serial, reason } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let r = ca.revoke(&serial, reason, "cli")?;
            writeln!(out, "revoked {} ({})", r.serial, reason.as_str()).map_err(w)?;
        }
        Cmd::Crl { out: path, pem } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let (number, der) = ca.crl("cli")?;
            let data = if pem {
                pem_rfc7468::encode_string("X509 CRL", pem_rfc7468::LineEnding::LF, &der)
                    .map_err(|e| Error::Crypto(e.to_string()))?
                    .into_bytes()
            } else {
                der
            };
            std::fs::write(&path, data).map_err(|e| Error::io(&path, e))?;
            writeln!(out, "CRL number {number} written to {}", path.display()).map_err(w)?;
        }
        Cmd::Serve {
            listen,
            token_file,
            allow_remote,
            max_body,
        } => {
            let ca = Ca::open(dir(&cli.dir)?)?;
            let opts = tamga_ca::server::ServeOptions {
                listen,
                token_file,
                allow_remote,
                max_body,
            };
            tamga_ca::server::serve(ca, &opts)?;
        }
        Cmd::Bench {
            count,
            chunk,
            no_openssl,
        } => {
            tamga_ca::bench::run(count, chunk, !no_openssl, cli.dir.as_deref(), &mut out)?;
        }
    }
    Ok(true)
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
