//! `cargo xtask bench-agent`: `tamga agent` against `tamga sign`, release
//! builds, an emulated card. Prints getKeyInfo requests per second through
//! the real ncalayer-js-client, the time per CMS signature through the agent
//! and through `tamga sign`, and the agent's own part of each signature (what
//! is neither the PIN dialog nor the card, from the agent's log); fails when
//! that is over 1 ms.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tamga_testkit::pty::{Keys, Typist};

use crate::cmd::{cargo, root, run};

/// Signatures through each path.
const SIGNATURES: usize = 30;
/// getKeyInfo calls.
const INFOS: usize = 500;
/// The agent's own budget per signature.
const BUDGET_MS: f64 = 1.0;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ok(c: &mut Command, what: &str) -> Result<String, String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the benchmark.
pub fn bench_agent() -> Result<(), String> {
    run(cargo().args(["build", "--release", "-p", "tamga", "-p", "tamga-ca"]))?;
    let bin = root().join("target/release");
    let project = root().join("host/tests/ncalayer-js");
    tamga_testkit::npm_ci(&project, "ncalayer-js-client")?;
    let tmp = std::env::temp_dir().join(format!("tamga-bench-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let card = format!("emu:{}", tmp.join("card.flash").display());
    let ca = tmp.join("ca");
    ok(
        Command::new(bin.join("tamga-ca"))
            .arg("--dir")
            .arg(&ca)
            .args(["init", "--key", "p256"]),
        "tamga-ca init",
    )?;
    let tamga = || {
        let mut c = Command::new(bin.join("tamga"));
        c.args(["--card", &card])
            .env("TAMGA_PIN", "123456")
            .env_remove("TAMGA_CARD");
        c
    };
    ok(
        tamga().arg("--ca").arg(&ca).args([
            "--create",
            "enroll",
            "--alg",
            "p256",
            "--iin",
            "871008401427",
            "--surname",
            "ИСМАИЛОВ",
            "--name",
            "АЙДАР",
        ]),
        "tamga enroll",
    )?;
    let doc = tmp.join("doc.txt");
    std::fs::write(&doc, "Договор поставки № 7\n").map_err(|e| e.to_string())?;

    // tamga sign, the whole process each time.
    let mut direct = Vec::new();
    for i in 0..SIGNATURES {
        let out = tmp.join(format!("doc{i}.p7s"));
        let t = Instant::now();
        ok(
            tamga().arg("sign").arg(&doc).arg("--out").arg(&out),
            "tamga sign",
        )?;
        direct.push(t.elapsed().as_secs_f64() * 1e3);
    }

    // The agent, PINs typed at once on pinentry-tty's terminal.
    let typist = Typist::new();
    // Showing the certificate to the page, once for the connection.
    typist.then(Keys::Confirm(true));
    for _ in 0..SIGNATURES {
        typist.then(Keys::Line("123456".into(), Duration::ZERO));
    }
    let mut agent = Command::new(bin.join("tamga"))
        .args([
            "--card",
            &card,
            "agent",
            "--foreground",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--pinentry", "pinentry-tty", "--pinentry-tty"])
        .arg(typist.tty())
        .arg("--dir")
        .arg(tmp.join("agent"))
        .env_remove("TAMGA_PIN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("tamga agent: {e}"))?;
    let mut line = String::new();
    let stdout = agent.stdout.take().ok_or("agent stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("the agent said {line:?}"))?
        .to_string();
    let stderr = agent.stderr.take().ok_or("agent stderr")?;
    let log = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let result = ok(
        Command::new("node")
            .arg(project.join("bench.js"))
            .env("AGENT_URL", &url)
            .env("NODE_EXTRA_CA_CERTS", tmp.join("agent/ca.pem"))
            .env("INFO_N", INFOS.to_string())
            .env("SIGN_N", SIGNATURES.to_string()),
        "bench.js",
    );
    let _ = agent.kill();
    let _ = agent.wait();
    let log = log.join().map_err(|_| "agent log")?;
    let _ = std::fs::remove_dir_all(&tmp);
    let v: serde_json::Value =
        serde_json::from_str(result?.trim()).map_err(|e| format!("bench.js: {e}"))?;

    // "… createCAdESFromBase64 from …: T ms (dialog D ms, card C ms, agent A ms)"
    let field = |l: &str, name: &str| -> Option<f64> {
        let at = l.find(name)? + name.len();
        l[at..].trim_start().split(' ').next()?.parse().ok()
    };
    let signs: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("createCAdESFromBase64 from"))
        .collect();
    let own: Vec<f64> = signs.iter().filter_map(|l| field(l, ", agent")).collect();
    let dialog: Vec<f64> = signs.iter().filter_map(|l| field(l, "(dialog")).collect();
    let card_ms: Vec<f64> = signs.iter().filter_map(|l| field(l, ", card")).collect();
    let infos: Vec<f64> = log
        .iter()
        .filter(|l| l.contains("getKeyInfo from"))
        .filter_map(|l| field(l, ", agent"))
        .collect();
    if own.len() != SIGNATURES {
        return Err(format!(
            "the agent logged {} of {SIGNATURES} signatures",
            own.len()
        ));
    }
    let own_median = median(own.clone());
    println!(
        "tamga agent vs tamga sign (release, emulated card, P-256, {SIGNATURES} signatures each)"
    );
    println!(
        "  getKeyInfo through ncalayer-js-client     {:>9.0} requests/s ({INFOS} calls; agent's own part median {:.3} ms)",
        v["getKeyInfoPerSecond"].as_f64().unwrap_or(f64::NAN),
        median(infos)
    );
    println!(
        "  CMS signature through the agent           {:>9.2} ms median round trip (min {:.2})",
        v["signatureMsMedian"].as_f64().unwrap_or(f64::NAN),
        v["signatureMsMin"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "    of which the PIN dialog (pinentry-tty)  {:>9.2} ms median",
        median(dialog)
    );
    println!(
        "    of which the card (open, VERIFY, sign)  {:>9.2} ms median",
        median(card_ms)
    );
    println!(
        "    of which the agent itself               {:>9.3} ms median, {:.3} ms max (budget {BUDGET_MS} ms)",
        own_median,
        own.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  tamga sign (a whole process each)         {:>9.2} ms median",
        median(direct)
    );
    if own_median > BUDGET_MS {
        return Err(format!(
            "the agent's own part of a signature is {own_median:.3} ms, over {BUDGET_MS} ms"
        ));
    }
    Ok(())
}
