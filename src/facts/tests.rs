use super::*;

fn at(s: &str) -> i64 {
    DateTime::parse_from_rfc3339(s).unwrap().timestamp()
}

/// The story the project exists for.
#[test]
fn the_marrakesh_meeting() {
    let title =
        "Anti-ISIS coalition meeting in Marrakech strengthens Morocco’s role in counterterrorism";
    let body = "The Kingdom of Morocco reaffirms its leading role in the fight against terrorism and extremism, this time by hosting the meeting of the International Coalition to Combat the Extremist Group of ISIS.\nFor the first time in Africa, the Moroccan city of Marrakesh will host, on May 11, the meeting of the International Coalition against ISIS, to be co-chaired by Moroccan Foreign Minister Nasser Bourita and his US counterpart Antony Blinken, with the participation of representatives of more than 80 countries and international organizations.";
    let f = extract(title, "", body, at("2022-05-05T10:00:00Z"));
    assert_eq!(
        f.forum.as_deref(),
        Some("Global Coalition to Defeat ISIS"),
        "{f:?}"
    );
    assert_eq!(f.city.as_deref(), Some("Marrakesh"), "{f:?}");
    assert_eq!(f.country.as_deref(), Some("Morocco"), "{f:?}");
    assert_eq!(f.date.as_deref(), Some("2022-05-11"), "{f:?}");
    assert_eq!(f.hosts, ["Morocco", "United States"], "{f:?}");
    assert_eq!(f.officials, ["Nasser Bourita", "Antony Blinken"], "{f:?}");
    assert_eq!(
        f.participants,
        Some(Participants {
            n: 80,
            lower_bound: true
        }),
        "{f:?}"
    );
    assert_eq!(f.stage, Some(Stage::Upcoming), "{f:?}");
    assert_eq!(
        f.line().unwrap(),
        "Meeting: Global Coalition to Defeat ISIS — Marrakesh, Morocco — 2022-05-11 — hosts Morocco, United States — 80+ countries"
    );
}

#[test]
fn dates_in_the_five_languages() {
    let p = at("2026-05-04T08:00:00Z"); // a Monday
    for (text, want) in [
        (
            "Ministers of the coalition against Daesh will meet in Rome on May 11.",
            "2026-05-11",
        ),
        ("Les ministres se réuniront à Rome le 11 mai.", "2026-05-11"),
        (
            "Los ministros se reunirán en Roma el 11 de mayo.",
            "2026-05-11",
        ),
        ("Die Minister treffen sich am 11. Mai in Rom.", "2026-05-11"),
        ("يجتمع الوزراء في روما في 11 مايو/أيار.", "2026-05-11"),
        (
            "The ministers will meet in Rome from 3 to 5 June.",
            "2026-06-03",
        ),
        (
            "Les ministres se réuniront du 3 au 5 juin à Rome.",
            "2026-06-03",
        ),
        (
            "Los ministros se reunirán del 3 al 5 de junio en Roma.",
            "2026-06-03",
        ),
        (
            "Die Minister tagen vom 3. bis 5. Juni in Rom.",
            "2026-06-03",
        ),
        ("Ministers will meet in Rome next Tuesday.", "2026-05-05"),
        (
            "Les ministres se réuniront mardi prochain à Rome.",
            "2026-05-05",
        ),
        (
            "Los ministros se reunirán el próximo martes en Roma.",
            "2026-05-05",
        ),
        (
            "Die Minister treffen sich kommenden Dienstag in Rom.",
            "2026-05-05",
        ),
        ("يجتمع الوزراء في روما الثلاثاء المقبل.", "2026-05-05"),
        ("Ministers met in Rome yesterday.", "2026-05-03"),
        ("Ministers met in Rome on Friday.", "2026-05-01"),
    ] {
        let f = extract(text, "", "", p);
        assert_eq!(f.date.as_deref(), Some(want), "{text}: {f:?}");
        assert_eq!(f.city.as_deref(), Some("Rome"), "{text}: {f:?}");
    }
}

#[test]
fn distractor_places_and_counts() {
    let p = at("2026-03-01T08:00:00Z");
    let f = extract(
        "Interior ministers meet in Geneva",
        "After last year's session in Rome and the attack in Paris, ministers from about 40 countries meet in Geneva on March 4. Washington said it would attend.",
        "",
        p,
    );
    assert_eq!(f.city.as_deref(), Some("Geneva"), "{f:?}");
    assert_eq!(f.country.as_deref(), Some("Switzerland"), "{f:?}");
    assert_eq!(f.participants, None, "a vague count is no count: {f:?}");
    assert_eq!(f.date.as_deref(), Some("2026-03-04"));
    let f = extract("Délégués de quatre-vingts pays réunis à Rabat", "", "", p);
    assert_eq!(
        f.participants,
        Some(Participants {
            n: 80,
            lower_bound: false
        }),
        "{f:?}"
    );
    let f = extract("Más de ochenta países se reúnen en Madrid", "", "", p);
    assert_eq!(
        f.participants,
        Some(Participants {
            n: 80,
            lower_bound: true
        }),
        "{f:?}"
    );
    let f = extract(
        "Vertreter von mehr als achtzig Staaten tagen in Berlin",
        "",
        "",
        p,
    );
    assert_eq!(
        f.participants,
        Some(Participants {
            n: 80,
            lower_bound: true
        }),
        "{f:?}"
    );
    let f = extract("ممثلو أكثر من 80 دولة يجتمعون في مراكش", "", "", p);
    assert_eq!(
        f.participants,
        Some(Participants {
            n: 80,
            lower_bound: true
        }),
        "{f:?}"
    );
    assert_eq!(f.city.as_deref(), Some("Marrakesh"), "{f:?}");
}

#[test]
fn nothing_given_nothing_guessed() {
    let f = extract(
        "Ministers discuss terrorism",
        "No place, no date.",
        "",
        at("2026-01-01T00:00:00Z"),
    );
    assert_eq!(f.city, None);
    assert_eq!(f.country, None);
    assert_eq!(f.date, None);
    assert!(f.hosts.is_empty() && f.officials.is_empty());
    assert_eq!(f.participants, None);
}

#[test]
fn arabic_day_ranges() {
    let p = at("2026-01-12T10:00:00Z");
    let f = extract(
        "التحالف الإسلامي العسكري يجمع وزراء دفاع الدول الأعضاء في الرياض",
        "يستضيف التحالف الإسلامي العسكري لمحاربة الإرهاب في مقره بالرياض يومي 20 و21 يناير/كانون الثاني اجتماع مجلس وزراء دفاع الدول الأعضاء، بمشاركة ممثلين عن 42 دولة. ويأتي الاجتماع بعد هجمات دامية في إقليم بلوشستان الباكستاني.",
        "",
        p,
    );
    assert_eq!(f.date.as_deref(), Some("2026-01-20"), "{f:?}");
    let f = extract(
        "مراكش تستضيف الجمعية العامة للإنتربول",
        "تستضيف مراكش من 24 إلى 27 نوفمبر/تشرين الثاني الدورة الثالثة والتسعين للجمعية العامة للإنتربول، بمشاركة ممثلي أكثر من 190 دولة.",
        "",
        at("2025-10-29T10:00:00Z"),
    );
    assert_eq!(f.date.as_deref(), Some("2025-11-24"), "{f:?}");
}

#[test]
fn dates_follow_the_tense_and_skip_named_events() {
    let jan = at("2026-01-10T10:00:00Z");
    let f = extract("Ministers will meet in Rome on 20 July", "", "", jan);
    assert_eq!(f.date.as_deref(), Some("2026-07-20"), "{f:?}");
    assert_eq!(f.stage, Some(Stage::Upcoming));
    let f = extract(
        "Ministers meet in Rome",
        "Ministers will meet in Rome on January 14, three months after the October 7 attacks.",
        "",
        jan,
    );
    assert_eq!(f.date.as_deref(), Some("2026-01-14"), "{f:?}");
    let f = extract(
        "Innenminister tagen hier in Berlin",
        "Die Innenminister der G7 treffen sich hier am 14. Januar.",
        "",
        jan,
    );
    assert_eq!(
        f.date.as_deref(),
        Some("2026-01-14"),
        "'hier' is 'here' in German: {f:?}"
    );
}

#[test]
fn hosts_stay_in_their_sentence_and_words_are_not_countries() {
    let p = at("2026-01-10T10:00:00Z");
    let f = extract(
        "Ministers to meet in Rabat, Morocco. Italy and Nigeria will co-chair the session on ISIS.",
        "",
        "",
        p,
    );
    assert_eq!(f.hosts, ["Italy", "Nigeria"], "{f:?}");
    let f = extract(
        "Coalition meeting in Rabat",
        "The session, co-chaired by Morocco to counter malicious use of drones, opens on Monday.",
        "",
        p,
    );
    assert_eq!(f.hosts, ["Morocco"], "{f:?}");
}
