//! What a person wants to see of a certificate.

use der::Decode;
use serde_json::{Value, json};
use x509_cert::Certificate;

/// Subject, issuer, serial and validity of a DER certificate, as JSON
/// (`{"error": ...}` when it does not parse).
pub fn describe(der: &[u8]) -> Value {
    match Certificate::from_der(der) {
        Ok(c) => {
            let tbs = &c.tbs_certificate();
            json!({
                "subject": tbs.subject().to_string(),
                "issuer": tbs.issuer().to_string(),
                "serial": hex::encode(tbs.serial_number().as_bytes()),
                "not_before": tbs.validity().not_before.to_string(),
                "not_after": tbs.validity().not_after.to_string(),
            })
        }
        Err(e) => json!({ "error": format!("unreadable certificate: {e}") }),
    }
}
