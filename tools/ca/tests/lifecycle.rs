//! Idempotency, revocation and CRL (checked by openssl), renewal and its confirmation.

mod common;

use base64::Engine;
use common::*;
use der::Decode;
use tamga_ca::bench::{p256_csr, sample_applicant};
use tamga_ca::{Error, KeyAlgorithm, RevocationReason};
use tamga_pki::{CertStatus, ProfileName, Role, Serial};
use x509_cert::Certificate;

#[test]
fn same_csr_twice_returns_the_same_certificate() {
    let tmp = TempDir::new("idem");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(3, None);
    let (_, csr) = p256_csr(&a).unwrap();
    let first = ca
        .issue(
            &app(ProfileName::IndividualAuth, a.clone(), csr.clone()),
            "t",
        )
        .unwrap();
    assert!(!first.existing);
    let before = counts(&ca);
    // Same CSR as PEM, as bare Base64 and inside a batch twice: always the same certificate.
    let der = pem_rfc7468::decode_vec(csr.as_bytes()).unwrap().1;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    let again = ca
        .issue(
            &app(ProfileName::IndividualAuth, a.clone(), b64.clone()),
            "t",
        )
        .unwrap();
    assert!(again.existing);
    assert_eq!(
        (again.serial.as_str(), &again.der),
        (first.serial.as_str(), &first.der)
    );
    let batch = vec![app(ProfileName::IndividualAuth, a.clone(), csr.clone()); 3];
    for r in ca.issue_batch(&batch, "t").unwrap() {
        assert_eq!(r.unwrap().serial, first.serial);
    }
    assert_eq!(counts(&ca), before);
    // The same CSR for a different profile or person is refused, nothing stored.
    let e = ca
        .issue(
            &app(ProfileName::IndividualSign, a.clone(), csr.clone()),
            "t",
        )
        .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e}");
    let e = ca
        .issue(
            &app(ProfileName::IndividualAuth, sample_applicant(4, None), csr),
            "t",
        )
        .unwrap_err();
    assert!(e.to_string().contains("already used"), "{e}");
    assert_eq!(counts(&ca), before);
}

#[test]
fn revocation_reasons_and_crl() {
    let tmp = TempDir::new("crl");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let mut serials = Vec::new();
    for i in 0..6 {
        let a = sample_applicant(10 + i, None);
        let (_, csr) = p256_csr(&a).unwrap();
        serials.push(
            ca.issue(&app(ProfileName::IndividualSign, a, csr), "t")
                .unwrap()
                .serial,
        );
    }
    for (s, r) in serials.iter().zip(RevocationReason::ALL) {
        let row = ca.revoke(s, r, "t").unwrap();
        assert_eq!(row.status, CertStatus::Revoked);
        assert_eq!(
            row.revocation_reason.map(RevocationReason::as_str),
            Some(r.as_str())
        );
    }
    let e = ca
        .revoke(&serials[0], RevocationReason::Death, "t")
        .unwrap_err();
    assert!(matches!(e, Error::AlreadyRevoked(_)), "{e}");

    // Make one revoked certificate expired: it must leave the CRL.
    ca.with_store(|s| {
        s.conn()
            .execute(
                "UPDATE certificates SET not_after = 1000 WHERE serial = ?1",
                [serials[4].as_str()],
            )
            .map_err(Error::from)
    })
    .unwrap();

    let (n1, _) = ca.crl("t").unwrap();
    let (n2, der) = ca.crl("t").unwrap();
    // init published CRL 1.
    assert_eq!((n1, n2), (2, 3));
    let crl_path = write(tmp.path(), "crl.der", &der);
    let chain = tmp.path().join("ca/chain.pem");
    let (ok, text) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_path.to_str().unwrap(),
        "-CAfile",
        chain.to_str().unwrap(),
        "-verify",
        "-noout",
        "-text",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                3") || text.contains("CRL Number: \n3"),
        "{text}"
    );
    assert!(text.contains("Next Update"), "{text}");
    let upper = text.to_uppercase();
    for (i, s) in serials.iter().enumerate() {
        let listed = upper.contains(&s.to_uppercase());
        assert_eq!(
            listed,
            i != 4 && i < 5,
            "serial {i} listed={listed}\n{text}"
        );
    }
    // Reason codes: owner-request has none (unspecified), the others map as documented.
    for reason in [
        "Cessation Of Operation",
        "Privilege Withdrawn",
        "Key Compromise",
    ] {
        assert!(text.contains(reason), "{reason}\n{text}");
    }
    assert!(
        !text.contains("Superseded"),
        "expired entry still listed\n{text}"
    );
    assert!(!text.contains("Unspecified"), "{text}");

    // openssl verify with the CRL: revoked fails, the unrevoked one passes.
    let issued = ca.show(&serials[5]).unwrap();
    let ok_pem = write(
        tmp.path(),
        "ok.pem",
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &issued.der)
            .unwrap()
            .as_bytes(),
    );
    let bad = ca.show(&serials[0]).unwrap();
    let bad_pem = write(
        tmp.path(),
        "bad.pem",
        pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &bad.der)
            .unwrap()
            .as_bytes(),
    );
    let root = tmp.path().join("root/ca.pem");
    let ca_pem = tmp.path().join("ca/ca.pem");
    let v = |c: &std::path::Path| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CRLfile",
            crl_path.to_str().unwrap(),
            "-CAfile",
            root.to_str().unwrap(),
            "-untrusted",
            ca_pem.to_str().unwrap(),
            "-purpose",
            "smimesign",
            c.to_str().unwrap(),
        ])
    };
    // -CRLfile wants PEM.
    let crl_pem = write(
        tmp.path(),
        "crl.pem",
        pem_rfc7468::encode_string("X509 CRL", pem_rfc7468::LineEnding::LF, &der)
            .unwrap()
            .as_bytes(),
    );
    std::fs::rename(&crl_pem, &crl_path).unwrap();
    let (ok, out) = v(&ok_pem);
    assert!(ok, "{out}");
    let (ok, out) = v(&bad_pem);
    assert!(!ok && out.contains("revoked"), "{out}");
}

/// Serials on a fresh CRL, with the superseded flag of their reason code.
fn crl_entries(ca: &tamga_ca::Ca) -> Vec<(Serial, bool)> {
    use der::Encode;
    let (_, der) = ca.crl("t").unwrap();
    let crl: x509_cert::crl::CertificateList = Decode::from_der(&der).unwrap();
    let superseded = x509_cert::ext::pkix::CrlReason::Superseded
        .to_der()
        .unwrap();
    crl.tbs_cert_list
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let serial = Serial::from_bytes(r.serial_number.as_bytes()).unwrap();
            let reason = r.crl_entry_extensions.iter().flatten().any(|e| {
                e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS
                    && e.extn_value.as_bytes() == superseded.as_slice()
            });
            (serial, reason)
        })
        .collect()
}

/// Serial, status, revocation reason and confirmation time of a certificate.
type RowState = (Serial, CertStatus, Option<RevocationReason>, Option<i64>);

/// The state of every certificate, and the row counts: what a refused operation must
/// leave alone.
fn state(ca: &tamga_ca::Ca) -> (Vec<RowState>, Vec<i64>) {
    let rows = ca
        .with_store(|s| s.list(None, 1000))
        .unwrap()
        .into_iter()
        .map(|r| (r.serial, r.status, r.revocation_reason, r.confirmed_at))
        .collect();
    (rows, counts(ca))
}

#[test]
fn renewal_supersedes_once_confirmed() {
    let tmp = TempDir::new("renew");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(20, Some(Role::Finance));
    let auth_key = openssl_p256_key(tmp.path(), "auth");
    let sign_key = openssl_rsa_key(tmp.path(), "sign");
    let auth = ca
        .issue(
            &app(
                ProfileName::LegalAuth,
                a.clone(),
                openssl_csr(&auth_key, "a"),
            ),
            "t",
        )
        .unwrap();
    let sign = ca
        .issue(
            &app(
                ProfileName::LegalSign,
                a.clone(),
                openssl_csr(&sign_key, "s"),
            ),
            "t",
        )
        .unwrap();

    // New keys, requests for both certificates, signed with the current signature key.
    let new_auth = openssl_csr(&openssl_p256_key(tmp.path(), "auth2"), "a2");
    let new_sign = openssl_csr(&openssl_rsa_key(tmp.path(), "sign2"), "s2");
    let items = [
        (auth.serial.as_str(), new_auth.as_str()),
        (sign.serial.as_str(), new_sign.as_str()),
    ];
    // Signed by the wrong key (the auth key, while the holder is the signature cert): refused.
    let wrong = renew_request(&sign.serial, &auth_key, &items, tmp.path());
    let before = counts(&ca);
    let e = ca.renew(&wrong, "t").unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    assert_eq!(counts(&ca), before);

    let req = renew_request(&sign.serial, &sign_key, &items, tmp.path());
    let renewed = ca.renew(&req, "t").unwrap();
    assert_eq!(renewed.len(), 2);
    let new_serials: Vec<Serial> = renewed.iter().map(|i| i.serial.clone()).collect();
    for (new, old) in renewed.iter().zip([&auth, &sign]) {
        assert_eq!(new.profile, old.profile);
        let row = ca.show(&new.serial).unwrap();
        assert_eq!(row.predecessor.as_deref(), Some(old.serial.as_str()));
        assert!(row.awaiting_confirmation());
        // Not confirmed yet: the old certificate stays valid.
        let old_row = ca.show(&old.serial).unwrap();
        assert_eq!(
            (old_row.status, old_row.revocation_reason),
            (CertStatus::Valid, None)
        );
        let cert = Certificate::from_der(&new.der).unwrap();
        let profile = tamga_pki::Profile::resolve(new.profile.parse().unwrap(), &a).unwrap();
        tamga_pki::check_certificate(&cert, &profile, &a).unwrap();
    }
    assert!(
        crl_entries(&ca).is_empty(),
        "nothing revoked before confirmation"
    );
    // Idempotent: the same renewal again returns the same certificates.
    let again = ca.renew(&req, "t").unwrap();
    assert_eq!(
        again.iter().map(|i| &i.serial).collect::<Vec<_>>(),
        new_serials.iter().collect::<Vec<_>>()
    );
    assert!(again.iter().all(|i| i.existing));
    // Another renewal of the same certificate while one awaits confirmation: refused.
    let other = openssl_csr(&openssl_p256_key(tmp.path(), "auth3"), "a3");
    let second = renew_request(
        &sign.serial,
        &sign_key,
        &[(&auth.serial, &other)],
        tmp.path(),
    );
    let before = state(&ca);
    let e = ca.renew(&second, "t").unwrap_err();
    assert!(
        e.to_string()
            .contains("already has a renewal awaiting confirmation"),
        "{e}"
    );
    assert_eq!(state(&ca), before);

    // Confirmed (serials in any case): the old certificates are superseded and on the CRL.
    let upper: Vec<String> = new_serials.iter().map(|s| s.to_uppercase()).collect();
    let confirmed = ca.confirm(&upper, "t").unwrap();
    assert_eq!(confirmed.len(), 2);
    for (c, old) in confirmed.iter().zip([&auth, &sign]) {
        assert_eq!(
            (c.predecessor.as_str(), c.existing),
            (old.serial.as_str(), false)
        );
        let old_row = ca.show(&old.serial).unwrap();
        assert_eq!(
            (old_row.status, old_row.revocation_reason),
            (CertStatus::Revoked, Some(RevocationReason::Superseded))
        );
        let new_row = ca.show(&c.serial).unwrap();
        assert_eq!(new_row.status, CertStatus::Valid);
        assert!(new_row.confirmed_at.is_some() && !new_row.awaiting_confirmation());
    }
    let mut listed = crl_entries(&ca);
    listed.sort();
    let mut expected = vec![(auth.serial.clone(), true), (sign.serial.clone(), true)];
    expected.sort();
    assert_eq!(
        listed, expected,
        "both superseded (reason code 4) on the CRL"
    );
    // Confirming again changes nothing.
    let before = state(&ca);
    let again = ca.confirm(&new_serials, "t").unwrap();
    assert!(again.iter().all(|c| c.existing));
    assert_eq!(state(&ca), before);
    // The superseded certificate's key can no longer renew.
    let csr = openssl_csr(&auth_key, "z");
    let late = renew_request(
        &sign.serial,
        &sign_key,
        &[(&renewed[0].serial, &csr)],
        tmp.path(),
    );
    let e = ca.renew(&late, "t").unwrap_err();
    assert!(e.to_string().contains("is not valid"), "{e}");
}

#[test]
fn store_is_wal_full_sync_and_versioned() {
    let tmp = TempDir::new("store");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let (mode, sync, version): (String, i64, i64) = ca
        .with_store(|s| {
            let c = s.conn();
            Ok((
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                c.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
                c.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            ))
        })
        .unwrap();
    assert_eq!(
        (mode.as_str(), sync, version),
        ("wal", 2, tamga_ca::store::SCHEMA_VERSION as i64)
    );
    // A duplicate serial is refused by the database itself.
    let a = sample_applicant(50, None);
    let (_, csr) = p256_csr(&a).unwrap();
    let issued = ca
        .issue(&app(ProfileName::IndividualAuth, a, csr), "t")
        .unwrap();
    let dup = ca.with_store(|s| {
        s.conn()
            .execute(
                "INSERT INTO certificates (serial, request_id, profile, subject, iin, key_id, not_before, not_after, issued_at, der) \
                 SELECT serial, request_id + 1000, profile, subject, iin, key_id, not_before, not_after, issued_at, der FROM certificates WHERE serial = ?1",
                [issued.serial.as_str()],
            )
            .map_err(Error::from)
    });
    assert!(
        dup.unwrap_err()
            .to_string()
            .contains("UNIQUE constraint failed")
    );
    // A store written by a newer program is not opened.
    ca.with_store(|s| {
        s.conn()
            .execute_batch("PRAGMA user_version = 99")
            .map_err(Error::from)
    })
    .unwrap();
    drop(ca);
    let e = tamga_ca::Store::open(&tmp.path().join("ca/ca.db"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("newer than this program"), "{e}");
}

/// SQL that turns a store of schema 4 back into one of schema 3: no issuer
/// column, CRLs numbered by the CA as a whole.
const TO_SCHEMA_3: &str = "DROP INDEX certificates_issuer_revoked;
    ALTER TABLE certificates DROP COLUMN issuer;
    CREATE TABLE crls_v3 (number INTEGER PRIMARY KEY, this_update INTEGER NOT NULL,
        next_update INTEGER NOT NULL, der BLOB NOT NULL);
    INSERT INTO crls_v3 SELECT number, this_update, next_update, der FROM crls;
    DROP TABLE crls;
    ALTER TABLE crls_v3 RENAME TO crls;
    PRAGMA user_version = 3;";

#[test]
fn migration_4_gives_earlier_certificates_and_crls_to_the_first_issuing_key() {
    let tmp = TempDir::new("migrate4");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(81, None);
    let (_, csr) = p256_csr(&a).unwrap();
    let issued = ca
        .issue(&app(ProfileName::IndividualAuth, a, csr), "t")
        .unwrap();
    ca.revoke(&issued.serial, RevocationReason::KeyCompromise, "t")
        .unwrap();
    let (before, _) = ca.crl("t").unwrap();
    ca.with_store(|s| s.conn().execute_batch(TO_SCHEMA_3).map_err(Error::from))
        .unwrap();
    drop(ca);
    // A schema-3 store is not read without the key: it must be migrated first.
    let e = tamga_ca::PublishedCa::open(&tmp.path().join("ca"))
        .err()
        .unwrap();
    assert!(e.to_string().contains("schema version 3"), "{e}");
    let ca = tamga_ca::Ca::open(&tmp.path().join("ca")).unwrap();
    assert_eq!(
        ca.with_store(|s| s.schema_version()).unwrap(),
        tamga_ca::store::SCHEMA_VERSION
    );
    let unclaimed: i64 = ca
        .with_store(|s| {
            Ok(s.conn().query_row(
                "SELECT (SELECT COUNT(*) FROM certificates WHERE issuer IS NULL) + \
                 (SELECT COUNT(*) FROM crls WHERE issuer IS NULL)",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(unclaimed, 0, "every earlier row belongs to the first key");
    // The CRL numbers go on, and the earlier revocation is listed.
    let (after, der) = ca.crl("t").unwrap();
    assert_eq!(after, before + 1);
    let crl = tamga_pki::chain::crl(&der, ca.certificate()).unwrap();
    assert!(crl.lists(&issued.serial));
}

#[test]
fn migration_3_counts_earlier_renewals_as_confirmed() {
    let tmp = TempDir::new("migrate");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(80, None);
    let (_, csr1) = p256_csr(&a).unwrap();
    let (_, csr2) = p256_csr(&a).unwrap();
    let first = ca
        .issue(&app(ProfileName::IndividualAuth, a.clone(), csr1), "t")
        .unwrap();
    let second = ca
        .issue(&app(ProfileName::IndividualSign, a, csr2), "t")
        .unwrap();
    // A version-2 store: no confirmed_at; `second` a renewal of `first` the old way
    // (predecessor superseded at issue).
    ca.with_store(|s| {
        s.conn()
            .execute_batch(&format!(
                "{TO_SCHEMA_3}
                 DROP INDEX certificates_predecessor;
                 ALTER TABLE certificates DROP COLUMN confirmed_at;
                 UPDATE certificates SET predecessor = '{}' WHERE serial = '{}';
                 UPDATE certificates SET status = 'revoked', revocation_reason = 'superseded'
                     WHERE serial = '{}';
                 PRAGMA user_version = 2;",
                first.serial, second.serial, first.serial
            ))
            .map_err(Error::from)
    })
    .unwrap();
    drop(ca);
    let ca = tamga_ca::Ca::open(&tmp.path().join("ca")).unwrap();
    assert_eq!(
        ca.with_store(|s| s.schema_version()).unwrap(),
        tamga_ca::store::SCHEMA_VERSION
    );
    let renewed = ca.show(&second.serial).unwrap();
    assert!(renewed.confirmed_at.is_some() && !renewed.awaiting_confirmation());
    assert_eq!(ca.show(&first.serial).unwrap().confirmed_at, None);
    let again = ca
        .confirm(std::slice::from_ref(&second.serial), "t")
        .unwrap();
    assert!(again[0].existing);
}

#[test]
fn a_re_signed_request_for_the_same_key_gets_the_live_certificate() {
    // A card pulled mid-way re-signs its CSR: ECDSA gives a new signature, so a new
    // request hash, but the key is the same and must not get a second certificate.
    let tmp = TempDir::new("samekey");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let key = openssl_p256_key(tmp.path(), "card");
    let a = sample_applicant(4, None);
    let csr1 = openssl_csr(&key, "x");
    let csr2 = openssl_csr(&key, "x");
    assert_ne!(csr1, csr2, "two ECDSA CSRs differ");
    let first = ca
        .issue(&app(ProfileName::IndividualAuth, a.clone(), csr1), "t")
        .unwrap();
    let before = counts(&ca);
    let again = ca
        .issue(
            &app(ProfileName::IndividualAuth, a.clone(), csr2.clone()),
            "t",
        )
        .unwrap();
    assert!(again.existing);
    assert_eq!(again.serial, first.serial);
    assert_eq!(counts(&ca), before, "nothing stored");
    // The same key for the other profile is a different certificate.
    let sign = ca
        .issue(
            &app(ProfileName::IndividualSign, a.clone(), csr2.clone()),
            "t",
        )
        .unwrap();
    assert_ne!(sign.serial, first.serial);
    // The same key with another person's data is refused.
    let other = sample_applicant(5, None);
    let csr3 = openssl_csr(&key, "x");
    let err = ca
        .issue(&app(ProfileName::IndividualAuth, other, csr3), "t")
        .unwrap_err();
    assert!(err.to_string().contains("live for this key"), "{err}");
}

#[test]
fn bad_confirmations_are_refused_and_change_nothing() {
    let tmp = TempDir::new("confirm");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let a = sample_applicant(60, None);
    let key = openssl_p256_key(tmp.path(), "k");
    let first = ca
        .issue(
            &app(
                ProfileName::IndividualSign,
                a.clone(),
                openssl_csr(&key, "k"),
            ),
            "t",
        )
        .unwrap();
    let renew = |prev: &str| {
        let csr = openssl_csr(&openssl_p256_key(tmp.path(), "n"), "n");
        ca.renew(
            &renew_request(&first.serial, &key, &[(prev, &csr)], tmp.path()),
            "t",
        )
    };
    let pending = renew(&first.serial).unwrap().remove(0);
    // A renewal awaiting confirmation cannot be renewed itself.
    let before = state(&ca);
    let e = renew(&pending.serial).unwrap_err();
    assert!(
        e.to_string()
            .contains("awaiting confirmation: confirm it first"),
        "{e}"
    );
    assert_eq!(state(&ca), before);

    let unknown = "7f".repeat(20);
    let cases: [(Vec<String>, &str); 5] = [
        (vec![unknown.clone()], "unknown serial"),
        (
            vec![pending.serial.to_string(), unknown.clone()],
            "unknown serial",
        ),
        (
            vec![first.serial.to_string()],
            "confirmation refused: certificate",
        ),
        (vec!["not hex".into()], "unknown serial"),
        (vec![], "between 1 and 4 serials"),
    ];
    for (serials, msg) in cases {
        let e = ca.confirm(&serials, "t").unwrap_err();
        assert!(e.to_string().contains(msg), "{serials:?}: {e}");
        assert_eq!(state(&ca), before, "{serials:?} changed the store");
    }
    let e = ca
        .confirm(std::slice::from_ref(&first.serial), "t")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "confirmation refused: certificate {} replaces no certificate (it is not a renewal)",
            first.serial
        )
    );
    assert_eq!(e.http_status(), 400);
    // A revoked renewal cannot be confirmed; its predecessor stays valid.
    ca.revoke(&pending.serial, RevocationReason::KeyCompromise, "t")
        .unwrap();
    let before = state(&ca);
    let e = ca
        .confirm(std::slice::from_ref(&pending.serial), "t")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "conflict: certificate {} is revoked: a revoked renewal cannot be confirmed",
            pending.serial
        )
    );
    assert_eq!(e.http_status(), 409);
    assert_eq!(state(&ca), before);
    assert_eq!(ca.show(&first.serial).unwrap().status, CertStatus::Valid);
    // With the failed renewal revoked, the certificate can be renewed again.
    let next = renew(&first.serial).unwrap().remove(0);
    assert_ne!(next.serial, pending.serial);
    ca.confirm(&[next.serial], "t").unwrap();
    assert_eq!(
        ca.show(&first.serial).unwrap().revocation_reason,
        Some(RevocationReason::Superseded)
    );
}
