//! The HTTP API, through the real `tamga-ca serve` process.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use tamga_ca::KeyAlgorithm;
use tamga_ca::bench::{p256_csr, sample_applicant};
use tamga_pki::ProfileName;

const TOKEN: &str = "test-operator-token-0123456789";

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, extra: &[&str]) -> Server {
    let token = write(dir, "token", TOKEN.as_bytes());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
        .arg("--dir")
        .arg(dir.join("ca"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_string();
    Server { child, addr }
}

/// One HTTP/1.1 request; returns (status, body).
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n", body.len()).unwrap();
    // The server may answer (413) before reading a large body; ignore a reset while writing.
    let _ = s.write_all(body);
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, resp[split + 4..].to_vec())
}

/// The store record of a certificate, through `GET /certificates/SERIAL`.
fn record(addr: &str, serial: &str) -> serde_json::Value {
    let (st, body) = http(
        addr,
        "GET",
        &format!("/certificates/{serial}"),
        Some(TOKEN),
        b"",
    );
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice::<serde_json::Value>(&body).unwrap()["record"].clone()
}

fn error_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    v["error"].as_str().unwrap().to_string()
}

#[test]
fn http_api_issue_revoke_crl() {
    let tmp = TempDir::new("http");
    let ca = root_and_issuing(tmp.path(), KeyAlgorithm::P256);
    let ca_pem = ca.certificate_pem().unwrap();
    drop(ca);
    let srv = start(tmp.path(), &[]);
    let a = &srv.addr;

    let (st, body) = http(a, "GET", "/ca.pem", None, b"");
    assert_eq!((st, String::from_utf8(body).unwrap()), (200, ca_pem));

    let applicant = sample_applicant(5, None);
    let (_, csr) = p256_csr(&applicant).unwrap();
    let json = serde_json::to_vec(&app(ProfileName::IndividualAuth, applicant, csr)).unwrap();

    let (st, body) = http(a, "POST", "/issue", None, &json);
    assert_eq!(
        (st, error_of(&body).as_str()),
        (401, "operator authentication required")
    );
    let (st, _) = http(a, "POST", "/issue", Some("wrong-token-wrong-token"), &json);
    assert_eq!(st, 401);

    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), &json);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    let issued: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let serial = issued["serial"].as_str().unwrap().to_string();
    assert_eq!(issued["existing"], false);
    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), &json);
    let again: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (st, again["serial"].as_str().unwrap(), &again["existing"]),
        (200, serial.as_str(), &serde_json::json!(true))
    );
    let cert = write(
        tmp.path(),
        "ee.pem",
        issued["certificate"].as_str().unwrap().as_bytes(),
    );
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        tmp.path().join("root/ca.pem").to_str().unwrap(),
        "-untrusted",
        tmp.path().join("ca/ca.pem").to_str().unwrap(),
        "-purpose",
        "sslclient",
        cert.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");

    assert_eq!(record(a, &serial)["status"], "valid");

    // Bad input through HTTP: clear errors with the right status.
    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), b"{not json");
    assert_eq!(st, 400);
    assert!(error_of(&body).starts_with("malformed request"));
    let big = vec![b' '; 70 * 1024];
    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), &big);
    assert_eq!(
        (st, error_of(&body).as_str()),
        (413, "request body larger than 65536 bytes")
    );
    let unknown = String::from_utf8(json.clone())
        .unwrap()
        .replace("individual-auth", "root-ca");
    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), unknown.as_bytes());
    assert_eq!(st, 400);
    assert!(error_of(&body).contains("unknown profile \"root-ca\""));
    let (st, body) = http(
        a,
        "POST",
        "/revoke",
        Some(TOKEN),
        br#"{"serial":"00ff","reason":"death"}"#,
    );
    assert_eq!((st, error_of(&body).as_str()), (404, "unknown serial 00ff"));
    let (st, _) = http(a, "GET", "/nothing", None, b"");
    assert_eq!(st, 404);

    let body = format!(r#"{{"serial":"{serial}","reason":"key-compromise"}}"#);
    let (st, resp) = http(a, "POST", "/revoke", Some(TOKEN), body.as_bytes());
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&resp));
    let (st, _) = http(a, "POST", "/revoke", Some(TOKEN), body.as_bytes());
    assert_eq!(st, 409);

    let (st, _) = http(a, "POST", "/crl", Some(TOKEN), b"");
    assert_eq!(st, 200);
    let (st, crl) = http(a, "GET", "/crl", None, b"");
    assert_eq!(st, 200);
    let crl = write(tmp.path(), "crl.der", &crl);
    let (ok, text) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        tmp.path().join("ca/chain.pem").to_str().unwrap(),
        "-verify",
        "-noout",
        "-text",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(
        text.to_uppercase().contains(&serial.to_uppercase()) && text.contains("Key Compromise"),
        "{text}"
    );
}

#[test]
fn serve_refuses_remote_address_and_short_token() {
    let tmp = TempDir::new("http-remote");
    drop(root_and_issuing(tmp.path(), KeyAlgorithm::P256));
    let token = write(tmp.path(), "token", TOKEN.as_bytes());
    let short = write(tmp.path(), "short", b"abc");
    let run = |listen: &str, tok: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
            .arg("--dir")
            .arg(tmp.path().join("ca"))
            .args(["serve", "--listen", listen, "--token-file"])
            .arg(tok)
            .output()
            .unwrap()
    };
    let out = run("0.0.0.0:0", &token);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
    let out = run("127.0.0.1:0", &short);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16 characters"));
}

#[test]
fn http_renewal_with_the_current_key() {
    let tmp = TempDir::new("http-renew");
    drop(root_and_issuing(tmp.path(), KeyAlgorithm::P256));
    let srv = start(tmp.path(), &[]);
    let a = &srv.addr;
    let key = openssl_rsa_key(tmp.path(), "holder");
    let applicant = sample_applicant(40, None);
    let json = serde_json::to_vec(&app(
        ProfileName::IndividualSign,
        applicant,
        openssl_csr(&key, "h"),
    ))
    .unwrap();
    let (st, body) = http(a, "POST", "/issue", Some(TOKEN), &json);
    assert_eq!(st, 200);
    let old: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let old_serial = old["serial"].as_str().unwrap();

    let new_key = openssl_rsa_key(tmp.path(), "new");
    let csr = openssl_csr(&new_key, "n");
    let req = renew_request(old_serial, &key, &[(old_serial, &csr)], tmp.path());
    let body = serde_json::to_vec(&req).unwrap();
    let (st, resp) = http(a, "POST", "/renew", Some(TOKEN), &body);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&resp));
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    let new_serial = v["certificates"][0]["serial"].as_str().unwrap();
    assert_ne!(new_serial, old_serial);
    // Not confirmed yet: the old certificate is still valid.
    assert_eq!(record(a, old_serial)["status"], "valid");
    assert!(record(a, new_serial)["confirmed_at"].is_null());
    let confirm = serde_json::to_vec(&serde_json::json!({ "serials": [new_serial] })).unwrap();
    // The token is required.
    let (st, resp) = http(a, "POST", "/confirm", None, &confirm);
    assert_eq!(
        (st, error_of(&resp).as_str()),
        (401, "operator authentication required")
    );
    let (st, _) = http(
        a,
        "POST",
        "/confirm",
        Some("wrong-token-0123456789"),
        &confirm,
    );
    assert_eq!(st, 401);
    assert_eq!(record(a, old_serial)["status"], "valid");
    // Confirmed: the old one is superseded; again: the same answer, marked existing.
    let (st, resp) = http(a, "POST", "/confirm", Some(TOKEN), &confirm);
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&resp));
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(
        v["confirmed"],
        serde_json::json!([{ "serial": new_serial, "predecessor": old_serial, "existing": false }])
    );
    let rec = record(a, old_serial);
    assert_eq!(
        (&rec["status"], &rec["revocation_reason"]),
        (&"revoked".into(), &"superseded".into())
    );
    assert!(record(a, new_serial)["confirmed_at"].is_i64());
    let (st, resp) = http(a, "POST", "/confirm", Some(TOKEN), &confirm);
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_slice(&resp).unwrap();
    assert_eq!(v["confirmed"][0]["existing"], true);
    // Bad confirmations: unknown serial, no predecessor, malformed body, too large.
    let body = |serials: serde_json::Value| {
        serde_json::to_vec(&serde_json::json!({ "serials": serials })).unwrap()
    };
    let unknown = "7f".repeat(20);
    let (st, resp) = http(
        a,
        "POST",
        "/confirm",
        Some(TOKEN),
        &body(serde_json::json!([unknown])),
    );
    assert_eq!(
        (st, error_of(&resp)),
        (404, format!("unknown serial {unknown}"))
    );
    let (st, resp) = http(
        a,
        "POST",
        "/confirm",
        Some(TOKEN),
        &body(serde_json::json!([old_serial])),
    );
    assert_eq!(st, 400);
    assert!(
        error_of(&resp).contains("replaces no certificate"),
        "{}",
        error_of(&resp)
    );
    let (st, _) = http(a, "POST", "/confirm", Some(TOKEN), b"{\"serial\": 1}");
    assert_eq!(st, 400);
    let huge = vec![b' '; 70 * 1024];
    let (st, _) = http(a, "POST", "/confirm", Some(TOKEN), &huge);
    assert_eq!(st, 413);
    let (st, _) = http(a, "GET", "/confirm", Some(TOKEN), b"");
    assert_eq!(st, 405);
    assert_eq!(record(a, new_serial)["predecessor"], old_serial);
    // A tampered request (other CSR, same signature) is refused.
    let mut bad = req.clone();
    bad.items[0].csr = openssl_csr(&new_key, "other");
    let (st, resp) = http(
        a,
        "POST",
        "/renew",
        Some(TOKEN),
        &serde_json::to_vec(&bad).unwrap(),
    );
    assert_eq!(st, 400);
    assert_eq!(
        error_of(&resp),
        "renewal refused: signature does not verify with the holder's current key"
    );
}

#[test]
fn http_serves_each_issuing_keys_certificate_and_crl() {
    let tmp = TempDir::new("http-pair");
    let opts = tamga_ca::InitOptions {
        also: vec![KeyAlgorithm::Gost2015],
        config: config(),
        ..Default::default()
    };
    let ca = tamga_ca::Ca::init(&tmp.path().join("ca"), &opts).unwrap();
    let certs: Vec<String> = ca
        .issuers()
        .iter()
        .map(|i| i.certificate_pem().unwrap())
        .collect();
    let ids: Vec<String> = ca.issuers().iter().map(|i| i.id().to_string()).collect();
    let gost = ca.issuers()[1].certificate().clone();
    drop(ca);
    let srv = start(tmp.path(), &[]);
    let a = &srv.addr;

    let (st, body) = http(a, "GET", "/ca.pem", None, b"");
    assert_eq!(
        (st, String::from_utf8(body).unwrap()),
        (200, certs.concat())
    );
    let (st, body) = http(a, "GET", "/issuers", None, b"");
    assert_eq!(st, 200);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let list = v["issuers"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["id"], ids[1].as_str());
    assert_eq!(list[1]["algorithm"], "gost2015");
    assert_eq!(list[1]["certificate"], certs[1].as_str());

    // By algorithm, by `gost`, by key id (any case): the GOST key's CRL.
    for name in ["gost2015", "gost", ids[1].as_str(), &ids[1].to_uppercase()] {
        let (st, crl) = http(a, "GET", &format!("/crl/{name}"), None, b"");
        assert_eq!(st, 200, "{name}");
        tamga_pki::chain::crl(&crl, &gost).unwrap();
    }
    let (st, body) = http(a, "GET", "/crl/rsa2048", None, b"");
    assert_eq!(st, 404);
    assert!(
        error_of(&body).contains("this CA has: p256, gost2015"),
        "{}",
        error_of(&body)
    );
    let (st, _) = http(a, "POST", "/crl/gost", None, b"");
    assert_eq!(st, 401);
    let (st, crl) = http(a, "POST", "/crl/gost", Some(TOKEN), b"");
    assert_eq!(st, 200);
    let path = write(tmp.path(), "gost.crl", &crl);
    let (_, text) = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        path.to_str().unwrap(),
        "-noout",
        "-crlnumber",
    ]);
    assert!(text.contains("crlNumber=0x02"), "{text}");
}
