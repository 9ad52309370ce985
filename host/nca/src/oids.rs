//! Object identifiers of the NCA profiles (and GOST algorithms, for documentation).

use const_oid::ObjectIdentifier as Oid;

/// surname (2.5.4.4).
pub const SURNAME: Oid = Oid::new_unwrap("2.5.4.4");
/// serialNumber (2.5.4.5): "IIN" + 12 digits.
pub const SERIAL_NUMBER: Oid = Oid::new_unwrap("2.5.4.5");
/// commonName (2.5.4.3).
pub const COMMON_NAME: Oid = Oid::new_unwrap("2.5.4.3");
/// countryName (2.5.4.6).
pub const COUNTRY: Oid = Oid::new_unwrap("2.5.4.6");
/// localityName (2.5.4.7).
pub const LOCALITY: Oid = Oid::new_unwrap("2.5.4.7");
/// stateOrProvinceName (2.5.4.8).
pub const STATE: Oid = Oid::new_unwrap("2.5.4.8");
/// organizationName (2.5.4.10).
pub const ORGANIZATION: Oid = Oid::new_unwrap("2.5.4.10");
/// organizationalUnitName (2.5.4.11): "BIN" + 12 digits.
pub const ORGANIZATIONAL_UNIT: Oid = Oid::new_unwrap("2.5.4.11");
/// givenName (2.5.4.42): the patronymic in NCA certificates.
pub const GIVEN_NAME: Oid = Oid::new_unwrap("2.5.4.42");
/// emailAddress (1.2.840.113549.1.9.1).
pub const EMAIL_ADDRESS: Oid = Oid::new_unwrap("1.2.840.113549.1.9.1");

/// id-kp-clientAuth.
pub const KP_CLIENT_AUTH: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.2");
/// id-kp-emailProtection.
pub const KP_EMAIL_PROTECTION: Oid = Oid::new_unwrap("1.3.6.1.5.5.7.3.4");

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

/// GOST 34.310-2004 public key (Kazakh arc). Not implemented, named for reference.
pub const GOST_34310_KEY: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.1.1");
/// GOST 34.310-2004 signature with GOST 34.311-95. Not implemented.
pub const GOST_34310_SIGNATURE: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.1.2");
/// GOST 34.311-95 hash. Not implemented.
pub const GOST_34311_HASH: Oid = Oid::new_unwrap("1.2.398.3.10.1.3.1");
/// GOST 34.10-2015 512-bit public key. Not implemented.
pub const GOST_2015_512_KEY: Oid = Oid::new_unwrap("1.2.398.3.10.1.1.2.2");

/// rsaEncryption.
pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey.
pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1.
pub const SECP256R1: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
/// sha256WithRSAEncryption.
pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
/// ecdsa-with-SHA256.
pub const ECDSA_WITH_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
