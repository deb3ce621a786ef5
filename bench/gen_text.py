#!/usr/bin/env python3
"""Deterministic generator of news-like articles in five languages for the
matcher benchmark.

Writes JSON Lines {"id","lang","title","body"}: prose drawn (Zipf-weighted)
from per-language word lists, with about 2% of articles carrying planted
counterterrorism / coalition-meeting phrases, written with the spelling
variants the matcher must handle (case, diacritics present or missing,
hyphens, curly apostrophes, Arabic with diacritics or proclitics).

Same arguments => byte-identical output.

Usage: python3 bench/gen_text.py --articles 20000 --seed 7 --out text.jsonl
"""
import argparse
import json
import random

WORDS = {
    "en": """the of to and a in is was for on that with as by at from it its be has have had are were will
would could should may said says this which their they he she his her after before over into about more
than also but not new year years week month day today government minister president council officials
report according statement company market economy growth inflation prices bank interest trade exports
budget tax spending jobs workers union energy oil gas climate weather storm farmers harvest water supply
shipping port airport flights travel hotel housing construction project plan policy reform law court judge
ruling trial appeal parliament election vote campaign party opposition leader talks agreement deal summit
visit hospital health doctors school students university research science football match league coach
players season film music festival museum exhibition crisis record data technology software network""".split(),
    "fr": """le la les de des du un une et à en pour sur dans par avec au aux ce cette qui que est sont a ont été
sera plus pas ne se son sa ses leur leurs après avant selon mardi mercredi jeudi vendredi gouvernement ministre
président conseil rapport entreprise marché économie croissance prix banque budget impôts emploi travailleurs
syndicat énergie climat météo agriculteurs récolte eau port aéroport vols hôtel logement projet réforme loi
tribunal juge procès élection vote campagne parti opposition accord visite hôpital santé école étudiants
université recherche football match saison film musique festival musée exposition crise données réseau""".split(),
    "es": """el la los las de del un una y en para por con al que es son ha han fue será más no se su sus tras
antes según lunes martes miércoles gobierno ministro presidente consejo informe empresa mercado economía
crecimiento precios banco presupuesto impuestos empleo trabajadores sindicato energía clima tiempo
agricultores cosecha agua puerto aeropuerto vuelos hotel vivienda proyecto reforma ley tribunal juez juicio
elecciones voto campaña partido oposición acuerdo visita hospital salud escuela estudiantes universidad
investigación fútbol partido liga temporada película música festival museo exposición crisis datos red""".split(),
    "de": """der die das und in zu den von mit sich des auf für ist im dem nicht ein eine als auch es an werden
aus er hat dass sie nach wird bei einer um am sind noch wie einem über einen so zum war haben nur oder aber
vor zur bis mehr durch man Regierung Minister Präsident Bericht Unternehmen Markt Wirtschaft Wachstum Preise
Bank Haushalt Steuern Arbeit Gewerkschaft Energie Klima Wetter Landwirte Ernte Wasser Hafen Flughafen Hotel
Wohnungen Projekt Reform Gesetz Gericht Richter Prozess Wahl Partei Opposition Abkommen Besuch Krankenhaus
Gesundheit Schule Studenten Universität Forschung Fußball Spiel Liga Saison Film Musik Museum Krise Daten""".split(),
    "ar": """في من على إلى أن عن مع هذا هذه التي الذي كان قد لا ما بعد قبل بين حتى خلال وقال وزير الحكومة
الرئيس المجلس تقرير الشركة السوق الاقتصاد النمو الأسعار البنك الميزانية الضرائب العمل العمال الطاقة المناخ
الطقس المزارعين الحصاد المياه الميناء المطار الرحلات الفندق الإسكان المشروع الإصلاح القانون المحكمة القاضي
الانتخابات التصويت الحزب المعارضة الاتفاق الزيارة المستشفى الصحة المدرسة الطلاب الجامعة البحث كرة القدم
المباراة الدوري الموسم الفيلم الموسيقى المهرجان المتحف المعرض الأزمة البيانات""".split(),
}

PLANTED = {
    "en": ["Global Coalition to Defeat ISIS", "counter-terrorism", "counterterrorism", "Islamic State",
           "ISIL", "Daesh", "al-Qaeda", "ministerial meeting", "suicide bombing", "jihadist", "terrorist attack",
           "foreign terrorist fighters", "Boko Haram", "al-Shabaab", "Christchurch Call"],
    "fr": ["coalition internationale contre Daech", "l'État islamique", "l’Etat islamique", "lutte antiterroriste",
           "attentat terroriste", "djihadistes", "réunion ministérielle", "reunion ministerielle", "AQMI",
           "parquet national antiterroriste"],
    "es": ["Estado Islámico", "estado islamico", "lucha antiterrorista", "atentado terrorista", "yihadista",
           "reunión ministerial", "Coalición Global contra Dáesh", "célula yihadista"],
    "de": ["Terrormiliz IS", "Islamischer Staat", "Terrorbekämpfung", "Terrorbekaempfung", "Anti-IS-Koalition",
           "Dschihadisten", "Terroranschlag", "Ministertreffen"],
    "ar": ["داعش", "وداعش", "بالإرهاب", "الإرهابِ", "مكافحة الإرهاب", "التحالف الدولي ضد داعش",
           "اجتماع وزاري", "تنظيم القاعدة"],
}


def zipf_choice(rng, words):
    # Zipf-like: index ~ floor(n * u^3)
    return words[int(len(words) * rng.random() ** 3)]


def sentence(rng, lang, n):
    ws = [zipf_choice(rng, WORDS[lang]) for _ in range(n)]
    if lang != "ar":
        ws[0] = ws[0][:1].upper() + ws[0][1:]
    return " ".join(ws) + rng.choice([".", ".", ".", ",", ";"]) 


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--plant-rate", type=float, default=0.02)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    langs = ["en", "fr", "es", "de", "ar"]
    with open(a.out, "w", encoding="utf-8") as out:
        for i in range(a.articles):
            lang = langs[i % 5]
            title = sentence(rng, lang, rng.randint(6, 12)).rstrip(".,;")
            body = " ".join(sentence(rng, lang, rng.randint(8, 22)) for _ in range(rng.randint(3, 8)))
            if rng.random() < a.plant_rate:
                for _ in range(rng.randint(1, 3)):
                    term = rng.choice(PLANTED[lang])
                    if rng.random() < 0.3:
                        title = title + " " + term
                    else:
                        words = body.split(" ")
                        k = rng.randrange(len(words))
                        words.insert(k, term)
                        body = " ".join(words)
            out.write(json.dumps({"id": f"{lang}-{i:06d}", "lang": lang, "title": title, "body": body},
                                 ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
