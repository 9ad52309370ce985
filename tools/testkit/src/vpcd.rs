//! vpcd's TCP ports and the reader names pcscd gives them: port 35963 is
//! `Virtual PCD 00 00`, 35964 `Virtual PCD 00 01` (Debian's vsmartcard-vpcd
//! configures two).

/// vpcd's first port.
pub const PORT: u16 = 35963;

/// vpcd's ports and their readers.
pub const SLOTS: [(u16, &str); 2] = [(PORT, "Virtual PCD 00 00"), (PORT + 1, "Virtual PCD 00 01")];

/// The common start of vpcd's reader names.
pub const READER_PREFIX: &str = "Virtual PCD";

/// The PC/SC reader name of vpcd `port` (`port - PORT` is the slot).
pub fn reader(port: u16) -> String {
    format!("{READER_PREFIX} 00 {:02}", port.saturating_sub(PORT))
}

/// vpcd's address for `port` on this machine.
pub fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_name_their_readers() {
        for (port, name) in SLOTS {
            assert_eq!(reader(port), name);
        }
        assert_eq!(address(PORT), "127.0.0.1:35963");
    }
}
