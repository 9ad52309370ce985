//! Object identifiers of the NCA profiles (and GOST algorithms, for documentation).

use const_oid::ObjectIdentifier as Oid;

/// emailAddress (PKCS #9).
pub use const_oid::db::rfc2985::PKCS_9_AT_EMAIL_ADDRESS as EMAIL_ADDRESS;
/// The standard attribute, key and algorithm OIDs, by the names the profiles use
/// (from `const_oid::db`).
pub use const_oid::db::rfc4519::{
    C as COUNTRY, CN as COMMON_NAME, GIVEN_NAME, L as LOCALITY, O as ORGANIZATION,
    OU as ORGANIZATIONAL_UNIT, SERIAL_NUMBER, ST as STATE, SURNAME,
};
pub use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256 as ECDSA_WITH_SHA256, ID_EC_PUBLIC_KEY as EC_PUBLIC_KEY,
    ID_KP_CLIENT_AUTH as KP_CLIENT_AUTH, ID_KP_EMAIL_PROTECTION as KP_EMAIL_PROTECTION,
    RSA_ENCRYPTION, SECP_256_R_1 as SECP256R1, SHA_256_WITH_RSA_ENCRYPTION as SHA256_WITH_RSA,
    SHA_384_WITH_RSA_ENCRYPTION as SHA384_WITH_RSA, SHA_512_WITH_RSA_ENCRYPTION as SHA512_WITH_RSA,
};

/// EKU: holder is an individual.
pub const EKU_INDIVIDUAL: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.1");
/// EKU: holder is an employee of a legal entity.
pub const EKU_LEGAL_ENTITY: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2");
/// EKU role: head of the legal entity.
pub const EKU_ROLE_HEAD: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2.1");
/// EKU role: may sign for the legal entity.
pub const EKU_ROLE_MAY_SIGN: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2.2");
/// EKU role: finance.
pub const EKU_ROLE_FINANCE: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2.3");
/// EKU role: human resources.
pub const EKU_ROLE_HR: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2.4");
/// EKU role: employee.
pub const EKU_ROLE_EMPLOYEE: Oid = Oid::new_unwrap("1.2.398.3.3.4.1.2.5");

/// Policy: legal-entity signature.
pub const POLICY_LEGAL_SIGN: Oid = Oid::new_unwrap("1.2.398.3.3.2.1");
/// Policy: legal-entity authentication.
pub const POLICY_LEGAL_AUTH: Oid = Oid::new_unwrap("1.2.398.3.3.2.2");
/// Policy: individual signature.
pub const POLICY_INDIVIDUAL_SIGN: Oid = Oid::new_unwrap("1.2.398.3.3.2.3");
/// Policy: individual authentication.
pub const POLICY_INDIVIDUAL_AUTH: Oid = Oid::new_unwrap("1.2.398.3.3.2.4");

/// GOST 34.310-2004 public key (Kazakh arc; GOST R 34.10-2001 mathematics).
pub const GOST_34310_KEY: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.1.1");
/// GOST 34.310-2004 key parameters: the CryptoPro-A curve.
pub const GOST_34310_PARAMS: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.1.1.1");
/// GOST 34.310-2004 signature with GOST 34.311-95 (certificates and CRLs, NULL
/// parameters; NCA timestamp tokens).
pub const GOST_34310_SIGNATURE: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.1.2");
/// GOST 34.311-95 hash (GOST R 34.11-94 with the test S-box).
pub const GOST_34311_HASH: Oid = Oid::new_unwrap("1.2.398.3.10.1.3.1");
/// The hash parameter OID in a GOST 34.310-2004 key's parameters.
pub const GOST_34311_HASH_PARAMS: Oid = Oid::new_unwrap("1.2.398.3.10.1.3.1.1.0");
/// GOST 34.10-2015 512-bit public key.
pub const GOST_2015_512_KEY: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.2.2");
/// GOST 34.10-2015 512-bit key parameters: the tc26-512-A curve.
pub const GOST_2015_512_PARAMS: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.2.2.1");
/// GOST 34.10-2015 512-bit signature with Streebog-512 (NULL parameters).
pub const GOST_2015_512_SIGNATURE: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.2.3.2");
/// Streebog-512 (GOST 34.11-2015) hash.
pub const STREEBOG_512_HASH: Oid = Oid::new_unwrap("1.2.398.3.10.1.3.3");
