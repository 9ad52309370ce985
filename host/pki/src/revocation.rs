//! Revocation reasons named by the regulation, and their RFC 5280 codes.

use x509_cert::ext::pkix::CrlReason;

/// Revocation reasons named by the regulation, plus the technical ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// The owner's request: RFC 5280 unspecified (0), encoded by omitting reasonCode.
    OwnerRequest,
    /// The owner's death: cessationOfOperation (5).
    Death,
    /// False information in the application: privilegeWithdrawn (9).
    FalseInformation,
    /// Key compromise: keyCompromise (1).
    KeyCompromise,
    /// Replaced by a renewed certificate: superseded (4).
    Superseded,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 5] = [
        RevocationReason::OwnerRequest,
        RevocationReason::Death,
        RevocationReason::FalseInformation,
        RevocationReason::KeyCompromise,
        RevocationReason::Superseded,
    ];

    /// Name as stored and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::OwnerRequest => "owner-request",
            RevocationReason::Death => "death",
            RevocationReason::FalseInformation => "false-information",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::Superseded => "superseded",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<RevocationReason> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The RFC 5280 CRLReason (`None`: unspecified, reasonCode left out as RFC 5280 5.3.1 advises).
    pub fn crl_reason(self) -> Option<CrlReason> {
        match self {
            RevocationReason::OwnerRequest => None,
            RevocationReason::Death => Some(CrlReason::CessationOfOperation),
            RevocationReason::FalseInformation => Some(CrlReason::PrivilegeWithdrawn),
            RevocationReason::KeyCompromise => Some(CrlReason::KeyCompromise),
            RevocationReason::Superseded => Some(CrlReason::Superseded),
        }
    }
}

impl std::fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RevocationReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        RevocationReason::parse(s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|r| r.as_str()).collect();
            format!(
                "unknown revocation reason {s:?} (one of {})",
                names.join(", ")
            )
        })
    }
}
