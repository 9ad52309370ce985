//! `cargo xtask fuzz [--seconds N]`: coverage-guided fuzzing of the applet
//! with libFuzzer (target `apdus` of `tamga-fuzz`, see its crate docs).
//!
//! Stable Rust: the coverage instrumentation is `-C passes=sancov-module`
//! (what cargo-fuzz passes without a sanitizer), so no nightly and no
//! cargo-fuzz are needed. The corpus lives in `target/fuzz/corpus/apdus`
//! (kept between runs, started from `tamga_fuzz::seeds`); a finding is
//! written to `target/fuzz/artifacts/` and the task fails.

use std::process::Command;

use crate::cmd::{arg_value, cargo, have, root, run};

/// Coverage flags (libFuzzer's `-fsanitize=fuzzer` counters and compare
/// tracing), debug assertions and overflow checks on.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV names no host".into())
}

/// Run the fuzzer for `--seconds` (default 60).
pub fn fuzz(args: &[String]) -> Result<(), String> {
    let seconds: u64 = match arg_value(args, "--seconds") {
        Some(s) => s.parse().map_err(|_| format!("bad --seconds {s}"))?,
        None => 60,
    };
    let root = root();
    let dir = root.join("target/fuzz");
    let corpus = dir.join("corpus/apdus");
    let artifacts = dir.join("artifacts");
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    for (i, seed) in tamga_fuzz::seeds().iter().enumerate() {
        let path = corpus.join(format!("seed-{i}"));
        std::fs::write(&path, seed).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let triple = host_triple()?;
    let mut build = cargo();
    build
        .current_dir(&root)
        .args(["build", "--release", "-p", "tamga-fuzz", "--features"])
        .args(["libfuzzer", "--bin", "apdus", "--target", &triple])
        .arg("--target-dir")
        .arg(&dir)
        .env("RUSTFLAGS", RUSTFLAGS);
    // libFuzzer is C++: use clang++ where there is no c++ (the apt list has clang-14).
    if !have("c++") && have("clang++-14") {
        build.env("CXX", "clang++-14");
    }
    run(&mut build)?;
    let bin = dir.join(&triple).join("release/apdus");
    let mut prefix = artifacts.into_os_string();
    prefix.push("/");
    let mut prefix_arg = std::ffi::OsString::from("-artifact_prefix=");
    prefix_arg.push(&prefix);
    println!(
        "fuzzing the applet for {seconds} s (corpus {})",
        corpus.display()
    );
    let status = Command::new(&bin)
        .arg(&corpus)
        .arg(format!("-max_total_time={seconds}"))
        .args(["-print_final_stats=1", "-timeout=30"])
        .arg(prefix_arg)
        .status()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let entries = std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0);
    println!("corpus: {entries} inputs in {}", corpus.display());
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "the fuzzer found a failing input ({status}); see {} (replay: {} FILE)",
            prefix.to_string_lossy(),
            bin.display()
        ))
    }
}
