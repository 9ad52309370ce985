//! Canonical XML 1.0 (inclusive C14N, W3C REC-xml-c14n-20010315), with and
//! without comments, of a whole document or of one element's subtree as a
//! document subset (the SignedInfo of an XML signature).
//!
//! Written here on `roxmltree` (a conforming, well-kept parser: entities,
//! character references, attribute-value and line-end normalization, CDATA
//! merged into text, namespace checks) because no canonicalizer crate fitted:
//! `xml_c14n` needs libxml2, canonicalizes only whole documents and unwraps on
//! input with a NUL; `xml-sec` (0.4, four minor releases so far) is a young
//! 240,000-line XML-security suite, a large new dependency for one function.
//! What this profile needs of the standard:
//!
//! - the XML declaration and whitespace outside the document element dropped;
//!   processing instructions and comments outside it separated by `#xA`;
//! - empty elements as start–end pairs, attributes in double quotes;
//! - namespace declarations first (default first, then by prefix), then the
//!   attributes by namespace URI and local name; a declaration only where its
//!   in-scope value differs from the output parent's (`xmlns=""` where a
//!   default namespace ends);
//! - text escaping `&amp; &lt; &gt; &#xD;`, attribute escaping
//!   `&amp; &lt; &quot; &#x9; &#xA; &#xD;`; line ends normalized to `#xA` by
//!   the parser;
//! - for a subtree: the apex element gets every namespace in scope and the
//!   `xml:*` attributes (`xml:lang`, `xml:space`, …) it inherits from its
//!   ancestors (§2.4 of the standard), as libxml2 and Apache Santuario do.
//!
//! Refused, with an error and never a panic: a document type declaration (a
//! DTD: entity expansion bombs and external entities are a classic attack on
//! signers, and its attribute defaults would change the canonical form), more
//! than [`MAX_LEN`] bytes, nesting deeper than [`MAX_DEPTH`], more than
//! [`MAX_NODES`] nodes, a relative namespace URI (the standard says to fail),
//! and anything that is not well-formed namespace-aware XML.

use roxmltree::{Document, Node, NodeType, ParsingOptions};

use crate::{Error, Result};

/// The largest document accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024 * 1024;
/// The deepest element nesting accepted (the document element is at depth 1).
pub const MAX_DEPTH: usize = 256;
/// The most nodes (elements, text, comments, attributes…) accepted.
pub const MAX_NODES: u32 = 2_000_000;

/// The `xml` prefix's namespace.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

fn err(why: impl Into<String>) -> Error {
    Error::Xml(why.into())
}

/// Whether to keep comments (`#WithComments`) or drop them.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Comments {
    /// Keep them (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments`).
    With,
    /// Drop them (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`).
    Without,
}

/// Parses `xml` within the limits, refusing a DTD and relative namespace URIs.
pub(crate) fn parse(xml: &str) -> Result<Document<'_>> {
    if xml.len() > MAX_LEN {
        return Err(err(format!(
            "document larger than {MAX_LEN} bytes ({} bytes)",
            xml.len()
        )));
    }
    let opts = ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(xml, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => dtd_refused(),
        e => err(format!("not well-formed XML: {e}")),
    })?;
    // roxmltree lets an empty DOCTYPE through: look for one in the prolog,
    // outside its comments and processing instructions.
    let root = doc.root_element();
    let mut from = 0;
    for n in doc.root().children() {
        let r = n.range();
        let gap = xml.get(from..r.start.max(from)).unwrap_or("");
        if gap.contains("<!DOCTYPE") {
            return Err(dtd_refused());
        }
        if n == root {
            break;
        }
        from = r.end;
    }
    // Depth, and namespace URIs: one pass in document order, the depth of a
    // node from its parent's.
    let mut depth = vec![0usize; doc.descendants().count() + 1];
    for n in doc.descendants() {
        let parent = n.parent().and_then(|p| depth.get(p.id().get_usize()));
        let d = parent.copied().unwrap_or(0) + usize::from(n.is_element());
        if d > MAX_DEPTH {
            return Err(err(format!("elements nested deeper than {MAX_DEPTH}")));
        }
        if let Some(slot) = depth.get_mut(n.id().get_usize()) {
            *slot = d;
        }
        if n.is_element() {
            for ns in n.namespaces() {
                if !ns.uri().is_empty() && !is_absolute_uri(ns.uri()) {
                    return Err(err(format!(
                        "relative namespace URI {:?} (Canonical XML refuses them)",
                        ns.uri()
                    )));
                }
            }
        }
    }
    Ok(doc)
}

fn dtd_refused() -> Error {
    err("document type declarations (DTD) are refused")
}

/// RFC 3986: a URI with a scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`).
fn is_absolute_uri(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The canonical form of the document `xml` (parsed with the limits `parse` applies).
pub fn canonicalize(xml: &str, comments: Comments) -> Result<Vec<u8>> {
    document(&parse(xml)?, comments, None)
}

/// The canonical form of a parsed document, leaving out the subtree of
/// `exclude` (the enveloped-signature transform).
pub(crate) fn document(
    doc: &Document<'_>,
    comments: Comments,
    exclude: Option<Node<'_, '_>>,
) -> Result<Vec<u8>> {
    let mut w = Writer {
        out: Vec::new(),
        input: doc.input_text(),
        comments,
        exclude,
    };
    let mut after_root = false;
    for n in doc.root().children() {
        match n.node_type() {
            NodeType::Element => {
                w.element(n, &[], &[], 1)?;
                after_root = true;
            }
            NodeType::PI | NodeType::Comment => {
                if n.is_comment() && comments == Comments::Without {
                    continue;
                }
                if after_root {
                    w.out.push(b'\n');
                }
                w.leaf(n);
                if !after_root {
                    w.out.push(b'\n');
                }
            }
            _ => {}
        }
    }
    Ok(w.out)
}

/// The canonical form of `element`'s subtree as a document subset: the apex
/// carries every namespace in scope and the `xml:*` attributes of its ancestors.
pub(crate) fn subtree(element: Node<'_, '_>, comments: Comments) -> Result<Vec<u8>> {
    if !element.is_element() {
        return Err(err("not an element"));
    }
    let mut inherited: Vec<roxmltree::Attribute<'_, '_>> = Vec::new();
    for a in element.ancestors().skip(1).filter(|n| n.is_element()) {
        for attr in a.attributes() {
            let shadowed = |n: &roxmltree::Attribute<'_, '_>| n.name() == attr.name();
            if attr.namespace() == Some(XML_NS)
                && !element
                    .attributes()
                    .any(|own| own.namespace() == Some(XML_NS) && shadowed(&own))
                && !inherited.iter().any(shadowed)
            {
                inherited.push(attr);
            }
        }
    }
    let mut w = Writer {
        out: Vec::new(),
        input: element.document().input_text(),
        comments,
        exclude: None,
    };
    w.element(element, &[], &inherited, 1)?;
    Ok(w.out)
}

/// A namespace in scope: prefix (`None` for the default) and URI.
type Ns<'a> = (Option<&'a str>, &'a str);

struct Writer<'a, 'input> {
    out: Vec<u8>,
    input: &'input str,
    comments: Comments,
    exclude: Option<Node<'a, 'input>>,
}

impl<'a, 'input> Writer<'a, 'input> {
    /// A comment or processing instruction.
    fn leaf(&mut self, n: Node<'_, '_>) {
        if let Some(pi) = n.pi() {
            self.out.extend_from_slice(b"<?");
            self.out.extend_from_slice(pi.target.as_bytes());
            if let Some(v) = pi.value.filter(|v| !v.is_empty()) {
                self.out.push(b' ');
                self.out.extend_from_slice(v.as_bytes());
            }
            self.out.extend_from_slice(b"?>");
        } else if let Some(text) = n.text() {
            self.out.extend_from_slice(b"<!--");
            self.out.extend_from_slice(text.as_bytes());
            self.out.extend_from_slice(b"-->");
        }
    }

    /// The qualified name as written: an element's after its `<`, an
    /// attribute's from its range; checked against the local name.
    fn qname(
        &self,
        range: std::ops::Range<usize>,
        local: &str,
        element: bool,
    ) -> Result<&'input str> {
        let text = self.input.get(range).unwrap_or("");
        let text = if element {
            let rest = text.get(1..).unwrap_or("");
            let end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
                .unwrap_or(rest.len());
            &rest[..end]
        } else {
            text
        };
        match text.rsplit_once(':') {
            Some((_, l)) if l == local => Ok(text),
            None if text == local => Ok(text),
            _ => Err(err(format!("name {local:?} too long or unreadable"))),
        }
    }

    /// An element and its subtree. `parent` is the output parent's namespaces
    /// in scope (none for the apex); `inherited` the `xml:*` attributes the
    /// apex takes from its ancestors.
    fn element(
        &mut self,
        e: Node<'a, 'input>,
        parent: &[Ns<'a>],
        inherited: &[roxmltree::Attribute<'a, 'input>],
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(err(format!("elements nested deeper than {MAX_DEPTH}")));
        }
        let scope: Vec<Ns<'a>> = e
            .namespaces()
            .filter(|ns| ns.name() != Some("xml") && !(ns.name().is_none() && ns.uri().is_empty()))
            .map(|ns| (ns.name(), ns.uri()))
            .collect();
        let mut decls: Vec<Ns<'a>> = scope
            .iter()
            .filter(|ns| !parent.contains(ns))
            .copied()
            .collect();
        let parent_default = parent.iter().any(|(p, uri)| p.is_none() && !uri.is_empty());
        if parent_default && !scope.iter().any(|(p, _)| p.is_none()) {
            decls.push((None, ""));
        }
        decls.sort_by(|a, b| a.0.cmp(&b.0));
        let mut attrs: Vec<(&str, &str, &str, &str)> = Vec::new();
        for a in e.attributes().chain(inherited.iter().cloned()) {
            let qname = self.qname(a.range_qname(), a.name(), false)?;
            attrs.push((a.namespace().unwrap_or(""), a.name(), qname, a.value()));
        }
        attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        let name = self.qname(e.range(), e.tag_name().name(), true)?;
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());
        for (prefix, uri) in &decls {
            match prefix {
                Some(p) => {
                    self.out.extend_from_slice(b" xmlns:");
                    self.out.extend_from_slice(p.as_bytes());
                }
                None => self.out.extend_from_slice(b" xmlns"),
            }
            self.out.extend_from_slice(b"=\"");
            escape_attr(&mut self.out, uri);
            self.out.push(b'"');
        }
        for (_, _, qname, value) in &attrs {
            self.out.push(b' ');
            self.out.extend_from_slice(qname.as_bytes());
            self.out.extend_from_slice(b"=\"");
            escape_attr(&mut self.out, value);
            self.out.push(b'"');
        }
        self.out.push(b'>');
        for c in e.children() {
            if Some(c) == self.exclude {
                continue;
            }
            match c.node_type() {
                NodeType::Element => self.element(c, &scope, &[], depth + 1)?,
                NodeType::Text => escape_text(&mut self.out, c.text().unwrap_or("")),
                NodeType::Comment if self.comments == Comments::Without => {}
                NodeType::Comment | NodeType::PI => self.leaf(c),
                NodeType::Root => {}
            }
        }
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
        Ok(())
    }
}

fn escape_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            b => out.push(b),
        }
    }
}

fn escape_attr(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            b'\t' => out.extend_from_slice(b"&#x9;"),
            b'\n' => out.extend_from_slice(b"&#xA;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            b => out.push(b),
        }
    }
}
