//! `opensc-tool`, and reading its output: status words and response data.

use std::process::Command;

/// `opensc-tool -r <reader> <args>`: (success, stdout + stderr).
pub fn opensc_tool(reader: &str, args: &[&str]) -> (bool, String) {
    match Command::new("opensc-tool")
        .args(["-r", reader])
        .args(args)
        .output()
    {
        Ok(o) => (
            o.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => (false, e.to_string()),
    }
}

/// Is a card present in `reader` (`opensc-tool -a` reads an ATR)?
pub fn reader_busy(reader: &str) -> bool {
    opensc_tool(reader, &["-a"]).0
}

/// Parse the `SW1=0x.., SW2=0x..` lines `opensc-tool -s` prints.
pub fn status_words(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| {
            let i = l.find("SW1=0x")?;
            let sw1 = l.get(i + 6..i + 8)?;
            let j = l.find("SW2=0x")?;
            let sw2 = l.get(j + 6..j + 8)?;
            Some(format!("{sw1}{sw2}").to_uppercase())
        })
        .collect()
}

/// The `n`-th response block `opensc-tool -s` prints (hex dump lines), as
/// one line.
pub fn response_data(out: &str, n: usize) -> String {
    let block = out.split("Received").nth(n + 1).unwrap_or("");
    let block = block.split("Sending").next().unwrap_or("");
    block
        .lines()
        .skip(1)
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a status word (hex) is a success: 9000, or 61xx (more data).
pub fn sw_success(sw: &str) -> bool {
    sw == "9000" || sw.starts_with("61")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_opensc_tool_output() {
        let out = "Sending: 00 F8 00 00\nReceived (SW1=0x90, SW2=0x00):\n01 02 03 04 ....\n\
                   Sending: 00 20 00 80 00\nReceived (SW1=0x63, SW2=0xC3)\n";
        assert_eq!(status_words(out), ["9000", "63C3"]);
        assert_eq!(response_data(out, 0), "01 02 03 04 ....");
        assert!(sw_success("6110") && !sw_success("6A82"));
    }
}
