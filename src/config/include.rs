//! Includes: the folder that relative paths are resolved against, expanding
//! the `include` and `rules` lists (paths or glob patterns) into files, and
//! reading the files they name — feed lists (only `[[feed]]`) and rule
//! packs — into their [`raw`](super::raw) structs.
//!
//! A missing plain path is an error; a pattern that matches nothing is a
//! warning for `rules` and normal for `include` (an empty `conf.d` folder).

use super::diag::Diagnostics;
use super::raw::{RawFeed, RawPack};
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::DeValue;

/// The folder of the main config file (`.` when it has none): relative
/// paths in the config resolve against it.
pub(crate) fn base_dir(path: &Path) -> PathBuf {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if base.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base
    }
}

/// `p` as written in the config, resolved against `base`.
pub(crate) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Expands a list of paths or glob patterns relative to `base`.
pub(crate) fn expand(
    dg: &mut Diagnostics,
    file: usize,
    base: &Path,
    pats: &[Spanned<String>],
    key: &str,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in pats {
        let full = resolve(base, p.get_ref());
        let pattern = full.to_string_lossy().to_string();
        let is_glob = p.get_ref().contains(['*', '?', '[']);
        match glob::glob(&pattern) {
            Ok(paths) => {
                let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                found.sort();
                if found.is_empty() {
                    if is_glob {
                        // An empty conf.d-style folder is normal for `include`.
                        if key != "include" {
                            dg.warn(format!("`{key}` pattern {pattern} matches no file"));
                        }
                    } else {
                        dg.issue(
                            file,
                            p.span(),
                            format!("`{key}` file {pattern} does not exist"),
                        );
                    }
                }
                out.extend(found);
            }
            Err(e) => dg.issue(file, p.span(), format!("bad pattern in `{key}`: {e}")),
        }
    }
    out
}

/// Calls `each` for every item of an array of tables (`[[feed]]`,
/// `[[sink]]`), or records that `v` is not one.
pub(crate) fn collect_array<'a>(
    dg: &mut Diagnostics,
    file: usize,
    v: Spanned<DeValue<'a>>,
    mut each: impl FnMut(&mut Diagnostics, Spanned<DeValue<'a>>),
) {
    let span = v.span();
    match v.into_inner() {
        DeValue::Array(items) => {
            for item in items {
                each(dg, item);
            }
        }
        _ => dg.issue(file, span, "expected an array of tables ([[...]])"),
    }
}

/// Reads the included feed lists, appending their feeds (with the index of
/// the file each comes from) to `raw_feeds`.
pub(crate) fn read_feed_lists(
    dg: &mut Diagnostics,
    files: &[PathBuf],
    raw_feeds: &mut Vec<(usize, RawFeed)>,
) {
    for inc in files {
        let Some(fi) = dg.read(inc) else { continue };
        let text = dg.text(fi).to_string();
        let Some(t) = dg.parse(fi, &text) else {
            continue;
        };
        for (k, v) in t {
            if k.get_ref().as_ref() == "feed" {
                collect_array(dg, fi, v, |dg, item| {
                    if let Some(f) = dg.de::<RawFeed>(fi, item) {
                        raw_feeds.push((fi, f));
                    }
                });
            } else {
                dg.issue(
                    fi,
                    k.span(),
                    format!(
                        "unknown key `{}` in an included feed list; expected only [[feed]]",
                        k.get_ref()
                    ),
                );
            }
        }
    }
}

/// Reads one rule pack file: its index and contents, or `None` (recorded)
/// when it cannot be read, parsed or deserialized.
pub(crate) fn read_rule_pack(dg: &mut Diagnostics, path: &Path) -> Option<(usize, RawPack)> {
    let fi = dg.read(path)?;
    let text = dg.text(fi).to_string();
    let t = dg.parse(fi, &text)?;
    let pack = dg.de::<RawPack>(fi, Spanned::new(0..0, DeValue::Table(t)))?;
    Some((fi, pack))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_dir_and_resolve() {
        assert_eq!(base_dir(Path::new("nw.toml")), PathBuf::from("."));
        assert_eq!(
            base_dir(Path::new("/etc/nw/nw.toml")),
            PathBuf::from("/etc/nw")
        );
        let base = Path::new("/etc/nw");
        assert_eq!(
            resolve(base, "rules/a.toml"),
            PathBuf::from("/etc/nw/rules/a.toml")
        );
        assert_eq!(resolve(base, "/srv/a.toml"), PathBuf::from("/srv/a.toml"));
    }

    #[test]
    fn expand_sorts_matches_and_tells_missing_from_empty() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.toml", "a.toml", "c.txt"] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let main = dir.path().join("nw.toml");
        let text = "rules = [\"*.toml\", \"none/*.toml\", \"gone.toml\"]\n";
        std::fs::write(&main, text).unwrap();
        let mut dg = Diagnostics::new();
        let fi = dg.read(&main).unwrap();
        let span = |s: &str| {
            let i = text.find(s).unwrap();
            i..i + s.len()
        };
        let pats: Vec<Spanned<String>> = ["\"*.toml\"", "\"none/*.toml\"", "\"gone.toml\""]
            .into_iter()
            .map(|s| Spanned::new(span(s), s.trim_matches('"').to_string()))
            .collect();
        let found = expand(&mut dg, fi, dir.path(), &pats, "rules");
        assert_eq!(
            found,
            vec![
                dir.path().join("a.toml"),
                dir.path().join("b.toml"),
                dir.path().join("nw.toml")
            ]
        );
        let e = dg.finish().unwrap_err();
        assert_eq!(e.issues.len(), 1);
        assert_eq!((e.issues[0].line, e.issues[0].col), (1, 35));
        assert!(e.issues[0].message.ends_with("gone.toml does not exist"));
    }
}
