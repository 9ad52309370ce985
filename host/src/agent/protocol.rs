//! NCALayer's frames: what a page sends, and the three reply shapes (the
//! greeting, `kz.gov.pki.knca.commonUtils`'s `code`, `kz.gov.pki.knca.basics`'s
//! `status`). Every shape is listed in `host/AGENT.md` with where it was confirmed.

use serde_json::{Value, json};

/// The version the greeting announces (NCALayer 1.4's).
pub const VERSION: &str = "1.4";

/// The text frame a client sends to keep the socket open; echoed as it is.
pub const HEARTBEAT: &str = "--heartbeat--";

/// Module of the positional-argument methods.
pub const COMMON_UTILS: &str = "kz.gov.pki.knca.commonUtils";

/// Module of `sign` with named arguments.
pub const BASICS: &str = "kz.gov.pki.knca.basics";

/// The message NCALayer answers a cancelled dialog with in commonUtils.
pub const CANCELED: &str = "action.canceled";

/// A request frame.
#[derive(Debug)]
pub struct Request {
    /// `module`.
    pub module: String,
    /// `method`.
    pub method: String,
    /// `args`: an array (commonUtils), an object (basics), or absent (`Null`).
    pub args: Value,
}

/// What a text frame is.
#[derive(Debug)]
pub enum Frame {
    /// `--heartbeat--`.
    Heartbeat,
    /// A request.
    Request(Request),
    /// Not JSON, or JSON without a module and method: the reason.
    Malformed(String),
}

impl Frame {
    /// Reads a text frame.
    pub fn parse(text: &str) -> Frame {
        if text == HEARTBEAT {
            return Frame::Heartbeat;
        }
        let v: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return Frame::Malformed(format!("not JSON: {e}")),
        };
        let field = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_string);
        match (field("module"), field("method")) {
            (Some(module), Some(method)) => Frame::Request(Request {
                module,
                method,
                args: v.get("args").cloned().unwrap_or(Value::Null),
            }),
            _ => Frame::Malformed("a request names a \"module\" and a \"method\"".into()),
        }
    }
}

/// The frame sent when a socket opens.
pub fn greeting() -> Value {
    json!({"result": {"version": VERSION}})
}

/// The answer to a module this agent does not have (also the KAZTOKEN probe).
pub fn module_not_found() -> Value {
    json!({"success": false, "errorCode": "MODULE_NOT_FOUND"})
}

/// Why a request did not produce a result.
#[derive(Debug)]
pub enum Failure {
    /// The person cancelled (the PIN dialog).
    Cancelled,
    /// An error: a `basics` code (`SIGNING_FAILURE`, `INVOCATION_ERROR`, …),
    /// a one-line message, details.
    Error {
        /// The basics error code.
        code: &'static str,
        /// One line for the page (and the person).
        message: String,
    },
}

impl Failure {
    /// Bad arguments (`INVOCATION_ERROR`).
    pub fn invocation(message: impl Into<String>) -> Failure {
        Failure::Error {
            code: "INVOCATION_ERROR",
            message: message.into(),
        }
    }

    /// Signing failed (`SIGNING_FAILURE`).
    pub fn signing(message: impl Into<String>) -> Failure {
        Failure::Error {
            code: "SIGNING_FAILURE",
            message: message.into(),
        }
    }
}

/// A commonUtils reply: `{"code":"200","responseObject":…}` (no
/// `responseObject` for `Null`), `{"code":"500","message":…}`.
pub fn common_reply(r: std::result::Result<Value, Failure>) -> Value {
    match r {
        Ok(Value::Null) => json!({"code": "200"}),
        Ok(v) => json!({"code": "200", "responseObject": v}),
        Err(Failure::Cancelled) => json!({"code": "500", "message": CANCELED}),
        Err(Failure::Error { message, .. }) => json!({"code": "500", "message": message}),
    }
}

/// A basics reply: `{"status":true,"body":{"result":…}}`, cancel
/// `{"status":true,"body":{}}`, error `{"status":false,"code","message","details"}`.
pub fn basics_reply(r: std::result::Result<Value, Failure>) -> Value {
    match r {
        Ok(v) => json!({"status": true, "body": {"result": v}}),
        Err(Failure::Cancelled) => json!({"status": true, "body": {}}),
        Err(Failure::Error { code, message }) => json!({
            "status": false,
            "code": code,
            "message": message,
            "details": "tamga agent",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert!(matches!(Frame::parse(HEARTBEAT), Frame::Heartbeat));
        assert!(matches!(Frame::parse("{"), Frame::Malformed(_)));
        assert!(matches!(Frame::parse("[]"), Frame::Malformed(_)));
        assert!(matches!(
            Frame::parse(r#"{"module":1,"method":"x"}"#),
            Frame::Malformed(_)
        ));
        let Frame::Request(r) =
            Frame::parse(r#"{"module":"kz.gov.pki.knca.commonUtils","method":"getActiveTokens"}"#)
        else {
            panic!()
        };
        assert_eq!(
            (r.module.as_str(), r.method.as_str()),
            (COMMON_UTILS, "getActiveTokens")
        );
        assert!(r.args.is_null());
    }

    #[test]
    fn reply_shapes() {
        assert_eq!(common_reply(Ok(Value::Null)), json!({"code": "200"}));
        assert_eq!(
            common_reply(Err(Failure::Cancelled)),
            json!({"code": "500", "message": "action.canceled"})
        );
        assert_eq!(
            basics_reply(Err(Failure::Cancelled)),
            json!({"status": true, "body": {}})
        );
        assert_eq!(basics_reply(Ok(json!(["x"])))["body"]["result"][0], "x");
        assert_eq!(
            basics_reply(Err(Failure::signing("no")))["code"],
            "SIGNING_FAILURE"
        );
    }
}
