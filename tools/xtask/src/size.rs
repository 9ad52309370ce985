//! `cargo xtask size`: the card image's footprint (its ELF sections) and its
//! peak stack, measured while serving the PC/SC check.

use std::fs;
use std::path::Path;

use crate::bench_m4::{BENCH_SEED, bench_run};
use crate::board::{Image, build};
use crate::check::{Outcome, pcsc_check};
use crate::cmd::{have, root};

/// Section sizes of an ELF32 little-endian file: (name, address, size).
fn sections(elf: &Path) -> Result<Vec<(String, u32, u32)>, String> {
    let b = fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let u16_at = |o: usize| b.get(o..o + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o: usize| {
        b.get(o..o + 4)
            .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    };
    let bad = || format!("{}: not an ELF32 LE file", elf.display());
    if b.get(..6) != Some(&[0x7F, b'E', b'L', b'F', 1, 1][..]) {
        return Err(bad());
    }
    let shoff = u32_at(0x20).ok_or_else(bad)? as usize;
    let shentsize = u16_at(0x2E).ok_or_else(bad)? as usize;
    let shnum = u16_at(0x30).ok_or_else(bad)? as usize;
    let shstrndx = u16_at(0x32).ok_or_else(bad)? as usize;
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u32_at(header(shstrndx) + 16).ok_or_else(bad)? as usize;
    let mut out = Vec::new();
    for i in 1..shnum {
        let h = header(i);
        let name_off = u32_at(h).ok_or_else(bad)? as usize;
        let name = b
            .get(strtab + name_off..)
            .and_then(|s| s.split(|&c| c == 0).next())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .unwrap_or_default();
        let addr = u32_at(h + 12).ok_or_else(bad)?;
        let size = u32_at(h + 20).ok_or_else(bad)?;
        out.push((name, addr, size));
    }
    Ok(out)
}

/// Flash budget of the card image (the MCU class Tamga targets: 128 KiB flash).
pub const FLASH_BUDGET: u64 = 128 * 1024;
/// RAM budget: static data plus the measured peak stack (16 KiB of RAM).
pub const RAM_BUDGET: u64 = 16 * 1024;
/// Stack budget of the card image (measured peak while serving the PC/SC check).
pub const STACK_BUDGET: u64 = 10 * 1024;

fn kib(n: u64) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}

/// `cargo xtask size`: the card image's footprint.
pub fn size() -> Result<(), String> {
    let elf = build(Image::Card)?;
    let secs = sections(&elf)?;
    let get = |n: &str| secs.iter().find(|s| s.0 == n).map_or(0, |s| u64::from(s.2));
    let (vt, text, rodata, data, bss, uninit) = (
        get(".vector_table"),
        get(".text"),
        get(".rodata"),
        get(".data"),
        get(".bss"),
        get(".uninit"),
    );
    let flash = vt + text + rodata + data;
    let ram_static = data + bss + uninit;

    // Peak stack of the card image: boot, and serving the PC/SC check's
    // workload (P-256 and RSA-2048 key generation and signatures, a chained
    // certificate write, a restart), read back from the stack painting when
    // pcscd powers the card off. The benchmark image's peak is shown too; it
    // holds the applet on its stack, so it is not the card's figure.
    let session = match pcsc_check(tamga_testkit::vpcd::PORT, true)? {
        Outcome::Passed(_) => fs::read_to_string(root().join("target/mps2/stack.txt"))
            .ok()
            .and_then(|s| {
                let field = |k: &str| {
                    s.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .and_then(|v| v.parse::<u64>().ok())
                };
                Some((field("boot=")?, field("peak=")?))
            }),
        Outcome::Skipped(why) => {
            println!("no PC/SC session, so no card stack measurement: {why}");
            None
        }
    };
    let bench = if have("qemu-system-arm") {
        bench_run(Image::Bench, false, BENCH_SEED)?.stack
    } else {
        None
    };

    println!("\ntamga-mps2 (card image), {}\n", elf.display());
    println!("| section | bytes | |");
    println!("| --- | ---: | --- |");
    println!("| .vector_table | {vt} | flash |");
    println!("| .text | {text} | flash |");
    println!("| .rodata | {rodata} | flash |");
    println!("| .data | {data} | flash (load image) and RAM |");
    println!("| .bss | {bss} | RAM |");
    if uninit > 0 {
        println!("| .uninit | {uninit} | RAM |");
    }
    let mut peak = 0;
    if let Some((boot, p)) = session {
        println!("| stack, peak: boot (store mount, applet init) | {boot} | RAM, measured |");
        println!(
            "| stack, peak: serving the PC/SC check (P-256 keygen, sign, ECDH; RSA-2048 keygen, import, sign, decrypt; GOST-512 and GOST-2004 keygen and sign; GET METADATA; chained PUT DATA) | {p} | RAM, measured |"
        );
        peak = peak.max(p).max(boot);
    }
    if let Some((p, _)) = bench {
        println!(
            "| stack, peak: benchmark image (applet on its stack; not in the total) | {p} | RAM, measured |"
        );
    }
    println!("| store (emulated NOR flash, 32 x 2 KiB pages) | 65536 | flash, outside the image |");
    let verdict = |n: u64, budget: u64| if n <= budget { "met" } else { "MISSED" };
    let ram = ram_static + peak;
    println!(
        "\nflash (image): {flash} bytes = {} (budget {}: {})",
        kib(flash),
        kib(FLASH_BUDGET),
        verdict(flash, FLASH_BUDGET)
    );
    println!(
        "RAM: {ram_static} static + {peak} peak stack = {ram} bytes = {} (budget {}: {})",
        kib(ram),
        kib(RAM_BUDGET),
        verdict(ram, RAM_BUDGET)
    );
    println!(
        "stack: {peak} bytes peak (budget {}: {})",
        kib(STACK_BUDGET),
        verdict(peak, STACK_BUDGET)
    );
    if session.is_none() {
        println!("(card stack not measured: the RAM total is the static part only)");
    }
    let over: Vec<String> = [
        ("flash", flash, FLASH_BUDGET),
        ("RAM", ram, RAM_BUDGET),
        ("stack", peak, STACK_BUDGET),
    ]
    .into_iter()
    .filter(|(_, n, budget)| n > budget)
    .map(|(what, n, budget)| format!("{what} {n} > {budget} bytes"))
    .collect();
    if over.is_empty() {
        Ok(())
    } else {
        Err(format!("over budget: {}", over.join(", ")))
    }
}
