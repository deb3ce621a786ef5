//! Diagnostics: the files read so far and every problem found in them.
//!
//! [`ConfigIssue`] is one located problem (`file:line:col`, the source line
//! and a caret under the offending span); [`ConfigError`] is all of them, in
//! the order found. [`Diagnostics`] is the collector that the loader and
//! every validator push into: it keeps each file's text so that a byte span
//! can be turned into a line, a column and an excerpt, and it never stops at
//! the first problem.

use serde::Deserialize;
use serde::de::IntoDeserializer;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One problem in the configuration, with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The file.
    pub file: PathBuf,
    /// 1-based line (0 when the problem is with the file as a whole).
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// The source line and the caret's width, for display.
    pub excerpt: Option<(String, usize)>,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {}", self.file.display(), self.message);
        }
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.col,
            self.message
        )?;
        if let Some((text, width)) = &self.excerpt {
            let pad: String = text
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n   | {text}\n   | {pad}{}",
                "^".repeat((*width).max(1))
            )?;
        }
        Ok(())
    }
}

/// Every problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The problems, in the order found.
    pub issues: Vec<ConfigIssue>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.issues.len();
        writeln!(
            f,
            "{n} configuration error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for i in &self.issues {
            writeln!(f, "{i}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Files read so far and the issues found in them.
///
/// A file is named by its index (returned by [`Diagnostics::read`]); spans
/// are byte ranges into that file's text.
pub(crate) struct Diagnostics {
    files: Vec<(PathBuf, String)>,
    issues: Vec<ConfigIssue>,
    warnings: Vec<String>,
}

impl Diagnostics {
    /// No file read, no problem found.
    pub(crate) fn new() -> Diagnostics {
        Diagnostics {
            files: Vec::new(),
            issues: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Reads a file and returns its index, or records why it cannot be read.
    pub(crate) fn read(&mut self, path: &Path) -> Option<usize> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                self.files.push((path.to_path_buf(), text));
                Some(self.files.len() - 1)
            }
            Err(e) => {
                self.issues.push(ConfigIssue {
                    file: path.to_path_buf(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read: {e}"),
                    excerpt: None,
                });
                None
            }
        }
    }

    /// The path of a file read.
    pub(crate) fn path(&self, file: usize) -> &Path {
        &self.files[file].0
    }

    /// The text of a file read.
    pub(crate) fn text(&self, file: usize) -> &str {
        &self.files[file].1
    }

    /// Records a problem at `span` of `file`.
    pub(crate) fn issue(&mut self, file: usize, span: Range<usize>, message: impl Into<String>) {
        let (path, text) = &self.files[file];
        // Spans from decoded strings can land inside a character: snap back.
        let mut start = span.start.min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let col = text[line_start..start].chars().count() + 1;
        let mut end = span.end.clamp(start, line_end);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let width = text[start..end].chars().count();
        self.issues.push(ConfigIssue {
            file: path.clone(),
            line,
            col,
            message: message.into(),
            excerpt: Some((text[line_start..line_end].to_string(), width)),
        });
    }

    /// Records something allowed but probably not meant.
    pub(crate) fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// Whether any problem was recorded so far.
    pub(crate) fn has_issues(&self) -> bool {
        !self.issues.is_empty()
    }

    fn toml_error(&mut self, file: usize, e: &toml::de::Error) {
        let msg = e.message().trim().to_string();
        match e.span() {
            Some(span) => self.issue(file, span, msg),
            None => self.issue(file, 0..0, msg),
        }
    }

    /// Parses a file's text (a copy kept by the caller) into its top-level table.
    pub(crate) fn parse<'a>(&mut self, file: usize, text: &'a str) -> Option<DeTable<'a>> {
        match DeTable::parse(text) {
            Ok(t) => Some(t.into_inner()),
            Err(e) => {
                self.toml_error(file, &e);
                None
            }
        }
    }

    /// Deserializes one value, recording the error on failure.
    pub(crate) fn de<'a, T: Deserialize<'a>>(
        &mut self,
        file: usize,
        v: Spanned<DeValue<'a>>,
    ) -> Option<T> {
        match T::deserialize(v.into_deserializer()) {
            Ok(t) => Some(t),
            Err(e) => {
                self.toml_error(file, &e);
                None
            }
        }
    }

    /// Every problem recorded, as the error.
    pub(crate) fn into_error(self) -> ConfigError {
        ConfigError {
            issues: self.issues,
        }
    }

    /// The warnings if no problem was recorded, else every problem.
    pub(crate) fn finish(self) -> Result<Vec<String>, ConfigError> {
        if self.issues.is_empty() {
            Ok(self.warnings)
        } else {
            Err(self.into_error())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_file(text: &str) -> Diagnostics {
        let mut dg = Diagnostics::new();
        dg.files.push((PathBuf::from("c.toml"), text.to_string()));
        dg
    }

    #[test]
    fn issue_has_line_column_and_caret() {
        let mut dg = one_file("a = 1\nkey = \"välue\"\n");
        let start = "a = 1\nkey = ".len();
        dg.issue(0, start..start + "\"välue\"".len(), "bad");
        let e = dg.finish().unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 configuration error:\nc.toml:2:7: bad\n   | key = \"välue\"\n   |       ^^^^^^^\n"
        );
    }

    #[test]
    fn caret_stops_at_end_of_line_and_keeps_tabs() {
        let mut dg = one_file("\tx = [\n1]\n");
        dg.issue(0, 1..9, "m");
        let i = &dg.into_error().issues[0];
        assert_eq!((i.line, i.col), (1, 2));
        assert_eq!(i.to_string(), "c.toml:1:2: m\n   | \tx = [\n   | \t^^^^^");
    }

    #[test]
    fn unreadable_file_has_no_position() {
        let mut dg = Diagnostics::new();
        assert!(dg.read(Path::new("/nonexistent/newswatch.toml")).is_none());
        let i = &dg.into_error().issues[0];
        assert_eq!(i.line, 0);
        assert!(
            i.to_string()
                .starts_with("/nonexistent/newswatch.toml: cannot read: ")
        );
    }

    #[test]
    fn finish_returns_warnings_only_without_issues() {
        let mut dg = one_file("");
        dg.warn("w".into());
        assert_eq!(dg.finish(), Ok(vec!["w".to_string()]));
        let mut dg = one_file("x");
        dg.issue(0, 0..1, "m");
        dg.issue(0, 0..0, "n");
        let e = dg.finish().unwrap_err();
        assert_eq!(e.issues.len(), 2);
        assert!(e.to_string().starts_with("2 configuration errors:\n"));
    }
}
