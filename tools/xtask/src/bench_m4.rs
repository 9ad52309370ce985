//! `cargo xtask bench-m4`: instructions per operation on the Cortex-M4 build
//! under `-icount shift=0` (one instruction per nanosecond of virtual time),
//! both P-256 backends compared, and the RSA-2048 key generation over seeds.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use tamga_testkit::qemu::Qemu;

use crate::board::{Image, build};
use crate::cmd::{arg_value, have};
use crate::opensc::sw_success;

/// Clock of the reference MCU for the millisecond column of `bench-m4`.
const MHZ: u64 = 48;

/// Run an image that exits by itself; its semihosting stdout, line by line.
fn run_to_exit(q: &Qemu, timeout: Duration) -> Result<Vec<String>, String> {
    let mut cmd = q.command()?;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-arm: {e}"))?;
    let out = child.stdout.take().ok_or("no QEMU stdout")?;
    let reader = thread::spawn(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let lines = reader.join().map_err(|_| "reader thread failed")?;
            return if status.success() {
                Ok(lines)
            } else {
                Err(format!("QEMU exited with {status}: {}", lines.join("\n")))
            };
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("QEMU did not finish within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The benchmark image's output.
pub struct BenchRun {
    /// (operation, instructions, SW).
    rows: Vec<(String, u64, String)>,
    /// Instructions measured for the 2,000,000-instruction calibration loop.
    calibration: Option<u64>,
    /// Peak stack of the run and the stack region, in bytes.
    pub stack: Option<(u64, u64)>,
}

/// The RNG seed of `bench-m4`'s table (and of `size`'s stack measurement).
pub const BENCH_SEED: u64 = 7;
/// Default number of seeds of `bench-m4`'s RSA-2048 key generation sweep.
const RSA_SEEDS: u64 = 21;
/// The operation whose instructions the seed sweep collects.
const RSA_KEYGEN: &str = "GENERATE RSA-2048 (9C)";

/// Run the benchmark image once (RNG `seed`, `-icount shift=0` when `icount`).
pub fn bench_run(image: Image, icount: bool, seed: u64) -> Result<BenchRun, String> {
    let elf = build(image)?;
    let q = Qemu {
        elf,
        vpcd: None,
        flash: None,
        seed: Some(seed),
        stack_report: None,
        icount,
        log: Some(PathBuf::from("/dev/null")),
    };
    let lines = run_to_exit(&q, Duration::from_secs(1800))?;
    let mut run = BenchRun {
        rows: Vec::new(),
        calibration: None,
        stack: None,
    };
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        match f.as_slice() {
            ["BENCH", name, n, sw] => {
                run.rows
                    .push(((*name).into(), n.parse().unwrap_or(0), (*sw).into()));
            }
            ["CALIB", _, n, _] => run.calibration = n.parse().ok(),
            ["STACK", peak, cap] => {
                run.stack = Some((peak.parse().unwrap_or(0), cap.parse().unwrap_or(0)));
            }
            _ => {}
        }
    }
    Ok(run)
}

/// `n` with thousands separators.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `cargo xtask bench-m4 [--rsa-seeds N]`: instructions per operation on the
/// Cortex-M4 build (RNG seed 7), both P-256 backends compared, then the
/// RSA-2048 key generation over seeds 1..=N (default 21, 0 to skip): one run
/// of the bench image per seed, median and max.
pub fn bench_m4(args: &[String]) -> Result<(), String> {
    if !have("qemu-system-arm") {
        return Err("qemu-system-arm not found (apt-get install qemu-system-arm)".into());
    }
    let seeds = match arg_value(args, "--rsa-seeds") {
        Some(s) => s.parse().map_err(|_| format!("bad --rsa-seeds {s}"))?,
        None => RSA_SEEDS,
    };
    let run = bench_run(Image::Bench, true, BENCH_SEED)?;
    if let Some(c) = run.calibration {
        println!(
            "calibration: a 2,000,000-instruction loop measured {} instructions",
            thousands(c)
        );
    }
    println!(
        "\nCortex-M4 (thumbv7em-none-eabihf, opt-level s, LTO), QEMU mps2-an386 -icount shift=0;\n\
         one Applet::process call each; ms at {MHZ} MHz assumes one instruction per cycle\n"
    );
    println!("| operation | instructions | ms @ {MHZ} MHz | SW | goal |");
    println!("| --- | ---: | ---: | --- | --- |");
    for (name, n, sw) in &run.rows {
        // Issue goals: P-256 sign, the status-only commands, GOST (a 512-bit
        // field is ~8x the work of P-256's).
        let limit = match name.as_str() {
            n if n.starts_with("P-256 sign") => Some(1_000_000),
            n if n.starts_with("VERIFY (empty") || n.starts_with("GET DATA (absent") => {
                Some(50_000)
            }
            n if n.starts_with("GENERATE GOST-512") || n.starts_with("GOST-512 sign") => {
                Some(5_000_000)
            }
            n if n.starts_with("GOST-2004 sign") => Some(1_000_000),
            _ => None,
        };
        let goal = limit.map_or(String::new(), |l: u64| {
            let shown = if l >= 1_000_000 {
                format!("{} M", l / 1_000_000)
            } else {
                format!("{} k", l / 1000)
            };
            let verdict = if *n <= l { "met" } else { "MISSED" };
            format!("<= {shown}: {verdict}")
        });
        if sw_success(sw) || sw == "63C3" || sw == "6A82" {
            println!(
                "| {name} | {} | {:.2} | {sw} | {goal} |",
                thousands(*n),
                *n as f64 / (MHZ * 1000) as f64
            );
        } else {
            println!("| {name} | not measured | | {sw} | |");
        }
    }
    if seeds > 0 {
        rsa_sweep(Image::Bench, seeds, &run)?;
    }
    Ok(())
}

/// RSA-2048 key generation instructions for seeds 1..=`seeds` (the run of
/// seed [`BENCH_SEED`] is reused): median and max, seconds at [`MHZ`] MHz.
fn rsa_sweep(image: Image, seeds: u64, seed7: &BenchRun) -> Result<(), String> {
    let keygen = |run: &BenchRun| {
        run.rows
            .iter()
            .find(|(name, _, sw)| name == RSA_KEYGEN && sw_success(sw))
            .map(|(_, n, _)| *n)
    };
    let started = Instant::now();
    let mut counts = Vec::new();
    for seed in 1..=seeds {
        let n = if seed == BENCH_SEED {
            keygen(seed7)
        } else {
            keygen(&bench_run(image, true, seed)?)
        }
        .ok_or_else(|| format!("seed {seed}: {RSA_KEYGEN} failed"))?;
        counts.push((seed, n));
    }
    let secs = |n: u64| n as f64 / (MHZ * 1_000_000) as f64;
    println!(
        "
RSA-2048 key generation, seeds 1..={seeds} (instructions, s @ {MHZ} MHz):"
    );
    for (seed, n) in &counts {
        println!(
            "  seed {seed:>3}: {:>15} {:>8.1} s",
            thousands(*n),
            secs(*n)
        );
    }
    let mut sorted: Vec<u64> = counts.iter().map(|c| c.1).collect();
    sorted.sort_unstable();
    // Median of an even count: the mean of the middle two.
    let len = sorted.len();
    let median = if len % 2 == 1 {
        sorted[len / 2]
    } else {
        (sorted[len / 2 - 1] + sorted[len / 2]) / 2
    };
    let max = sorted[len - 1];
    let goal = if secs(median) <= 30.0 {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "| {RSA_KEYGEN}, median / max over {seeds} seeds | {} / {} | {:.1} s / {:.1} s | goal median <= 30 s: {goal} |",
        thousands(median),
        thousands(max),
        secs(median),
        secs(max)
    );
    println!("(sweep took {:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}
