//! Volatile security state (RAM only): cleared by reset, power-off and
//! selecting another application (CARD-EDGE.md §2.1).

use zeroize::Zeroize;

/// Where the PIN verification of this session stands.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum PinState {
    /// Not verified (or the verification was forgotten).
    #[default]
    Unverified,
    /// Verified, and already used by a PIN-always key: enough for the
    /// once-per-session keys and the PIN-protected objects.
    Used,
    /// Verified and not yet used by a PIN-always key.
    Fresh,
}

impl PinState {
    /// Whether the PIN was verified in this session.
    pub(super) fn verified(self) -> bool {
        self != PinState::Unverified
    }

    /// Whether a PIN-always key may be used.
    pub(super) fn fresh(self) -> bool {
        self == PinState::Fresh
    }
}

/// A pending management-key authentication step: the block the card sent
/// (encrypted, or in the clear) and its length.
#[derive(Clone, Default)]
pub(super) enum AuthPending {
    /// No step pending.
    #[default]
    None,
    /// We sent Enc(witness); the host must send the witness back.
    Witness([u8; 16], usize),
    /// We sent a challenge; the host must send Enc(challenge).
    Challenge([u8; 16], usize),
}

/// The blocks are not printed.
impl core::fmt::Debug for AuthPending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            AuthPending::None => "None",
            AuthPending::Witness(..) => "Witness(..)",
            AuthPending::Challenge(..) => "Challenge(..)",
        })
    }
}

impl Drop for AuthPending {
    fn drop(&mut self) {
        if let AuthPending::Witness(b, _) | AuthPending::Challenge(b, _) = self {
            b.zeroize();
        }
    }
}

/// The volatile security state of a session.
#[derive(Debug, Default)]
pub(super) struct Session {
    /// PIV is selected.
    pub(super) selected: bool,
    /// The PIN verification.
    pub(super) pin: PinState,
    /// Management key authenticated.
    pub(super) mgmt: bool,
    /// A pending management-key step.
    pub(super) auth: AuthPending,
}

impl Session {
    /// A new session of a just-selected application.
    pub(super) fn selected() -> Self {
        Session {
            selected: true,
            ..Session::default()
        }
    }
}
