//! `tamga-ca bench`: durable issuance throughput for P-256 and RSA-2048 CA keys, compared
//! with the same requests through `openssl x509 -req` (one process per certificate, as a
//! shell-scripted openssl CA works).

use crate::signer::KeyAlgorithm;
use crate::{Application, Ca, Error, InitOptions, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tamga_pki::{Applicant, Iin, LegalEntity, ProfileName, Role};
use x509_cert::builder::{Builder, RequestBuilder};

/// A valid, distinct sample applicant for index `i` (IINs built with a correct check digit).
pub fn sample_applicant(i: usize, role: Option<Role>) -> Applicant {
    let mut n = i * 7;
    let iin = loop {
        let day = 1 + (n / 10_000) % 28;
        let month = 1 + (n / 280_000) % 12;
        let prefix = format!("90{month:02}{day:02}3{:04}", n % 10_000);
        if let Ok(iin) = Iin::with_check_digit(&prefix) {
            break iin;
        }
        n += 1;
    };
    Applicant {
        iin,
        surname: "Тестов".into(),
        name: "Тест".into(),
        patronymic: Some("Тестович".into()),
        email: Some(format!("user{i}@example.kz")),
        phone: Some("+77010000000".into()),
        locality: Some("Астана".into()),
        region: Some("Астана".into()),
        legal_entity: role.map(|role| LegalEntity {
            bin: "940140000385".parse().expect("valid sample BIN"),
            name: "ТОО «Тамга»".into(),
            role,
        }),
    }
}

/// A fresh P-256 key and a PEM CSR for the applicant's subject.
pub fn p256_csr(applicant: &Applicant) -> Result<(p256::ecdsa::SigningKey, String)> {
    use p256::elliptic_curve::Generate;
    let key =
        p256::ecdsa::SigningKey::generate_from_rng(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let subject = tamga_pki::subject_name(applicant)?;
    let req = RequestBuilder::new(subject)
        .map_err(|e| Error::Crypto(e.to_string()))?
        .build::<_, p256::ecdsa::DerSignature>(&key)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    let pem = der::EncodePem::to_pem(&req, der::pem::LineEnding::LF)?;
    Ok((key, pem))
}

fn openssl_run(dir: &Path, csrs: &[String], w: &mut dyn Write) -> Result<f64> {
    let ext = dir.join("ext.cnf");
    std::fs::write(
        &ext,
        "[v3]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n\
         extendedKeyUsage=emailProtection,1.2.398.3.3.4.1.1\ncertificatePolicies=1.2.398.3.3.2.3\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .map_err(|e| Error::io(&ext, e))?;
    for (i, c) in csrs.iter().enumerate() {
        let p = dir.join(format!("req{i}.pem"));
        std::fs::write(&p, c).map_err(|e| Error::io(&p, e))?;
    }
    let start = Instant::now();
    for i in 0..csrs.len() {
        let mut serial = [0u8; 20];
        getrandom::fill(&mut serial).map_err(|e| Error::Crypto(e.to_string()))?;
        serial[0] &= 0x7f;
        let status = Command::new("openssl")
            .args([
                "x509",
                "-req",
                "-days",
                "365",
                "-extensions",
                "v3",
                "-sha256",
            ])
            .arg("-set_serial")
            .arg(format!("0x{}", hex::encode(serial)))
            .arg("-in")
            .arg(dir.join(format!("req{i}.pem")))
            .arg("-CA")
            .arg(dir.join("ca.pem"))
            .arg("-CAkey")
            .arg(dir.join("ca.key"))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(dir.join(format!("cert{i}.pem")))
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| Error::Tool(format!("openssl: {e}")))?;
        if !status.success() {
            return Err(Error::Tool(format!(
                "openssl x509 -req failed on request {i}"
            )));
        }
    }
    // openssl does not fsync; sync once at the end so the comparison is fair to it.
    let _ = Command::new("sync").status();
    let secs = start.elapsed().as_secs_f64();
    let _ = writeln!(
        w,
        "  openssl x509 -req: {} certificates in {secs:.2} s",
        csrs.len()
    );
    Ok(secs)
}

/// Runs the bench and prints the figures. The CAs live in a fresh directory under
/// `work_dir` (default: the system temporary directory), removed afterwards.
pub fn run(
    count: usize,
    chunk: usize,
    with_openssl: bool,
    work_dir: Option<&Path>,
    w: &mut dyn Write,
) -> Result<()> {
    let count = count.max(1);
    let base = work_dir
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    let tmp: PathBuf = base.join(format!(
        "tamga-ca-bench-{}-{}",
        std::process::id(),
        crate::now_unix()
    ));
    std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let io = |e: std::io::Error| Error::io("stdout", e);
    writeln!(w, "preparing {count} P-256 applicant keys and CSRs").map_err(io)?;
    let mut apps = Vec::with_capacity(count);
    for i in 0..count {
        let applicant = sample_applicant(i, None);
        let (_, csr) = p256_csr(&applicant)?;
        apps.push(Application {
            profile: ProfileName::IndividualSign,
            applicant,
            csr,
            signatures: vec![],
        });
    }
    let result = (|| {
        for alg in [KeyAlgorithm::P256, KeyAlgorithm::Rsa2048] {
            let dir = tmp.join(alg.as_str());
            let ca = Ca::init(
                &dir,
                &InitOptions {
                    key: alg,
                    ..InitOptions::default()
                },
            )?;
            let start = Instant::now();
            let mut issued = 0;
            for c in apps.chunks(chunk.max(1)) {
                issued += ca
                    .issue_batch(c, "bench")?
                    .into_iter()
                    .filter(|r| r.as_ref().is_ok_and(|i| !i.existing))
                    .count();
            }
            let secs = start.elapsed().as_secs_f64();
            if issued != count {
                return Err(Error::Tool(format!("bench issued {issued} of {count}")));
            }
            let rate = count as f64 / secs;
            writeln!(
                w,
                "{} CA key: {count} certificates in {secs:.2} s = {rate:.0} certificates/s (committed, synchronous=FULL, {} per transaction)",
                alg.as_str(),
                chunk.max(1)
            )
            .map_err(io)?;
            if with_openssl {
                let csrs: Vec<String> = apps.iter().map(|a| a.csr.clone()).collect();
                let osecs = openssl_run(&dir, &csrs, w)?;
                let orate = count as f64 / osecs;
                writeln!(
                    w,
                    "  openssl: {orate:.0} certificates/s; tamga-ca / openssl = {:.1}x",
                    rate / orate
                )
                .map_err(io)?;
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
