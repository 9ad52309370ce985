//! SQLite store: WAL journal, synchronous FULL, versioned migrations.
//!
//! Every issuance is committed before the certificate is returned. Serial numbers are the
//! primary key of `certificates`, so the database itself refuses a duplicate.

use crate::{Error, Result};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use std::path::Path;
use tamga_pki::{CertRecord, CertStatus, RevocationReason, Serial};

/// Schema migrations; entry `i` brings `user_version` from `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema
    "CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,          -- SHA-256 of the CSR DER: idempotency key
        kind TEXT NOT NULL CHECK (kind IN ('issue', 'renew')),
        profile TEXT NOT NULL,
        applicant TEXT NOT NULL,            -- applicant JSON
        csr BLOB NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE TABLE request_signatures (
        id INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL REFERENCES requests(id),
        role TEXT NOT NULL,                 -- operator, head, applicant, holder
        certificate BLOB,
        algorithm TEXT NOT NULL,
        signature BLOB NOT NULL,
        status TEXT NOT NULL DEFAULT 'unchecked' CHECK (status IN ('unchecked', 'valid', 'invalid'))
    );
    CREATE TABLE certificates (
        serial TEXT PRIMARY KEY,            -- hex, 20 bytes, positive
        request_id INTEGER NOT NULL UNIQUE REFERENCES requests(id),
        profile TEXT NOT NULL,
        subject TEXT NOT NULL,
        iin TEXT NOT NULL,
        bin TEXT,
        key_id TEXT NOT NULL,               -- subject key identifier, hex
        not_before INTEGER NOT NULL,
        not_after INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'revoked')),
        revoked_at INTEGER,
        revocation_reason TEXT,
        predecessor TEXT REFERENCES certificates(serial),
        issued_at INTEGER NOT NULL,
        der BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX certificates_iin ON certificates(iin);
    CREATE INDEX certificates_revoked ON certificates(status, not_after);
    CREATE TABLE crls (
        number INTEGER PRIMARY KEY,
        this_update INTEGER NOT NULL,
        next_update INTEGER NOT NULL,
        der BLOB NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
    );",
    // 2: look-up of live certificates by key (one live certificate per key and profile)
    "CREATE INDEX certificates_key ON certificates(key_id, profile);",
    // 3: a renewal supersedes its predecessor once confirmed (renewals made before this
    // migration superseded theirs when issued, so they count as confirmed then)
    "ALTER TABLE certificates ADD COLUMN confirmed_at INTEGER;
    UPDATE certificates SET confirmed_at = issued_at WHERE predecessor IS NOT NULL;
    CREATE INDEX certificates_predecessor ON certificates(predecessor);",
    // 4: several issuing keys side by side (the NCA's nca_rsa and nca_gost): each
    // certificate names the key that signed it, CRLs are numbered per issuing key.
    // Rows from before carry NULL until the CA opens and claims them for its first key.
    "ALTER TABLE certificates ADD COLUMN issuer TEXT;
    CREATE INDEX certificates_issuer_revoked ON certificates(issuer, status, not_after);
    CREATE TABLE crls_by_issuer (
        issuer TEXT,                        -- key id (hex) of the issuing key
        number INTEGER NOT NULL,
        this_update INTEGER NOT NULL,
        next_update INTEGER NOT NULL,
        der BLOB NOT NULL,
        PRIMARY KEY (issuer, number)
    );
    INSERT INTO crls_by_issuer (issuer, number, this_update, next_update, der)
        SELECT NULL, number, this_update, next_update, der FROM crls;
    DROP TABLE crls;
    ALTER TABLE crls_by_issuer RENAME TO crls;",
];

/// Schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// A certificate row: the public record and the request it answers. Private to the CA;
/// what leaves it is the [`CertRecord`].
#[derive(Clone, Debug)]
pub(crate) struct CertRow {
    /// The public record.
    pub record: CertRecord,
    /// The request id.
    pub request_id: i64,
}

impl std::ops::Deref for CertRow {
    type Target = CertRecord;
    fn deref(&self) -> &CertRecord {
        &self.record
    }
}

/// A signature stored with a request (checked later; `status` starts as unchecked).
#[derive(Clone, Debug)]
pub struct StoredSignature {
    /// operator, head, applicant or holder.
    pub role: String,
    /// The signer's certificate, DER.
    pub certificate: Option<Vec<u8>>,
    /// Signature algorithm OID, or "default" for the key's default.
    pub algorithm: String,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// A new request with its certificate, to be written in one transaction.
#[derive(Clone, Debug)]
pub(crate) struct NewIssue {
    /// CSR hash.
    pub hash: [u8; 32],
    /// issue or renew.
    pub kind: &'static str,
    /// Profile name.
    pub profile: String,
    /// Applicant JSON.
    pub applicant: String,
    /// CSR DER.
    pub csr: Vec<u8>,
    /// Signatures over the application besides the CSR's own.
    pub signatures: Vec<StoredSignature>,
    /// The certificate row (request_id filled in on insert).
    pub cert: CertRow,
    /// Key id (hex) of the issuing key that signed it.
    pub issuer: String,
}

/// The SQLite store.
pub struct Store {
    conn: Connection,
}

const CERT_COLUMNS: &str = "serial, profile, subject, iin, bin, key_id, not_before, not_after, status, \
     revoked_at, revocation_reason, predecessor, der, request_id, confirmed_at";

const CERT_COLUMNS_C: &str = "c.serial, c.profile, c.subject, c.iin, c.bin, c.key_id, c.not_before, \
     c.not_after, c.status, c.revoked_at, c.revocation_reason, c.predecessor, c.der, c.request_id, \
     c.confirmed_at";

/// Number of columns in [`CERT_COLUMNS`]: the index of the first column after them.
const CERT_COLUMN_COUNT: usize = 15;

/// Profile and applicant JSON of a stored request.
pub fn request_data(conn: &Connection, request_id: i64) -> Result<(String, String)> {
    Ok(conn.query_row(
        "SELECT profile, applicant FROM requests WHERE id = ?1",
        [request_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// A text column parsed by `parse`; a value it refuses is a conversion error.
fn parsed<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            Type::Text,
            format!("unexpected value {text:?}").into(),
        )
    })
}

fn optional<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    match r.get::<_, Option<String>>(i)? {
        None => Ok(None),
        Some(_) => parsed(r, i, parse).map(Some),
    }
}

fn serial(s: &str) -> Option<Serial> {
    Serial::parse(s).ok()
}

fn cert_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CertRow> {
    Ok(CertRow {
        record: CertRecord {
            serial: parsed(r, 0, serial)?,
            profile: r.get(1)?,
            subject: r.get(2)?,
            iin: r.get(3)?,
            bin: r.get(4)?,
            key_id: r.get(5)?,
            not_before: r.get(6)?,
            not_after: r.get(7)?,
            status: parsed(r, 8, CertStatus::parse)?,
            revoked_at: r.get(9)?,
            revocation_reason: optional(r, 10, RevocationReason::parse)?,
            predecessor: optional(r, 11, serial)?,
            confirmed_at: r.get(14)?,
            der: r.get(12)?,
        },
        request_id: r.get(13)?,
    })
}

impl Store {
    /// Opens (creating if needed) and migrates the store.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Config(format!(
                "store journal mode is {mode}, not WAL"
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// Opens an existing store to read it only: nothing is migrated or written.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let store = Store { conn };
        let v = store.schema_version()?;
        if v != SCHEMA_VERSION {
            return Err(Error::Config(format!(
                "store schema version {v}, this build reads {SCHEMA_VERSION}: open the CA with its key once to migrate"
            )));
        }
        Ok(store)
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > SCHEMA_VERSION {
            return Err(Error::Config(format!(
                "store schema version {version} is newer than this program ({SCHEMA_VERSION})"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Current schema version.
    pub fn schema_version(&self) -> Result<usize> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(usize::try_from(v).unwrap_or(0))
    }

    /// Starts a write transaction (IMMEDIATE: takes the write lock now).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// The certificate issued for a request hash, with the request's profile and applicant JSON.
    pub(crate) fn by_request_hash(
        conn: &Connection,
        hash: &[u8],
    ) -> Result<Option<(CertRow, String, String)>> {
        let sql = format!(
            "SELECT {CERT_COLUMNS_C}, r.profile, r.applicant FROM certificates c \
             JOIN requests r ON r.id = c.request_id WHERE r.hash = ?1"
        );
        Ok(conn
            .query_row(&sql, [hash], |r| {
                Ok((
                    cert_row(r)?,
                    r.get(CERT_COLUMN_COUNT)?,
                    r.get(CERT_COLUMN_COUNT + 1)?,
                ))
            })
            .optional()?)
    }

    /// The live (valid, unexpired) certificate for a key and profile, with the
    /// applicant JSON of its request.
    pub(crate) fn live_by_key(
        conn: &Connection,
        key_id: &str,
        profile: &str,
        now: i64,
    ) -> Result<Option<(CertRow, String)>> {
        let sql = format!(
            "SELECT {CERT_COLUMNS_C}, r.applicant FROM certificates c \
             JOIN requests r ON r.id = c.request_id \
             WHERE c.key_id = ?1 AND c.profile = ?2 AND c.status = 'valid' AND c.not_after > ?3 \
             ORDER BY c.issued_at DESC LIMIT 1"
        );
        Ok(conn
            .query_row(&sql, params![key_id, profile, now], |r| {
                Ok((cert_row(r)?, r.get(CERT_COLUMN_COUNT)?))
            })
            .optional()?)
    }

    /// Inserts a request and its certificate. Fails on a duplicate serial or request hash.
    pub(crate) fn insert_issue(tx: &Transaction<'_>, n: &NewIssue, now: i64) -> Result<()> {
        tx.execute(
            "INSERT INTO requests (hash, kind, profile, applicant, csr, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![&n.hash[..], n.kind, n.profile, n.applicant, n.csr, now],
        )?;
        let request_id = tx.last_insert_rowid();
        for sg in &n.signatures {
            tx.execute(
                "INSERT INTO request_signatures (request_id, role, certificate, algorithm, signature) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![request_id, sg.role, sg.certificate, sg.algorithm, sg.signature],
            )?;
        }
        let c = &n.cert;
        tx.execute(
            "INSERT INTO certificates (serial, request_id, profile, subject, iin, bin, key_id, not_before, not_after, predecessor, issued_at, der, issuer) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![c.serial.as_str(), request_id, c.profile, c.subject, c.iin, c.bin, c.key_id, c.not_before, c.not_after, c.predecessor.as_ref().map(Serial::as_str), now, c.der, n.issuer],
        )?;
        Ok(())
    }

    /// Appends an audit record.
    pub fn audit(
        conn: &Connection,
        actor: &str,
        action: &str,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        conn.execute(
            "INSERT INTO audit (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
            params![now, actor, action, detail],
        )?;
        Ok(())
    }

    /// One certificate by serial (hex, case-insensitive).
    pub(crate) fn get(conn: &Connection, serial: &str) -> Result<Option<CertRow>> {
        let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE serial = ?1");
        Ok(conn
            .query_row(&sql, [serial.to_ascii_lowercase()], cert_row)
            .optional()?)
    }

    /// Marks a certificate revoked; returns false if it was already revoked.
    pub fn revoke(conn: &Connection, serial: &str, reason: &str, at: i64) -> Result<bool> {
        let n = conn.execute(
            "UPDATE certificates SET status = 'revoked', revoked_at = ?2, revocation_reason = ?3 \
             WHERE serial = ?1 AND status = 'valid'",
            params![serial, at, reason],
        )?;
        Ok(n == 1)
    }

    /// The valid renewal of `predecessor` that awaits confirmation, if any.
    /// (The rule is [`CertRecord::awaiting_confirmation`]'s alone: a certificate
    /// has few renewals, so they are all read.)
    pub(crate) fn awaiting_successor(
        conn: &Connection,
        predecessor: &str,
    ) -> Result<Option<CertRow>> {
        let sql = format!("SELECT {CERT_COLUMNS} FROM certificates WHERE predecessor = ?1");
        let mut stmt = conn.prepare(&sql)?;
        for row in stmt.query_map([predecessor], cert_row)? {
            let row = row?;
            if row.awaiting_confirmation() {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Records the confirmation of a renewal; returns false if it was confirmed already.
    pub fn confirm(conn: &Connection, serial: &str, at: i64) -> Result<bool> {
        let n = conn.execute(
            "UPDATE certificates SET confirmed_at = ?2 WHERE serial = ?1 AND confirmed_at IS NULL",
            params![serial, at],
        )?;
        Ok(n == 1)
    }

    /// Certificates, newest first; optionally only those of one IIN.
    pub fn list(&self, iin: Option<&str>, limit: usize) -> Result<Vec<CertRecord>> {
        let sql = format!(
            "SELECT {CERT_COLUMNS} FROM certificates WHERE (?1 IS NULL OR iin = ?1) ORDER BY issued_at DESC, serial LIMIT ?2"
        );
        let mut st = self.conn.prepare(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![iin, limit], |r| Ok(cert_row(r)?.record))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Certificates and CRLs from before schema 4 (no issuer recorded) become the
    /// issuing key `issuer`'s: a CA had one key then. Returns how many rows changed.
    pub fn claim_unattributed(&mut self, issuer: &str) -> Result<usize> {
        let tx = self.transaction()?;
        let n = tx.execute(
            "UPDATE certificates SET issuer = ?1 WHERE issuer IS NULL",
            [issuer],
        )? + tx.execute("UPDATE crls SET issuer = ?1 WHERE issuer IS NULL", [issuer])?;
        tx.commit()?;
        Ok(n)
    }

    /// Revoked certificates of one issuing key that have not expired at `now`:
    /// (serial, revoked_at, reason).
    pub fn revoked_unexpired(&self, issuer: &str, now: i64) -> Result<Vec<(String, i64, String)>> {
        let mut st = self.conn.prepare(
            "SELECT serial, revoked_at, revocation_reason FROM certificates \
             WHERE issuer = ?1 AND status = 'revoked' AND not_after > ?2 ORDER BY serial",
        )?;
        let rows = st.query_map(params![issuer, now], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The next CRL number of one issuing key (its last + 1, starting at 1).
    pub fn next_crl_number(conn: &Connection, issuer: &str) -> Result<i64> {
        Ok(conn.query_row(
            "SELECT COALESCE(MAX(number), 0) + 1 FROM crls WHERE issuer = ?1",
            [issuer],
            |r| r.get(0),
        )?)
    }

    /// Records a CRL issued by one issuing key.
    pub fn insert_crl(
        conn: &Connection,
        issuer: &str,
        number: i64,
        this: i64,
        next: i64,
        der: &[u8],
    ) -> Result<()> {
        conn.execute(
            "INSERT INTO crls (issuer, number, this_update, next_update, der) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![issuer, number, this, next, der],
        )?;
        Ok(())
    }

    /// The latest CRL of one issuing key: (number, next_update, DER).
    pub fn latest_crl(&self, issuer: &str) -> Result<Option<(i64, i64, Vec<u8>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT number, next_update, der FROM crls WHERE issuer = ?1 \
                 ORDER BY number DESC LIMIT 1",
                [issuer],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
    }

    /// Counts rows of a table (requests, certificates, crls, audit, request_signatures).
    pub fn count(&self, table: &str) -> Result<i64> {
        if ![
            "requests",
            "certificates",
            "crls",
            "audit",
            "request_signatures",
        ]
        .contains(&table)
        {
            return Err(Error::Config(format!("no table {table}")));
        }
        Ok(self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    }

    /// The underlying connection (read-only use).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}
