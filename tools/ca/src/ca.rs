//! The CA: directory layout, issuance, renewal, revocation, CRL.

use crate::config::CaConfig;
use crate::issuer::{CA_PEM, CHAIN_PEM, Issuer, KEY_FILE, is_gost, key_id};
use crate::signer::{CaSigner, FileSigner, KeyAlgorithm};
use crate::store::{self, CertRow, NewIssue, Store, StoredSignature};
use crate::{Error, Result, now_unix};
use base64::Engine;
use der::asn1::{Any, BitString, Ia5String, PrintableStringRef, Uint, Utf8StringRef};
use der::{Decode, DecodePem, Encode, EncodePem};
use spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tamga_pki::csr::{self, VerifiedCsr};
use tamga_pki::{
    Applicant, Application, CertRecord, CertStatus, Confirmed, Issued, MAX_RENEW_ITEMS, Profile,
    ProfileName, RenewRequest, RevocationReason, Serial, extension, name_from_attributes, oids,
    verify,
};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CrlDistributionPoints, CrlNumber, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

const CONFIG_FILE: &str = "config.json";
pub(crate) const DB_FILE: &str = "ca.db";

/// Options of `init`.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// CA key algorithm (of the first issuing key).
    pub key: KeyAlgorithm,
    /// Further issuing keys beside the first, of the other family (at most one: a
    /// GOST key beside an RSA or P-256 one, or the reverse), as the NCA runs
    /// `nca_rsa` and `nca_gost`. Each has its own certificate (CN `<common_name>
    /// (<algorithm>)`), chain and CRLs, in `issuers/<algorithm>/`.
    pub also: Vec<KeyAlgorithm>,
    /// CN of the CA certificate.
    pub common_name: String,
    /// Directory of the parent CA for an issuing CA; `None` for a self-signed root.
    pub parent: Option<PathBuf>,
    /// Existing PKCS#8 key file to use instead of generating one.
    pub import_key: Option<PathBuf>,
    /// Validity of the CA certificate, in days.
    pub ca_validity_days: u32,
    /// Settings for issued certificates and CRLs.
    pub config: CaConfig,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            key: KeyAlgorithm::P256,
            also: Vec::new(),
            common_name: "Tamga NCA Reference CA".into(),
            parent: None,
            import_key: None,
            ca_validity_days: 3650,
            config: CaConfig::default(),
        }
    }
}

/// The answer to an issuance or renewal for a stored row.
fn issued(row: &CertRow, existing: bool) -> Result<Issued> {
    Ok(Issued {
        serial: row.serial.clone(),
        profile: row.profile.clone(),
        certificate: pem(&row.der, "CERTIFICATE")?,
        existing,
        der: row.der.clone(),
    })
}

/// PEM-encodes DER with a label.
pub(crate) fn pem(der: &[u8], label: &str) -> Result<String> {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|e| Error::Crypto(e.to_string()))
}

/// Adapts a [`CaSigner`] to the `x509_cert` builder traits.
struct Adapter<'a>(&'a dyn CaSigner);

#[derive(Clone)]
struct AdapterKey(SubjectPublicKeyInfoOwned);

impl EncodePublicKey for AdapterKey {
    fn to_public_key_der(&self) -> spki::Result<der::Document> {
        Ok(der::Document::encode_msg(&self.0)?)
    }
}

impl signature::Keypair for Adapter<'_> {
    type VerifyingKey = AdapterKey;
    fn verifying_key(&self) -> AdapterKey {
        AdapterKey(self.0.public_key().clone())
    }
}

impl DynSignatureAlgorithmIdentifier for Adapter<'_> {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.0.algorithm())
    }
}

/// A profile with everything fixed in advance.
struct Fixed {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Fixed {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn build_cert(
    signer: &dyn CaSigner,
    profile: Fixed,
    serial: SerialNumber,
    validity: Validity,
    spki: SubjectPublicKeyInfoOwned,
) -> Result<Certificate> {
    let crypto = |e: x509_cert::builder::Error| Error::Crypto(e.to_string());
    let mut b = CertificateBuilder::new(profile, serial, validity, spki).map_err(crypto)?;
    let adapter = Adapter(signer);
    let tbs = b.finalize(&adapter).map_err(crypto)?;
    let sig = signer.sign(&tbs)?;
    b.assemble(BitString::from_bytes(&sig)?, &adapter)
        .map_err(crypto)
}

/// 20 random bytes, top bit cleared and first byte non-zero: a positive 20-byte serial.
fn random_serial() -> Result<(SerialNumber, Serial)> {
    let mut b = [0u8; 20];
    getrandom::fill(&mut b).map_err(|e| Error::Crypto(e.to_string()))?;
    b[0] &= 0x7f;
    if b[0] == 0 {
        b[0] = 1;
    }
    Ok((SerialNumber::new(&b)?, Serial::from_bytes(&b)?))
}

fn unix(t: &Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn time_at(secs: i64) -> Result<Time> {
    let st = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    Ok(Time::try_from(st)?)
}

fn b64(s: &str) -> std::result::Result<Vec<u8>, base64::DecodeError> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(t)
}

fn ca_name(cn: &str) -> Result<Name> {
    let utf8 = |oid, s: &str| -> Result<AttributeTypeAndValue> {
        Ok(AttributeTypeAndValue {
            oid,
            value: Any::encode_from(&Utf8StringRef::new(s)?)?,
        })
    };
    Ok(name_from_attributes(vec![
        utf8(oids::COMMON_NAME, cn)?,
        utf8(oids::ORGANIZATION, "Tamga")?,
        AttributeTypeAndValue {
            oid: oids::COUNTRY,
            value: Any::encode_from(&PrintableStringRef::new("KZ")?)?,
        },
    ])?)
}

/// An open CA directory.
pub struct Ca {
    dir: PathBuf,
    config: CaConfig,
    /// The issuing keys, the first one first; at most one per family.
    issuers: Vec<Issuer>,
    store: Mutex<Store>,
}

/// Refuses two issuing keys of one family: a request's key would not say which signs.
fn check_families(gost: impl IntoIterator<Item = bool>) -> Result<()> {
    let (mut g, mut other) = (0, 0);
    for is_gost in gost {
        if is_gost { g += 1 } else { other += 1 }
    }
    if g > 1 || other > 1 {
        return Err(Error::Config(
            "a CA holds at most one GOST and one RSA or P-256 issuing key".into(),
        ));
    }
    Ok(())
}

/// A CA certificate made by `init`, not yet written.
struct NewIssuer {
    dir: PathBuf,
    signer: FileSigner,
    cert_pem: String,
    chain: String,
}

impl Ca {
    /// Creates a CA in `dir` (which must not already hold one): for each issuing key
    /// (`opts.key`, then `opts.also`), the key (mode 0600) and a certificate
    /// (self-signed, or signed by the parent CA's issuing key of the same family,
    /// else its first), then `config.json`, the store and a first CRL per key.
    pub fn init(dir: &Path, opts: &InitOptions) -> Result<Ca> {
        opts.config.validate()?;
        let algs: Vec<KeyAlgorithm> = std::iter::once(opts.key)
            .chain(opts.also.iter().copied())
            .collect();
        for (n, alg) in algs.iter().enumerate() {
            let d = Issuer::dir_for(dir, n, *alg);
            if d.join(CA_PEM).exists() || d.join(KEY_FILE).exists() {
                return Err(Error::Config(format!("{} already holds a CA", d.display())));
            }
        }
        let parent = match &opts.parent {
            Some(p) => Some(Ca::open(p)?),
            None => None,
        };
        let mut made: Vec<NewIssuer> = Vec::with_capacity(algs.len());
        for (n, alg) in algs.iter().enumerate() {
            let signer = match (&opts.import_key, n) {
                (Some(p), 0) => FileSigner::load(p)?,
                _ => FileSigner::generate(*alg)?,
            };
            check_families(
                made.iter()
                    .map(|m| is_gost(m.signer.public_key()))
                    .chain([is_gost(signer.public_key())]),
            )?;
            let cn = match n {
                0 => opts.common_name.clone(),
                _ => format!("{} ({})", opts.common_name, alg.as_str()),
            };
            let by = parent.as_ref().map(|p| p.issuer_for(signer.public_key()));
            let (cert_pem, chain) = Self::ca_certificate(&signer, &cn, by, opts)?;
            made.push(NewIssuer {
                dir: Issuer::dir_for(dir, n, *alg),
                signer,
                cert_pem,
                chain,
            });
        }
        for m in &made {
            std::fs::create_dir_all(&m.dir).map_err(|e| Error::io(&m.dir, e))?;
            m.signer.save(&m.dir.join(KEY_FILE))?;
            write_file(&m.dir.join(CA_PEM), m.cert_pem.as_bytes())?;
            write_file(&m.dir.join(CHAIN_PEM), m.chain.as_bytes())?;
        }
        opts.config.save(&dir.join(CONFIG_FILE))?;
        let ca = Ca::open(dir)?;
        {
            let mut st = ca.lock();
            let tx = st.transaction()?;
            let keys: Vec<String> = ca.issuers.iter().map(Issuer::describe).collect();
            let detail = format!(
                "key={} parent={}",
                keys.join(" + "),
                opts.parent
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "none (root)".into())
            );
            Store::audit(&tx, "cli", "init", &detail, now_unix())?;
            tx.commit()?;
        }
        // A CA publishes a CRL from its first day, so relying parties always find one.
        ca.crls("cli")?;
        Ok(ca)
    }

    /// The certificate (PEM) and chain (PEM, up to the root) of a new issuing key
    /// `signer` named `cn`, signed by `parent` or by itself.
    fn ca_certificate(
        signer: &FileSigner,
        cn: &str,
        parent: Option<&Issuer>,
        opts: &InitOptions,
    ) -> Result<(String, String)> {
        let subject = ca_name(cn)?;
        let ski = key_id(signer.public_key())?;
        let (issuer, aki, path_len) = match parent {
            Some(p) => (
                p.cert.tbs_certificate().subject().clone(),
                p.ski.clone(),
                Some(0),
            ),
            None => (subject.clone(), ski.clone(), None),
        };
        let mut extensions = vec![
            extension(
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: path_len,
                },
            )?,
            extension(true, &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))?,
            extension(
                false,
                &SubjectKeyIdentifier(der::asn1::OctetString::new(ski.clone())?),
            )?,
        ];
        if parent.is_some() {
            extensions.push(extension(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(der::asn1::OctetString::new(aki)?),
                    ..Default::default()
                },
            )?);
        }
        let (serial, _) = random_serial()?;
        let validity = Validity::from_now(Duration::from_secs(
            u64::from(opts.ca_validity_days) * 86400,
        ))?;
        let profile = Fixed {
            subject,
            issuer,
            extensions,
        };
        let cert = match parent {
            Some(p) => build_cert(
                p.signer.as_ref(),
                profile,
                serial,
                validity,
                signer.public_key().clone(),
            )?,
            None => build_cert(
                signer,
                profile,
                serial,
                validity,
                signer.public_key().clone(),
            )?,
        };
        let cert_pem = cert.to_pem(der::pem::LineEnding::LF)?;
        let mut chain = cert_pem.clone();
        if let Some(p) = parent {
            let parent_chain = p.dir().join(CHAIN_PEM);
            chain.push_str(
                &std::fs::read_to_string(&parent_chain).map_err(|e| Error::io(&parent_chain, e))?,
            );
        }
        Ok((cert_pem, chain))
    }

    /// Opens an existing CA directory.
    pub fn open(dir: &Path) -> Result<Ca> {
        let signer = FileSigner::load(&dir.join(KEY_FILE))?;
        Self::open_with_signer(dir, Box::new(signer))
    }

    /// Opens a CA directory with the signer of its first issuing key from elsewhere
    /// (e.g. a PKCS#11 token); further issuing keys come from their key files.
    pub fn open_with_signer(dir: &Path, signer: Box<dyn CaSigner>) -> Result<Ca> {
        let config = CaConfig::load(&dir.join(CONFIG_FILE))?;
        let mut issuers = vec![Issuer::open(dir, signer, config.name.clone())?];
        issuers.extend(Issuer::open_more(dir, &config.name)?);
        check_families(issuers.iter().map(Issuer::is_gost))?;
        let mut store = Store::open(&dir.join(DB_FILE))?;
        store.claim_unattributed(issuers[0].id())?;
        Ok(Ca {
            dir: dir.to_path_buf(),
            config,
            issuers,
            store: Mutex::new(store),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the store (for listing and tests).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        f(&mut self.lock())
    }

    /// The first issuing key's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.issuers[0].cert
    }

    /// The first issuing key's certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String> {
        self.issuers[0].certificate_pem()
    }

    /// Every issuing key's certificate as PEM, the first one first.
    pub fn certificates_pem(&self) -> Result<String> {
        let mut all = String::new();
        for i in &self.issuers {
            all.push_str(&i.certificate_pem()?);
        }
        Ok(all)
    }

    /// The issuing keys, the first one first.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// The issuing key `name` names (its key id, its algorithm or `gost`; see
    /// [`Issuer::is_named`]).
    pub fn issuer(&self, name: &str) -> Result<&Issuer> {
        self.issuers
            .iter()
            .find(|i| i.is_named(name))
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .issuers
                    .iter()
                    .map(|i| {
                        i.algorithm()
                            .map_or_else(|| i.id().to_string(), |a| a.as_str().to_string())
                    })
                    .collect();
                Error::UnknownIssuer(format!("{name:?} (this CA has: {})", known.join(", ")))
            })
    }

    /// The issuing key that signs certificates for `key`: the one of its family (GOST,
    /// or RSA and P-256), else the first.
    pub fn issuer_for(&self, key: &SubjectPublicKeyInfoOwned) -> &Issuer {
        let gost = is_gost(key);
        self.issuers
            .iter()
            .find(|i| i.is_gost() == gost)
            .unwrap_or(&self.issuers[0])
    }

    /// The CA directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The settings.
    pub fn config(&self) -> &CaConfig {
        &self.config
    }

    fn end_entity_extensions(
        &self,
        issuer: &Issuer,
        profile: &Profile,
        applicant: &Applicant,
        spki: &SubjectPublicKeyInfoOwned,
    ) -> Result<(Vec<Extension>, Vec<u8>)> {
        let mut v = vec![extension(
            true,
            &BasicConstraints {
                ca: false,
                path_len_constraint: None,
            },
        )?];
        v.extend(profile.extensions(applicant)?);
        let ski = key_id(spki)?;
        v.push(extension(
            false,
            &SubjectKeyIdentifier(der::asn1::OctetString::new(ski.clone())?),
        )?);
        v.push(extension(
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(der::asn1::OctetString::new(issuer.ski.clone())?),
                ..Default::default()
            },
        )?);
        if let Some(url) = self.config.crl_url_for(issuer.name()) {
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(Ia5String::new(&url)?),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            v.push(extension(false, &CrlDistributionPoints(vec![dp]))?);
        }
        if let Some(url) = self.config.aia_url_for(issuer.name()) {
            let ad = AccessDescription {
                access_method: const_oid::db::rfc5280::ID_AD_CA_ISSUERS,
                access_location: GeneralName::UniformResourceIdentifier(Ia5String::new(&url)?),
            };
            v.push(extension(false, &AuthorityInfoAccessSyntax(vec![ad]))?);
        }
        Ok((v, ski))
    }

    /// Checks and builds one certificate; nothing is stored yet.
    fn prepare(
        &self,
        kind: &'static str,
        profile_name: ProfileName,
        applicant: &Applicant,
        csr: &VerifiedCsr,
        signatures: Vec<StoredSignature>,
        predecessor: Option<Serial>,
    ) -> Result<NewIssue> {
        applicant.validate()?;
        let profile = Profile::resolve(profile_name, applicant)?;
        let subject = tamga_pki::subject_name(applicant)?;
        let issuer = self.issuer_for(&csr.public_key);
        let (extensions, ski) =
            self.end_entity_extensions(issuer, &profile, applicant, &csr.public_key)?;
        let (serial, serial_hex) = random_serial()?;
        let validity = Validity::from_now(Duration::from_secs(
            u64::from(self.config.validity_days) * 86400,
        ))?;
        let fixed = Fixed {
            subject: subject.clone(),
            issuer: issuer.cert.tbs_certificate().subject().clone(),
            extensions,
        };
        let cert = build_cert(
            issuer.signer.as_ref(),
            fixed,
            serial,
            validity,
            csr.public_key.clone(),
        )?;
        let v = cert.tbs_certificate().validity();
        let applicant_json = serde_json::to_string(applicant).map_err(Error::json)?;
        Ok(NewIssue {
            hash: csr.hash,
            kind,
            profile: profile_name.to_string(),
            applicant: applicant_json,
            csr: csr.der.clone(),
            signatures,
            cert: CertRow {
                record: CertRecord {
                    serial: serial_hex,
                    profile: profile_name.to_string(),
                    subject: subject.to_string(),
                    iin: applicant.iin.to_string(),
                    bin: applicant.legal_entity.as_ref().map(|l| l.bin.to_string()),
                    key_id: hex::encode(&ski),
                    not_before: unix(&v.not_before),
                    not_after: unix(&v.not_after),
                    status: CertStatus::Valid,
                    revoked_at: None,
                    revocation_reason: None,
                    predecessor,
                    confirmed_at: None,
                    der: cert.to_der()?,
                },
                request_id: 0,
            },
            issuer: issuer.id().to_string(),
        })
    }

    fn prepare_application(&self, app: &Application) -> Result<NewIssue> {
        let csr = csr::verify_csr(app.csr.as_bytes())?;
        let mut sigs = Vec::new();
        for s in &app.signatures {
            let bad = |what: &str| Error::json(format!("signatures[{}]: {what}", s.role.as_str()));
            let cert = if s.certificate.trim_start().starts_with("-----BEGIN") {
                Certificate::from_pem(s.certificate.as_bytes())
                    .map_err(|_| bad("certificate is not a PEM certificate"))?
                    .to_der()?
            } else {
                let der = b64(&s.certificate).map_err(|_| bad("certificate is not Base64"))?;
                Certificate::from_der(&der).map_err(|_| bad("certificate is not DER"))?;
                der
            };
            let alg: const_oid::ObjectIdentifier = s
                .algorithm
                .parse()
                .map_err(|_| bad("algorithm is not an OID"))?;
            let sig = b64(&s.signature).map_err(|_| bad("signature is not Base64"))?;
            if sig.is_empty() || sig.len() > 1024 {
                return Err(bad("signature length"));
            }
            sigs.push(StoredSignature {
                role: s.role.as_str().to_string(),
                certificate: Some(cert),
                algorithm: alg.to_string(),
                signature: sig,
            });
        }
        self.prepare("issue", app.profile, &app.applicant, &csr, sigs, None)
    }

    /// Writes prepared certificates in one transaction. Returns, per item, the stored
    /// certificate: the new one, or the one already issued for the same request hash.
    fn commit(&self, items: Vec<Result<NewIssue>>, actor: &str) -> Result<Vec<Result<Issued>>> {
        let now = now_unix();
        let mut st = self.lock();
        let tx = st.transaction()?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let n = match item {
                Ok(n) => n,
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            };
            if let Some((row, profile, applicant)) = Store::by_request_hash(&tx, &n.hash)? {
                if profile != n.profile || applicant != n.applicant {
                    out.push(Err(Error::Conflict(format!(
                        "this CSR was already used for certificate {} with other application data",
                        row.serial
                    ))));
                } else {
                    out.push(issued(&row, true));
                }
                continue;
            }
            // One live certificate per key and profile: a request re-signed for the
            // same key (a card pulled mid-way, a rerun) gets the certificate it has.
            if n.kind == "issue"
                && let Some((row, applicant)) =
                    Store::live_by_key(&tx, &n.cert.key_id, &n.profile, now)?
            {
                if applicant != n.applicant {
                    out.push(Err(Error::Conflict(format!(
                        "certificate {} is live for this key with other application data",
                        row.serial
                    ))));
                } else {
                    out.push(issued(&row, true));
                }
                continue;
            }
            Store::insert_issue(&tx, &n, now)?;
            Store::audit(
                &tx,
                actor,
                n.kind,
                &format!(
                    "serial={} profile={} iin={}",
                    n.cert.serial, n.profile, n.cert.iin
                ),
                now,
            )?;
            out.push(issued(&n.cert, false));
        }
        tx.commit()?;
        Ok(out)
    }

    /// Issues one certificate; committed to the store before it is returned. The same CSR
    /// again returns the same certificate.
    pub fn issue(&self, app: &Application, actor: &str) -> Result<Issued> {
        let n = self.prepare_application(app)?;
        self.commit(vec![Ok(n)], actor)?
            .pop()
            .unwrap_or_else(|| Err(Error::Config("empty commit".into())))
    }

    /// Issues many certificates: built in parallel, written in one transaction.
    /// Per-item errors are returned in place; a store error fails the whole batch.
    pub fn issue_batch(&self, apps: &[Application], actor: &str) -> Result<Vec<Result<Issued>>> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        let chunk = apps.len().div_ceil(threads).max(1);
        let prepared: Vec<Result<NewIssue>> = std::thread::scope(|s| {
            let handles: Vec<_> = apps
                .chunks(chunk)
                .map(|c| {
                    s.spawn(move || {
                        c.iter()
                            .map(|a| self.prepare_application(a))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|_| vec![Err(Error::Crypto("worker panicked".into()))])
                })
                .collect()
        });
        self.commit(prepared, actor)
    }

    /// Renewal: new certificates for requests signed by the holder's current valid key.
    /// Each new certificate records the one it replaces (`predecessor`); the replaced
    /// certificates stay valid until [`Ca::confirm`] says the new ones are on the card.
    /// A certificate has at most one renewal awaiting confirmation, and a renewal
    /// awaiting confirmation cannot itself be renewed.
    pub fn renew(&self, req: &RenewRequest, actor: &str) -> Result<Vec<Issued>> {
        if req.items.is_empty() || req.items.len() > MAX_RENEW_ITEMS {
            return Err(Error::Renewal(format!(
                "between 1 and {MAX_RENEW_ITEMS} items"
            )));
        }
        let now = now_unix();
        let holder_serial = req.holder_serial.to_ascii_lowercase();
        let holder = Store::get(self.lock().conn(), &holder_serial)?
            .ok_or_else(|| Error::UnknownSerial(holder_serial.clone()))?;
        let csrs: Vec<VerifiedCsr> = req
            .items
            .iter()
            .map(|i| csr::verify_csr(i.csr.as_bytes()))
            .collect::<tamga_pki::Result<_>>()?;
        let pairs: Vec<(&str, &[u8])> = req
            .items
            .iter()
            .zip(&csrs)
            .map(|(i, c)| (i.previous_serial.as_str(), c.der.as_slice()))
            .collect();
        let content = RenewRequest::signed_content(&holder_serial, &pairs);
        let sig = b64(&req.signature).map_err(|_| Error::json("signature is not Base64"))?;
        let holder_cert = Certificate::from_der(&holder.der)?;
        verify::signature(
            holder_cert.tbs_certificate().subject_public_key_info(),
            None,
            &content,
            &sig,
        )
        .map_err(|_| {
            Error::Renewal("signature does not verify with the holder's current key".into())
        })?;

        // A renewal already carried out (same CSRs, same predecessors) returns its
        // certificates again, even though the holder certificate is superseded by now.
        let mut done = Vec::new();
        for (item, csr) in req.items.iter().zip(&csrs) {
            let prev = item.previous_serial.to_ascii_lowercase();
            match Store::by_request_hash(self.lock().conn(), &csr.hash)? {
                Some((row, _, _)) if row.predecessor.as_deref() == Some(prev.as_str()) => {
                    done.push(issued(&row, true)?)
                }
                _ => break,
            }
        }
        if done.len() == req.items.len() {
            return Ok(done);
        }
        if holder.status != CertStatus::Valid || now < holder.not_before || now >= holder.not_after
        {
            return Err(Error::Renewal(format!(
                "holder certificate {holder_serial} is not valid"
            )));
        }

        let mut prepared = Vec::new();
        let mut existing = Vec::new();
        for (item, csr) in req.items.iter().zip(&csrs) {
            let prev_serial = parse_serial(&item.previous_serial)?;
            let st = self.lock();
            let prev = Store::get(st.conn(), &prev_serial)?
                .ok_or_else(|| Error::UnknownSerial(prev_serial.to_string()))?;
            if prev.iin != holder.iin || prev.bin != holder.bin {
                return Err(Error::Renewal(format!(
                    "certificate {prev_serial} belongs to another holder"
                )));
            }
            if let Some((row, _, _)) = Store::by_request_hash(st.conn(), &csr.hash)? {
                if row.predecessor.as_ref() == Some(&prev_serial) {
                    existing.push(issued(&row, true)?);
                    continue;
                }
                return Err(Error::Conflict(format!(
                    "this CSR was already used for certificate {}",
                    row.serial
                )));
            }
            // The same new key already renewed this certificate (a card pulled
            // before the new certificate was written): that certificate again.
            let new_key = hex::encode(key_id(&csr.public_key)?);
            if let Some((row, _)) = Store::live_by_key(st.conn(), &new_key, &prev.profile, now)?
                && row.predecessor.as_ref() == Some(&prev_serial)
            {
                existing.push(issued(&row, true)?);
                continue;
            }
            if prev.status != CertStatus::Valid || now >= prev.not_after {
                return Err(Error::Renewal(format!(
                    "certificate {prev_serial} is revoked or expired"
                )));
            }
            check_renewable(st.conn(), &prev)?;
            let (profile, applicant_json) = store::request_data(st.conn(), prev.request_id)?;
            drop(st);
            let profile: ProfileName = profile.parse()?;
            let applicant: Applicant =
                serde_json::from_str(&applicant_json).map_err(Error::json)?;
            let holder_sig = vec![StoredSignature {
                role: "holder".to_string(),
                certificate: Some(holder.der.clone()),
                algorithm: "default".to_string(),
                signature: sig.clone(),
            }];
            prepared.push((
                prev_serial.clone(),
                self.prepare(
                    "renew",
                    profile,
                    &applicant,
                    csr,
                    holder_sig,
                    Some(prev_serial),
                )?,
            ));
        }
        if prepared.is_empty() {
            return Ok(existing);
        }
        let mut st = self.lock();
        let tx = st.transaction()?;
        let mut out = existing;
        for (prev, n) in prepared {
            if Store::by_request_hash(&tx, &n.hash)?.is_some() {
                return Err(Error::Conflict(
                    "renewal raced with another request for the same CSR".into(),
                ));
            }
            match Store::get(&tx, &prev)? {
                Some(row) if row.status == CertStatus::Valid => check_renewable(&tx, &row)?,
                _ => {
                    return Err(Error::Renewal(format!(
                        "certificate {prev} was revoked meanwhile"
                    )));
                }
            }
            Store::insert_issue(&tx, &n, now)?;
            Store::audit(
                &tx,
                actor,
                "renew",
                &format!("serial={} predecessor={prev}", n.cert.serial),
                now,
            )?;
            out.push(issued(&n.cert, false)?);
        }
        tx.commit()?;
        Ok(out)
    }

    /// Confirms renewals by the serials of the new certificates, once the host has written
    /// them to the card and read them back: each predecessor is marked superseded (revoked,
    /// CRL reason superseded) and the renewal confirmed, all in one transaction.
    ///
    /// Idempotent: a renewal confirmed before is reported with `existing` and nothing
    /// changes. An unknown serial, a certificate that is no renewal (no predecessor) or a
    /// revoked one fails the whole call, and nothing changes. A predecessor revoked for
    /// another reason meanwhile keeps that reason.
    ///
    /// Who may confirm: the operator, like every other write (the HTTP API's token). The
    /// holder already agreed to the replacement by signing the renewal request with the
    /// current key; the confirmation only says *when*. A signature by the new key would
    /// add nothing: the CSR already proved possession of that key, a signature cannot show
    /// that the certificate was written to the card, and whoever has the operator token
    /// can revoke the old certificate through [`Ca::revoke`] anyway.
    pub fn confirm(&self, serials: &[impl AsRef<str>], actor: &str) -> Result<Vec<Confirmed>> {
        if serials.is_empty() || serials.len() > MAX_RENEW_ITEMS {
            return Err(Error::Confirmation(format!(
                "between 1 and {MAX_RENEW_ITEMS} serials"
            )));
        }
        let serials: Vec<Serial> = serials
            .iter()
            .map(|s| parse_serial(s.as_ref()))
            .collect::<Result<_>>()?;
        let now = now_unix();
        let mut st = self.lock();
        let tx = st.transaction()?;
        let mut out = Vec::with_capacity(serials.len());
        for serial in serials {
            let row = Store::get(&tx, &serial)?
                .ok_or_else(|| Error::UnknownSerial(serial.to_string()))?;
            let predecessor = row.predecessor.clone().ok_or_else(|| {
                Error::Confirmation(format!(
                    "certificate {serial} replaces no certificate (it is not a renewal)"
                ))
            })?;
            if row.status != CertStatus::Valid {
                return Err(Error::Conflict(format!(
                    "certificate {serial} is revoked: a revoked renewal cannot be confirmed"
                )));
            }
            let existing = !Store::confirm(&tx, &serial, now)?;
            if !existing {
                // Leaves a predecessor revoked for another reason meanwhile as it is.
                Store::revoke(
                    &tx,
                    &predecessor,
                    RevocationReason::Superseded.as_str(),
                    now,
                )?;
                Store::audit(
                    &tx,
                    actor,
                    "confirm",
                    &format!("serial={serial} predecessor={predecessor}"),
                    now,
                )?;
            }
            out.push(Confirmed {
                serial,
                predecessor,
                existing,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// Revokes a certificate.
    pub fn revoke(
        &self,
        serial: &str,
        reason: RevocationReason,
        actor: &str,
    ) -> Result<CertRecord> {
        let serial = parse_serial(serial)?;
        let now = now_unix();
        let mut st = self.lock();
        let tx = st.transaction()?;
        if Store::get(&tx, &serial)?.is_none() {
            return Err(Error::UnknownSerial(serial.to_string()));
        }
        if !Store::revoke(&tx, &serial, reason.as_str(), now)? {
            return Err(Error::AlreadyRevoked(serial.to_string()));
        }
        Store::audit(
            &tx,
            actor,
            "revoke",
            &format!("serial={serial} reason={}", reason.as_str()),
            now,
        )?;
        let row =
            Store::get(&tx, &serial)?.ok_or_else(|| Error::UnknownSerial(serial.to_string()))?;
        tx.commit()?;
        Ok(row.record)
    }

    /// One certificate by serial.
    pub fn show(&self, serial: &str) -> Result<CertRecord> {
        let serial = parse_serial(serial)?;
        Store::get(self.lock().conn(), &serial)?
            .map(|r| r.record)
            .ok_or_else(|| Error::UnknownSerial(serial.to_string()))
    }

    /// Issues a new CRL of the first issuing key (see [`Ca::issuer_crl`]).
    pub fn crl(&self, actor: &str) -> Result<(i64, Vec<u8>)> {
        self.issuer_crl(&self.issuers[0], actor)
    }

    /// Issues a new CRL for every issuing key, the first one first.
    pub fn crls(&self, actor: &str) -> Result<Vec<(i64, Vec<u8>)>> {
        self.issuers
            .iter()
            .map(|i| self.issuer_crl(i, actor))
            .collect()
    }

    /// Issues a new CRL signed by `issuer`: the revoked, unexpired certificates it
    /// signed, with reason codes, its next CRL number, nextUpdate = now +
    /// crl_period_hours. Returns (number, DER).
    pub fn issuer_crl(&self, issuer: &Issuer, actor: &str) -> Result<(i64, Vec<u8>)> {
        let now = now_unix();
        let mut st = self.lock();
        let revoked = st.revoked_unexpired(issuer.id(), now)?;
        let mut entries: Vec<RevokedCert> = Vec::with_capacity(revoked.len());
        for (serial, at, reason) in &revoked {
            let bytes: Vec<u8> = (0..serial.len() / 2)
                .map(|i| u8::from_str_radix(&serial[2 * i..2 * i + 2], 16))
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| Error::Config(format!("bad serial {serial} in store")))?;
            let ext = match RevocationReason::parse(reason).and_then(|r| r.crl_reason()) {
                Some(code) => Some(vec![extension(false, &code)?]),
                None => None,
            };
            entries.push(RevokedCert {
                serial_number: SerialNumber::new(&bytes)?,
                revocation_date: time_at(*at)?,
                crl_entry_extensions: ext,
            });
        }
        let tx = st.transaction()?;
        let number = Store::next_crl_number(&tx, issuer.id())?;
        let next = now + i64::from(self.config.crl_period_hours) * 3600;
        let num_bytes = number.to_be_bytes();
        let first = num_bytes.iter().position(|&b| b != 0).unwrap_or(7);
        let crl_ext = vec![
            extension(false, &CrlNumber(Uint::new(&num_bytes[first..])?))?,
            extension(
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(der::asn1::OctetString::new(issuer.ski.clone())?),
                    ..Default::default()
                },
            )?,
        ];
        let tbs = TbsCertList {
            version: Version::V2,
            signature: issuer.signer.algorithm(),
            issuer: issuer.cert.tbs_certificate().subject().clone(),
            this_update: time_at(now)?,
            next_update: Some(time_at(next)?),
            revoked_certificates: if entries.is_empty() {
                None
            } else {
                Some(entries)
            },
            crl_extensions: Some(crl_ext),
        };
        let sig = issuer.signer.sign(&tbs.to_der()?)?;
        let crl = CertificateList {
            signature_algorithm: tbs.signature.clone(),
            tbs_cert_list: tbs,
            signature: BitString::from_bytes(&sig)?,
        };
        let der = crl.to_der()?;
        Store::insert_crl(&tx, issuer.id(), number, now, next, &der)?;
        Store::audit(
            &tx,
            actor,
            "crl",
            &format!(
                "issuer={} number={number} entries={}",
                issuer.id(),
                revoked.len()
            ),
            now,
        )?;
        tx.commit()?;
        Ok((number, der))
    }

    /// The first issuing key's latest CRL if it is still current, else a new one.
    pub fn current_crl(&self, actor: &str) -> Result<Vec<u8>> {
        self.current_issuer_crl(&self.issuers[0], actor)
    }

    /// `issuer`'s latest CRL if it is still current, else a new one.
    pub fn current_issuer_crl(&self, issuer: &Issuer, actor: &str) -> Result<Vec<u8>> {
        if let Some((_, next, der)) = self.lock().latest_crl(issuer.id())?
            && next > now_unix() + 60
        {
            return Ok(der);
        }
        Ok(self.issuer_crl(issuer, actor)?.1)
    }
}

/// Refuses to renew `prev` when it is a renewal awaiting confirmation itself, or when
/// another renewal of it awaits confirmation.
fn check_renewable(conn: &rusqlite::Connection, prev: &CertRow) -> Result<()> {
    if prev.awaiting_confirmation() {
        return Err(Error::Renewal(format!(
            "certificate {} is a renewal awaiting confirmation: confirm it first",
            prev.serial
        )));
    }
    if let Some(next) = Store::awaiting_successor(conn, &prev.serial)? {
        return Err(Error::Conflict(format!(
            "certificate {} already has a renewal awaiting confirmation ({}): confirm or revoke it",
            prev.serial, next.serial
        )));
    }
    Ok(())
}

/// A serial as given by a caller ([`Error::UnknownSerial`] when it is not one).
fn parse_serial(serial: &str) -> Result<Serial> {
    Serial::parse(serial).map_err(|e| match e {
        tamga_pki::Error::BadSerial(s) => Error::UnknownSerial(s),
        other => other.into(),
    })
}

/// Writes a file and syncs it.
fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(data).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
