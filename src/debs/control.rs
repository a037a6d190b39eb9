//! Debian control-file syntax (deb822): paragraphs of `Key: value` fields separated by blank
//! lines, values continued on lines starting with a space or tab, `#` comment lines (allowed in
//! apt's `.sources` files). Used for Release, Packages, dpkg status and apt sources.
//!
//! [`paragraphs`] borrows from the text: a [`Paragraph`] holds slices, a multi-line value is the
//! contiguous slice from after the colon to the end of its last continuation line. That keeps
//! reading a 50 MB Packages index cheap.

/// One paragraph: its fields in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph<'a> {
    fields: Vec<(&'a str, &'a str)>,
}

impl<'a> Paragraph<'a> {
    /// The value of `key` (case-insensitive), trimmed; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }

    /// The value of `key`, or `""`.
    pub fn get_or_empty(&self, key: &str) -> &'a str {
        self.get(key).unwrap_or("")
    }

    /// The fields in file order (values untrimmed).
    pub fn fields(&self) -> &[(&'a str, &'a str)] {
        &self.fields
    }

    /// Whether the paragraph has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// The paragraphs of `text`, in order. Lines that are neither fields, continuations nor
/// comments are ignored (so a stray PGP armor line cannot break parsing).
pub fn paragraphs(text: &str) -> Paragraphs<'_> {
    Paragraphs { text, pos: 0 }
}

/// Iterator returned by [`paragraphs`].
pub struct Paragraphs<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Paragraphs<'a> {
    type Item = Paragraph<'a>;

    fn next(&mut self) -> Option<Paragraph<'a>> {
        let text = self.text;
        let mut para = Paragraph::default();
        // The field being read: key and value start offset; its end is the end of the last line.
        let mut current: Option<(&'a str, usize, usize)> = None;
        while self.pos < text.len() {
            let start = self.pos;
            let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
            self.pos = end + 1;
            let line = &text[start..end];
            let line_trimmed = line.trim_end_matches('\r');
            if line_trimmed.trim().is_empty() {
                if let Some((k, s, e)) = current.take() {
                    para.fields.push((k, &text[s..e]));
                }
                if !para.is_empty() {
                    return Some(para);
                }
                continue;
            }
            if line_trimmed.starts_with('#') {
                continue;
            }
            if line_trimmed.starts_with([' ', '\t']) {
                if let Some((_, _, e)) = current.as_mut() {
                    *e = start + line_trimmed.len();
                }
                continue;
            }
            if let Some((k, s, e)) = current.take() {
                para.fields.push((k, &text[s..e]));
            }
            if let Some(colon) = line_trimmed.find(':') {
                let key = line_trimmed[..colon].trim();
                current = Some((key, start + colon + 1, start + line_trimmed.len()));
            }
        }
        if let Some((k, s, e)) = current.take() {
            para.fields.push((k, &text[s..e]));
        }
        (!para.is_empty()).then_some(para)
    }
}

/// The lines of a multi-line value (e.g. a Release `SHA256:` list), trimmed, without empty ones.
pub fn value_lines(value: &str) -> impl Iterator<Item = &str> {
    value.lines().map(str::trim).filter(|l| !l.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_continuations_and_comments() {
        let text = "# comment\nPackage: a\nDescription: short\n long line\n .\nVersion: 1\n\n\n\
                    Package: b\r\nDepends: c,\n d\n";
        let paras: Vec<_> = paragraphs(text).collect();
        assert_eq!(paras.len(), 2);
        assert_eq!(paras[0].get("package"), Some("a"));
        assert_eq!(paras[0].get("Description"), Some("short\n long line\n ."));
        assert_eq!(paras[0].get("Version"), Some("1"));
        assert_eq!(paras[1].get("Depends"), Some("c,\n d"));
        assert_eq!(paras[1].get("Package"), Some("b"));
        assert_eq!(paras[1].get("Missing"), None);
        let lines: Vec<_> = value_lines(paras[0].get_or_empty("Description")).collect();
        assert_eq!(lines, ["short", "long line", "."]);
    }

    #[test]
    fn empty_text_has_no_paragraph() {
        assert_eq!(paragraphs("").count(), 0);
        assert_eq!(paragraphs("\n\n# only a comment\n").count(), 0);
    }
}
