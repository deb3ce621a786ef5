//! The embedded gazetteer (`gazetteer.tsv`, built by `build_gazetteer.py`
//! from ISO 3166-1 via Debian's iso-codes and from GeoNames): countries
//! with their names and demonyms in the five languages, cities with their
//! country. Loaded once, in the matcher's normalization.

use crate::text::normalize_text;
use std::collections::HashMap;
use std::sync::OnceLock;

const DATA: &str = include_str!("gazetteer.tsv");

/// A place the text names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A country, by name.
    Country,
    /// A country, by its demonym ("Moroccan").
    Demonym,
    /// A city.
    City,
}

/// One gazetteer entry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    /// What it is.
    pub kind: Kind,
    /// Index into [`Gazetteer::countries`] of the country (its own, or the
    /// city's).
    pub country: u16,
    /// The English name (a city's own; a country's for the others).
    pub name: &'static str,
}

/// Names (normalized, words joined by one space) to places; demonym stems.
pub(crate) struct Gazetteer {
    /// Exact names.
    pub names: HashMap<String, Place>,
    /// Cities whose name is taken by a country (Luxembourg, Djibouti,
    /// Kuwait; تونس, الجزائر, and عمان for Amman as for Oman, in Arabic):
    /// "in Luxembourg" is the city.
    pub shadowed: HashMap<String, Place>,
    /// Demonyms written with a trailing `*`: the stem and its country.
    pub stems: Vec<(String, u16)>,
    /// Country English names, by index.
    pub countries: Vec<&'static str>,
    /// The longest name, in words.
    pub max_words: usize,
}

/// The gazetteer, parsed on first use.
pub(crate) fn get() -> &'static Gazetteer {
    static G: OnceLock<Gazetteer> = OnceLock::new();
    G.get_or_init(load)
}

fn load() -> Gazetteer {
    let mut g = Gazetteer {
        names: HashMap::new(),
        shadowed: HashMap::new(),
        stems: Vec::new(),
        countries: Vec::new(),
        max_words: 1,
    };
    let mut by_iso: HashMap<&str, u16> = HashMap::new();
    let mut cities: Vec<(&str, &str, &str)> = Vec::new();
    for line in DATA
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["C", iso, english, names, demonyms] => {
                let idx = g.countries.len() as u16;
                g.countries.push(english);
                by_iso.insert(iso, idx);
                let place = Place {
                    kind: Kind::Country,
                    country: idx,
                    name: english,
                };
                for n in names.split('|') {
                    g.insert(n, place);
                }
                for d in demonyms.split('|').filter(|d| !d.is_empty()) {
                    if let Some(stem) = d.strip_suffix('*') {
                        let s = normalize_text(stem);
                        if !s.is_empty() {
                            g.stems.push((s, idx));
                        }
                    } else {
                        g.insert(
                            d,
                            Place {
                                kind: Kind::Demonym,
                                ..place
                            },
                        );
                    }
                }
            }
            ["T", iso, english, names] => cities.push((iso, english, names)),
            _ => {}
        }
    }
    for (iso, english, names) in cities {
        let Some(&idx) = by_iso.get(iso) else {
            continue;
        };
        let place = Place {
            kind: Kind::City,
            country: idx,
            name: english,
        };
        for n in names.split('|') {
            let key = normalize_text(n);
            if let Some(p) = g.names.get(&key)
                && p.kind == Kind::Country
            {
                g.shadowed.entry(key).or_insert(place);
                continue;
            }
            g.insert(n, place);
        }
    }
    // Longest stems first: "south african" before "african".
    g.stems.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    g
}

impl Gazetteer {
    /// Adds `name`; the first place given a name keeps it (countries come
    /// first, then cities from the most populous).
    fn insert(&mut self, name: &str, place: Place) {
        let key = normalize_text(name);
        if key.is_empty() {
            return;
        }
        self.max_words = self.max_words.max(key.split(' ').count());
        self.names.entry(key).or_insert(place);
    }

    /// The country whose demonym stem starts `word`, if any. An Arabic
    /// stem takes only an adjective's endings ("التركية", not "التركيز").
    pub(crate) fn demonym(&self, word: &str) -> Option<u16> {
        self.stems
            .iter()
            .find(|(s, _)| {
                if s.contains(' ') || s.chars().count() < 5 {
                    return false;
                }
                let Some(rest) = word.strip_prefix(s.as_str()) else {
                    return false;
                };
                let arabic = s.chars().next().is_some_and(crate::text::is_arabic);
                !arabic || matches!(rest, "" | "ة" | "ه" | "ين" | "ون" | "ان" | "يه" | "يين")
            })
            .map(|(_, c)| *c)
    }
}
