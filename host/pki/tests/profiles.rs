//! Profile data: names, resolution, subject DN, extensions, and a host-side PKCS#10 request
//! built from the same code.

use der::{Decode, Encode, Tag, Tagged};
use p256::elliptic_curve::Generate;
use tamga_pki::*;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::ext::pkix::{KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::request::{CertReq, ExtensionReq};

fn person(role: Option<Role>) -> Applicant {
    Applicant {
        iin: "760212350620".parse().unwrap(),
        surname: "Нұрланов".into(),
        name: "Ержан".into(),
        patronymic: Some("Серікұлы".into()),
        email: Some("erzhan@example.kz".into()),
        phone: None,
        locality: Some("Шымкент".into()),
        region: Some("Түркістан облысы".into()),
        legal_entity: role.map(|role| LegalEntity {
            bin: "940140000385".parse().unwrap(),
            name: "АО «Пример»".into(),
            role,
        }),
    }
}

#[test]
fn profile_names() {
    for p in ProfileName::ALL {
        assert_eq!(p.as_str().parse::<ProfileName>().unwrap(), p);
    }
    let e = "admin".parse::<ProfileName>().unwrap_err();
    assert!(
        e.to_string().starts_with("unknown profile \"admin\""),
        "{e}"
    );
    assert_eq!(
        ProfileName::of(true, CertKind::Signature),
        ProfileName::LegalSign
    );
}

#[test]
fn resolve_checks_holder_kind() {
    let ind = person(None);
    let le = person(Some(Role::MaySign));
    let p = Profile::resolve(ProfileName::LegalAuth, &le).unwrap();
    assert_eq!(p.holder, Holder::LegalEntity(Role::MaySign));
    assert_eq!(p.name(), ProfileName::LegalAuth);
    assert!(matches!(
        Profile::resolve(ProfileName::LegalSign, &ind),
        Err(Error::MissingField("legal_entity"))
    ));
    assert!(Profile::resolve(ProfileName::IndividualSign, &le).is_err());
}

#[test]
fn subject_name_order_and_string_types() {
    let a = person(Some(Role::Head));
    let name = subject_name(&a).unwrap();
    let got: Vec<(String, Tag, String)> = name
        .iter()
        .map(|atv| {
            (
                atv.oid.to_string(),
                atv.value.tag(),
                String::from_utf8(atv.value.value().to_vec()).unwrap(),
            )
        })
        .collect();
    let u = Tag::Utf8String;
    let p = Tag::PrintableString;
    let want = vec![
        ("2.5.4.3", u, "НҰРЛАНОВ ЕРЖАН"),
        ("2.5.4.4", u, "НҰРЛАНОВ"),
        ("2.5.4.5", p, "IIN760212350620"),
        ("2.5.4.6", p, "KZ"),
        ("2.5.4.7", u, "Шымкент"),
        ("2.5.4.8", u, "Түркістан облысы"),
        ("2.5.4.10", u, "АО «Пример»"),
        ("2.5.4.11", p, "BIN940140000385"),
        ("2.5.4.42", u, "СЕРІКҰЛЫ"),
        ("1.2.840.113549.1.9.1", Tag::Ia5String, "erzhan@example.kz"),
    ];
    let want: Vec<(String, Tag, String)> = want
        .into_iter()
        .map(|(o, t, v)| (o.to_string(), t, v.to_string()))
        .collect();
    assert_eq!(got, want);
    // Individuals have no O/OU; optional fields may be left out.
    let mut b = person(None);
    b.email = None;
    b.locality = None;
    b.region = None;
    b.patronymic = None;
    let n = subject_name(&b).unwrap();
    assert_eq!(n.iter().count(), 4);
}

#[test]
fn extensions_per_profile() {
    for role in [None, Some(Role::Hr)] {
        let a = person(role);
        for kind in [CertKind::Authentication, CertKind::Signature] {
            let p = Profile::resolve(ProfileName::of(role.is_some(), kind), &a).unwrap();
            let ext = p.extensions(&a).unwrap();
            assert_eq!(ext.len(), 4);
            assert!(ext[0].critical && ext[0].extn_id == const_oid::db::rfc5280::ID_CE_KEY_USAGE);
            let ku = KeyUsage::from_der(ext[0].extn_value.as_bytes()).unwrap();
            let want = match kind {
                CertKind::Authentication => {
                    KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment
                }
                CertKind::Signature => KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            };
            assert_eq!(ku.0, want);
            let san = SubjectAltName::from_der(ext[3].extn_value.as_bytes()).unwrap();
            assert_eq!(san, subject_alt_name(&a).unwrap().unwrap());
            let mut no_mail = a.clone();
            no_mail.email = None;
            assert_eq!(p.extensions(&no_mail).unwrap().len(), 3);
        }
    }
}

#[test]
fn host_side_pkcs10_request_from_the_same_code() {
    let a = person(Some(Role::Employee));
    let profile = Profile::resolve(ProfileName::LegalAuth, &a).unwrap();
    let key =
        p256::ecdsa::SigningKey::generate_from_rng(&mut rand_core::UnwrapErr(getrandom::SysRng));
    let mut b = RequestBuilder::new(subject_name(&a).unwrap()).unwrap();
    for e in profile.extensions(&a).unwrap() {
        b.add_extension(e).unwrap();
    }
    let req = b.build::<_, p256::ecdsa::DerSignature>(&key).unwrap();
    let der = req.to_der().unwrap();
    let back = CertReq::from_der(&der).unwrap();
    assert_eq!(back.info.subject, subject_name(&a).unwrap());
    let attr = back.info.attributes.iter().next().unwrap();
    let ext_req: ExtensionReq = attr.values.iter().next().unwrap().decode_as().unwrap();
    assert_eq!(ext_req, profile.extension_request(&a).unwrap());
}
