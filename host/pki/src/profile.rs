//! NCA certificate profiles: subject names and extensions, and a checker.

use crate::{Applicant, Error, Role, oids};
use const_oid::{AssociatedOid, ObjectIdentifier as Oid};
use core::fmt;
use core::str::FromStr;
use der::asn1::{Any, Ia5String, OctetString, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    BasicConstraints, CertificatePolicies, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
    certpolicy::PolicyInformation,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::ExtensionReq;

/// Which of the person's two certificates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// Authentication certificate (PIV slot 9A).
    Authentication,
    /// Signature (EDS) certificate (PIV slot 9C).
    Signature,
}

/// Who holds the certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A private person.
    Individual,
    /// An employee of a legal entity, with a role.
    LegalEntity(Role),
}

/// The profile names a request may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProfileName {
    /// `individual-auth`.
    IndividualAuth,
    /// `individual-sign`.
    IndividualSign,
    /// `legal-auth` (role taken from the applicant's legal entity).
    LegalAuth,
    /// `legal-sign` (role taken from the applicant's legal entity).
    LegalSign,
}

impl ProfileName {
    /// Every profile name.
    pub const ALL: [ProfileName; 4] = [
        ProfileName::IndividualAuth,
        ProfileName::IndividualSign,
        ProfileName::LegalAuth,
        ProfileName::LegalSign,
    ];

    /// The text form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::IndividualAuth => "individual-auth",
            ProfileName::IndividualSign => "individual-sign",
            ProfileName::LegalAuth => "legal-auth",
            ProfileName::LegalSign => "legal-sign",
        }
    }

    /// The certificate kind this name asks for.
    pub fn kind(self) -> CertKind {
        match self {
            ProfileName::IndividualAuth | ProfileName::LegalAuth => CertKind::Authentication,
            _ => CertKind::Signature,
        }
    }

    /// Whether the name is for a legal-entity employee.
    pub fn is_legal(self) -> bool {
        matches!(self, ProfileName::LegalAuth | ProfileName::LegalSign)
    }

    /// The name for a holder kind and certificate kind.
    pub fn of(legal: bool, kind: CertKind) -> ProfileName {
        match (legal, kind) {
            (false, CertKind::Authentication) => ProfileName::IndividualAuth,
            (false, CertKind::Signature) => ProfileName::IndividualSign,
            (true, CertKind::Authentication) => ProfileName::LegalAuth,
            (true, CertKind::Signature) => ProfileName::LegalSign,
        }
    }
}

impl FromStr for ProfileName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| Error::UnknownProfile(s.chars().take(64).collect()))
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for ProfileName {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<ProfileName> for String {
    fn from(p: ProfileName) -> String {
        p.as_str().to_string()
    }
}

/// A fully determined profile: holder (with role) and certificate kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    /// Who holds the certificate.
    pub holder: Holder,
    /// Which certificate.
    pub kind: CertKind,
}

impl Profile {
    /// Resolves a requested profile name against the applicant data: a legal profile
    /// needs the legal entity, an individual profile must not have one.
    pub fn resolve(name: ProfileName, applicant: &Applicant) -> Result<Profile, Error> {
        let holder = match (name.is_legal(), &applicant.legal_entity) {
            (false, None) => Holder::Individual,
            (true, Some(le)) => Holder::LegalEntity(le.role),
            (true, None) => return Err(Error::MissingField("legal_entity")),
            (false, Some(_)) => {
                return Err(Error::InvalidField {
                    field: "legal_entity",
                    reason: format!("not allowed with profile {name}"),
                });
            }
        };
        Ok(Profile {
            holder,
            kind: name.kind(),
        })
    }

    /// The profile name this profile answers to.
    pub fn name(&self) -> ProfileName {
        ProfileName::of(matches!(self.holder, Holder::LegalEntity(_)), self.kind)
    }

    /// Key usage bits.
    pub fn key_usage(&self) -> KeyUsage {
        KeyUsage(match self.kind {
            CertKind::Authentication => KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment,
            CertKind::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
        })
    }

    /// Extended key usage OIDs, in order.
    pub fn extended_key_usage(&self) -> ExtendedKeyUsage {
        let mut v = vec![match self.kind {
            CertKind::Authentication => oids::KP_CLIENT_AUTH,
            CertKind::Signature => oids::KP_EMAIL_PROTECTION,
        }];
        match self.holder {
            Holder::Individual => v.push(oids::EKU_INDIVIDUAL),
            Holder::LegalEntity(role) => {
                v.push(oids::EKU_LEGAL_ENTITY);
                v.push(role_oid(role));
            }
        }
        ExtendedKeyUsage(v)
    }

    /// The certificate policy OID.
    pub fn policy(&self) -> Oid {
        match (self.holder, self.kind) {
            (Holder::LegalEntity(_), CertKind::Signature) => oids::POLICY_LEGAL_SIGN,
            (Holder::LegalEntity(_), CertKind::Authentication) => oids::POLICY_LEGAL_AUTH,
            (Holder::Individual, CertKind::Signature) => oids::POLICY_INDIVIDUAL_SIGN,
            (Holder::Individual, CertKind::Authentication) => oids::POLICY_INDIVIDUAL_AUTH,
        }
    }

    /// The certificatePolicies extension value.
    pub fn certificate_policies(&self) -> CertificatePolicies {
        CertificatePolicies(vec![PolicyInformation {
            policy_identifier: self.policy(),
            policy_qualifiers: None,
        }])
    }

    /// The profile's own extensions, for the certificate or a PKCS#10 extensionRequest:
    /// key usage (critical), extended key usage, certificate policies, and a subjectAltName
    /// with the e-mail address when the applicant gave one. The CA adds basic constraints,
    /// key identifiers, CRL distribution point and AIA.
    pub fn extensions(&self, applicant: &Applicant) -> Result<Vec<Extension>, Error> {
        let mut v = vec![
            extension(true, &self.key_usage())?,
            extension(false, &self.extended_key_usage())?,
            extension(false, &self.certificate_policies())?,
        ];
        if let Some(san) = subject_alt_name(applicant)? {
            v.push(extension(false, &san)?);
        }
        Ok(v)
    }

    /// The same extensions as a PKCS#10 `extensionRequest` attribute value, for the host
    /// to put into the card's certificate request.
    pub fn extension_request(&self, applicant: &Applicant) -> Result<ExtensionReq, Error> {
        Ok(ExtensionReq(self.extensions(applicant)?))
    }
}

/// The EKU role OID of a legal-entity role.
pub fn role_oid(role: Role) -> Oid {
    match role {
        Role::Head => oids::EKU_ROLE_HEAD,
        Role::MaySign => oids::EKU_ROLE_MAY_SIGN,
        Role::Finance => oids::EKU_ROLE_FINANCE,
        Role::Hr => oids::EKU_ROLE_HR,
        Role::Employee => oids::EKU_ROLE_EMPLOYEE,
    }
}

/// Encodes an extension value with its associated OID.
pub fn extension<T: AssociatedOid + Encode>(critical: bool, value: &T) -> Result<Extension, Error> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn atv_utf8(oid: Oid, s: &str) -> Result<AttributeTypeAndValue, Error> {
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::encode_from(&Utf8StringRef::new(s)?)?,
    })
}

fn atv_printable(oid: Oid, s: &str) -> Result<AttributeTypeAndValue, Error> {
    Ok(AttributeTypeAndValue {
        oid,
        value: Any::encode_from(&PrintableStringRef::new(s)?)?,
    })
}

/// Builds a [`Name`] with one attribute per RDN, in the given order.
pub fn name_from_attributes(atvs: Vec<AttributeTypeAndValue>) -> Result<Name, Error> {
    let mut seq = RdnSequence::default();
    for atv in atvs {
        seq.push(RelativeDistinguishedName::try_from(vec![atv])?);
    }
    Ok(Name::from_der(&seq.to_der()?)?)
}

/// The subject DN of both of the applicant's certificates:
/// CN "SURNAME NAME", SURNAME, SERIALNUMBER "IIN…", C=KZ, then when present L, S,
/// O and OU "BIN…" (legal entity), givenName = patronymic, emailAddress.
pub fn subject_name(applicant: &Applicant) -> Result<Name, Error> {
    applicant.validate()?;
    let mut v = vec![
        atv_utf8(oids::COMMON_NAME, &applicant.common_name())?,
        atv_utf8(oids::SURNAME, &applicant.surname.to_uppercase())?,
        atv_printable(oids::SERIAL_NUMBER, &format!("IIN{}", applicant.iin))?,
        atv_printable(oids::COUNTRY, "KZ")?,
    ];
    if let Some(l) = &applicant.locality {
        v.push(atv_utf8(oids::LOCALITY, l)?);
    }
    if let Some(s) = &applicant.region {
        v.push(atv_utf8(oids::STATE, s)?);
    }
    if let Some(le) = &applicant.legal_entity {
        v.push(atv_utf8(oids::ORGANIZATION, &le.name)?);
        v.push(atv_printable(
            oids::ORGANIZATIONAL_UNIT,
            &format!("BIN{}", le.bin),
        )?);
    }
    if let Some(p) = &applicant.patronymic {
        v.push(atv_utf8(oids::GIVEN_NAME, &p.to_uppercase())?);
    }
    if let Some(e) = &applicant.email {
        let ia5 = Ia5String::new(e)?;
        v.push(AttributeTypeAndValue {
            oid: oids::EMAIL_ADDRESS,
            value: Any::encode_from(&ia5)?,
        });
    }
    name_from_attributes(v)
}

/// subjectAltName with the e-mail address as rfc822Name, if the applicant gave one.
pub fn subject_alt_name(applicant: &Applicant) -> Result<Option<SubjectAltName>, Error> {
    match &applicant.email {
        None => Ok(None),
        Some(e) => Ok(Some(SubjectAltName(vec![GeneralName::Rfc822Name(
            Ia5String::new(e)?,
        )]))),
    }
}

/// Checks that a certificate carries exactly what the profile says for this applicant:
/// subject DN, key usage, extended key usage, policy, subjectAltName, not a CA.
/// Returns the first difference as an error.
pub fn check_certificate(
    cert: &Certificate,
    profile: &Profile,
    applicant: &Applicant,
) -> Result<(), Error> {
    let tbs = cert.tbs_certificate();
    let mismatch = |what: &str, detail: String| Error::ProfileMismatch(format!("{what}: {detail}"));
    let want = subject_name(applicant)?;
    if tbs.subject().to_der()? != want.to_der()? {
        return Err(mismatch(
            "subject",
            format!("got {}, expected {want}", tbs.subject()),
        ));
    }
    let ku = tbs.get_extension::<KeyUsage>()?;
    match ku {
        Some((true, ku)) if ku == profile.key_usage() => {}
        other => return Err(mismatch("key usage", format!("{other:?}"))),
    }
    let eku = tbs.get_extension::<ExtendedKeyUsage>()?.map(|(_, e)| e);
    let want_eku = profile.extended_key_usage();
    let same_set = |a: &ExtendedKeyUsage| {
        a.0.len() == want_eku.0.len() && want_eku.0.iter().all(|o| a.0.contains(o))
    };
    if !eku.as_ref().is_some_and(same_set) {
        return Err(mismatch("extended key usage", format!("{eku:?}")));
    }
    let pol = tbs.get_extension::<CertificatePolicies>()?.map(|(_, p)| p);
    if !pol
        .as_ref()
        .is_some_and(|p| p.0.iter().any(|i| i.policy_identifier == profile.policy()))
    {
        return Err(mismatch("certificate policies", format!("{pol:?}")));
    }
    let san = tbs.get_extension::<SubjectAltName>()?.map(|(_, s)| s);
    if san != subject_alt_name(applicant)? {
        return Err(mismatch("subject alternative name", format!("{san:?}")));
    }
    if let Some((_, bc)) = tbs.get_extension::<BasicConstraints>()?
        && bc.ca
    {
        return Err(mismatch(
            "basic constraints",
            "end-entity certificate marked as CA".into(),
        ));
    }
    Ok(())
}
