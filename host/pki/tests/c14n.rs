//! Canonical XML 1.0: the examples of the W3C Recommendation (§3, in
//! `tests/vectors/c14n`; those with a DTD also without it, since a DTD is
//! refused), libxml2 (`xmllint --c14n`) on the same and on generated
//! documents, and hostile input.

use std::path::{Path, PathBuf};

use tamga_pki::c14n::{self, Comments, MAX_DEPTH, MAX_LEN};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/c14n")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(vectors().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn c14n(xml: &str, comments: Comments) -> String {
    String::from_utf8(c14n::canonicalize(xml, comments).unwrap_or_else(|e| panic!("{e}: {xml}")))
        .unwrap()
}

fn refused(xml: &str) -> String {
    match c14n::canonicalize(xml, Comments::With) {
        Ok(out) => panic!("accepted: {}", String::from_utf8_lossy(&out)),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_w3c_examples() {
    let mut checked = 0;
    for name in ["w3c-3.1", "w3c-3.2", "w3c-3.3", "w3c-3.4", "w3c-3.6"] {
        let input = read(&format!("{name}.xml"));
        let plain = read(&format!("{name}.c14n"));
        let commented = std::fs::read_to_string(vectors().join(format!("{name}.comments.c14n")))
            .unwrap_or_else(|_| plain.clone());
        assert_eq!(
            c14n(&input, Comments::Without),
            plain,
            "{name} without comments"
        );
        assert_eq!(
            c14n(&input, Comments::With),
            commented,
            "{name} with comments"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn the_w3c_examples_with_a_dtd_are_refused() {
    let mut names: Vec<_> = std::fs::read_dir(vectors())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".refused.xml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 4, "{names:?}");
    for name in names {
        let e = refused(&read(&name));
        assert!(e.contains("DTD"), "{name}: {e}");
    }
}

/// Documents that exercise each rule; libxml2 must agree on each.
const DOCUMENTS: &[&str] = &[
    "<a/>",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<a\r\n  b='1'\r\n>x\r\ny\rz</a>\r\n",
    "<a xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:b p:z=\"1\" a=\"2\" xmlns:q=\"urn:q\" q:y=\"3\"/><c xmlns=\"\"/></a>",
    "<p:a xmlns:p=\"urn:p\" xmlns:x=\"urn:p\"><x:b/><p:c xmlns:p=\"urn:p\"/></p:a>",
    "<a xml:lang=\"kk\" xml:space=\"preserve\"><b xml:lang=\"ru\">Қазақ тілі — русский</b></a>",
    "<!-- before --><?pi  data ?><a><!--in--><![CDATA[<&>]]>&lt;&amp;&gt;&quot;&apos;&#x9;&#13;</a><!-- after -->",
    "<a t=\"&#9;&#10;&#13;&lt;&amp;&quot;'>\" u='\"'>\u{1F600}\u{7F}</a>",
    "<a xmlns:b=\"urn:b\"><b:c xmlns:b=\"urn:other\"><d xmlns=\"urn:d\"><e xmlns=\"urn:d\"/></d></b:c></a>",
    "<root>\n  <child>text</child>\n  <child/>\n</root>",
];

#[test]
fn libxml2_agrees() {
    tamga_testkit::xml::require_xmllint();
    for doc in DOCUMENTS {
        let theirs = tamga_testkit::xml::xmllint_c14n(doc.as_bytes()).unwrap();
        assert_eq!(
            c14n(doc, Comments::With),
            String::from_utf8(theirs).unwrap(),
            "{doc}"
        );
    }
}

/// A small deterministic generator (xorshift) of documents: random nesting,
/// namespaces declared, redeclared and undeclared anywhere, prefixed and
/// unprefixed attributes in random order, text with characters to escape,
/// comments, processing instructions and CDATA.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap_or(0)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next(from.len())]
    }

    fn element(&mut self, out: &mut String, depth: usize, prefixes: &mut Vec<&'static str>) {
        let declared = prefixes.len();
        let mut decls = String::new();
        for p in ["", "a", "b", "c"] {
            if self.next(5) == 0 {
                let uri = self.pick(&["urn:x", "urn:y", "http://example.org/z"]);
                let uri = if p.is_empty() && self.next(3) == 0 {
                    ""
                } else {
                    uri
                };
                if p.is_empty() {
                    decls.push_str(&format!(" xmlns=\"{uri}\""));
                } else {
                    decls.push_str(&format!(" xmlns:{p}=\"{uri}\""));
                    prefixes.push(p);
                }
            }
        }
        let prefix = match prefixes.len() {
            0 => "",
            n => prefixes[self.next(n)],
        };
        let name = self.pick(&["e", "f", "ж"]);
        let qname = if prefix.is_empty() || self.next(2) == 0 {
            name.to_string()
        } else {
            format!("{prefix}:{name}")
        };
        out.push('<');
        out.push_str(&qname);
        let mut used = Vec::new();
        for _ in 0..self.next(4) {
            let local = self.pick(&["x", "y", "z", "я"]);
            let p = match prefixes.len() {
                0 => "",
                n if self.next(2) == 0 => prefixes[self.next(n)],
                _ => "",
            };
            // Two attributes with one expanded name are not well-formed:
            // prefixes may share a URI, so keep local names distinct.
            if used.contains(&local) {
                continue;
            }
            used.push(local);
            let value = self.pick(&["v", "&amp;&lt;\"", "'\t\n", "Ә ә", "&#x9;&#xA;&#xD;"]);
            let sep = if value.contains('"') { '\'' } else { '"' };
            if p.is_empty() {
                out.push_str(&format!(" {local}={sep}{value}{sep}"));
            } else {
                out.push_str(&format!(" {p}:{local}={sep}{value}{sep}"));
            }
        }
        out.push_str(&decls);
        if depth > 5 || self.next(4) == 0 {
            out.push_str("/>");
        } else {
            out.push('>');
            for _ in 0..self.next(4) {
                match self.next(6) {
                    0 => out.push_str("<!-- c -->"),
                    1 => out.push_str("<?p d?>"),
                    2 => out.push_str("<![CDATA[<&>]]>"),
                    3 => out.push_str(self.pick(&[" t ", "&lt;&gt;&amp;", "\r\n", "Сәлем"])),
                    _ => self.element(out, depth + 1, prefixes),
                }
            }
            out.push_str(&format!("</{qname}>"));
        }
        prefixes.truncate(declared);
    }
}

#[test]
fn libxml2_agrees_on_generated_documents() {
    tamga_testkit::xml::require_xmllint();
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut compared = 0;
    for _ in 0..300 {
        let mut doc = String::new();
        g.element(&mut doc, 0, &mut Vec::new());
        // The generator can declare a prefix after using it on an attribute
        // of the same element (fine) but never an unbound one; both parsers
        // must accept or refuse alike.
        let ours = c14n::canonicalize(&doc, Comments::With);
        let theirs = tamga_testkit::xml::xmllint_c14n(doc.as_bytes());
        match (ours, theirs) {
            (Ok(o), Ok(t)) => {
                assert_eq!(
                    String::from_utf8(o).unwrap(),
                    String::from_utf8(t).unwrap(),
                    "{doc}"
                );
                compared += 1;
            }
            (Err(e), Err(_)) => eprintln!("both refuse: {e}: {doc}"),
            (o, t) => panic!("disagree on {doc}: ours {o:?}, libxml2 {t:?}"),
        }
    }
    assert!(compared > 250, "only {compared} compared");
}

#[test]
fn hostile_input_is_refused_with_a_reason() {
    // Not XML, not well-formed, empty.
    for bad in [
        "",
        "hello",
        "<a>",
        "<a></b>",
        "<a b='1' b='2'/>",
        "<a/><b/>",
        "<p:a/>",
        "\u{0}",
    ] {
        let e = refused(bad);
        assert!(e.starts_with("XML: "), "{bad:?}: {e}");
    }
    // A billion laughs and an external entity: refused as DTDs.
    let lol = "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
               <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]><l>&c;&c;&c;&c;&c;&c;&c;&c;</l>";
    assert!(refused(lol).contains("DTD"));
    let xxe = "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
    assert!(refused(xxe).contains("DTD"));
    assert!(refused("<!DOCTYPE a><a/>").contains("DTD"));
    // An undeclared entity.
    assert!(refused("<a>&x;</a>").contains("XML"));
    // Too deep, at the limit, and deep enough to overflow a naive recursion.
    let nest = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
    c14n::canonicalize(&nest(MAX_DEPTH), Comments::With).unwrap();
    assert!(refused(&nest(MAX_DEPTH + 1)).contains("nested deeper"));
    assert!(refused(&nest(1_000_000)).contains("nested deeper"));
    // Too large.
    let big = format!("<a>{}</a>", "x".repeat(MAX_LEN));
    assert!(refused(&big).contains("larger than"));
    // A relative namespace URI (Canonical XML fails on them).
    assert!(refused("<a xmlns=\"relative/path\"/>").contains("relative namespace"));
    // Many nodes within the size limit.
    let wide = format!("<a>{}</a>", "<b/>".repeat(3_000_000));
    assert!(refused(&wide).contains("XML"));
}

#[test]
fn line_ends_are_normalized_and_carriage_returns_escaped() {
    assert_eq!(
        c14n("<a b=\"x\r\ny\">1\r\n2\r3&#13;</a>", Comments::With),
        "<a b=\"x y\">1\n2\n3&#xD;</a>"
    );
}
