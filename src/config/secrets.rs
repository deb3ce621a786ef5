//! Secrets: the [`Secret`] type (webhook URLs, signing keys, tokens), whose
//! `Debug` and `Display` never show the value, and resolving a sink's secret
//! key written inline, as `${VAR}` (from the environment) or as `KEY_file`
//! (the trimmed contents of a file).

use super::diag::Diagnostics;
use super::include;
use super::raw::OneOrMany;
use std::fmt;
use std::path::Path;
use toml::Spanned;

/// A secret value (webhook URL, signing key, token). Its `Debug` and
/// `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Resolves a secret written inline, as `${VAR}`, or in a file (`key_file`,
/// relative to `base`). Problems are recorded against `file`.
pub(crate) fn resolve(
    dg: &mut Diagnostics,
    file: usize,
    base: &Path,
    inline: &Option<Spanned<String>>,
    from_file: &Option<Spanned<String>>,
    key: &str,
) -> Option<Secret> {
    if let (Some(_), Some(f)) = (inline, from_file) {
        dg.issue(
            file,
            f.span(),
            format!("give either `{key}` or `{key}_file`, not both"),
        );
        return None;
    }
    if let Some(v) = inline {
        let s = v.get_ref().trim();
        if let Some(var) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            return match std::env::var(var) {
                Ok(val) if !val.is_empty() => Some(Secret(val)),
                _ => {
                    dg.issue(
                        file,
                        v.span(),
                        format!("`{key}` refers to environment variable {var}, which is not set"),
                    );
                    None
                }
            };
        }
        return Some(Secret(s.to_string()));
    }
    if let Some(f) = from_file {
        let p = include::resolve(base, f.get_ref());
        return match std::fs::read_to_string(&p) {
            Ok(s) if !s.trim().is_empty() => Some(Secret(s.trim().to_string())),
            Ok(_) => {
                dg.issue(
                    file,
                    f.span(),
                    format!("`{key}_file` {} is empty", p.display()),
                );
                None
            }
            Err(e) => {
                dg.issue(
                    file,
                    f.span(),
                    format!("cannot read `{key}_file` {}: {e}", p.display()),
                );
                None
            }
        };
    }
    None
}

/// Resolves a secret that may be a list (keys being rotated): each entry of
/// `inline` or of `from_file` as [`resolve`] does, in order.
pub(crate) fn resolve_list(
    dg: &mut Diagnostics,
    file: usize,
    base: &Path,
    inline: &Option<Spanned<OneOrMany>>,
    from_file: &Option<Spanned<OneOrMany>>,
    key: &str,
) -> Vec<Secret> {
    if let (Some(_), Some(f)) = (inline, from_file) {
        dg.issue(
            file,
            f.span(),
            format!("give either `{key}` or `{key}_file`, not both"),
        );
        return Vec::new();
    }
    let (list, is_file) = match (inline, from_file) {
        (Some(v), _) => (v, false),
        (None, Some(f)) => (f, true),
        (None, None) => return Vec::new(),
    };
    let values = list.get_ref().values();
    if values.is_empty() {
        dg.issue(file, list.span(), format!("`{key}` is an empty list"));
    }
    values
        .into_iter()
        .filter_map(|v| {
            let one = Some(Spanned::new(list.span(), v.to_string()));
            if is_file {
                resolve(dg, file, base, &None, &one, key)
            } else {
                resolve(dg, file, base, &one, &None, key)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(s: &str) -> Option<Spanned<String>> {
        Some(Spanned::new(0..1, s.to_string()))
    }

    #[test]
    fn secrets_inline_env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nw.toml"), "x\n").unwrap();
        std::fs::write(dir.path().join("tok"), "  t0k\n").unwrap();
        std::fs::write(dir.path().join("blank"), " \n").unwrap();
        let mut dg = Diagnostics::new();
        let f = dg.read(&dir.path().join("nw.toml")).unwrap();
        let base = dir.path();

        let s = resolve(&mut dg, f, base, &val(" abc "), &None, "token").unwrap();
        assert_eq!(s.expose(), "abc");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        let s = resolve(&mut dg, f, base, &None, &val("tok"), "token").unwrap();
        assert_eq!(s.expose(), "t0k");
        assert!(resolve(&mut dg, f, base, &None, &None, "token").is_none());
        assert!(!dg.has_issues());

        let unset = "${NEWSWATCH_TEST_SURELY_UNSET_VARIABLE}";
        assert!(resolve(&mut dg, f, base, &val(unset), &None, "url").is_none());
        assert!(resolve(&mut dg, f, base, &val("a"), &val("tok"), "secret").is_none());
        assert!(resolve(&mut dg, f, base, &None, &val("blank"), "url").is_none());
        assert!(resolve(&mut dg, f, base, &None, &val("missing"), "url").is_none());
        let msgs: Vec<String> = dg
            .into_error()
            .issues
            .into_iter()
            .map(|i| i.message)
            .collect();
        assert_eq!(msgs.len(), 4);
        assert_eq!(
            msgs[0],
            "`url` refers to environment variable NEWSWATCH_TEST_SURELY_UNSET_VARIABLE, which is not set"
        );
        assert_eq!(msgs[1], "give either `secret` or `secret_file`, not both");
        assert!(msgs[2].starts_with("`url_file` ") && msgs[2].ends_with("blank is empty"));
        assert!(msgs[3].starts_with("cannot read `url_file` "));
    }
}
