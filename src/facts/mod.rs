//! The facts of a meeting: for an article that fires `coalition-meeting`,
//! what an analyst writes down first — the forum, the venue (city and
//! country), the date, the host countries and the officials named, the
//! number of participating countries, and whether it is upcoming or held.
//! A field the text does not give is absent, never guessed.
//!
//! Pure: text and the publication time in, [`MeetingFacts`] out. Reads the
//! title, the summary and the start of the content as one run of words in
//! the matcher's normalization (with each word's original spelling, for
//! capitals), finds places in the embedded gazetteer (`places`), dates
//! and number words (`dates`), forums (`forums`), and decides among the
//! candidates with the cue words of the five languages below.

mod dates;
mod forums;
mod places;

use crate::text::{normalize, normalize_text};
use chrono::{DateTime, NaiveDate};
use places::Kind;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The watch whose articles get their facts extracted.
pub const MEETING_WATCH: &str = "coalition-meeting";

/// Summary and content beyond this many bytes are not read for facts
/// (they are in the opening paragraphs).
const CONTENT_BYTES: usize = 3000;

/// A title beyond this many bytes is not read for facts.
const FIELD_BYTES: usize = 1000;

/// Whether the meeting is still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Announced.
    Upcoming,
    /// Taken place (or under way).
    Held,
}

/// How many countries or delegations take part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participants {
    /// The number given.
    pub n: u32,
    /// "More than 80": the number is a lower bound.
    pub lower_bound: bool,
}

/// What an article says about its meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MeetingFacts {
    /// The body or meeting, canonical English name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forum: Option<String>,
    /// The article's own wording of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forum_text: Option<String>,
    /// Venue city (English name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Venue country (English name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The day it takes or took place (the first, for several days).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Countries hosting or co-chairing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Names of officials the text gives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub officials: Vec<String>,
    /// Countries or delegations taking part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<Participants>,
    /// Upcoming or held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<Stage>,
}

impl MeetingFacts {
    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        *self == MeetingFacts::default()
    }

    /// One line for people: "Meeting: Global Coalition to Defeat ISIS —
    /// Marrakesh, Morocco — 2026-05-11 — hosts Morocco, United States —
    /// 80+ countries" (absent fields left out; `None` when nothing is known).
    pub fn line(&self) -> Option<String> {
        let mut parts: Vec<String> = Vec::new();
        parts.push(
            self.forum
                .clone()
                .unwrap_or_else(|| "(forum not named)".into()),
        );
        match (&self.city, &self.country) {
            (Some(c), Some(k)) => parts.push(format!("{c}, {k}")),
            (None, Some(k)) => parts.push(k.clone()),
            (Some(c), None) => parts.push(c.clone()),
            (None, None) => {}
        }
        if let Some(d) = &self.date {
            parts.push(d.clone());
        }
        if !self.hosts.is_empty() {
            parts.push(format!("hosts {}", self.hosts.join(", ")));
        }
        if let Some(p) = self.participants {
            parts.push(format!(
                "{}{} countries",
                p.n,
                if p.lower_bound { "+" } else { "" }
            ));
        }
        (!self.is_empty()).then(|| format!("Meeting: {}", parts.join(" — ")))
    }
}

/// Whether two forum names name the same forum: equal in the matcher's
/// normalization, or both a name or written form of one entry of the
/// forum table ("OSCE" and "Organization for Security and Co-operation in
/// Europe").
pub fn same_forum(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_text(a), normalize_text(b));
    if a == b {
        return true;
    }
    let entry = |x: &str| {
        forums::FORUMS.iter().position(|(canon, forms)| {
            normalize_text(canon) == x || forms.iter().any(|f| normalize_text(f) == x)
        })
    };
    match (entry(&a), entry(&b)) {
        (Some(i), Some(j)) => forums::FORUMS[i].0 == forums::FORUMS[j].0,
        _ => false,
    }
}

/// Whether two place names name the same place in the gazetteer
/// ("Marrakech" and "Marrakesh", "Türkiye" and "Turkey").
pub fn same_place(a: &str, b: &str) -> bool {
    let (a, b) = (normalize_text(a), normalize_text(b));
    if a == b {
        return true;
    }
    let g = places::get();
    let look = |x: &str| g.shadowed.get(x).or_else(|| g.names.get(x)).copied();
    match (look(&a), look(&b)) {
        (Some(p), Some(q)) => p.kind == q.kind && p.country == q.country && p.name == q.name,
        _ => false,
    }
}

/// One word: normalized, as written, and whether a sentence (or field)
/// starts with it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok<'a> {
    /// Normalized.
    pub w: &'a str,
    /// As written.
    pub orig: &'a str,
    /// A sentence or a field starts here.
    pub brk: bool,
    /// A comma stands before it.
    pub comma: bool,
    /// Joined to the word before by a hyphen ("Grande-Marlaska").
    pub hyphen: bool,
}

impl Tok<'_> {
    fn capitalized(&self) -> bool {
        self.orig.chars().next().is_some_and(char::is_uppercase)
    }
    fn arabic(&self) -> bool {
        self.orig.chars().next().is_some_and(crate::text::is_arabic)
    }
}

/// Cue words, normalized once.
struct Cues {
    venue_prep: Vec<String>,
    host_verb: Vec<String>,
    host_noun: Vec<String>,
    by_after: Vec<String>,
    host_by: Vec<String>,
    cochair_verb: Vec<String>,
    distract_before: Vec<String>,
    said_after: Vec<String>,
    online: Vec<String>,
    upcoming: Vec<String>,
    held: Vec<String>,
    lower: Vec<String>,
    vague: Vec<String>,
    units: Vec<String>,
    roles: Vec<String>,
    arabic_prefixes: Vec<String>,
    forums: Vec<(String, &'static str)>,
}

fn n(xs: &[&str]) -> Vec<String> {
    xs.iter()
        .map(|x| normalize_text(x))
        .filter(|x| !x.is_empty())
        .collect()
}

fn cues() -> &'static Cues {
    static C: OnceLock<Cues> = OnceLock::new();
    C.get_or_init(|| {
        let mut forums: Vec<(String, &'static str)> = forums::FORUMS
            .iter()
            .flat_map(|(canon, forms)| forms.iter().map(move |f| (normalize_text(f), *canon)))
            .collect();
        forums.sort_by_key(|f| std::cmp::Reverse(f.0.split(' ').count()));
        Cues {
            venue_prep: n(&[
                "in",
                "at",
                "à",
                "a",
                "au",
                "en",
                "im",
                "nach",
                "in der",
                "in die",
                "نحو",
                "في",
                "ب",
                "to be held in",
                "held in",
                "hosted in",
                "à la",
                "dans",
                "en la",
            ]),
            host_verb: n(&[
                "تحتضن",
                "يحتضن",
                "احتضنت",
                "احتضن",
                "ستحتضن",
                "ont réuni",
                "a réuni",
                "réunit",
                "réunissent",
                "réuniront",
                "convoque",
                "convoquent",
                "invite",
                "invitent",
                "lädt",
                "laden",
                "lud",
                "luden",
                "invita",
                "invitan",
                "convoca",
                "convocan",
                "reúne",
                "reúnen",
                "host",
                "hosts",
                "hosted",
                "hosting",
                "to host",
                "will host",
                "accueille",
                "accueillera",
                "a accueilli",
                "accueillent",
                "acoge",
                "acogerá",
                "acogió",
                "albergará",
                "alberga",
                "richtet aus",
                "ist gastgeber",
                "gastgeber",
                "gastgeberland",
                "تستضيف",
                "يستضيف",
                "استضافت",
                "استضاف",
                "ستستضيف",
                "سيستضيف",
            ]),
            host_by: n(&[
                "co convened with",
                "co convened by",
                "convened with",
                "under the patronage of",
                "sous le patronage",
                "sous le haut patronage",
                "bajo el patrocinio",
                "bajo los auspicios",
                "unter der schirmherrschaft",
                "برعاية",
                "تحت رعاية",
                "organisé conjointement par",
                "organisée conjointement par",
                "organizada conjuntamente por",
                "organizado conjuntamente por",
                "bajo la batuta de",
                "sur invitation du",
                "sur invitation de",
                "at the invitation of",
                "upon the invitation of",
                "co led by",
                "led by",
                "sous la coprésidence du",
                "sous la coprésidence de",
                "à l invitation du",
                "à l invitation des",
                "à l initiative du",
                "à l initiative de",
                "a iniciativa de",
                "auf initiative",
                "at the initiative of",
                "بمبادرة من",
                "convocada por",
                "convocado por",
                "convened by",
                "convoqué par",
                "convoquée par",
                "einberufen von",
                "auf antrag",
                "بطلب من",
                "with the government of",
                "organised with",
                "organized with",
                "co organised with",
                "co organized with",
                "en partenariat avec",
                "junto con el gobierno",
                "con el gobierno de",
                "organizada con el gobierno de",
                "organizado junto con",
                "in zusammenarbeit mit",
                "بالتعاون مع",
                "بالشراكة مع",
                "بتنظيم مشترك",
                "بتنظيم مشترك بين",
                "accueillie par",
                "accueilli par",
                "accueillis par",
                "acogida por",
                "acogido por",
                "presidencia pro tempore de",
                "organised by",
                "organized by",
                "co organised by",
                "co organized by",
                "at the invitation of",
                "coorganisée par",
                "co organisée par",
                "organisée par",
                "organisé par",
                "à l invitation de",
                "organizada por",
                "organizado por",
                "coorganizada por",
                "por invitación de",
                "auf einladung",
                "organisiert von",
                "veranstaltet von",
                "بدعوة من",
                "تنظمه",
                "تنظمها",
                "بتنظيم من",
                "co chaired by",
                "cochaired by",
                "chaired by",
                "hosted by",
                "co hosted by",
                "under the chairmanship of",
                "under the co chairmanship of",
                "under the presidency of",
                "co présidée par",
                "coprésidée par",
                "coprésidé par",
                "coprésidés par",
                "coprésidées par",
                "présidée par",
                "présidé par",
                "sous la présidence",
                "sous la coprésidence",
                "copresidida por",
                "copresidido por",
                "co presidida por",
                "presidida por",
                "presidido por",
                "bajo la presidencia",
                "bajo la copresidencia",
                "unter dem vorsitz",
                "unter vorsitz",
                "unter dem ko vorsitz",
                "unter dem kovorsitz",
                "gemeinsam geleitet von",
                "geleitet von",
                "ausgerichtet von",
                "برئاسة",
                "بالرئاسة المشتركة",
                "برئاسة مشتركة",
                "تحت رئاسة",
                "بمشاركة رئاسة",
            ]),
            cochair_verb: n(&[
                "organizan",
                "organisent",
                "organise",
                "organize",
                "organises",
                "organizes",
                "organisieren",
                "veranstalten",
                "تنظم",
                "ينظم",
                "chaired",
                "présidé",
                "a présidé",
                "presidió",
                "leitete",
                "leiteten",
                "richten",
                "richtete",
                "richteten",
                "richtet",
                "co hosted",
                "co host",
                "co hosts",
                "co chair",
                "co chairs",
                "co chaired",
                "cochair",
                "cochairs",
                "to co chair",
                "will co chair",
                "coprésident",
                "coprésideront",
                "coprésidera",
                "copresiden",
                "copresidirán",
                "copresidirá",
                "copresidieron",
                "leiten gemeinsam",
                "den vorsitz",
                "يترأس",
                "يترأسان",
                "ترأس",
                "تترأس",
                "يرأس",
                "ترأسا",
            ]),
            distract_before: n(&[
                "nach dem",
                "nach der",
                "nach einem",
                "nach einer",
                "based in",
                "headquartered in",
                "con sede en",
                "basé à",
                "basée à",
                "basé a",
                "mit sitz in",
                "ومقرها",
                "مقرها",
                "siège",
                "sede",
                "attack",
                "attacks",
                "attack in",
                "bombing",
                "bombings",
                "killed",
                "attentat",
                "attentats",
                "attaque",
                "atentado",
                "atentados",
                "ataque",
                "anschlag",
                "anschläge",
                "angriff",
                "هجوم",
                "هجمات",
                "تفجير",
                "last year",
                "previous",
                "earlier",
                "l an dernier",
                "l année dernière",
                "précédente",
                "précédent",
                "dernière réunion",
                "el año pasado",
                "anterior",
                "letztes jahr",
                "vergangenes jahr",
                "vorjahr",
                "العام الماضي",
                "السابق",
                "السابقة",
                "after",
                "following",
                "après",
                "tras",
                "después de",
                "بعد",
                "since",
                "depuis",
                "desde",
                "seit",
                "منذ",
            ]),
            said_after: n(&[
                "said",
                "says",
                "wants",
                "announced",
                "insisted",
                "warned",
                "a déclaré",
                "veut",
                "a annoncé",
                "dijo",
                "quiere",
                "anunció",
                "sagte",
                "erklärte",
                "will",
                "fordert",
                "قالت",
                "أعلنت",
                "قال",
                "أعلن",
                "تريد",
            ]),
            online: n(&[
                "virtual",
                "virtually",
                "online",
                "videoconference",
                "video conference",
                "by video",
                "visioconférence",
                "en ligne",
                "virtuelle",
                "videoconferencia",
                "en línea",
                "virtual",
                "videokonferenz",
                "virtuell",
                "افتراضي",
                "افتراضيا",
                "عبر الفيديو",
                "عن بعد",
            ]),
            upcoming: n(&[
                "opens",
                "begins",
                "starts",
                "to open",
                "to begin",
                "is set",
                "s ouvrira",
                "s ouvre",
                "débute",
                "débutera",
                "se inaugura",
                "inaugura",
                "comenzará",
                "se celebrará",
                "arranca",
                "beginnt",
                "beginnen",
                "findet",
                "tagt",
                "trifft",
                "تنطلق",
                "ينطلق",
                "تستضيف",
                "يستضيف",
                "تحتضن",
                "يحتضن",
                "تعقد",
                "يعقد",
                "يجتمع",
                "تجتمع",
                "ينظم",
                "تنظم",
                "will",
                "to meet",
                "to host",
                "to hold",
                "to co chair",
                "to gather",
                "to convene",
                "is to",
                "are to",
                "next",
                "upcoming",
                "expected",
                "scheduled",
                "set to",
                "plans to",
                "ahead of",
                "va",
                "vont",
                "accueillera",
                "se tiendra",
                "se réuniront",
                "réunira",
                "prochain",
                "prochaine",
                "doit",
                "doivent",
                "attendus",
                "attendu",
                "coprésidera",
                "coprésideront",
                "sera",
                "seront",
                "se reunirán",
                "reunirá",
                "acogerá",
                "celebrará",
                "próximo",
                "próxima",
                "está previsto",
                "prevista",
                "previsto",
                "será",
                "serán",
                "copresidirán",
                "copresidirá",
                "wird",
                "werden",
                "kommende",
                "kommenden",
                "nächste",
                "nächsten",
                "soll",
                "sollen",
                "geplant",
                "bevorstehend",
                "sيعقد",
                "سيعقد",
                "ستعقد",
                "سيجتمع",
                "ستجتمع",
                "ستستضيف",
                "سيستضيف",
                "المقبل",
                "المقبلة",
                "القادم",
                "القادمة",
                "سوف",
                "سيشارك",
                "يرتقب",
                "من المقرر",
                "المرتقب",
            ]),
            held: n(&[
                "co hosted",
                "hosted",
                "was",
                "were",
                "took place",
                "focused",
                "eröffnete",
                "eröffneten",
                "beendet",
                "endete",
                "endeten",
                "zusammengekommen",
                "zusammengetroffen",
                "getroffen",
                "getagt",
                "tagte",
                "fand",
                "fanden",
                "hatte",
                "hatten",
                "waren",
                "war",
                "wurde",
                "wurden",
                "zu ende gegangen",
                "s est ouverte",
                "s est ouvert",
                "se sont réunis",
                "ont réuni",
                "a été",
                "ont été",
                "a accueilli",
                "ont examiné",
                "ont discuté",
                "a ouvert",
                "ont ouvert",
                "a clôturé",
                "s est achevée",
                "s est terminée",
                "se celebró",
                "inauguró",
                "fue",
                "fueron",
                "se realizó",
                "tuvo lugar",
                "acogió",
                "analizaron",
                "examinaron",
                "aprobó",
                "احتضنت",
                "استضاف",
                "استضافت",
                "نظم",
                "نظمت",
                "ناقشت",
                "افتتح",
                "افتتحت",
                "شارك",
                "شاركت",
                "met",
                "held",
                "gathered",
                "agreed",
                "adopted",
                "concluded",
                "discussed",
                "reviewed",
                "ended",
                "closed",
                "wrapped up",
                "pledged",
                "endorsed",
                "signed",
                "se sont",
                "ont",
                "a réuni",
                "s est tenue",
                "s est tenu",
                "a eu lieu",
                "dernier",
                "dernière",
                "se reunieron",
                "celebró",
                "acordaron",
                "debatieron",
                "ayer",
                "concluyó",
                "clausuró",
                "pasado",
                "reunió",
                "aprobaron",
                "trafen",
                "berieten",
                "haben",
                "hat",
                "einigten",
                "beschlossen",
                "gestern",
                "vergangenen",
                "tagten",
                "kamen",
                "verabschiedeten",
                "اجتمع",
                "اجتمعوا",
                "عقد",
                "عقدت",
                "اختتم",
                "اختتمت",
                "ناقش",
                "بحث",
                "اتفق",
                "اتفقوا",
                "أمس",
                "الماضي",
                "أقر",
            ]),
            lower: n(&[
                "more than",
                "over",
                "at least",
                "upwards of",
                "plus de",
                "au moins",
                "más de",
                "al menos",
                "mehr als",
                "über",
                "mindestens",
                "أكثر من",
                "ما يزيد على",
                "ما يزيد عن",
                "ما لا يقل عن",
            ]),
            vague: n(&[
                "about",
                "some",
                "around",
                "nearly",
                "almost",
                "roughly",
                "approximately",
                "environ",
                "près de",
                "quelque",
                "quelques",
                "unos",
                "unas",
                "cerca de",
                "alrededor de",
                "casi",
                "rund",
                "etwa",
                "knapp",
                "fast",
                "ungefähr",
                "نحو",
                "قرابة",
                "حوالي",
                "زهاء",
            ]),
            units: n(&[
                "jurisdictions",
                "juridictions",
                "jurisdicciones",
                "jurisdiktionen",
                "teilnehmerstaaten",
                "mitgliedsländer",
                "vertragsstaaten",
                "countries",
                "nations",
                "states",
                "delegations",
                "member states",
                "governments",
                "partners",
                "members",
                "pays",
                "états",
                "délégations",
                "nations",
                "gouvernements",
                "partenaires",
                "membres",
                "países",
                "estados",
                "delegaciones",
                "naciones",
                "gobiernos",
                "socios",
                "miembros",
                "staaten",
                "länder",
                "ländern",
                "delegationen",
                "nationen",
                "regierungen",
                "mitgliedstaaten",
                "دولة",
                "دول",
                "بلدا",
                "بلدان",
                "وفدا",
                "وفود",
                "عضوا",
            ]),
            roles: n(&[
                "minister",
                "ministers",
                "secretary",
                "secretary general",
                "secretary of state",
                "ambassador",
                "envoy",
                "president",
                "chair",
                "chairman",
                "commissioner",
                "counterpart",
                "director",
                "chief",
                "general",
                "king",
                "prince",
                "sheikh",
                "ministre",
                "secrétaire",
                "ambassadeur",
                "homologue",
                "président",
                "présidente",
                "commissaire",
                "directeur",
                "ministro",
                "ministra",
                "secretario",
                "embajador",
                "homólogo",
                "presidente",
                "comisario",
                "director",
                "minister",
                "ministerin",
                "staatssekretär",
                "botschafter",
                "amtskollege",
                "präsident",
                "kommissar",
                "generalsekretär",
                "könig",
            ]),
            host_noun: n(&[
                "invitation",
                "einladung",
                "invitación",
                "دعوة",
                "in the chair",
                "präsidentschaft",
                "presidencia pro tempore",
                "pro tempore",
                "mitveranstalter",
                "co organiser",
                "co organizer",
                "coorganisateur",
                "coorganizador",
                "den vorsitz",
                "führt den vorsitz",
                "host country",
                "host nation",
                "as host",
                "pays hôte",
                "hôte",
                "país anfitrión",
                "anfitrión",
                "anfitriona",
                "gastgeber",
                "gastgeberland",
                "gastgeberin",
                "الدولة المضيفة",
                "البلد المضيف",
                "المضيفة",
                "presidency",
                "chairmanship",
                "chairpersonship",
                "présidence",
                "presidencia",
                "vorsitz",
                "ratsvorsitz",
                "ratspräsidentschaft",
                "رئاسة",
            ]),
            by_after: n(&[
                "geleitet",
                "ausgerichtet",
                "organisiert",
                "veranstaltet",
                "geführt",
            ]),
            arabic_prefixes: n(&[
                "وبال", "فبال", "بال", "وال", "فال", "لل", "ال", "وب", "فب", "ب", "و", "ف", "ل",
            ]),
            forums,
        }
    })
}

/// The fields in normalized form, with their original text.
struct Read<'a> {
    normalized: Vec<(crate::text::Normalized, &'a str)>,
}

impl<'a> Read<'a> {
    fn new(fields: [&'a str; 3]) -> Read<'a> {
        Read {
            normalized: fields.iter().map(|f| (normalize(f), *f)).collect(),
        }
    }

    /// Title, summary and content as one run of words.
    fn toks(&self) -> Vec<Tok<'_>> {
        let mut out = Vec::new();
        for (nz, orig) in &self.normalized {
            let mut prev_end = 0usize;
            for (k, w) in nz.words.iter().enumerate() {
                let (s, e) = (w.orig_start as usize, w.orig_end as usize);
                let gap = orig.get(prev_end..s).unwrap_or("");
                // A period after a short word is an abbreviation ("EE. UU.",
                // "U.S.") or a German ordinal ("am 11. Mai"), not an end.
                let prev_word = orig
                    .get(..prev_end)
                    .and_then(|p| p.rsplit(|ch: char| !ch.is_alphanumeric()).next())
                    .unwrap_or("");
                let next_lower = orig
                    .get(s..)
                    .and_then(|n| n.chars().next())
                    .is_some_and(char::is_lowercase);
                // Not an end: after digits ("am 11. Mai") or a short
                // abbreviation that a lowercase word follows ("EE. UU. copresidirán").
                let abbrev = k > 0
                    && (prev_word.chars().all(|ch| ch.is_ascii_digit())
                        || (prev_word.chars().count() <= 3
                            && (next_lower || prev_word.chars().all(char::is_uppercase))));
                let period = gap.contains('.') && !abbrev;
                let brk = k == 0 || period || gap.contains([';', '!', '?', '\n', '|', '—', ':']);
                out.push(Tok {
                    w: nz.text.get(w.start as usize..w.end as usize).unwrap_or(""),
                    orig: orig.get(s..e).unwrap_or(""),
                    brk,
                    comma: gap.contains([',', '،']),
                    hyphen: k > 0 && gap == "-",
                });
                prev_end = e;
            }
        }
        out
    }
}

/// Extracts the facts of the meeting an article reports. `published` is
/// the article's publication time (Unix s), against which relative dates
/// resolve.
pub fn extract(title: &str, summary: &str, content: &str, published: i64) -> MeetingFacts {
    // Bounded work whatever the feed sends: each field is read up to a
    // cut (the facts are at the start).
    let cut = |t: &str, max: usize| -> usize {
        let mut c = t.len().min(max);
        while !t.is_char_boundary(c) {
            c -= 1;
        }
        c
    };
    let read = Read::new([
        &title[..cut(title, FIELD_BYTES)],
        &summary[..cut(summary, CONTENT_BYTES)],
        &content[..cut(content, CONTENT_BYTES)],
    ]);
    let toks = read.toks();
    let c = cues();
    let mut f = MeetingFacts::default();
    let title_len = read.normalized.first().map_or(0, |(nz, _)| nz.words.len());
    forum(&toks, c, title_len, &mut f);
    // A place inside a forum's name ("Shanghai Cooperation Organisation",
    // "Accra Initiative", "Aqaba Process") is neither venue nor host.
    let spans = forum_spans(&toks, c);
    let places: Vec<Mention> = find_places(&toks, c)
        .into_iter()
        .filter(|m| !spans.iter().any(|&(a, l)| m.at >= a && m.at < a + l))
        .collect();
    venue(&toks, c, &places, &mut f);
    hosts(&toks, c, &places, &mut f);
    officials(&toks, c, &places, &spans, &mut f);
    participants(&toks, c, &spans, &mut f);
    let day = DateTime::from_timestamp(published, 0).map(|d| d.date_naive());
    let cue_stage = stage_by_cues(&toks, c);
    if let Some(day) = day {
        date(&toks, c, day, cue_stage, &mut f);
    }
    f.stage = match (&f.date, day) {
        (Some(d), Some(p)) => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) if d > p => Some(Stage::Upcoming),
            Ok(d) if d < p => Some(Stage::Held),
            _ => cue_stage.or(Some(Stage::Held)),
        },
        _ => cue_stage,
    };
    f
}

/// Bodies that hold more specific ones: named only when nothing more
/// specific is.
const UMBRELLAS: [&str; 9] = [
    "United Nations",
    "European Union",
    "African Union",
    "UN Security Council",
    "Organization of American States",
    "Shanghai Cooperation Organisation",
    "Arab League",
    "UN General Assembly",
    "ASEAN",
];

fn forum(toks: &[Tok<'_>], c: &Cues, title_len: usize, f: &mut MeetingFacts) {
    // The most specific form wins ("SCO anti-terrorism body" over "SCO"),
    // then the earliest.
    let mut best: Option<(usize, usize, &'static str)> = None;
    for i in 0..toks.len() {
        for (form, canon) in &c.forums {
            let Some(len) = dates::phrase_at(toks, i, form) else {
                continue;
            };
            // Short acronyms must be written with a capital ("SCO", "Nato").
            if form.len() <= 4 && !toks[i].arabic() && !toks[i].capitalized() {
                continue;
            }
            // A body named inside an umbrella beats the umbrella (AFRIPOL
            // over the African Union, CICTE over the OAS); then the
            // title's forum (what the story is about); then the longest.
            let rank = |len: usize, i: usize, canon: &str| {
                (
                    usize::from(!UMBRELLAS.contains(&canon)),
                    usize::from(i < title_len),
                    len,
                )
            };
            if best.is_none_or(|(bl, bi, bc)| rank(len, i, canon) > rank(bl, bi, bc)) {
                best = Some((len, i, canon));
            }
        }
    }
    if let Some((len, i, canon)) = best {
        f.forum = Some(canon.to_string());
        let words: Vec<&str> = toks[i..i + len].iter().map(|t| t.orig).collect();
        f.forum_text = Some(words.join(" "));
    }
}

/// Every place a forum's written form covers: (first word, words).
fn forum_spans(toks: &[Tok<'_>], c: &Cues) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for i in 0..toks.len() {
        for (form, _) in &c.forums {
            if let Some(len) = dates::phrase_at(toks, i, form)
                && len > 1
            {
                out.push((i, len));
            }
        }
    }
    out
}

/// A place named at word `at`, `len` words long.
#[derive(Debug, Clone, Copy)]
struct Mention {
    at: usize,
    len: usize,
    place: places::Place,
    /// An Arabic proclitic "ب" (in) was joined to it.
    in_prefix: bool,
}

fn find_places(toks: &[Tok<'_>], c: &Cues) -> Vec<Mention> {
    let g = places::get();
    let mut out = Vec::new();
    let mut i = 0;
    'words: while i < toks.len() {
        for len in (1..=g.max_words.min(toks.len() - i)).rev() {
            let span = &toks[i..i + len];
            if span.iter().skip(1).any(|t| t.brk) {
                continue;
            }
            let key: Vec<&str> = span.iter().map(|t| t.w).collect();
            let key = key.join(" ");
            if let Some(p) = g.names.get(&key) {
                let latin_ok = span[0].arabic()
                    || (span[0].capitalized()
                        && (key.len() > 2
                            || span[0]
                                .orig
                                .chars()
                                .all(|ch| ch.is_uppercase() || ch == '.')));
                if latin_ok {
                    out.push(Mention {
                        at: i,
                        len,
                        place: *p,
                        in_prefix: false,
                    });
                    i += len;
                    continue 'words;
                }
            }
            // German genitive: "Österreichs", "Burundis Präsident".
            if len == 1
                && span[0].capitalized()
                && !span[0].arabic()
                && let Some(stem) = key.strip_suffix('s')
                && let Some(p) = g.names.get(stem).filter(|p| p.kind == Kind::Country)
            {
                out.push(Mention {
                    at: i,
                    len,
                    place: *p,
                    in_prefix: false,
                });
                i += 1;
                continue 'words;
            }
            // Arabic proclitics: "بمراكش", "والمغرب"
            if span[0].arabic() {
                for pre in &c.arabic_prefixes {
                    if let Some(rest) = span[0].w.strip_prefix(pre.as_str()) {
                        let mut k = vec![rest];
                        k.extend(span[1..].iter().map(|t| t.w));
                        let key = k.join(" ");
                        let key2 = format!("ال{key}");
                        if let Some(p) = g.names.get(&key).or_else(|| g.names.get(&key2)) {
                            out.push(Mention {
                                at: i,
                                len,
                                place: *p,
                                in_prefix: pre.contains('ب'),
                            });
                            i += len;
                            continue 'words;
                        }
                    }
                }
            }
        }
        // Demonyms by stem: "marocain", "marokkanischen", "المغربي"
        let t = &toks[i];
        if (t.arabic() || t.capitalized() || !t.orig.is_empty())
            && t.w.len() >= 4
            && let Some(cidx) = g.demonym(t.w).or_else(|| {
                t.w.strip_prefix(normalize_text("ال").as_str())
                    .and_then(|r| g.demonym(r))
            })
        {
            out.push(Mention {
                at: i,
                len: 1,
                place: places::Place {
                    kind: Kind::Demonym,
                    country: cidx,
                    name: g.countries[cidx as usize],
                },
                in_prefix: false,
            });
        }
        i += 1;
    }
    out
}

fn near_before(toks: &[Tok<'_>], at: usize, within: usize, ps: &[String]) -> bool {
    (at.saturating_sub(within)..at).any(|j| {
        dates::any_at(toks, j, ps).is_some_and(|n| j + n <= at)
            && !toks[j + 1..=at].iter().any(|t| t.brk)
    })
}

fn venue(toks: &[Tok<'_>], c: &Cues, places: &[Mention], f: &mut MeetingFacts) {
    let g = places::get();
    let mut best: Option<(i32, &Mention)> = None;
    for m in places.iter().filter(|m| m.place.kind != Kind::Demonym) {
        let mut score = if m.place.kind == Kind::City { 2 } else { 1 };
        let prep = m.in_prefix
            || m.at.checked_sub(1).is_some_and(|j| {
                !toks[m.at].brk
                    && c.venue_prep
                        .iter()
                        .any(|p| dates::phrase_at(toks, j, p).is_some())
            })
            || m.at.checked_sub(2).is_some_and(|j| {
                !toks[m.at].brk
                    && !toks[j + 1].brk
                    && c.venue_prep
                        .iter()
                        .any(|p| p.contains(' ') && dates::phrase_at(toks, j, p) == Some(2))
            });
        if prep {
            score += 3;
        }
        if near_before(toks, m.at, 3, &c.host_verb)
            || c.host_verb
                .iter()
                .any(|h| dates::phrase_at(toks, m.at + m.len, h).is_some())
        {
            score += 2;
        }
        if near_before(toks, m.at, 5, &c.distract_before) {
            score -= 4;
        }
        if c.said_after
            .iter()
            .any(|s| dates::phrase_at(toks, m.at + m.len, s).is_some())
        {
            score -= 4;
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, m));
        }
    }
    let Some((score, m)) = best else {
        return;
    };
    if score < 3 {
        return;
    }
    let online = toks.iter().enumerate().any(|(i, _)| {
        c.online
            .iter()
            .any(|o| dates::phrase_at(toks, i, o).is_some())
    });
    if online && m.place.kind == Kind::Country {
        return;
    }
    let country = g.countries[m.place.country as usize].to_string();
    if m.place.kind == Kind::City {
        f.city = Some(m.place.name.to_string());
    } else {
        let key: Vec<&str> = toks[m.at..m.at + m.len].iter().map(|t| t.w).collect();
        if let Some(city) = g.shadowed.get(&key.join(" ")) {
            f.city = Some(city.name.to_string());
        }
    }
    f.country = Some(country);
}

fn push_country(hosts: &mut Vec<String>, name: &str) {
    if !hosts.iter().any(|h| h == name) {
        hosts.push(name.to_string());
    }
}

/// Where the sentence holding word `i` ends (exclusive), looking at most
/// `max` words ahead.
fn sentence_end(toks: &[Tok<'_>], i: usize, max: usize) -> usize {
    (i + 1..toks.len())
        .take(max)
        .find(|&j| toks[j].brk)
        .unwrap_or((i + 1 + max).min(toks.len()))
}

/// Where the sentence holding word `i` starts, looking at most `max` back.
fn sentence_start(toks: &[Tok<'_>], i: usize, max: usize) -> usize {
    (0..=i)
        .rev()
        .take(max + 1)
        .find(|&j| toks[j].brk)
        .unwrap_or(i.saturating_sub(max))
}

fn hosts(toks: &[Tok<'_>], c: &Cues, places: &[Mention], f: &mut MeetingFacts) {
    let g = places::get();
    let mut hosts: Vec<String> = Vec::new();
    let country_of = |m: &Mention| g.countries[m.place.country as usize];
    // A place right after a venue preposition is where, not who.
    let is_venue = |m: &Mention| {
        m.in_prefix
            || m.at.checked_sub(1).is_some_and(|j| {
                c.venue_prep
                    .iter()
                    .any(|p| dates::phrase_at(toks, j, p) == Some(1))
            })
    };
    // The window of a "… by X and Y" trigger ends at the sentence's end or
    // at a word that starts another thought ("following", "after").
    // A comma ends it too, unless a list of places goes on after it
    // ("co-chaired by Morocco, Nigeria, Italy and the United States").
    let place_at = |j: usize| {
        places.iter().any(|m| {
            m.at == j
                || (m.at == j + 1
                    && matches!(
                        toks[j].w,
                        "the" | "la" | "le" | "el" | "los" | "die" | "den" | "l"
                    ))
        })
    };
    let window_end = |from: usize| {
        let end = sentence_end(toks, from, 24);
        (from..end)
            .find(|&j| {
                j > from
                    && (dates::any_at(toks, j, &c.distract_before).is_some()
                        || (toks[j].comma && !place_at(j)))
            })
            .unwrap_or(end)
    };
    let take = |hosts: &mut Vec<String>, from: usize, to: usize, cities: bool| {
        for m in places.iter().filter(|m| m.at >= from && m.at < to) {
            if m.place.kind == Kind::City && (!cities || is_venue(m)) {
                continue;
            }
            if m.place.kind == Kind::Country && is_venue(m) && !cities {
                continue;
            }
            push_country(hosts, country_of(m));
        }
    };
    for i in 0..toks.len() {
        // "co-chaired by Morocco's foreign minister and his US counterpart"
        if let Some(n) = dates::any_at(toks, i, &c.host_by) {
            let end = window_end(i + n);
            take(&mut hosts, i + n, end, false);
        }
        // German, the verb last: "von Großbritannien und den USA geleitet"
        if dates::any_at(toks, i, &c.by_after).is_some()
            && let Some(von) = (i.saturating_sub(14)..i)
                .rev()
                .find(|&j| toks[j].w == "von")
        {
            take(&mut hosts, von + 1, i, false);
        }
        // "Morocco and the United States will co-chair", "Kenya hosts",
        // "La France et la Nouvelle-Zélande ont réuni"
        if dates::any_at(toks, i, &c.cochair_verb).is_some()
            || dates::any_at(toks, i, &c.host_verb).is_some()
        {
            let start = sentence_start(toks, i, 10);
            take(&mut hosts, start, i, true);
            // Arabic puts the subject after the verb: "استضافت مصر", "تستضيف دولة الإمارات".
            if toks[i].arabic() {
                let end = (i + 4).min(sentence_end(toks, i, 4));
                let to = (i + 1..end)
                    .find(|&j| TOPIC_STOPS.contains(&toks[j].w))
                    .unwrap_or(end);
                take(&mut hosts, i + 1, to, true);
            }
        }
        // "with Colombia as host country", "Gastgeber Gambia", "the Swiss
        // chairpersonship", "sous présidence canadienne"
        if let Some(n) = dates::any_at(toks, i, &c.host_noun) {
            let from = i.saturating_sub(6).max(sentence_start(toks, i, 6));
            let end = window_end(i + n).min(i + n + 12);
            let to = (i + n..end)
                .find(|&j| TOPIC_STOPS.contains(&toks[j].w))
                .unwrap_or(end);
            take(&mut hosts, from, to, false);
        }
    }
    f.hosts = hosts;
}

fn officials(
    toks: &[Tok<'_>],
    c: &Cues,
    places: &[Mention],
    spans: &[(usize, usize)],
    f: &mut MeetingFacts,
) {
    let is_place = |j: usize| {
        places.iter().any(|m| j >= m.at && j < m.at + m.len)
            || spans.iter().any(|&(a, l)| j >= a && j < a + l)
    };
    // A role, a chair ("chaired by", "présidée par"), or a German
    // compound ("Bundesinnenminister", "Außenministerin").
    let is_role = |j: usize| {
        c.roles
            .iter()
            .chain(&c.host_by)
            .any(|r| dates::phrase_at(toks, j, r).is_some())
            || [
                "minister",
                "ministerin",
                "leiterin",
                "leiter",
                "präsidentin",
                "vorsitzende",
            ]
            .iter()
            .any(|r| toks[j].w.len() > r.len() + 2 && toks[j].w.ends_with(r))
    };
    let particle = |j: usize| {
        matches!(
            toks[j].w,
            "al" | "el"
                | "bin"
                | "ben"
                | "ibn"
                | "de"
                | "del"
                | "van"
                | "von"
                | "da"
                | "di"
                | "le"
                | "la"
                | "ould"
        )
    };
    let name_word = |j: usize| {
        toks[j].capitalized()
            && !is_role(j)
            && !is_place(j)
            && !toks[j].arabic()
            && !NOT_NAMES.contains(&toks[j].w)
    };
    let mut names: Vec<String> = Vec::new();
    for i in 0..toks.len() {
        if toks[i].arabic() || !is_role(i) {
            continue;
        }
        // The first run of two or more name words within the next eight
        // words of the sentence ("Foreign Minister Nasser Bourita", "le
        // ministre canadien de la Sécurité publique, Daniel Fortier").
        let end = sentence_end(toks, i, 9);
        let mut j = i + 1;
        while j < end {
            if name_word(j)
                && j + 1 < end
                && !toks[j + 1].comma
                && (name_word(j + 1) || (particle(j + 1) && j + 2 < end && name_word(j + 2)))
            {
                break;
            }
            j += 1;
        }
        // "in Cabo Delgado" is a place the gazetteer does not know.
        if j > 0
            && c.venue_prep
                .iter()
                .any(|p| dates::phrase_at(toks, j - 1, p) == Some(1))
        {
            continue;
        }
        let mut name: Vec<&str> = Vec::new();
        let mut hyphens: Vec<bool> = Vec::new();
        while j < end
            && name.len() < 5
            && (name.is_empty() || !toks[j].comma)
            && (name_word(j)
                || (!name.is_empty() && particle(j) && j + 1 < end && name_word(j + 1)))
        {
            name.push(toks[j].orig);
            hyphens.push(toks[j].hyphen);
            j += 1;
        }
        if name.len() >= 2 {
            let s = rejoin(&name, &hyphens);
            if !names.contains(&s) {
                names.push(s);
            }
        }
    }
    f.officials = names;
}

/// Words after which a list of hosts is over: what the meeting is about,
/// or where ("unter dänischem Vorsitz über die Lage in Afghanistan").
const TOPIC_STOPS: [&str; 22] = [
    "uber", "on", "about", "sur", "sobre", "حول", "بشان", "against", "contre", "contra", "gegen",
    "aus", "from", "in", "en", "a", "im", "في", "to", "pour", "para", "um",
];

/// Capitalized words that are not names: institutions, offices and
/// groups ("el ministro del Interior, Fernando Grande-Marlaska").
const NOT_NAMES: [&str; 44] = [
    "interior",
    "seguridad",
    "defensa",
    "justicia",
    "exteriores",
    "commission",
    "comision",
    "onu",
    "un",
    "gobierno",
    "government",
    "gouvernement",
    "regierung",
    "fuerzas",
    "armadas",
    "ministry",
    "ministerio",
    "ministere",
    "affaires",
    "etrangeres",
    "justice",
    "foreign",
    "affairs",
    "security",
    "defence",
    "defense",
    "inneres",
    "sicherheit",
    "publique",
    "estado",
    "etat",
    "union",
    "nations",
    "unies",
    "naciones",
    "unidas",
    "council",
    "conseil",
    "consejo",
    "boko",
    "haram",
    "daesh",
    "isis",
    "taliban",
];

/// The words of a name joined as the text joins them: "al" and "Harbi"
/// with a hyphen when the text has "al-Harbi".
fn rejoin(name: &[&str], hyphens: &[bool]) -> String {
    let mut s = String::new();
    for (k, w) in name.iter().enumerate() {
        if k > 0 && hyphens.get(k) == Some(&true) {
            s.push('-');
        } else if k > 0 {
            let lower_particle = name[k - 1].chars().next().is_some_and(char::is_lowercase);
            s.push(
                if lower_particle
                    && name[k - 1].len() <= 3
                    && name[k - 1] != "de"
                    && name[k - 1] != "von"
                    && name[k - 1] != "van"
                {
                    '-'
                } else {
                    ' '
                },
            );
        }
        s.push_str(w);
    }
    s
}

fn participants(toks: &[Tok<'_>], c: &Cues, spans: &[(usize, usize)], f: &mut MeetingFacts) {
    for i in 0..toks.len() {
        let Some((v, used)) = dates::number_at(toks, i) else {
            continue;
        };
        if !(2..=250).contains(&v) || spans.iter().any(|&(a, l)| i >= a && i < a + l) {
            continue;
        }
        // An earlier edition's count ("la première édition avait réuni 80 pays").
        if near_before(toks, i, 6, &c.distract_before)
            || ["avait", "had", "hatte", "habia", "كانت", "كان"]
                .iter()
                .any(|w| (i.saturating_sub(4)..i).any(|j| toks[j].w == *w))
        {
            continue;
        }
        // the unit within two words: "80 countries", "more than 80 member states"
        let unit = (i + used..(i + used + 3).min(toks.len())).any(|j| {
            !toks[j].brk
                && c.units
                    .iter()
                    .any(|u| dates::phrase_at(toks, j, u).is_some())
        });
        if !unit {
            continue;
        }
        let vague = near_before(toks, i, 3, &c.vague);
        if vague {
            return;
        }
        let lower = near_before(toks, i, 3, &c.lower);
        f.participants = Some(Participants {
            n: v,
            lower_bound: lower,
        });
        return;
    }
}

fn stage_by_cues(toks: &[Tok<'_>], c: &Cues) -> Option<Stage> {
    // The sentence that gives the date speaks first; then the whole text.
    let local = dates::find(toks).first().and_then(|e| {
        let (from, to) = (
            sentence_start(toks, e.pos, 40),
            sentence_end(toks, e.pos, 40),
        );
        stage_in(toks, c, from, to)
    });
    local.or_else(|| stage_in(toks, c, 0, toks.len()))
}

fn stage_in(toks: &[Tok<'_>], c: &Cues, from: usize, to: usize) -> Option<Stage> {
    let (mut up, mut held) = (0, 0);
    for i in from..to {
        if dates::any_at(toks, i, &c.upcoming).is_some() {
            up += 1;
        }
        if dates::any_at(toks, i, &c.held).is_some() {
            held += 1;
        }
    }
    match up.cmp(&held) {
        std::cmp::Ordering::Greater => Some(Stage::Upcoming),
        std::cmp::Ordering::Less => Some(Stage::Held),
        std::cmp::Ordering::Equal => None,
    }
}

fn date(
    toks: &[Tok<'_>],
    c: &Cues,
    published: NaiveDate,
    stage: Option<Stage>,
    f: &mut MeetingFacts,
) {
    let upcoming = stage.map(|s| s == Stage::Upcoming);
    for e in dates::find(toks) {
        if near_before(toks, e.pos, 5, &c.distract_before) {
            continue;
        }
        if let Some(d) = dates::resolve(e.when, published, upcoming) {
            f.date = Some(d.format("%Y-%m-%d").to_string());
            return;
        }
    }
}

#[cfg(test)]
mod tests;
