//! A small, allocation-light XML writer for AWS Query-protocol responses.
//! Text and attribute values are always escaped; element names are trusted
//! (they come from Nubo's own code, never from clients).

use std::fmt::{Display, Write};

/// Builds one XML document, element by element.
#[derive(Debug)]
pub struct XmlWriter {
    buf: String,
    open: Vec<String>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    /// A new document, starting with the XML declaration.
    pub fn new() -> Self {
        let mut buf = String::with_capacity(4096);
        buf.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        XmlWriter {
            buf,
            open: Vec::new(),
        }
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self.open.push(name.to_string());
        self
    }

    /// Opens `<name xmlns="…">`.
    pub fn open_ns(&mut self, name: &str, xmlns: &str) -> &mut Self {
        let _ = write!(self.buf, "<{name} xmlns=\"");
        escape_into(&mut self.buf, xmlns);
        self.buf.push_str("\">");
        self.open.push(name.to_string());
        self
    }

    /// Closes the most recently opened element.
    pub fn close(&mut self) -> &mut Self {
        if let Some(name) = self.open.pop() {
            let _ = write!(self.buf, "</{name}>");
        }
        self
    }

    /// `<name>text</name>`, with `text` escaped.
    pub fn leaf(&mut self, name: &str, text: impl Display) -> &mut Self {
        let _ = write!(self.buf, "<{name}>");
        let start = self.buf.len();
        let _ = write!(self.buf, "{text}");
        if self.buf[start..]
            .bytes()
            .any(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
        {
            let raw = self.buf.split_off(start);
            escape_into(&mut self.buf, &raw);
        }
        let _ = write!(self.buf, "</{name}>");
        self
    }

    /// Escaped character data inside the current element.
    pub fn text(&mut self, text: impl Display) -> &mut Self {
        escape_into(&mut self.buf, &text.to_string());
        self
    }

    /// `<name>text</name>` when `text` is present; nothing otherwise.
    pub fn leaf_opt<T: Display>(&mut self, name: &str, text: Option<T>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(name, t);
        }
        self
    }

    /// `<name>…</name>` with children written by `f`.
    pub fn node(&mut self, name: &str, f: impl FnOnce(&mut Self)) -> &mut Self {
        self.open(name);
        f(self);
        self.close()
    }

    /// `<name><item>…</item>…</name>`: EC2's list shape, one `item` per element.
    pub fn items<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(name);
        for item in items {
            self.open("item");
            f(self, item);
            self.close();
        }
        self.close()
    }

    /// `<name><member>…</member>…</name>`: the IAM/STS list shape.
    pub fn members<T>(
        &mut self,
        name: &str,
        items: impl IntoIterator<Item = T>,
        mut f: impl FnMut(&mut Self, T),
    ) -> &mut Self {
        self.open(name);
        for item in items {
            self.open("member");
            f(self, item);
            self.close();
        }
        self.close()
    }

    /// Closes every open element and returns the document.
    pub fn finish(mut self) -> String {
        while !self.open.is_empty() {
            self.close();
        }
        self.buf
    }
}

/// Appends `text` to `out` with the five XML special characters escaped.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nested_escaped_documents() {
        let mut w = XmlWriter::new();
        w.open_ns("R", "http://x/");
        w.leaf("requestId", "a<b&c");
        w.items("set", ["1", "2"], |w, v| {
            w.leaf("v", v);
        });
        w.leaf_opt::<&str>("absent", None);
        let doc = w.finish();
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<R xmlns=\"http://x/\"><requestId>a&lt;b&amp;c</requestId>\
             <set><item><v>1</v></item><item><v>2</v></item></set></R>"
        );
    }
}
