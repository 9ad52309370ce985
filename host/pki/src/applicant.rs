//! Applicant data of an application for NCA certificates.

use crate::{Bin, Error, Iin};
use serde::{Deserialize, Serialize};

/// Role of an employee within a legal entity (its EKU role OID).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Head of the legal entity (1.2.398.3.3.4.1.2.1).
    Head,
    /// Person entitled to sign (1.2.398.3.3.4.1.2.2).
    MaySign,
    /// Finance (1.2.398.3.3.4.1.2.3).
    Finance,
    /// Human resources (1.2.398.3.3.4.1.2.4).
    Hr,
    /// Employee (1.2.398.3.3.4.1.2.5).
    Employee,
}

impl Role {
    /// Every role, in OID order.
    pub const ALL: [Role; 5] = [
        Role::Head,
        Role::MaySign,
        Role::Finance,
        Role::Hr,
        Role::Employee,
    ];

    /// The name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Head => "head",
            Role::MaySign => "may-sign",
            Role::Finance => "finance",
            Role::Hr => "hr",
            Role::Employee => "employee",
        }
    }
}

/// The legal entity an employee acts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalEntity {
    /// Business identification number.
    pub bin: Bin,
    /// Organisation name (goes into O).
    pub name: String,
    /// The applicant's role.
    pub role: Role,
}

/// The person applying, with the legal entity for employees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// Individual identification number.
    pub iin: Iin,
    /// Surname (family name).
    pub surname: String,
    /// Given name.
    pub name: String,
    /// Patronymic (goes into givenName), if the person has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    /// E-mail address (subject emailAddress and SAN rfc822Name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number, `+` and 10 to 15 digits; kept in the application, not in the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// City or locality (L).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    /// Region (S).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The legal entity for an employee; absent for an individual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_entity: Option<LegalEntity>,
}

/// Longest personal name part accepted.
pub const MAX_NAME_LEN: usize = 64;
/// Longest organisation name accepted.
pub const MAX_ORG_LEN: usize = 200;
/// Longest locality or region accepted.
pub const MAX_PLACE_LEN: usize = 128;
/// Longest e-mail address accepted.
pub const MAX_EMAIL_LEN: usize = 128;

/// A letter of the Cyrillic alphabets (Kazakh's Ә Ғ Қ Ң Ө Ұ Ү Һ І among
/// them) or of the Latin ones, the Kazakh Latin alphabet's Á Ǵ İ ı Ń Ó Ş Ú Ý
/// included (Latin-1 Supplement and Latin Extended-A and -B letters).
fn is_letter(c: char) -> bool {
    c.is_ascii_alphabetic()
        || ('\u{0400}'..='\u{04FF}').contains(&c)
        || (('\u{00C0}'..='\u{024F}').contains(&c) && c.is_alphabetic())
}

/// The apostrophes real names have (O'BRIEN, D’ARTAGNAN).
fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

fn check_text(
    field: &'static str,
    value: &str,
    max: usize,
    extra: impl Fn(char) -> bool,
) -> Result<(), Error> {
    let n = value.chars().count();
    if value.trim().is_empty() {
        return Err(Error::MissingField(field));
    }
    if n > max {
        return Err(Error::InvalidField {
            field,
            reason: format!("longer than {max} characters"),
        });
    }
    if value.trim() != value || value.contains("  ") {
        return Err(Error::InvalidField {
            field,
            reason: "leading, trailing or double spaces".into(),
        });
    }
    if let Some(c) = value
        .chars()
        .find(|&c| !(is_letter(c) || c == ' ' || extra(c)))
    {
        return Err(Error::InvalidField {
            field,
            reason: format!("character {c:?} not allowed"),
        });
    }
    if !value.chars().any(is_letter) {
        return Err(Error::InvalidField {
            field,
            reason: "has no letter".into(),
        });
    }
    Ok(())
}

/// Checks a personal name part: Cyrillic or Latin letters (the Kazakh
/// alphabets in both scripts), space, hyphen, apostrophe; a hyphen or an
/// apostrophe only between letters.
pub fn check_person_name(field: &'static str, value: &str) -> Result<(), Error> {
    check_text(field, value, MAX_NAME_LEN, |c| c == '-' || is_apostrophe(c))?;
    let chars: Vec<char> = value.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '-' || is_apostrophe(c) {
            let between =
                i > 0 && i + 1 < chars.len() && is_letter(chars[i - 1]) && is_letter(chars[i + 1]);
            if !between {
                return Err(Error::InvalidField {
                    field,
                    reason: format!("{c:?} only between letters"),
                });
            }
        }
    }
    Ok(())
}

/// Checks an e-mail address (ASCII, one `@`, a dotted domain).
pub fn check_email(value: &str) -> Result<(), Error> {
    let field = "email";
    let bad = |reason: &str| Error::InvalidField {
        field,
        reason: reason.into(),
    };
    if value.len() > MAX_EMAIL_LEN {
        return Err(bad("too long"));
    }
    let (local, domain) = value.split_once('@').ok_or_else(|| bad("no @"))?;
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b));
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if !local_ok || !domain_ok {
        return Err(bad("not an address of the form name@domain.tld"));
    }
    Ok(())
}

/// A phone number as people write it (`+7 701 123-45-67`, `8 (701) 1234567`)
/// without its spaces, hyphens, dots and parentheses; check it with
/// [`check_phone`].
pub fn normalize_phone(value: &str) -> String {
    value
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{a0}'))
        .collect()
}

/// Checks a phone number: optional `+`, then 10 to 15 digits (normalized:
/// see [`normalize_phone`]).
pub fn check_phone(value: &str) -> Result<(), Error> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if !(10..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidField {
            field: "phone",
            reason: "expected an optional + and 10 to 15 digits".into(),
        });
    }
    Ok(())
}

impl Applicant {
    /// Checks required fields and character sets (IIN and BIN are checked when parsed).
    pub fn validate(&self) -> Result<(), Error> {
        self.iin.check_not_future()?;
        check_person_name("surname", &self.surname)?;
        check_person_name("name", &self.name)?;
        if let Some(p) = &self.patronymic {
            check_person_name("patronymic", p)?;
        }
        if let Some(e) = &self.email {
            check_email(e)?;
        }
        if let Some(p) = &self.phone {
            check_phone(p)?;
        }
        let place = |c: char| c == '-' || c == '.' || c.is_ascii_digit();
        if let Some(l) = &self.locality {
            check_text("locality", l, MAX_PLACE_LEN, place)?;
        }
        if let Some(r) = &self.region {
            check_text("region", r, MAX_PLACE_LEN, place)?;
        }
        if let Some(le) = &self.legal_entity {
            check_text("legal_entity.name", &le.name, MAX_ORG_LEN, |c| {
                c.is_ascii_digit() || "-.,\"'«»()&№/+".contains(c)
            })?;
        }
        Ok(())
    }

    /// "SURNAME NAME" as used in CN.
    pub fn common_name(&self) -> String {
        format!(
            "{} {}",
            self.surname.to_uppercase(),
            self.name.to_uppercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Applicant {
        Applicant {
            iin: "871008401427".parse().unwrap(),
            surname: "Сәрсенбаев".into(),
            name: "Асқар".into(),
            patronymic: Some("Ерланұлы".into()),
            email: Some("askar@example.kz".into()),
            phone: Some("+77011234567".into()),
            locality: Some("Астана".into()),
            region: None,
            legal_entity: None,
        }
    }

    #[test]
    fn accepts_kazakh_and_latin() {
        base().validate().unwrap();
        let mut a = base();
        a.surname = "Smith-Jones".into();
        a.validate().unwrap();
        for name in [
            "ÁBDİKERİMOVA",
            "Áıgerim",
            "Ǵalym",
            "Ńurlan",
            "O'BRIEN",
            "D’Artagnan",
        ] {
            check_person_name("name", name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        for bad in [
            "'Brien", "O'", "O''Brien", "-Ann", "A--B", "A<B", "A\u{0}B", "A=B",
        ] {
            assert!(check_person_name("name", bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalize_phone("+7 701 123-45-67"), "+77011234567");
        assert_eq!(normalize_phone("8 (701) 123.45.67"), "87011234567");
        check_phone(&normalize_phone("+7 701 123-45-67")).unwrap();
        assert!(check_phone(&normalize_phone("+7 701 12")).is_err());
        assert_eq!(base().common_name(), "СӘРСЕНБАЕВ АСҚАР");
    }

    #[test]
    fn rejects_bad_fields() {
        type Case = (fn(&mut Applicant), &'static str);
        let cases: Vec<Case> = vec![
            (|a| a.surname = "".into(), "surname"),
            (|a| a.name = "Ivan1".into(), "name"),
            (|a| a.name = " Ivan".into(), "name"),
            (|a| a.patronymic = Some("-".into()), "patronymic"),
            (|a| a.email = Some("no-at.example".into()), "email"),
            (|a| a.email = Some("a@b".into()), "email"),
            (|a| a.phone = Some("12345".into()), "phone"),
            (|a| a.name = "x".repeat(65), "name"),
        ];
        for (f, field) in cases {
            let mut a = base();
            f(&mut a);
            let e = a.validate().unwrap_err();
            assert!(e.to_string().contains(field), "{e} should name {field}");
        }
    }

    #[test]
    fn json_round_trip_and_bad_iin() {
        let a = base();
        let s = serde_json::to_string(&a).unwrap();
        let b: Applicant = serde_json::from_str(&s).unwrap();
        assert_eq!(a, b);
        let bad = s.replace("871008401427", "871008401428");
        let e = serde_json::from_str::<Applicant>(&bad).unwrap_err();
        assert!(e.to_string().contains("check digit"), "{e}");
    }
}
