//! Crash test: `tamga-ca issue --batch` killed with SIGKILL at random points, N times
//! (TAMGA_CRASH_RUNS, default 6). Every certificate a run reported is in the store, no
//! serial is duplicated, and re-running returns the same certificate for the same request.

mod common;

use common::*;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;
use tamga_ca::bench::{p256_csr, sample_applicant};
use tamga_ca::{Ca, KeyAlgorithm};
use tamga_pki::{CertStatus, ProfileName};

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

/// Runs the batch; kills it after `kill_after` if given. Returns the reported serials in order.
fn run_batch(
    dir: &std::path::Path,
    batch: &std::path::Path,
    kill_after: Option<Duration>,
) -> (Vec<String>, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tamga-ca"))
        .arg("--dir")
        .arg(dir)
        .args(["issue", "--chunk", "8", "--batch"])
        .arg(batch)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut serials = Vec::new();
        let mut r = BufReader::new(stdout);
        let mut line = String::new();
        // Only complete lines count as "returned".
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(l) = line.strip_suffix('\n') {
                serials.push(l.split('\t').next().unwrap().to_string());
            }
            line.clear();
        }
        serials
    });
    let killed = match kill_after {
        Some(d) => {
            std::thread::sleep(d);
            child.kill().is_ok() // SIGKILL on Unix
        }
        None => false,
    };
    let status = child.wait().unwrap();
    if kill_after.is_none() {
        assert!(status.success(), "uninterrupted batch failed: {status}");
    }
    (reader.join().unwrap(), killed)
}

#[test]
fn sigkill_during_bulk_issuance_loses_nothing_and_duplicates_nothing() {
    let runs: usize = std::env::var("TAMGA_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let count: usize = std::env::var("TAMGA_CRASH_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    let tmp = TempDir::new("crash");
    drop(root_and_issuing(tmp.path(), KeyAlgorithm::P256));
    let dir = tmp.path().join("ca");
    // Run i issues `count` fresh applications, then replays run i-1's (idempotency after a
    // crash); the final, uninterrupted run covers all of them.
    let mut fresh: Vec<Vec<String>> = Vec::new();
    for r in 0..runs {
        let mut v = Vec::new();
        for i in 0..count {
            let a = sample_applicant(1000 + r * count + i, None);
            let (_, csr) = p256_csr(&a).unwrap();
            let profile = if i % 2 == 0 {
                ProfileName::IndividualAuth
            } else {
                ProfileName::IndividualSign
            };
            v.push(serde_json::to_string(&app(profile, a, csr)).unwrap());
        }
        fresh.push(v);
    }
    let file = |name: &str, lines: &[&String]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        write(tmp.path(), name, text.as_bytes())
    };

    // Time one uninterrupted run on a scratch CA to pick kill points inside the work.
    let probe = TempDir::new("crash-probe");
    drop(root_and_issuing(probe.path(), KeyAlgorithm::P256));
    let probe_batch = file("probe.jsonl", &fresh[0].iter().collect::<Vec<_>>());
    let t = std::time::Instant::now();
    let (all, _) = run_batch(&probe.path().join("ca"), &probe_batch, None);
    assert_eq!(all.len(), count);
    let full = u64::try_from(t.elapsed().as_millis().max(20)).unwrap();

    // (global application index, serial) reported by killed runs.
    let mut reported: Vec<(usize, String)> = Vec::new();
    let mut per_run = Vec::new();
    let mut kills = 0;
    for r in 0..runs {
        let mut lines: Vec<&String> = fresh[r].iter().collect();
        let mut index: Vec<usize> = (0..count).map(|k| r * count + k).collect();
        if r > 0 {
            lines.extend(fresh[r - 1].iter());
            index.extend((0..count).map(|k| (r - 1) * count + k));
        }
        let batch = file(&format!("run{r}.jsonl"), &lines);
        let delay = Duration::from_millis(5 + random_u64() % full);
        let (serials, killed) = run_batch(&dir, &batch, Some(delay));
        kills += usize::from(killed);
        per_run.push(serials.len());
        reported.extend(serials.into_iter().enumerate().map(|(k, s)| (index[k], s)));
    }
    assert!(kills > 0, "no run was killed");
    let everything: Vec<&String> = fresh.iter().flatten().collect();
    let all_batch = file("all.jsonl", &everything);
    let (final_serials, _) = run_batch(&dir, &all_batch, None);
    let count = runs * count;
    assert_eq!(final_serials.len(), count);

    let ca = Ca::open(&dir).unwrap();
    // Every certificate a killed run returned is stored, and is the certificate the
    // final run returns for the same application (never a second one).
    for (i, s) in &reported {
        let row = ca
            .show(s)
            .unwrap_or_else(|e| panic!("returned serial {s} not in store: {e}"));
        assert_eq!(row.status, CertStatus::Valid);
        assert_eq!(
            &final_serials[*i], s,
            "application {i} got two certificates"
        );
    }
    let (n, distinct, requests) = ca
        .with_store(|s| {
            let c = s.conn();
            let n: i64 = c.query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))?;
            let d: i64 =
                c.query_row("SELECT COUNT(DISTINCT serial) FROM certificates", [], |r| {
                    r.get(0)
                })?;
            let q: i64 = c.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get(0))?;
            let ok: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            assert_eq!(ok, "ok");
            Ok((n, d, q))
        })
        .unwrap();
    assert_eq!(
        (n, distinct, requests),
        (count as i64, count as i64, count as i64)
    );
    let mut seen = HashMap::new();
    for s in &final_serials {
        assert!(seen.insert(s.clone(), ()).is_none(), "duplicate serial {s}");
    }
    eprintln!("crash test: {runs} runs ({kills} killed), lines reported per run: {per_run:?}");
}
