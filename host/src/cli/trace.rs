//! `tamga trace FILE`: a vcard trace, annotated with the card edge's names.

use std::path::PathBuf;

use tamga::Error;
use tamga_board_host::trace;
use tamga_spec::{Ins, KeyRef, ObjectTag, Status, status, tlv};

/// `tamga trace` options.
#[derive(clap::Args, Debug)]
pub struct TraceArgs {
    /// A trace written by `tamga-vcard --trace`.
    file: PathBuf,
}

fn describe_command(apdu: &[u8], masked: usize) -> String {
    let [cla, ins, p1, p2, rest @ ..] = apdu else {
        return format!("malformed APDU ({} bytes)", apdu.len());
    };
    let chained = if cla & 0x10 != 0 { " (chained)" } else { "" };
    let Ok(i) = Ins::try_from(*ins) else {
        return format!("INS {ins:02X} (unknown){chained}");
    };
    let data = match rest {
        [] => &[][..],
        [lc, d @ ..] if *lc != 0 => d.get(..usize::from(*lc)).unwrap_or(d),
        [0, h, l, d @ ..] => d
            .get(..usize::from(u16::from_be_bytes([*h, *l])))
            .unwrap_or(d),
        _ => &[][..],
    };
    let key = |b: u8| {
        KeyRef::try_from(b)
            .map(KeyRef::name)
            .unwrap_or("unknown key")
    };
    let what = match i {
        Ins::Verify | Ins::ChangeReference | Ins::ResetRetryCounter | Ins::GetMetadata => {
            key(*p2).to_string()
        }
        Ins::GeneralAuthenticate => format!("{} alg {p1:02X}", key(*p2)),
        Ins::GenerateAsymmetric | Ins::ImportKey => key(*p2).to_string(),
        Ins::Attest => key(*p1).to_string(),
        Ins::GetData | Ins::PutData => tlv::find(data, tlv::TAG_TAG_LIST)
            .ok()
            .flatten()
            .and_then(ObjectTag::from_bytes)
            .map(|t| format!("{} ({:X})", t.name().unwrap_or("object"), t.0))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let size = if masked > 0 {
        format!(", {masked} bytes masked")
    } else if !data.is_empty() {
        format!(", {} bytes", data.len())
    } else {
        String::new()
    };
    format!(
        "{}{}{}{chained}",
        i.name(),
        if what.is_empty() {
            String::new()
        } else {
            format!(" {what}")
        },
        size
    )
}

/// `tamga trace FILE`.
pub fn trace(a: &TraceArgs) -> Result<(), Error> {
    let lines = trace::read(&a.file).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidData => Error::Invalid(source.to_string()),
        _ => Error::Io {
            path: a.file.display().to_string(),
            source,
        },
    })?;
    let (mut apdus, mut bytes) = (0u64, 0u64);
    let mut last_cmd = 0u64;
    for l in &lines {
        let b = l
            .bytes()
            .map_err(|e| Error::Invalid(format!("trace hex {}: {e}", l.hex)))?;
        let t = l.t_us as f64 / 1e3;
        match l.kind.as_str() {
            "cmd" => {
                apdus += 1;
                bytes += (b.len() + l.masked) as u64;
                last_cmd = l.t_us;
                println!("{t:>10.3} ms  > {}", describe_command(&b, l.masked));
            }
            "rsp" => {
                bytes += b.len() as u64;
                let sw = match b.as_slice() {
                    [.., a, c] => u16::from_be_bytes([*a, *c]),
                    _ => 0,
                };
                println!(
                    "{t:>10.3} ms  < {sw:04X} {} ({} data bytes, {:.3} ms)",
                    status::describe(Status::from_u16(sw)),
                    b.len().saturating_sub(2),
                    l.t_us.saturating_sub(last_cmd) as f64 / 1e3
                );
            }
            other => println!("{t:>10.3} ms  {other} {}", l.hex),
        }
    }
    println!("{apdus} APDUs, {bytes} bytes");
    Ok(())
}
