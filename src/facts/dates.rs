//! Dates and counts as the five languages write them: month and weekday
//! names, number words, and date expressions ("on May 11", "le 11 mai",
//! "el 11 de mayo", "am 11. Mai", "في 11 مايو/أيار", "from 3 to 5 June",
//! "next Tuesday", "mardi prochain", "el próximo martes", "kommenden
//! Dienstag", "الثلاثاء المقبل", "yesterday") resolved against the
//! article's publication day. Tables are written in natural spelling and
//! put through the matcher's normalization once.

use super::Tok;
use crate::text::normalize_text;
use chrono::{Datelike, Days, NaiveDate};
use std::collections::HashMap;
use std::sync::OnceLock;

const MONTHS: [&[&str]; 12] = [
    &[
        "january",
        "jan",
        "janvier",
        "enero",
        "januar",
        "jänner",
        "يناير",
        "كانون الثاني",
        "جانفي",
    ],
    &[
        "february",
        "feb",
        "février",
        "febrero",
        "februar",
        "فبراير",
        "شباط",
        "فيفري",
    ],
    &["march", "mars", "marzo", "märz", "مارس", "آذار"],
    &[
        "april",
        "apr",
        "avril",
        "abril",
        "أبريل",
        "ابريل",
        "نيسان",
        "أفريل",
    ],
    &["may", "mai", "mayo", "مايو", "أيار", "ماي"],
    &[
        "june",
        "jun",
        "juin",
        "junio",
        "juni",
        "يونيو",
        "حزيران",
        "جوان",
    ],
    &[
        "july",
        "jul",
        "juillet",
        "julio",
        "juli",
        "يوليو",
        "تموز",
        "جويلية",
    ],
    &["august", "aug", "août", "agosto", "أغسطس", "آب", "أوت"],
    &[
        "september",
        "sep",
        "sept",
        "septembre",
        "septiembre",
        "setiembre",
        "سبتمبر",
        "أيلول",
    ],
    &[
        "october",
        "oct",
        "octobre",
        "octubre",
        "oktober",
        "أكتوبر",
        "تشرين الأول",
    ],
    &[
        "november",
        "nov",
        "novembre",
        "noviembre",
        "نوفمبر",
        "تشرين الثاني",
    ],
    &[
        "december",
        "dec",
        "décembre",
        "diciembre",
        "dezember",
        "ديسمبر",
        "كانون الأول",
    ],
];

const WEEKDAYS: [&[&str]; 7] = [
    &["monday", "lundi", "lunes", "montag", "الاثنين", "الإثنين"],
    &["tuesday", "mardi", "martes", "dienstag", "الثلاثاء"],
    &["wednesday", "mercredi", "miércoles", "mittwoch", "الأربعاء"],
    &["thursday", "jeudi", "jueves", "donnerstag", "الخميس"],
    &["friday", "vendredi", "viernes", "freitag", "الجمعة"],
    &[
        "saturday",
        "samedi",
        "sábado",
        "samstag",
        "sonnabend",
        "السبت",
    ],
    &["sunday", "dimanche", "domingo", "sonntag", "الأحد"],
];

/// Words before or after a weekday that point forward or back.
const NEXT: &[&str] = &[
    "next",
    "coming",
    "prochain",
    "prochaine",
    "próximo",
    "próxima",
    "que viene",
    "kommenden",
    "kommende",
    "nächsten",
    "nächste",
    "المقبل",
    "القادم",
    "المقبلة",
    "القادمة",
];
const LAST: &[&str] = &[
    "last",
    "past",
    "dernier",
    "dernière",
    "pasado",
    "pasada",
    "vergangenen",
    "letzten",
    "الماضي",
    "الماضية",
    "المنصرم",
];
const TODAY: &[&str] = &["today", "aujourd hui", "hoy", "heute", "اليوم"];
const YESTERDAY: &[&str] = &[
    "yesterday",
    "hier",
    "ayer",
    "gestern",
    "أمس",
    "امس",
    "بالأمس",
];
const TOMORROW: &[&str] = &["tomorrow", "demain", "غدا", "غداً"];

const NUMBERS: &[(&str, u32)] = &[
    ("one", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("eight", 8),
    ("nine", 9),
    ("ten", 10),
    ("eleven", 11),
    ("twelve", 12),
    ("thirteen", 13),
    ("fourteen", 14),
    ("fifteen", 15),
    ("sixteen", 16),
    ("seventeen", 17),
    ("eighteen", 18),
    ("nineteen", 19),
    ("twenty", 20),
    ("thirty", 30),
    ("forty", 40),
    ("fifty", 50),
    ("sixty", 60),
    ("seventy", 70),
    ("eighty", 80),
    ("ninety", 90),
    ("hundred", 100),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("neuf", 9),
    ("dix", 10),
    ("onze", 11),
    ("douze", 12),
    ("treize", 13),
    ("quatorze", 14),
    ("quinze", 15),
    ("seize", 16),
    ("vingt", 20),
    ("vingts", 20),
    ("trente", 30),
    ("quarante", 40),
    ("cinquante", 50),
    ("soixante", 60),
    ("cent", 100),
    ("dos", 2),
    ("tres", 3),
    ("cuatro", 4),
    ("cinco", 5),
    ("seis", 6),
    ("siete", 7),
    ("ocho", 8),
    ("nueve", 9),
    ("diez", 10),
    ("doce", 12),
    ("trece", 13),
    ("catorce", 14),
    ("quince", 15),
    ("dieciséis", 16),
    ("diecisiete", 17),
    ("dieciocho", 18),
    ("diecinueve", 19),
    ("veinte", 20),
    ("treinta", 30),
    ("cuarenta", 40),
    ("cincuenta", 50),
    ("sesenta", 60),
    ("setenta", 70),
    ("ochenta", 80),
    ("noventa", 90),
    ("cien", 100),
    ("veintiuno", 21),
    ("veintidós", 22),
    ("veintitrés", 23),
    ("veinticuatro", 24),
    ("veinticinco", 25),
    ("veintiséis", 26),
    ("veintisiete", 27),
    ("veintiocho", 28),
    ("veintinueve", 29),
    ("zwei", 2),
    ("drei", 3),
    ("vier", 4),
    ("fünf", 5),
    ("sechs", 6),
    ("sieben", 7),
    ("acht", 8),
    ("neun", 9),
    ("zehn", 10),
    ("elf", 11),
    ("zwölf", 12),
    ("dreizehn", 13),
    ("vierzehn", 14),
    ("fünfzehn", 15),
    ("sechzehn", 16),
    ("siebzehn", 17),
    ("achtzehn", 18),
    ("neunzehn", 19),
    ("zwanzig", 20),
    ("dreißig", 30),
    ("vierzig", 40),
    ("fünfzig", 50),
    ("sechzig", 60),
    ("siebzig", 70),
    ("achtzig", 80),
    ("neunzig", 90),
    ("hundert", 100),
    ("اثنين", 2),
    ("ثلاث", 3),
    ("ثلاثة", 3),
    ("أربع", 4),
    ("أربعة", 4),
    ("خمس", 5),
    ("خمسة", 5),
    ("ست", 6),
    ("ستة", 6),
    ("سبع", 7),
    ("سبعة", 7),
    ("ثماني", 8),
    ("ثمانية", 8),
    ("تسع", 9),
    ("تسعة", 9),
    ("عشر", 10),
    ("عشرة", 10),
    ("عشرين", 20),
    ("عشرون", 20),
    ("ثلاثين", 30),
    ("ثلاثون", 30),
    ("أربعين", 40),
    ("أربعون", 40),
    ("خمسين", 50),
    ("خمسون", 50),
    ("ستين", 60),
    ("ستون", 60),
    ("سبعين", 70),
    ("سبعون", 70),
    ("ثمانين", 80),
    ("ثمانون", 80),
    ("تسعين", 90),
    ("تسعون", 90),
    ("مئة", 100),
    ("مائة", 100),
];

struct Tables {
    months: HashMap<String, u32>,
    weekdays: HashMap<String, u32>,
    numbers: HashMap<String, u32>,
    next: Vec<String>,
    last: Vec<String>,
    today: Vec<String>,
    yesterday: Vec<String>,
    tomorrow: Vec<String>,
}

fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let n = |xs: &[&str]| xs.iter().map(|x| normalize_text(x)).collect::<Vec<_>>();
        let mut months = HashMap::new();
        for (i, names) in MONTHS.iter().enumerate() {
            for m in names.iter() {
                months.insert(normalize_text(m), i as u32 + 1);
            }
        }
        let mut weekdays = HashMap::new();
        for (i, names) in WEEKDAYS.iter().enumerate() {
            for d in names.iter() {
                weekdays.insert(normalize_text(d), i as u32);
            }
        }
        let numbers = NUMBERS
            .iter()
            .map(|(w, v)| (normalize_text(w), *v))
            .collect();
        Tables {
            months,
            weekdays,
            numbers,
            next: n(NEXT),
            last: n(LAST),
            today: n(TODAY),
            yesterday: n(YESTERDAY),
            tomorrow: n(TOMORROW),
        }
    })
}

/// Words `toks[i..]` start with the phrase `p` (normalized, spaces between
/// words): how many words it took.
pub(crate) fn phrase_at(toks: &[Tok<'_>], i: usize, p: &str) -> Option<usize> {
    let mut n = 0;
    for w in p.split(' ') {
        let t = toks.get(i + n)?;
        let same = t.w == w || (n == 0 && proclitic_eq(t.w, w));
        if !same || (n > 0 && t.brk) {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// Whether the Arabic word `w` is `f` with one or two proclitics joined
/// before it (و ف ب ك ل: "للتحالف" is ل + "التحالف", "والمغرب" و + "المغرب"),
/// or with the article ("الهجوم" for "هجوم").
pub(crate) fn proclitic_eq(w: &str, f: &str) -> bool {
    // The article: "الهجوم" is "هجوم" (only for a bare form).
    if !f.starts_with("ال") && w.strip_prefix("ال") == Some(f) {
        return true;
    }
    let mut rest = w;
    for _ in 0..2 {
        let Some(c) = rest.chars().next() else {
            return false;
        };
        if !matches!(c, 'و' | 'ف' | 'ب' | 'ك' | 'ل') {
            return false;
        }
        rest = &rest[c.len_utf8()..];
        if rest == f || (c == 'ل' && f.strip_prefix('ا') == Some(rest)) {
            return true;
        }
    }
    false
}

/// The first of `ps` that `toks[i..]` starts with: its length in words.
pub(crate) fn any_at(toks: &[Tok<'_>], i: usize, ps: &[String]) -> Option<usize> {
    ps.iter().find_map(|p| phrase_at(toks, i, p))
}

/// Digits (ASCII or Arabic-Indic) as a number.
fn digits(w: &str) -> Option<u32> {
    let mut v: u32 = 0;
    let mut any = false;
    for c in w.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            '\u{660}'..='\u{669}' => c as u32 - 0x660,
            '\u{6F0}'..='\u{6F9}' => c as u32 - 0x6F0,
            _ => return None,
        };
        v = v.checked_mul(10)?.checked_add(d)?;
        any = true;
    }
    any.then_some(v)
}

/// A number at `toks[i..]`, in digits or words ("eighty five", "quatre
/// vingt", "treinta y cinco", "fünfundzwanzig", "خمسة وثلاثين"): its value and
/// how many words it took.
pub(crate) fn number_at(toks: &[Tok<'_>], i: usize) -> Option<(u32, usize)> {
    let t = tables();
    let w = toks.get(i)?.w;
    if let Some(v) = digits(w) {
        return Some((v, 1));
    }
    let word = |j: usize| -> Option<u32> {
        let w = toks.get(j)?.w;
        if let Some(v) = t.numbers.get(w) {
            return Some(*v);
        }
        // German units joined to tens: "fünfundzwanzig".
        let (unit, tens) = w.split_once("und")?;
        Some(t.numbers.get(unit)? + t.numbers.get(tens)?)
    };
    // Arabic "و" joined to the next number word: "وثلاثين".
    let arabic_and = |j: usize| -> Option<u32> {
        let w = toks.get(j)?.w;
        let rest = w.strip_prefix('و')?;
        t.numbers.get(rest).copied()
    };
    let first = word(i)?;
    let mut total = first;
    let mut used = 1;
    // "quatre vingt(s)" (80), "quatre vingt dix" (90), "soixante dix" (70)
    if first == 4
        && let Some(20) = word(i + 1)
    {
        total = 80;
        used = 2;
    }
    if (total == 60 || total == 80)
        && let Some(v) = word(i + used).filter(|v| (10..20).contains(v))
    {
        total += v;
        used += 1;
    }
    if total >= 20 && total % 10 == 0 {
        // "eighty five", "vingt sept", "treinta y cinco", "et un"
        let mut j = i + used;
        if toks.get(j).is_some_and(|t| t.w == "y" || t.w == "et") {
            j += 1;
        }
        if let Some(v) = word(j).filter(|v| (1..10).contains(v)) {
            total += v;
            used = j + 1 - i;
        }
    } else if total < 10
        && let Some(tens) = arabic_and(i + used)
    {
        total += tens;
        used += 1;
    }
    Some((total, used))
}

/// Which way a weekday points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// "next Tuesday": the first after the publication day.
    Next,
    /// "last Tuesday": the last before it.
    Last,
    /// "on Tuesday": by the meeting's stage.
    Bare,
}

/// A date as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Day and month (and year, when given).
    Day {
        day: u32,
        month: u32,
        year: Option<i32>,
    },
    /// Days from the publication day ("yesterday": -1).
    Offset(i64),
    /// A weekday (0 = Monday).
    Weekday(u32, Dir),
}

/// A date expression at word `pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateExpr {
    /// Where it starts.
    pub pos: usize,
    /// What it says.
    pub when: When,
}

fn year_at(toks: &[Tok<'_>], i: usize) -> Option<i32> {
    let v = digits(toks.get(i)?.w)?;
    (1990..=2100).contains(&v).then_some(v as i32)
}

/// Every date expression in the text, in order.
pub(crate) fn find(toks: &[Tok<'_>]) -> Vec<DateExpr> {
    let t = tables();
    let german = toks
        .iter()
        .any(|x| matches!(x.w, "der" | "die" | "und" | "das" | "den" | "im"));
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let w = toks[i].w;
        // day month [year]; "du 3 au 5 juin", "del 3 al 5 de junio", "vom 3. bis 5. Juni",
        // "from 3 to 5 June", "3-5 June"
        if let Some(day) = digits(w).filter(|d| (1..=31).contains(d)) {
            let mut j = i + 1;
            // a range: skip "au|al|to|bis|-|و" and the second day
            if toks.get(j).is_some_and(|x| {
                matches!(
                    x.w,
                    "au" | "al"
                        | "to"
                        | "bis"
                        | "a"
                        | "إلى"
                        | "الى"
                        | "الي"
                        | "حتى"
                        | "until"
                        | "and"
                        | "et"
                        | "y"
                        | "und"
                )
            }) && toks
                .get(j + 1)
                .and_then(|x| digits(x.w))
                .is_some_and(|d| (1..=31).contains(&d))
            {
                j += 2;
            } else if toks
                .get(j)
                .and_then(|x| x.w.strip_prefix('و'))
                .and_then(digits)
                .is_some_and(|d| (1..=31).contains(&d))
            {
                // "14 و15 أكتوبر"
                j += 1;
            } else if toks
                .get(j)
                .and_then(|x| digits(x.w))
                .is_some_and(|d| (1..=31).contains(&d) && d > day)
            {
                // "3-5 June" (the hyphen is a separator)
                j += 1;
            }
            if toks.get(j).is_some_and(|x| x.w == "de") {
                j += 1;
            }
            if let Some(&month) = toks.get(j).and_then(|x| t.months.get(x.w)) {
                let mut k = j + 1;
                // Arabic "مايو/أيار": a second month name
                if toks.get(k).and_then(|x| t.months.get(x.w)) == Some(&month) {
                    k += 1;
                }
                if toks.get(k).is_some_and(|x| x.w == "de") {
                    k += 1;
                }
                let year = year_at(toks, k);
                out.push(DateExpr {
                    pos: i,
                    when: When::Day { day, month, year },
                });
                i = k + usize::from(year.is_some());
                continue;
            }
        }
        // month day [year]; "May 3-5", "May 3 to 5"
        if let Some(&month) = t.months.get(w)
            && let Some(day) = toks
                .get(i + 1)
                .and_then(|x| digits(x.w))
                .filter(|d| (1..=31).contains(d))
            && !(w == "may" && toks[i].orig.starts_with('m'))
        {
            let mut k = i + 2;
            if toks
                .get(k)
                .and_then(|x| digits(x.w))
                .is_some_and(|d| (1..=31).contains(&d) && d > day)
            {
                k += 1;
            } else if toks.get(k).is_some_and(|x| x.w == "to" || x.w == "and")
                && toks.get(k + 1).and_then(|x| digits(x.w)).is_some()
            {
                k += 2;
            }
            let year = year_at(toks, k);
            out.push(DateExpr {
                pos: i,
                when: When::Day { day, month, year },
            });
            i = k + usize::from(year.is_some());
            continue;
        }
        // "mañana", "morgen": tomorrow, unless the morning ("esta mañana",
        // "por la mañana", "am Morgen", "heute Morgen")
        if matches!(w, "manana" | "morgen")
            && !i.checked_sub(1).is_some_and(|j| {
                matches!(
                    toks[j].w,
                    "esta" | "la" | "am" | "heute" | "gestern" | "jeden" | "cada"
                )
            })
        {
            out.push(DateExpr {
                pos: i,
                when: When::Offset(1),
            });
            i += 1;
            continue;
        }
        // German "hier" is "here", not "yesterday".
        if w == "hier" && german {
            i += 1;
            continue;
        }
        // relative days
        for (ps, off) in [(&t.today, 0i64), (&t.yesterday, -1), (&t.tomorrow, 1)] {
            if let Some(n) = any_at(toks, i, ps) {
                out.push(DateExpr {
                    pos: i,
                    when: When::Offset(off),
                });
                i += n - 1;
                break;
            }
        }
        // weekdays, with next/last before or after
        if let Some(&wd) = t.weekdays.get(w) {
            let before = i.checked_sub(1).map(|j| (j, toks[j].w));
            let dir = if before.is_some_and(|(j, _)| any_at(toks, j, &t.next).is_some())
                || any_at(toks, i + 1, &t.next).is_some()
            {
                Dir::Next
            } else if before.is_some_and(|(j, _)| any_at(toks, j, &t.last).is_some())
                || any_at(toks, i + 1, &t.last).is_some()
            {
                Dir::Last
            } else {
                Dir::Bare
            };
            // a weekday right before a day-month date is part of it
            let dated = matches!(out.last(), Some(e) if e.pos > i && e.pos <= i + 3);
            if !dated {
                out.push(DateExpr {
                    pos: i,
                    when: When::Weekday(wd, dir),
                });
            }
        }
        i += 1;
    }
    // "the October 7 attacks", "los atentados del 11 de marzo": a date
    // that names an attack is not the meeting's.
    let attack = |j: usize| {
        toks.get(j).is_some_and(|x| {
            matches!(
                x.w,
                "attack"
                    | "attacks"
                    | "attentat"
                    | "attentats"
                    | "attaque"
                    | "attaques"
                    | "atentado"
                    | "atentados"
                    | "ataque"
                    | "ataques"
                    | "anschlag"
                    | "anschlage"
                    | "anschlags"
                    | "bombing"
                    | "bombings"
                    | "massacre"
            ) || x.w.ends_with("هجوم")
                || x.w.ends_with("هجمات")
        })
    };
    out.retain(|e| {
        !(e.pos + 1..e.pos + 6).any(&attack) && !(e.pos.saturating_sub(3)..e.pos).any(&attack)
    });
    // "Tuesday, May 11": drop a weekday followed closely by a full date.
    let mut keep = Vec::with_capacity(out.len());
    for (k, e) in out.iter().enumerate() {
        let followed = out
            .get(k + 1)
            .is_some_and(|n| matches!(n.when, When::Day { .. }) && n.pos <= e.pos + 3);
        if !(matches!(e.when, When::Weekday(..)) && followed) {
            keep.push(*e);
        }
    }
    keep
}

/// The calendar day `w` names, from the publication day `published`;
/// `upcoming` decides a bare weekday (the next one, or the last one, the
/// publication day included).
pub(crate) fn resolve(w: When, published: NaiveDate, upcoming: Option<bool>) -> Option<NaiveDate> {
    match w {
        When::Day { day, month, year } => match year {
            Some(y) => NaiveDate::from_ymd_opt(y, month, day),
            None => {
                // The year the tense allows (an upcoming meeting is not in
                // the past), then the one nearest the publication day.
                let y = published.year();
                let slack = chrono::Duration::days(1);
                [y - 1, y, y + 1]
                    .into_iter()
                    .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
                    .filter(|d| match upcoming {
                        Some(true) => *d + slack >= published,
                        Some(false) => *d <= published + slack,
                        None => true,
                    })
                    .min_by_key(|d| (*d - published).num_days().abs())
            }
        },
        When::Offset(d) => published.checked_add_signed(chrono::Duration::days(d)),
        When::Weekday(wd, dir) => {
            let today = published.weekday().num_days_from_monday();
            let ahead = (wd + 7 - today) % 7;
            let forward = |n: u32| published.checked_add_days(Days::new(u64::from(n)));
            let back = |n: u32| published.checked_sub_days(Days::new(u64::from(n)));
            match dir {
                Dir::Next => forward(if ahead == 0 { 7 } else { ahead }),
                Dir::Last => back(if ahead == 0 { 7 } else { 7 - ahead }),
                Dir::Bare => match upcoming {
                    Some(true) => forward(if ahead == 0 { 7 } else { ahead }),
                    Some(false) => back((7 - ahead) % 7),
                    // Unknown (a present tense: "meet on Sunday"): the next
                    // one, the publication day included.
                    None => forward(ahead),
                },
            }
        }
    }
}
