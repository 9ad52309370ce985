//! The agent's TLS identity: a local CA made on first run and a server
//! certificate for `127.0.0.1` and `localhost` under it, kept in the agent's
//! directory (`ca.pem`, `server.pem`, `server.key` with mode 0600), and the
//! installation of that CA into the NSS databases Chromium and Firefox use.
//!
//! The local CA's private key is thrown away as soon as the server certificate
//! is signed, and the CA carries name constraints (only `localhost` and
//! `127.0.0.1`): nobody who reads the directory can mint a certificate a
//! browser would accept for another site. A new identity (and a new
//! `tamga agent install`) is made when the server certificate nears its end.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::{Decode, DecodePem};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints,
    SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

/// The local CA's certificate.
pub const CA_FILE: &str = "ca.pem";
/// The server certificate, then the CA.
pub const SERVER_FILE: &str = "server.pem";
/// The server's private key (PKCS#8 PEM, mode 0600).
pub const KEY_FILE: &str = "server.key";
/// The nickname of the CA in NSS databases.
pub const NSS_NICKNAME: &str = "Tamga agent local CA";

/// Years the local CA and the server certificate are valid.
const CA_YEARS: i32 = 10;
const SERVER_YEARS: i32 = 5;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

fn tls_err(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("agent TLS identity: {e}"))
}

/// The current year (UTC), for certificate dates.
fn this_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    1970 + i32::try_from(secs / 31_556_952).unwrap_or(0)
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(data).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Makes a new CA and server certificate in `dir` (replacing any old ones).
fn create(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let year = this_year();
    let mut ca = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, NSS_NICKNAME);
    dn.push(DnType::OrganizationName, "Tamga");
    ca.distinguished_name = dn;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 1], [255, 255, 255, 255])),
        ],
        excluded_subtrees: vec![],
    });
    ca.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    ca.not_after = rcgen::date_time_ymd(year + CA_YEARS, 1, 1);
    let ca_key = KeyPair::generate().map_err(tls_err)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(tls_err)?;

    let mut srv = CertificateParams::new(vec!["localhost".to_string()]).map_err(tls_err)?;
    srv.subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "127.0.0.1");
    srv.distinguished_name = dn;
    srv.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    srv.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    srv.use_authority_key_identifier_extension = true;
    srv.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    srv.not_after = rcgen::date_time_ymd(year + SERVER_YEARS, 1, 1);
    let srv_key = KeyPair::generate().map_err(tls_err)?;
    let srv_cert = srv
        .signed_by(&srv_key, &ca_cert, &ca_key)
        .map_err(tls_err)?;
    // The CA key goes out of scope here and is never written.
    write_private(&dir.join(KEY_FILE), srv_key.serialize_pem().as_bytes())?;
    write_private(
        &dir.join(SERVER_FILE),
        (srv_cert.pem() + &ca_cert.pem()).as_bytes(),
    )?;
    let ca_path = dir.join(CA_FILE);
    std::fs::write(&ca_path, ca_cert.pem()).map_err(io(&ca_path))?;
    Ok(())
}

/// The PEM blocks of a file, as DER, with their labels.
fn pem_blocks(path: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(begin) = rest.find("-----BEGIN ") {
        let from = &rest[begin..];
        let Some(end) = from.find("-----END ") else {
            break;
        };
        let close = from[end + 9..]
            .find("-----")
            .map_or(from.len(), |i| end + 9 + i + 5);
        let (label, der) = pem_rfc7468::decode_vec(&from.as_bytes()[..close])
            .map_err(|e| tls_err(format!("{}: {e}", path.display())))?;
        out.push((label.to_string(), der));
        rest = &from[close..];
    }
    Ok(out)
}

/// Whether the server certificate in `dir` is still good for at least 30 days.
fn current(dir: &Path) -> bool {
    let Ok(blocks) = pem_blocks(&dir.join(SERVER_FILE)) else {
        return false;
    };
    let Some((_, der)) = blocks.first() else {
        return false;
    };
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return false;
    };
    let soon = SystemTime::now() + Duration::from_secs(30 * 86400);
    dir.join(KEY_FILE).exists()
        && dir.join(CA_FILE).exists()
        && cert.tbs_certificate().validity().not_after.to_system_time() > soon
}

/// The rustls configuration for `dir`'s identity, made first if there is
/// none (or it is about to expire). Returns it and whether it is new.
pub fn server_config(dir: &Path) -> Result<(Arc<rustls::ServerConfig>, bool)> {
    let fresh = !current(dir);
    if fresh {
        create(dir)?;
    }
    let chain: Vec<CertificateDer<'static>> = pem_blocks(&dir.join(SERVER_FILE))?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| CertificateDer::from(der))
        .collect();
    let key = pem_blocks(&dir.join(KEY_FILE))?
        .into_iter()
        .find(|(label, _)| label == "PRIVATE KEY")
        .map(|(_, der)| PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)))
        .ok_or_else(|| tls_err(format!("{}: no PRIVATE KEY", dir.join(KEY_FILE).display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(tls_err)?;
    Ok((Arc::new(config), fresh))
}

/// The NSS databases the browsers of this user read: `~/.pki/nssdb`
/// (Chromium, made if missing) and every Firefox profile.
pub fn browser_databases(home: &Path) -> Vec<PathBuf> {
    let mut v = vec![home.join(".pki/nssdb")];
    for base in [
        home.join(".mozilla/firefox"),
        home.join("snap/firefox/common/.mozilla/firefox"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&base) {
            let mut profiles: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("cert9.db").exists())
                .collect();
            profiles.sort();
            v.extend(profiles);
        }
    }
    v
}

/// Adds the local CA of `dir` to the NSS database `db` (made if missing), as
/// a CA trusted for web servers: `certutil -A -t C,, -d sql:DB`.
pub fn install(dir: &Path, db: &Path) -> Result<()> {
    let ca = dir.join(CA_FILE);
    // The CA must exist and be ours before anything is written to a browser.
    let text = std::fs::read_to_string(&ca).map_err(io(&ca))?;
    x509_cert::Certificate::from_pem(text.as_bytes()).map_err(tls_err)?;
    let spec = format!("sql:{}", db.display());
    let run = |args: &[&str]| -> Result<()> {
        let out = Command::new("certutil").args(args).output().map_err(|e| {
            Error::Invalid(format!(
                "cannot run certutil: {e} (Debian: apt install libnss3-tools)"
            ))
        })?;
        if !out.status.success() {
            return Err(Error::Invalid(format!(
                "certutil {}: {}",
                args.first().unwrap_or(&""),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    };
    if !db.join("cert9.db").exists() {
        std::fs::create_dir_all(db).map_err(io(db))?;
        run(&["-N", "-d", &spec, "--empty-password"])?;
    }
    // An older identity under the same nickname is replaced.
    let _ = Command::new("certutil")
        .args(["-D", "-n", NSS_NICKNAME, "-d", &spec])
        .output();
    run(&[
        "-A",
        "-n",
        NSS_NICKNAME,
        "-t",
        "C,,",
        "-d",
        &spec,
        "-i",
        &ca.display().to_string(),
    ])
}
