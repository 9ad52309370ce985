//! `cargo xtask deps`: the layering rules of the README ("which crate may
//! depend on which"), checked on `cargo metadata`'s resolved graph.

use std::collections::{BTreeMap, BTreeSet};

use crate::cmd::{cargo, root};

/// One rule: `krate`'s normal (non-dev) dependency closure, with the features
/// cargo metadata resolved for the workspace, must not reach `forbidden`.
struct Rule {
    krate: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        krate: "tamga-ca",
        forbidden: &["tamga", "tamga-board-host", "tamga-firmware"],
        why: "the CA knows nothing of the host or the card",
    },
    Rule {
        krate: "tamga-vcard",
        forbidden: &["tamga", "tamga-pki", "tamga-ca"],
        why: "a card is firmware + board only",
    },
    Rule {
        krate: "tamga-pki",
        forbidden: &["tamga", "tamga-ca", "tamga-spec", "tamga-firmware"],
        why: "the PKI depends on no Tamga crate but the GOST algorithms",
    },
    Rule {
        krate: "tamga-gost",
        forbidden: &[
            "tamga",
            "tamga-pki",
            "tamga-ca",
            "tamga-spec",
            "tamga-firmware",
            "tamga-store",
        ],
        why: "the GOST algorithms stand alone, below the card and the host alike",
    },
    Rule {
        krate: "tamga-firmware",
        forbidden: &["tamga", "tamga-pki", "tamga-ca", "tamga-board-host"],
        why: "the card side depends on nothing of the host side",
    },
    Rule {
        krate: "tamga-vpcd",
        forbidden: &["tamga", "tamga-board-host", "tamga-firmware"],
        why: "the vpcd framing is shared by the boards, below them",
    },
];

/// Name -> names of its normal dependencies (workspace members and crates.io).
fn graph(extra: &[&str]) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let out = cargo()
        .current_dir(root())
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(extra)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    parse(&text)
}

/// The resolve graph of `cargo metadata` JSON, by package name, normal edges only.
fn parse(json: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("metadata: {e}"))?;
    let name_of: BTreeMap<&str, &str> = v["packages"]
        .as_array()
        .ok_or("metadata: no packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for node in v["resolve"]["nodes"]
        .as_array()
        .ok_or("metadata: no resolve")?
    {
        let Some(from) = node["id"].as_str().and_then(|id| name_of.get(id)) else {
            continue;
        };
        let entry = g.entry((*from).to_string()).or_default();
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            if let (true, Some(to)) = (normal, dep["pkg"].as_str().and_then(|id| name_of.get(id))) {
                entry.insert((*to).to_string());
            }
        }
    }
    Ok(g)
}

/// Everything `krate` reaches through normal dependencies.
fn closure(g: &BTreeMap<String, BTreeSet<String>>, krate: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![krate.to_string()];
    while let Some(k) = todo.pop() {
        for d in g.get(&k).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

/// The host without its `local-ca` feature does not link the CA crate.
fn host_without_local_ca() -> Result<(), String> {
    let out = cargo()
        .current_dir(root())
        .args([
            "tree",
            "--locked",
            "-p",
            "tamga",
            "--no-default-features",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "cargo tree: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    if text.lines().any(|l| l.starts_with("tamga-ca ")) {
        return Err("tamga without the local-ca feature still links tamga-ca".into());
    }
    println!("ok  tamga --no-default-features does not link tamga-ca");
    Ok(())
}

/// `cargo xtask deps`.
pub fn deps() -> Result<(), String> {
    let g = graph(&[])?;
    let mut broken = Vec::new();
    for r in RULES {
        if !g.contains_key(r.krate) {
            broken.push(format!("{} is not in the workspace", r.krate));
            continue;
        }
        let reach = closure(&g, r.krate);
        let bad: Vec<&str> = r
            .forbidden
            .iter()
            .copied()
            .filter(|f| reach.contains(*f))
            .collect();
        if bad.is_empty() {
            println!(
                "ok  {} reaches none of {} ({})",
                r.krate,
                r.forbidden.join(", "),
                r.why
            );
        } else {
            broken.push(format!(
                "{} depends on {} ({})",
                r.krate,
                bad.join(", "),
                r.why
            ));
        }
    }
    host_without_local_ca()?;
    if broken.is_empty() {
        Ok(())
    } else {
        Err(format!("layering broken: {}", broken.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closure_follows_normal_edges_only() {
        let json = r#"{"packages":[
            {"id":"a","name":"a"},{"id":"b","name":"b"},{"id":"c","name":"c"}],
          "resolve":{"nodes":[
            {"id":"a","deps":[{"pkg":"b","dep_kinds":[{"kind":null}]},
                              {"pkg":"c","dep_kinds":[{"kind":"dev"}]}]},
            {"id":"b","deps":[{"pkg":"c","dep_kinds":[{"kind":null}]}]},
            {"id":"c","deps":[]}]}}"#;
        let g = parse(json).unwrap();
        assert_eq!(closure(&g, "a").into_iter().collect::<Vec<_>>(), ["b", "c"]);
        assert!(closure(&g, "c").is_empty());
        let g2 = parse(&json.replace(r#"{"pkg":"c","dep_kinds":[{"kind":null}]}"#, "")).unwrap();
        assert_eq!(closure(&g2, "a").into_iter().collect::<Vec<_>>(), ["b"]);
    }
}
