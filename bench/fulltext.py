#!/usr/bin/env python3
"""Second-stage full text: what fetching article pages costs and what it buys.

Measures `newswatch once` on summary-only feeds, run twice on the same
corpus, each time on a fresh database: with `[full_text] enabled = true`
and with `enabled = false`. For each run it reports the wall time, the
article pages the server was asked for (and pages/s), the share of stories
whose body text was extracted into `articles.content` (each story body
carries a unique marker, STORYMARK-nnnnn, in a middle paragraph), how much
page boilerplate leaked into `content`, and the recall and false positives
of the `coalition-meeting` watch (and of "flagged" = any watch fired).

The corpus (fixed seed): FEEDS RSS 2.0 feeds x ITEMS items, in English,
French, Spanish and German. Each item has a vague title and a one-sentence
description (10-25 words) that names a meeting or international frame but
no terrorism word, so the feed text alone fires nothing. Its <link> is an
article page on the same loopback server, written like a real news page:
header navigation, a "most read" rail, a footer, a cookie banner, reader
comments, sometimes an inline "read also" box and a JSON state script, all
carrying trigger words (ISIS, Daesh, coalition, summit) that must NOT make
an article match; the story sits in the middle in <article>, in a plain
<div class="story">, in several text blocks split by ads, or as one block
of <br>-separated text. About 40% of the stories are positive: their body
(only the body) reports a Global Coalition to Defeat ISIS / GCTF /
Christchurch Call / Aqaba Process meeting in the rule packs' own terms.
The others are decoys: a governing coalition's budget talks, a football
derby, a food-security ministerial, a clean-energy coalition summit.

Before the two runs it asks the rules themselves (`newswatch test-rules
--jsonl`, no network) what fires on the feed text alone, on feed text plus
the clean story body (the ceiling for a perfect extractor), and on feed
text plus every visible word of the page (no extraction): the first should
fire nothing, the second every positive and no decoy, the third shows the
boilerplate traps are live. Skip it with --no-oracle.

Everything is served from one ThreadingHTTPServer on 127.0.0.1 (ephemeral
port) in a thread of this script; feeds and article pages share that
origin, which the full-text stage trusts (allow_private stays false). No
other address is contacted; proxy variables are removed from the child's
environment.

Usage:
  bash bench/fulltext.sh [NEWSWATCH_BIN]            (wrapper, defaults below)
  python3 bench/fulltext.py --bin target/release/newswatch
      [--feeds 20] [--items 25] [--seed 7] [--positive-share 0.4]
      [--min-words 80] [--ft-timeout 10s] [--per-minute 100000]
      [--page-delay-ms 0] [--timeout 300] [--work /tmp/fulltext-bench]
      [--rules 'config/rules/*.toml'] [--no-oracle] [--no-copy] [--json]
  python3 bench/fulltext.py --serve-only [--feeds 3 --items 5]
      (serve the corpus and print its feed URLs until Ctrl-C)
  python3 bench/fulltext.py --dump DIR
      (write the feeds, pages and labels.jsonl under DIR and exit)

Exit status: 0 done; 1 the binary failed (exit code not 0 or 75, a timeout,
a config it refused, no database); 2 bad usage; 3 the server saw no article
fetch in the full-text run (feature missing or misconfigured).
Python 3.9+ standard library only. Never builds anything: the binary given
is copied into the work folder first, so a rebuild during the run changes
nothing.
"""
import argparse
import html
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import unicodedata
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

REPO = Path(__file__).resolve().parent.parent
WATCH = "coalition-meeting"
MARK = "STORYMARK"

# ---------------------------------------------------------------------------
# Word banks. Positive plants use the rule packs' own terms (config/rules/
# terms.toml: @ct_forums near @meeting); decoys use none of the terrorism
# vocabulary. Titles and summaries are shared by positives and decoys.

LANGS = ["en", "fr", "es", "de"]

CITIES = [  # en, fr, es, de
    ("Rome", "Rome", "Roma", "Rom"), ("Brussels", "Bruxelles", "Bruselas", "Brüssel"),
    ("Paris", "Paris", "París", "Paris"), ("Madrid", "Madrid", "Madrid", "Madrid"),
    ("Berlin", "Berlin", "Berlín", "Berlin"), ("Rabat", "Rabat", "Rabat", "Rabat"),
    ("Riyadh", "Riyad", "Riad", "Riad"), ("Copenhagen", "Copenhague", "Copenhague", "Kopenhagen"),
    ("Amman", "Amman", "Ammán", "Amman"), ("Nairobi", "Nairobi", "Nairobi", "Nairobi"),
    ("Abuja", "Abuja", "Abuya", "Abuja"), ("Marrakech", "Marrakech", "Marrakech", "Marrakesch"),
    ("Lisbon", "Lisbonne", "Lisboa", "Lissabon"), ("Vienna", "Vienne", "Viena", "Wien"),
    ("Warsaw", "Varsovie", "Varsovia", "Warschau"), ("Oslo", "Oslo", "Oslo", "Oslo"),
    ("Doha", "Doha", "Doha", "Doha"), ("Tunis", "Tunis", "Túnez", "Tunis"),
    ("Dakar", "Dakar", "Dakar", "Dakar"), ("Ottawa", "Ottawa", "Ottawa", "Ottawa"),
    ("Tokyo", "Tokyo", "Tokio", "Tokio"), ("The Hague", "La Haye", "La Haya", "Den Haag"),
    ("Geneva", "Genève", "Ginebra", "Genf"), ("Helsinki", "Helsinki", "Helsinki", "Helsinki"),
    ("Athens", "Athènes", "Atenas", "Athen"), ("Prague", "Prague", "Praga", "Prag"),
    ("Stockholm", "Stockholm", "Estocolmo", "Stockholm"), ("Dublin", "Dublin", "Dublín", "Dublin"),
    ("Kuwait City", "Koweït", "Kuwait", "Kuwait-Stadt"), ("Valletta", "La Valette", "La Valeta", "Valletta"),
]

COUNTRIES = [  # en, fr (with article), es, de
    ("Italy", "l'Italie", "Italia", "Italien"), ("the United States", "les États-Unis", "Estados Unidos", "den USA"),
    ("Morocco", "le Maroc", "Marruecos", "Marokko"), ("Saudi Arabia", "l'Arabie saoudite", "Arabia Saudí", "Saudi-Arabien"),
    ("France", "la France", "Francia", "Frankreich"), ("Spain", "l'Espagne", "España", "Spanien"),
    ("Germany", "l'Allemagne", "Alemania", "Deutschland"), ("Canada", "le Canada", "Canadá", "Kanada"),
    ("Japan", "le Japon", "Japón", "Japan"), ("Nigeria", "le Nigeria", "Nigeria", "Nigeria"),
    ("Denmark", "le Danemark", "Dinamarca", "Dänemark"), ("Norway", "la Norvège", "Noruega", "Norwegen"),
    ("Kuwait", "le Koweït", "Kuwait", "Kuwait"), ("Jordan", "la Jordanie", "Jordania", "Jordanien"),
    ("Kenya", "le Kenya", "Kenia", "Kenia"), ("Belgium", "la Belgique", "Bélgica", "Belgien"),
]

WEEKDAYS = {
    "en": ["on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi"],
    "es": ["el lunes", "el martes", "el miércoles", "el jueves", "el viernes"],
    "de": ["am Montag", "am Dienstag", "am Mittwoch", "am Donnerstag", "am Freitag"],
}

# Titles: vague, shared by positives and meeting-type decoys. Each names a
# meeting or an international frame (the rules only read a body when the
# title does), none a terrorism word.
TITLES = {
    "en": ["Ministers meet in {city} for talks on cooperation",
           "{k} countries send delegations to {city} meeting",
           "Summit in {city} ends with joint statement",
           "International partners convene in {city}",
           "Officials from {k} nations gather in {city} for annual meeting",
           "Regional meeting in {city} draws {k} delegations",
           "{city} meeting: what ministers agreed",
           "Ministers wrap up day of talks at {city} summit",
           "Delegates from {k} countries meet in {city} {weekday}",
           "Ministerial in {city} sets course for the year ahead"],
    "fr": ["Des ministres se réunissent à {city}",
           "{k} pays réunis à {city} pour une journée de discussions",
           "Sommet de {city} : une déclaration commune adoptée",
           "Réunion internationale à {city}",
           "À {city}, une réunion ministérielle sous haute surveillance",
           "Les délégations de {k} pays se réunissent à {city} {weekday}",
           "Réunion de {city} : ce que les ministres ont décidé",
           "{city} accueille une réunion de {k} pays"],
    "es": ["Ministros de {k} países se reúnen en {city}",
           "Cumbre en {city}: declaración conjunta al cierre",
           "Reunión internacional en {city}",
           "{city} acoge una reunión ministerial con {k} delegaciones",
           "Conferencia internacional en {city} {weekday}",
           "Las delegaciones de {k} países se reúnen en {city}",
           "Reunión de {city}: lo que acordaron los ministros"],
    "de": ["Minister beraten in {city}",
           "Internationales Treffen in {city} mit {k} Delegationen",
           "Gipfel in {city} endet mit gemeinsamer Erklärung",
           "Vertreter aus {k} Staaten beraten {weekday} in {city}",
           "Ministertreffen in {city}: Was vereinbart wurde",
           "Internationale Konferenz in {city}"],
}

FOOTBALL_TITLES = {
    "en": ["{t1} and {t2} meet in {city} derby", "Derby day in {city}: {t1} against {t2}",
           "{t1} edge {t2} in {city} derby {weekday}"],
    "fr": ["{t1} et {t2} se retrouvent pour le derby de {city}", "Derby de {city} : {t1} s'impose face à {t2}"],
    "es": ["{t1} y {t2} se reúnen en el derbi de {city}", "Derbi de {city}: {t1} se impone a {t2}"],
    "de": ["Derby in {city}: {t1} gegen {t2}", "{t1} gewinnt das Derby in {city} gegen {t2}"],
}
TEAMS = {
    "en": ["Athletic", "Rovers", "United", "City", "Wanderers", "Albion", "Rangers", "Town"],
    "fr": ["Olympique Centre", "Racing Club", "Stade Riverain", "Union sportive", "FC Vallée", "AS Plateau"],
    "es": ["Atlético Ciudad", "Deportivo Norte", "Racing Sur", "Real Unión", "Sporting Villa", "Club Ribera"],
    "de": ["Eintracht", "Borussia", "Fortuna", "Viktoria", "Union", "Arminia"],
}

# Summaries: one sentence, 10-25 words, a meeting or international word the
# rules know, no terrorism word.
SUMMARIES = {
    "en": ["Ministers and senior officials met in {city} {weekday} for a day of talks, according to a statement released afterwards.",
           "Delegations from {k} countries gathered in {city}; the host government described the meeting as constructive.",
           "Talks in {city} focused on security, cooperation and the months ahead, officials said after the meeting ended.",
           "The summit in {city} brought ministers together for several hours of discussion, with a final statement expected later.",
           "Officials from several countries convened in {city} to review commitments made last year and agree next steps."],
    "fr": ["Des ministres et hauts responsables se sont réunis {weekday} à {city} pour une journée de discussions, selon un communiqué.",
           "Des délégations de {k} pays étaient présentes à {city} ; le pays hôte a salué une réunion constructive.",
           "Les échanges à {city} ont porté sur la sécurité et la coopération, ont indiqué des responsables à l'issue de la réunion.",
           "Le sommet de {city} a réuni des ministres pendant plusieurs heures ; une déclaration finale est attendue."],
    "es": ["Ministros y altos cargos se reunieron {weekday} en {city} para una jornada de conversaciones, según un comunicado.",
           "Delegaciones de {k} países acudieron a {city}; el país anfitrión calificó la reunión de constructiva.",
           "Las conversaciones en {city} abordaron la seguridad y la cooperación, indicaron fuentes oficiales tras la reunión.",
           "La cumbre de {city} reunió a ministros durante varias horas; se espera una declaración final."],
    "de": ["Minister und hochrangige Beamte kamen {weekday} in {city} zu Beratungen zusammen, hieß es in einer Mitteilung.",
           "Delegationen aus {k} Staaten reisten nach {city}; das Gastgeberland sprach von einem konstruktiven Treffen.",
           "Bei den Gesprächen in {city} ging es um Sicherheit und Zusammenarbeit, teilten Beamte nach dem Treffen mit.",
           "Beim Gipfel in {city} berieten Minister mehrere Stunden lang; eine Abschlusserklärung wird erwartet."],
}
FOOTBALL_SUMMARIES = {
    "en": ["The two sides met in {city} {weekday} in front of a full stadium, and patient attack finally paid off late on.",
           "A tense derby in {city} was settled in stoppage time after an evening of missed chances at both ends."],
    "fr": ["Les deux équipes se sont retrouvées {weekday} à {city} devant un stade plein, et l'attaque a fini par payer.",
           "Un derby tendu à {city} s'est joué dans le temps additionnel après une soirée d'occasions manquées."],
    "es": ["Los dos equipos se enfrentaron {weekday} en {city} ante un estadio lleno, y el ataque acabó dando frutos.",
           "Un partido muy tenso en {city} se decidió en el descuento tras una noche de ocasiones falladas."],
    "de": ["Die beiden Mannschaften trafen sich {weekday} in {city} vor vollem Haus, der Angriff zahlte sich spät aus.",
           "Ein hitziges Derby in {city} wurde erst in der Nachspielzeit entschieden."],
}

# Positive plants: each ties a named CT forum / anti-ISIS coalition
# (@ct_forums) to a meeting word (@meeting) within a few words.
PLANTS = {
    "en": ["The Global Coalition to Defeat ISIS held its ministerial meeting in {city} {weekday}, co-chaired by {c1} and {c2}.",
           "Foreign ministers of the Global Coalition against Daesh met in {city} to review the campaign, with {k} member countries represented.",
           "The meeting in {city} was the latest gathering of the Counter ISIS Finance Group, which {c1} and {c2} co-chair.",
           "Delegates from {k} countries attended the plenary meeting of the Global Counterterrorism Forum (GCTF), co-chaired by {c1} and {c2}.",
           "Leaders and technology companies met in {city} for the Christchurch Call summit on terrorist and violent extremist content online.",
           "The Aqaba Process meeting, convened by Jordan in {city}, brought together {k} countries to discuss the terrorist threat in West Africa.",
           "Political directors of the Coalition to Defeat ISIS convened in {city} for a Small Group meeting chaired by {c1}."],
    "fr": ["La coalition internationale contre Daech a tenu sa réunion ministérielle à {city} {weekday}, coprésidée par {c1} et {c2}.",
           "Les ministres des Affaires étrangères de la coalition mondiale contre Daech se sont réunis à {city} ; {k} pays étaient représentés.",
           "Le Forum mondial de lutte contre le terrorisme (GCTF) a tenu sa réunion plénière à {city}, coprésidée par {c1} et {c2}.",
           "Le groupe de lutte contre le financement de Daech a tenu une réunion à {city}, organisée par {c1}.",
           "Réunis à {city} dans le cadre du processus d'Aqaba, les représentants de {k} pays ont examiné la menace terroriste en Afrique de l'Ouest."],
    "es": ["La Coalición Global contra Daesh celebró su reunión ministerial en {city} {weekday}, copresidida por {c1} y {c2}.",
           "Los ministros de Exteriores de la coalición internacional contra el Estado Islámico se reunieron en {city}, con {k} países representados.",
           "El Foro Global contra el Terrorismo (GCTF) celebró su sesión plenaria en {city}, copresidida por {c1} y {c2}.",
           "Representantes de {k} países se reunieron en {city} en el marco del Proceso de Aqaba para analizar la amenaza terrorista en el Sahel."],
    "de": ["Die Außenminister der Anti-IS-Koalition trafen sich {weekday} in {city} zu einem Ministertreffen unter dem Vorsitz von {c1} und {c2}.",
           "Vertreter aus {k} Staaten berieten in {city} beim Treffen der internationalen Koalition gegen den IS über die Lage in Syrien und im Irak.",
           "Das Globale Forum zur Terrorismusbekämpfung (GCTF) tagte in {city} unter dem gemeinsamen Vorsitz von {c1} und {c2}.",
           "Beim Aqaba-Prozess in {city} berieten Vertreter aus {k} Staaten über die terroristische Bedrohung in Westafrika."],
}
POS_SUPPORT = {
    "en": ["Ministers reviewed the campaign against the remnants of ISIS in Iraq and Syria and the situation in the detention camps of the north-east.",
           "Delegates discussed stabilisation funding for areas liberated from Daesh and the repatriation of foreign terrorist fighters' families.",
           "The coalition's Africa Focus Group briefed participants on the growing threat from ISIS affiliates in West Africa and the Sahel.",
           "Participants agreed to step up efforts against terrorist financing and online propaganda.",
           "Several speakers warned that the group remains capable of attacks despite its territorial defeat.",
           "The final communique reaffirmed the members' commitment to the lasting defeat of ISIS."],
    "fr": ["Les ministres ont fait le point sur la lutte contre les restes de l'État islamique en Irak et en Syrie et sur la situation dans les camps du nord-est syrien.",
           "Les délégations ont évoqué le financement de la stabilisation des zones libérées de Daech et le rapatriement des familles de combattants étrangers.",
           "Plusieurs intervenants ont souligné la menace croissante des groupes affiliés à l'État islamique au Sahel.",
           "Les participants se sont engagés à renforcer la lutte contre le financement du terrorisme et la propagande en ligne.",
           "Le communiqué final réaffirme l'engagement des membres en faveur d'une défaite durable de Daech."],
    "es": ["Los ministros repasaron la lucha contra los restos del Estado Islámico en Irak y Siria y la situación en los campos del noreste sirio.",
           "Las delegaciones abordaron la financiación de la estabilización de las zonas liberadas de Daesh y la repatriación de las familias de combatientes extranjeros.",
           "Varios oradores advirtieron de la amenaza creciente de los grupos afiliados al Estado Islámico en el Sahel.",
           "Los participantes se comprometieron a reforzar la lucha contra la financiación del terrorismo y la propaganda en internet.",
           "El comunicado final reafirma el compromiso de los miembros con la derrota duradera de Daesh."],
    "de": ["Die Minister erörterten den Kampf gegen die Reste der Terrormiliz IS im Irak und in Syrien sowie die Lage in den Lagern im Nordosten Syriens.",
           "Die Delegationen sprachen über die Finanzierung der Stabilisierung befreiter Gebiete und die Rückholung von Familien ausländischer Kämpfer.",
           "Mehrere Redner warnten vor der wachsenden Bedrohung durch IS-Ableger in der Sahelzone.",
           "Die Teilnehmer verpflichteten sich, die Terrorfinanzierung und die Propaganda im Netz stärker zu bekämpfen.",
           "In der Abschlusserklärung bekräftigten die Mitglieder ihr Ziel, den IS dauerhaft zu besiegen."],
}
# Neutral prose about a meeting (positives and meeting-type decoys).
FILLER = {
    "en": ["The meeting began shortly after nine in the morning and continued late into the evening.",
           "Security around the venue was tight, and several streets in central {city} were closed to traffic.",
           "Journalists were kept in a separate building and briefed by spokespeople during the breaks.",
           "The host government thanked the delegations for travelling to {city} at short notice.",
           "Several ministers arrived the night before for an informal dinner hosted by the mayor.",
           "A closing statement was adopted by consensus, diplomats said, although some of the language had been softened.",
           "The next meeting is expected to take place in the spring, though no date has been set.",
           "Observers noted that attendance was higher than last year.",
           "Officials declined to say how much money had been pledged in total.",
           "A spokesperson described the discussions as frank and useful and said work would continue at expert level.",
           "The venue, a former royal palace on the edge of {city}, had been closed to visitors for the week.",
           "Interpreters worked in six languages, and the programme ran more than an hour behind schedule.",
           "Local businesses near the venue complained that the road closures had kept customers away.",
           "Several delegations brought large teams of experts, while others were represented at ambassador level.",
           "Protesters gathered behind police lines in the afternoon, but the demonstration remained peaceful.",
           "In a short opening speech, the host minister called for unity and patience.",
           "Diplomats said the text of the final statement had been negotiated line by line over the previous two weeks.",
           "The organisers said the event had cost less than the previous edition, without giving figures.",
           "Photographs released by the organisers showed ministers seated around a long oval table."],
    "fr": ["La réunion a débuté peu après neuf heures et s'est prolongée jusqu'en soirée.",
           "Le dispositif de sécurité était important et plusieurs rues du centre de {city} ont été fermées à la circulation.",
           "Les journalistes ont été installés dans un bâtiment séparé et informés par des porte-parole pendant les pauses.",
           "Le gouvernement hôte a remercié les délégations d'avoir fait le déplacement.",
           "Plusieurs ministres étaient arrivés la veille pour un dîner informel offert par le maire.",
           "Une déclaration finale a été adoptée par consensus, selon des diplomates, au prix de quelques formulations adoucies.",
           "La prochaine réunion devrait se tenir au printemps, mais aucune date n'a été fixée.",
           "Les montants promis n'ont pas été communiqués.",
           "Le lieu de la réunion, un ancien palais en périphérie de {city}, était fermé au public toute la semaine.",
           "Les interprètes ont travaillé en six langues et le programme a pris plus d'une heure de retard.",
           "Des commerçants du quartier se sont plaints de la fermeture des rues, qui a fait fuir leurs clients.",
           "Certaines délégations étaient venues avec de nombreux experts, d'autres n'étaient représentées qu'au niveau des ambassadeurs.",
           "Dans un bref discours d'ouverture, le ministre hôte a appelé à l'unité et à la patience.",
           "Selon des diplomates, le texte final avait été négocié ligne par ligne pendant les deux semaines précédentes."],
    "es": ["La reunión comenzó poco después de las nueve de la mañana y se prolongó hasta la noche.",
           "El dispositivo de seguridad fue amplio y varias calles del centro de {city} se cerraron al tráfico.",
           "Los periodistas siguieron los trabajos desde un edificio aparte y recibieron información de los portavoces en las pausas.",
           "El Gobierno anfitrión agradeció a las delegaciones su presencia.",
           "Varios ministros llegaron la víspera para una cena informal ofrecida por el alcalde.",
           "La declaración final se adoptó por consenso, según fuentes diplomáticas, tras suavizar algunas frases.",
           "La próxima reunión debería celebrarse en primavera, aunque aún no hay fecha.",
           "No se han divulgado las cantidades comprometidas.",
           "La sede, un antiguo palacio a las afueras de {city}, permaneció cerrada al público toda la semana.",
           "Los intérpretes trabajaron en seis idiomas y el programa acumuló más de una hora de retraso.",
           "Los comerciantes de la zona se quejaron de que los cortes de tráfico ahuyentaron a los clientes.",
           "Algunas delegaciones llegaron con amplios equipos de expertos; otras estuvieron representadas por sus embajadores.",
           "En un breve discurso de apertura, el ministro anfitrión pidió unidad y paciencia.",
           "Según fuentes diplomáticas, el texto final se negoció línea por línea durante las dos semanas anteriores."],
    "de": ["Die Beratungen begannen kurz nach neun Uhr und dauerten bis in den Abend.",
           "Die Sicherheitsvorkehrungen waren groß, mehrere Straßen im Zentrum von {city} wurden gesperrt.",
           "Journalisten wurden in einem separaten Gebäude untergebracht und in den Pausen von Sprechern unterrichtet.",
           "Die Gastgeber dankten den Delegationen für die Anreise.",
           "Mehrere Minister waren bereits am Vorabend zu einem informellen Abendessen beim Bürgermeister angereist.",
           "Die Abschlusserklärung wurde nach Angaben von Diplomaten im Konsens angenommen, einige Formulierungen wurden abgeschwächt.",
           "Das nächste Treffen soll im Frühjahr stattfinden, ein Termin steht noch nicht fest.",
           "Zu den zugesagten Summen machten die Beamten keine Angaben.",
           "Der Tagungsort, ein ehemaliger Palast am Stadtrand von {city}, war die ganze Woche für Besucher geschlossen.",
           "Dolmetscher arbeiteten in sechs Sprachen, das Programm lag mehr als eine Stunde hinter dem Zeitplan.",
           "Geschäftsleute in der Umgebung klagten, die Straßensperren hätten Kunden ferngehalten.",
           "Einige Delegationen reisten mit großen Expertenteams an, andere waren nur auf Botschafterebene vertreten.",
           "In einer kurzen Eröffnungsrede rief der gastgebende Minister zu Einigkeit und Geduld auf.",
           "Nach Angaben von Diplomaten war der Text der Abschlusserklärung zuvor zwei Wochen lang Zeile für Zeile verhandelt worden."],
}

# Neutral prose about a football match.
FOOTBALL_FILLER = {
    "en": ["The home side dominated possession in the first half but struggled to create clear chances.",
           "A header from a corner ten minutes after the break brought the visitors level.",
           "The referee showed six yellow cards, four of them to the visiting team.",
           "Ticket prices for the fixture had been raised by a fifth, prompting complaints from season-ticket holders.",
           "The two clubs meet again in the cup next month.",
           "Local police had deployed extra officers around the ground and the railway station."],
    "fr": ["Les locaux ont dominé la possession en première période sans se créer d'occasion franche.",
           "Une tête sur corner dix minutes après la pause a permis aux visiteurs d'égaliser.",
           "L'arbitre a distribué six cartons jaunes, dont quatre aux visiteurs.",
           "Le prix des billets avait augmenté d'un cinquième, au grand dam des abonnés.",
           "Les deux clubs se retrouveront en coupe le mois prochain."],
    "es": ["El equipo local dominó la posesión en la primera parte pero apenas generó ocasiones claras.",
           "Un cabezazo a la salida de un córner diez minutos después del descanso supuso el empate visitante.",
           "El árbitro mostró seis tarjetas amarillas, cuatro de ellas a los visitantes.",
           "El precio de las entradas había subido una quinta parte, lo que molestó a los abonados.",
           "Ambos clubes volverán a verse en la copa el mes que viene."],
    "de": ["Die Gastgeber hatten in der ersten Halbzeit mehr Ballbesitz, kamen aber kaum zu klaren Chancen.",
           "Ein Kopfball nach einer Ecke zehn Minuten nach der Pause brachte den Ausgleich für die Gäste.",
           "Der Schiedsrichter zeigte sechs Gelbe Karten, vier davon für die Gäste.",
           "Die Ticketpreise waren um ein Fünftel gestiegen, sehr zum Ärger der Dauerkarteninhaber.",
           "Im Pokal treffen beide Vereine im nächsten Monat erneut aufeinander."],
}

# Decoys: (facts, support) per kind and language. No terrorism word.
DECOYS = {
    "budget": {
        "en": (["Leaders of the governing coalition met in {city} until late {weekday} in an attempt to settle their dispute over next year's budget.",
                "The coalition partners remain divided over pension increases and a proposed cut in fuel taxes, according to people familiar with the talks."],
               ["The finance minister said a deal was within reach but warned that the deficit had to come down.",
                "Opposition parties accused the government of paralysis and called for early elections.",
                "Parliament is due to vote on the budget before the end of the month."]),
        "fr": (["Les chefs de la coalition gouvernementale se sont réunis à {city} jusque tard dans la nuit pour tenter de s'accorder sur le budget de l'an prochain.",
                "Les partenaires de la coalition restent divisés sur la revalorisation des retraites et une baisse des taxes sur les carburants."],
               ["Le ministre des Finances a assuré qu'un accord était à portée de main, tout en appelant à réduire le déficit.",
                "L'opposition dénonce un gouvernement paralysé et réclame des élections anticipées.",
                "Le Parlement doit se prononcer sur le budget avant la fin du mois."]),
        "es": (["Los líderes de la coalición de gobierno se reunieron en {city} hasta altas horas de la noche para intentar cerrar los presupuestos del próximo año.",
                "Los socios de coalición siguen divididos sobre la subida de las pensiones y una rebaja del impuesto sobre los carburantes."],
               ["El ministro de Hacienda aseguró que el acuerdo está cerca, pero insistió en reducir el déficit.",
                "La oposición acusa al Gobierno de parálisis y pide elecciones anticipadas.",
                "El Parlamento debe votar las cuentas antes de fin de mes."]),
        "de": (["Die Spitzen der Regierungskoalition berieten {weekday} bis spät in die Nacht in {city} über den Haushalt für das kommende Jahr.",
                "Die Koalitionspartner sind weiter uneins über die Erhöhung der Renten und eine Senkung der Steuer auf Kraftstoffe."],
               ["Der Finanzminister sagte, eine Einigung sei in Reichweite, mahnte aber, das Defizit müsse sinken.",
                "Die Opposition warf der Regierung Stillstand vor und forderte Neuwahlen.",
                "Der Bundestag soll noch in diesem Monat über den Haushalt abstimmen."]),
    },
    "football": {
        "en": (["{t1} beat {t2} 2-1 in a tense derby in {city} {weekday}, with the winning goal coming in stoppage time.",
                "The visitors' attack looked dangerous all evening, but their coach admitted afterwards that the defence had let them down."],
               ["The stadium was sold out for the first time this season.",
                "The win lifts the home side to third in the table with six matches left.",
                "Supporters of both clubs met in the city centre before kick-off, and police reported no incidents.",
                "Both managers praised the atmosphere and the referee's handling of a physical game."]),
        "fr": (["{t1} s'est imposé 2-1 face à {t2} lors d'un derby tendu à {city}, le but de la victoire tombant dans le temps additionnel.",
                "L'attaque des visiteurs a été dangereuse toute la soirée, mais leur entraîneur a reconnu que la défense avait flanché."],
               ["Le stade affichait complet pour la première fois de la saison.",
                "Cette victoire permet aux locaux de remonter à la troisième place du championnat.",
                "Les supporters des deux clubs se sont retrouvés dans le centre-ville avant le coup d'envoi, sans incident."]),
        "es": (["{t1} venció 2-1 a {t2} en un derbi muy disputado en {city}, con el gol de la victoria en el tiempo de descuento.",
                "El ataque visitante fue peligroso toda la noche, pero su entrenador reconoció que la defensa falló."],
               ["El estadio registró la primera entrada completa de la temporada.",
                "La victoria sitúa al equipo local en tercera posición a falta de seis jornadas.",
                "Las aficiones de ambos clubes se concentraron en el centro antes del partido sin incidentes."]),
        "de": (["{t1} gewann das hitzige Derby in {city} mit 2:1 gegen {t2}, der Siegtreffer fiel in der Nachspielzeit.",
                "Der Angriff der Gäste war den ganzen Abend gefährlich, doch ihr Trainer räumte ein, dass die Abwehr versagt habe."],
               ["Das Stadion war zum ersten Mal in dieser Saison ausverkauft.",
                "Mit dem Sieg klettert die Heimmannschaft auf Platz drei der Tabelle.",
                "Fans beider Vereine trafen sich vor dem Anpfiff in der Innenstadt, die Polizei meldete keine Zwischenfälle."]),
    },
    "food": {
        "en": (["Agriculture ministers from {k} countries held a ministerial meeting on food security in {city}, co-chaired by {c1} and {c2}.",
                "The meeting focused on fertiliser prices, grain corridors and the impact of drought on harvests in the Horn of Africa."],
               ["Aid agencies urged governments to turn pledges into funding before the lean season.",
                "A new working group on crop insurance will report back next year.",
                "Farmers' organisations staged a small demonstration outside the venue."]),
        "fr": (["Les ministres de l'Agriculture de {k} pays ont tenu une réunion ministérielle sur la sécurité alimentaire à {city}, coprésidée par {c1} et {c2}.",
                "La réunion a porté sur le prix des engrais, les corridors céréaliers et l'impact de la sécheresse sur les récoltes dans la Corne de l'Afrique."],
               ["Les agences humanitaires ont exhorté les gouvernements à concrétiser leurs promesses avant la période de soudure.",
                "Un nouveau groupe de travail sur l'assurance récolte rendra ses conclusions l'an prochain.",
                "Des organisations paysannes ont manifesté devant le lieu de la réunion."]),
        "es": (["Los ministros de Agricultura de {k} países celebraron una reunión ministerial sobre seguridad alimentaria en {city}, copresidida por {c1} y {c2}.",
                "La reunión se centró en el precio de los fertilizantes, los corredores de grano y el impacto de la sequía en el Cuerno de África."],
               ["Las agencias humanitarias instaron a los gobiernos a convertir las promesas en fondos antes de la temporada de escasez.",
                "Un nuevo grupo de trabajo sobre seguros agrícolas presentará sus conclusiones el año próximo.",
                "Organizaciones agrarias se concentraron a las puertas de la sede."]),
        "de": (["Die Agrarminister aus {k} Staaten kamen in {city} zu einer Ministertagung über Ernährungssicherheit zusammen, unter dem Vorsitz von {c1} und {c2}.",
                "Im Mittelpunkt standen die Düngerpreise, Getreidekorridore und die Folgen der Dürre am Horn von Afrika."],
               ["Hilfsorganisationen forderten die Regierungen auf, Zusagen vor der Hungersaison in Geld umzusetzen.",
                "Eine neue Arbeitsgruppe zu Ernteversicherungen soll im nächsten Jahr berichten.",
                "Bauernverbände demonstrierten vor dem Tagungsort."]),
    },
    "climate": {
        "en": (["A coalition of {k} countries and more than two hundred companies met in {city} for a summit on clean energy and grid investment.",
                "The coalition pledged to triple renewable capacity by the end of the decade and to phase out coal-fired power in member countries."],
               ["Campaigners said the commitments lacked a clear timetable.",
                "Investors announced new funds for offshore wind and battery storage.",
                "The summit closed with a call for cheaper finance for developing countries."]),
        "fr": (["Une coalition de {k} pays et de plus de deux cents entreprises s'est réunie à {city} pour un sommet sur l'énergie propre.",
                "La coalition s'est engagée à tripler les capacités renouvelables d'ici à la fin de la décennie et à sortir du charbon."],
               ["Les ONG ont regretté l'absence de calendrier précis.",
                "Des investisseurs ont annoncé de nouveaux fonds pour l'éolien en mer et le stockage par batteries.",
                "Le sommet s'est achevé sur un appel à des financements moins chers pour les pays en développement."]),
        "es": (["Una coalición de {k} países y más de doscientas empresas se reunió en {city} en una cumbre sobre energía limpia.",
                "La coalición se comprometió a triplicar la capacidad renovable antes del final de la década y a abandonar el carbón."],
               ["Las organizaciones ecologistas lamentaron la falta de un calendario claro.",
                "Varios inversores anunciaron nuevos fondos para la eólica marina y el almacenamiento en baterías.",
                "La cumbre se cerró con un llamamiento a abaratar la financiación para los países en desarrollo."]),
        "de": (["Eine Koalition aus {k} Staaten und mehr als zweihundert Unternehmen kam in {city} zu einem Gipfel über saubere Energie zusammen.",
                "Die Koalition will die erneuerbaren Kapazitäten bis zum Ende des Jahrzehnts verdreifachen und aus der Kohle aussteigen."],
               ["Umweltverbände kritisierten, dass ein klarer Zeitplan fehle.",
                "Investoren kündigten neue Fonds für Windkraft auf See und Batteriespeicher an.",
                "Der Gipfel endete mit einem Aufruf zu günstigeren Krediten für Entwicklungsländer."]),
    },
}
DECOY_KINDS = ["budget", "football", "food", "climate"]

# Boilerplate: every block carries trigger words. A trap headline ties a
# named anti-ISIS coalition to a meeting word, so it fires
# coalition-meeting wherever it lands in `content`.
TRAPS = {
    "en": ["Global Coalition against Daesh ministers meet in {city}",
           "ISIS summit: what the coalition agreed in {city}",
           "Live: Coalition to Defeat ISIS ministerial opens in {city}",
           "Analysis: can the coalition against ISIS survive another summit?"],
    "fr": ["La coalition internationale contre Daech se réunit à {city}",
           "Sommet de la coalition contre Daech : ce qu'il faut retenir",
           "En direct : réunion ministérielle de la coalition contre l'État islamique à {city}"],
    "es": ["La Coalición Global contra Daesh se reúne en {city}",
           "Cumbre de la coalición contra el ISIS: lo que hay que saber",
           "En directo: reunión ministerial de la coalición internacional contra el Estado Islámico en {city}"],
    "de": ["Anti-IS-Koalition: Außenminister beraten in {city}",
           "Gipfel der Koalition gegen den IS: Was beschlossen wurde",
           "Liveblog: Ministertreffen der Anti-IS-Koalition in {city}"],
}
NEUTRAL_HEADLINES = {
    "en": ["Heatwave grips the south as temperatures break records", "Central bank holds interest rates steady",
           "The ten best beaches you have never heard of", "Opinion: the housing crisis needs bolder answers",
           "Train strike to go ahead next week", "Recipe: a quick weeknight pasta"],
    "fr": ["Canicule : des records de chaleur battus dans le Sud", "La banque centrale maintient ses taux",
           "Les dix plus belles plages méconnues", "Tribune : la crise du logement appelle des réponses fortes",
           "Grève des trains maintenue la semaine prochaine"],
    "es": ["Ola de calor: récords de temperatura en el sur", "El banco central mantiene los tipos de interés",
           "Las diez mejores playas que no conoces", "Opinión: la crisis de la vivienda exige respuestas",
           "La huelga de trenes sigue adelante la próxima semana"],
    "de": ["Hitzewelle: Temperaturrekorde im Süden", "Zentralbank lässt Leitzins unverändert",
           "Die zehn schönsten unbekannten Strände", "Meinung: Die Wohnungskrise braucht mutigere Antworten",
           "Bahnstreik findet nächste Woche statt"],
}
NAV = {
    "en": ["Home", "World", "Politics", "Business", "Sport", "Culture", "Opinion", "Middle East", "Africa",
           "Dossier: ISIS", "Coalition against Daesh", "Summits", "Video", "Podcasts", "Newsletters", "Subscribe"],
    "fr": ["Accueil", "International", "Politique", "Économie", "Sport", "Culture", "Idées", "Afrique",
           "Dossier : Daech", "Coalition contre l'État islamique", "Sommets", "Vidéos", "Podcasts", "S'abonner"],
    "es": ["Portada", "Internacional", "Política", "Economía", "Deportes", "Cultura", "Opinión", "África",
           "Especial: ISIS", "Coalición contra Daesh", "Cumbres", "Vídeos", "Podcasts", "Suscríbete"],
    "de": ["Startseite", "Ausland", "Politik", "Wirtschaft", "Sport", "Kultur", "Meinung", "Afrika",
           "Dossier: IS", "Anti-IS-Koalition", "Gipfeltreffen", "Videos", "Podcasts", "Abo"],
}
MOST_READ = {"en": "Most read", "fr": "Les plus lus", "es": "Lo más leído", "de": "Meistgelesen"}
READ_ALSO = {"en": "Read more", "fr": "Lire aussi", "es": "Lea también", "de": "Mehr zum Thema"}
FOOTER = {
    "en": (["About us", "Contact", "Privacy policy", "Cookie settings", "Careers", "Advertise"],
           "Topics: ISIS · Daesh · Global Coalition · Summits · Terrorism"),
    "fr": (["Qui sommes-nous", "Contact", "Confidentialité", "Gestion des cookies", "Recrutement", "Publicité"],
           "Thèmes : Daech · État islamique · Coalition · Sommets · Terrorisme"),
    "es": (["Quiénes somos", "Contacto", "Privacidad", "Configurar cookies", "Empleo", "Publicidad"],
           "Temas: ISIS · Daesh · Coalición global · Cumbres · Terrorismo"),
    "de": (["Über uns", "Kontakt", "Datenschutz", "Cookie-Einstellungen", "Karriere", "Werbung"],
           "Themen: IS · Daesh · Anti-IS-Koalition · Gipfeltreffen · Terrorismus"),
}
COOKIE = {
    "en": "We and our 842 partners use cookies and similar technologies to store and access information on your device, to measure audiences and to show you personalised advertising. You can change your choices at any time under Cookie settings.",
    "fr": "Nous et nos 842 partenaires utilisons des cookies et technologies similaires pour stocker et consulter des informations sur votre appareil, mesurer l'audience et vous proposer de la publicité personnalisée. Vous pouvez modifier vos choix à tout moment.",
    "es": "Nosotros y nuestros 842 socios usamos cookies y tecnologías similares para almacenar y acceder a información en su dispositivo, medir la audiencia y mostrarle publicidad personalizada. Puede cambiar su elección en cualquier momento.",
    "de": "Wir und unsere 842 Partner verwenden Cookies und ähnliche Technologien, um Informationen auf Ihrem Gerät zu speichern und abzurufen, Reichweite zu messen und personalisierte Werbung anzuzeigen. Sie können Ihre Wahl jederzeit ändern.",
}
ACCEPT = {"en": "Accept all", "fr": "Tout accepter", "es": "Aceptar todo", "de": "Alle akzeptieren"}
COMMENTS_HEAD = {"en": "{n} comments", "fr": "{n} commentaires", "es": "{n} comentarios", "de": "{n} Kommentare"}
COMMENTS = {
    "en": ["Another coalition summit against ISIS, another photo opportunity. Wake me up when something changes.",
           "Great reporting as always, thank you.",
           "Does anyone know if the Daesh ministerial meeting will be streamed? I could not find it anywhere.",
           "I live in {city} and the traffic was a nightmare all week, honestly.",
           "The coalition against Daesh has held a ministerial meeting every year since 2014 and the camps are still full.",
           "First!",
           "Why is nobody talking about the cost of all these summits?"],
    "fr": ["Encore un sommet de la coalition contre Daech, encore une photo de famille. Réveillez-moi quand quelque chose change.",
           "Merci pour cet article très clair.",
           "Quelqu'un sait si la réunion ministérielle contre Daech sera retransmise ?",
           "J'habite à {city}, la circulation était infernale toute la semaine.",
           "Pourquoi personne ne parle du coût de tous ces sommets ?"],
    "es": ["Otra cumbre de la coalición contra el ISIS, otra foto de familia. Avísenme cuando algo cambie.",
           "Gracias por el artículo, muy claro.",
           "¿Alguien sabe si la reunión ministerial contra Daesh se podrá ver en directo?",
           "Vivo en {city} y el tráfico fue un infierno toda la semana.",
           "¿Por qué nadie habla del coste de todas estas cumbres?"],
    "de": ["Wieder ein Gipfel der Anti-IS-Koalition, wieder ein Gruppenfoto. Weckt mich, wenn sich etwas ändert.",
           "Danke für den guten Artikel.",
           "Weiß jemand, ob das Ministertreffen gegen den IS übertragen wird?",
           "Ich wohne in {city}, der Verkehr war die ganze Woche eine Katastrophe.",
           "Warum redet niemand über die Kosten all dieser Gipfel?"],
}
AUTHORS = ["Maria Lindqvist", "Karim Benali", "Sofía Ortega", "Jonas Weber", "Aisha Mensah", "Paul Dubois",
           "Elena Rossi", "Tom Hartley", "Lucía Navarro", "Claire Martin", "Felix Braun", "Omar Haddad"]
SITES = {"en": ["The Morning Ledger", "Daily Dispatch", "The World Desk", "Evening Courier"],
         "fr": ["Le Courrier du Matin", "La Dépêche Internationale", "Le Quotidien du Monde"],
         "es": ["El Diario Central", "La Crónica Internacional", "El Mirador"],
         "de": ["Die Morgenpost", "Der Weltbote", "Abendkurier"]}
SECTIONS = {"en": "world", "fr": "international", "es": "internacional", "de": "ausland"}
REF = {"en": "Reference:", "fr": "Référence :", "es": "Referencia:", "de": "Referenz:"}
LAYOUTS = ["article", "story-div", "blocks", "br-text"]
LAYOUT_WEIGHTS = [40, 30, 18, 12]


# ---------------------------------------------------------------------------
# Corpus


def slugify(text):
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")


def norm_text(s):
    """Lowercase, unescape, tags out, whitespace collapsed (for containment tests)."""
    s = html.unescape(re.sub(r"<[^>]+>", " ", s or ""))
    s = s.replace("\u2019", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", s).strip().lower()


def pick_countries(rng, lang):
    i = LANGS.index(lang)
    a, b = rng.sample(COUNTRIES, 2)
    if lang == "de" and a[0] == "the United States":  # "den USA" only reads well second
        a, b = b, a
    return a[i], b[i]


def fill(template, ctx):
    return template.format(**ctx)


def make_corpus(nfeeds, nitems, seed, positive_share):
    """Feeds and stories, without URLs (they depend on the server's port)."""
    rng = random.Random(seed)
    cycle = ["en", "fr", "es", "de", "en", "en", "fr", "es", "en", "de"]
    langs = [cycle[i % len(cycle)] for i in range(nfeeds)]
    total = nfeeds * nitems
    npos = round(total * positive_share)
    labels = [True] * npos + [False] * (total - npos)
    rng.shuffle(labels)
    feeds, stories, used_titles = [], [], set()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for f, lang in enumerate(langs):
        li = LANGS.index(lang)
        site = rng.choice(SITES[lang]) + (f" {f}" if f >= len(SITES[lang]) else "")
        feed = {"index": f, "lang": lang, "site": site, "path": f"/feeds/{f:02d}/rss.xml", "stories": []}
        for j in range(nitems):
            n = len(stories)
            positive = labels[n]
            kind = "positive" if positive else rng.choice(DECOY_KINDS)
            city = rng.choice(CITIES)[li]
            c1, c2 = pick_countries(rng, lang)
            t1, t2 = rng.sample(TEAMS[lang], 2)
            ctx = {"city": city, "weekday": rng.choice(WEEKDAYS[lang]), "k": rng.randint(12, 86),
                   "c1": c1, "c2": c2, "t1": t1, "t2": t2}
            title_pool = FOOTBALL_TITLES[lang] if kind == "football" else TITLES[lang]
            for _ in range(200):
                title = fill(rng.choice(title_pool), ctx)
                title = title[0].upper() + title[1:]
                if title.lower() not in used_titles:
                    break
                ctx["city"] = rng.choice(CITIES)[li]
                ctx["k"] = rng.randint(12, 86)
            else:
                title = f"{title} ({n})"
            used_titles.add(title.lower())
            summary_pool = FOOTBALL_SUMMARIES[lang] if kind == "football" else SUMMARIES[lang]
            summary = fill(rng.choice(summary_pool), ctx)
            # Body sentences: facts first-ish, then support and filler.
            if positive:
                facts = [fill(rng.choice(PLANTS[lang]), ctx)]
                support = [fill(s, ctx) for s in rng.sample(POS_SUPPORT[lang], rng.randint(2, 4))]
                filler = [fill(s, ctx) for s in rng.sample(FILLER[lang], rng.randint(6, 9))]
            else:
                dfacts, dsupport = DECOYS[kind][lang]
                facts = [fill(s, ctx) for s in dfacts]
                support = [fill(s, ctx) for s in dsupport]
                bank = FOOTBALL_FILLER[lang] if kind == "football" else FILLER[lang]
                filler = [fill(s, ctx) for s in rng.sample(bank, min(len(bank), rng.randint(4, 8)))]
            rest = support + filler
            rng.shuffle(rest)
            # The facts open the story or come in its second or third paragraph.
            sentences = rest[:]
            at = rng.choice([0, 0, 1, 2, 3, 4])
            at = min(at, len(sentences))
            sentences[at:at] = facts
            paras, i = [], 0
            while i < len(sentences):
                k = rng.choice([1, 2, 2, 3])
                paras.append(sentences[i:i + k])
                i += k
            marker = f"{MARK}-{n:05d}"
            mid = len(paras) // 2
            paras[mid] = paras[mid] + [f"{REF[lang]} {marker}."]
            paras = [" ".join(p) for p in paras]
            published = now - timedelta(minutes=rng.randint(5, 20 * 60))
            slug = slugify(title) or "story"
            ext = rng.choice([".html", ".html", ""])
            path = f"/{SECTIONS[lang]}/{published:%Y/%m/%d}/{slug}-{n:05d}{ext}"
            story = {"n": n, "feed": f, "lang": lang, "positive": positive, "kind": kind, "title": title,
                     "summary": summary, "paragraphs": paras, "marker": marker, "path": path,
                     "utm": rng.random() < 0.2, "published": published, "ctx": ctx,
                     "layout": rng.choices(LAYOUTS, weights=LAYOUT_WEIGHTS)[0],
                     "seed": rng.randrange(1 << 30)}
            stories.append(story)
            feed["stories"].append(story)
        feeds.append(feed)
    return feeds, stories


# ---------------------------------------------------------------------------
# Documents


def story_link(base, s):
    return base + s["path"] + ("?utm_source=rss&utm_medium=feed" if s["utm"] else "")


def feed_xml(base, feed):
    lang = feed["lang"]
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>',
           f"<title>{xml_escape(feed['site'])} - {SECTIONS[lang].title()}</title>",
           f"<link>{base}/</link>",
           f"<description>{xml_escape(feed['site'])}: latest headlines</description>",
           f"<language>{lang}</language>\n"]
    for s in sorted(feed["stories"], key=lambda s: s["published"], reverse=True):
        out.append(
            f"<item><title>{xml_escape(s['title'])}</title>"
            f"<link>{xml_escape(story_link(base, s))}</link>"
            f"<guid isPermaLink=\"false\">ftbench-{s['n']:05d}</guid>"
            f"<pubDate>{format_datetime(s['published'], usegmt=True)}</pubDate>"
            f"<description>{xml_escape(s['summary'])}</description></item>\n")
    out.append("</channel></rss>\n")
    return "".join(out)


def page_html(feed, s, all_stories):
    """A realistic news page for story s; also the boilerplate snippets it carries."""
    rng = random.Random(s["seed"])
    lang, li = s["lang"], LANGS.index(s["lang"])
    e = lambda text: html.escape(text, quote=False)  # noqa: E731  (text nodes)
    q = html.escape  # attribute values
    other_city = rng.choice(CITIES)[li]
    traps = [fill(t, {"city": other_city}) for t in TRAPS[lang]]
    snippets = {}

    nav_items = NAV[lang]
    nav = "".join(f'<li><a href="/{slugify(x) or "home"}/">{e(x)}</a></li>' for x in nav_items)
    snippets["nav"] = " ".join(nav_items[8:11])  # the dossier links, in a row
    header = (f'<header class="site-header"><div class="top-bar"><a class="logo" href="/">{e(feed["site"])}</a>'
              f'<form class="search" action="/search"><input name="q" placeholder="Search"></form>'
              f'<a class="login" href="/account">Log in</a></div>'
              f'<nav class="main-nav" aria-label="Sections"><ul>{nav}</ul></nav></header>')
    crumbs = (f'<nav class="breadcrumbs"><a href="/">{e(nav_items[0])}</a> &rsaquo; '
              f'<a href="/{SECTIONS[lang]}/">{e(nav_items[1])}</a></nav>')

    heads = rng.sample(traps, 2) + rng.sample(NEUTRAL_HEADLINES[lang], 4)
    rng.shuffle(heads)
    same = [o for o in all_stories if o["lang"] == lang and o["n"] != s["n"]] or all_stories
    others = rng.sample(same, min(3, len(same)))
    snippets["sidebar"] = heads[0]
    most = "".join(f'<li><a href="/{SECTIONS[lang]}/{slugify(h)}-{rng.randint(10000, 99999)}.html">{e(h)}</a></li>'
                   for h in heads)
    more = "".join(f'<li><a href="{o["path"]}">{e(o["title"])}</a></li>' for o in others)
    rail_tag = rng.choice(["aside", "div"])
    sidebar = (f'<{rail_tag} class="sidebar rail"><section class="most-read"><h2>{MOST_READ[lang]}</h2>'
               f'<ol>{most}</ol></section><section class="more-news"><ul>{more}</ul></section>'
               f'<div class="ad ad-mpu">Advertisement</div></{rail_tag}>')

    chatter = [fill(c, {"city": other_city}) for c in COMMENTS[lang]]
    picked = rng.sample(chatter, rng.randint(3, len(chatter)))
    snippets["comments"] = max(picked, key=len)
    comments = "".join(
        f'<div class="comment" id="c{rng.randint(100000, 999999)}"><div class="comment-meta">'
        f'<span class="author">{e(rng.choice(["reader", "anon", "mk", "jules", "citizen"]))}{rng.randint(1, 999)}</span> '
        f'<time>{rng.randint(1, 23)}h</time></div><p class="comment-body">{e(c)}</p>'
        f'<a class="reply" href="#">Reply</a></div>' for c in picked)
    comments = (f'<section id="comments" class="comments"><h3>{COMMENTS_HEAD[lang].format(n=len(picked) * 7)}</h3>'
                f'{comments}</section>')

    links, topics = FOOTER[lang]
    snippets["footer"] = topics
    footer = ('<footer class="site-footer"><ul class="footer-links">'
              + "".join(f'<li><a href="/{slugify(x)}/">{e(x)}</a></li>' for x in links)
              + f'</ul><p class="topics">{e(topics)}</p>'
              f'<p class="copyright">&copy; {s["published"].year} {e(feed["site"])}</p></footer>')

    snippets["cookie"] = COOKIE[lang]
    cookie = (f'<div id="cookie-consent" class="cookie-banner" role="dialog"><p>{e(COOKIE[lang])}</p>'
              f'<button>{ACCEPT[lang]}</button> <a href="/cookies">Cookie settings</a></div>')

    related = ""
    if rng.random() < 0.3:
        rel = rng.choice(traps)
        snippets["related"] = rel
        related = (f'<aside class="related-links"><h4>{READ_ALSO[lang]}</h4><ul>'
                   f'<li><a href="/{SECTIONS[lang]}/{slugify(rel)}.html">{e(rel)}</a></li></ul></aside>')
    state = json.dumps({"page": {"section": SECTIONS[lang]}, "trending": traps[:2]}, ensure_ascii=False)
    script = f"<script>window.__INITIAL_STATE__ = {state};</script>"

    title, summary = e(s["title"]), e(s["summary"])
    title_attr, summary_attr = q(s["title"]), q(s["summary"])
    author = rng.choice(AUTHORS)
    when = s["published"].isoformat()
    byline = (f'<div class="byline">By <a rel="author" href="/authors/{slugify(author)}">{e(author)}</a> '
              f'<time datetime="{when}">{s["published"]:%d %b %Y, %H:%M}</time></div>')
    paras = s["paragraphs"]
    ad = '<div class="ad-slot" data-ad="inline">Advertisement</div>'
    fig = (f'<figure class="lead-image"><img src="/img/{s["n"]:05d}.jpg" alt="{title_attr}" width="1200" height="675">'
           f'<figcaption>{e(s["ctx"]["city"])}. Photo: agency</figcaption></figure>')
    layout = s["layout"]
    if layout == "article":
        body = []
        for i, p in enumerate(paras):
            body.append(f"<p>{e(p)}</p>")
            if i == 1 and related:
                body.append(related)
            if i == 2:
                body.append(ad)
        story = (f'<article class="article"><header class="article-header"><p class="kicker">{e(nav_items[1])}</p>'
                 f'<h1>{title}</h1><p class="standfirst">{summary}</p>{byline}</header>{fig}'
                 f'<div class="article-body">{"".join(body)}</div>'
                 f'<div class="share-tools">Share: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">Email</a></div>'
                 f'</article>')
    elif layout == "story-div":
        body = "".join(f"<p>{e(p)}</p>" + (related if i == 1 else "") for i, p in enumerate(paras))
        story = f'<div class="story"><h1 class="headline">{title}</h1>{byline}{fig}{body}</div>'
    elif layout == "blocks":  # split across several containers, with ads between
        blocks, i = [], 0
        while i < len(paras):
            k = rng.choice([1, 2])
            blocks.append('<div class="text-block">' + "".join(f"<p>{e(p)}</p>" for p in paras[i:i + k]) + "</div>")
            i += k
        story = (f'<section class="content"><h1>{title}</h1><p class="intro"><strong>{summary}</strong></p>{byline}'
                 + (related if related else "") + ad.join(blocks) + "</section>")
    else:  # one block of text split by <br><br>
        story = (f'<div class="story"><h1>{title}</h1>{byline}<div class="story-text">'
                 + "<br><br>\n".join(e(p) for p in paras) + (related if related else "") + "</div></div>")

    cookie_top = rng.random() < 0.5
    page = (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            f'<title>{title} | {e(feed["site"])}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="description" content="{summary_attr}">'
            f'<meta property="og:type" content="article"><meta property="og:title" content="{title_attr}">'
            f'<meta property="og:description" content="{summary_attr}">'
            f'<link rel="stylesheet" href="/static/site.css">'
            f'<script type="application/ld+json">'
            + json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": s["title"],
                          "datePublished": when, "author": {"@type": "Person", "name": author},
                          "inLanguage": lang}, ensure_ascii=False).replace("</", "<\\/")
            + "</script></head>\n<body>"
            + (cookie if cookie_top else "") + header + crumbs
            + f'<main id="main" class="layout"><div class="col-main">{story}{comments}</div>{sidebar}</main>'
            + footer + script + ("" if cookie_top else cookie) + "</body></html>\n")
    return page, snippets


class VisibleText(HTMLParser):
    """Every visible word of a page (what storing the page without extraction would give)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip, self.out = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript", "template"):
            self.skip += 1
        elif tag in ("p", "br", "li", "div", "h1", "h2", "h3", "h4", "section", "article", "footer", "header"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript", "template") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)

    @classmethod
    def of(cls, doc):
        p = cls()
        p.feed(doc)
        p.close()
        return re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n\n", "".join(p.out))).strip()


# ---------------------------------------------------------------------------
# Server


class State:
    def __init__(self, delay_s):
        self.routes = {}  # path -> (content type, bytes, kind)
        self.delay = delay_s
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.counts = {"feed": 0, "page": 0, "other": 0, "missing": 0}
            self.pages = {}  # path -> GETs
            self.unknown = {}
            self.first_page = self.last_page = None

    def record(self, path, kind, method):
        now = time.monotonic()
        with self.lock:
            if kind is None:
                self.counts["missing"] += 1
                self.unknown[path] = self.unknown.get(path, 0) + 1
                return
            self.counts[kind] += 1
            if kind == "page" and method == "GET":
                self.pages[path] = self.pages.get(path, 0) + 1
                if self.first_page is None:
                    self.first_page = now
                self.last_page = now

    def snapshot(self):
        with self.lock:
            return {"counts": dict(self.counts), "pages": dict(self.pages), "unknown": dict(self.unknown),
                    "first_page": self.first_page, "last_page": self.last_page}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ftbench/1"

    def do_GET(self):
        self._serve(True)

    def do_HEAD(self):
        self._serve(False)

    def _serve(self, with_body):
        st = self.server.state
        path = urlsplit(self.path).path
        entry = st.routes.get(path)
        st.record(path, entry[2] if entry else None, self.command)
        if entry is None:
            ctype, data, status = "text/plain; charset=utf-8", b"not found\n", 404
        else:
            ctype, data, kind = entry
            status = 200
            if kind == "page" and st.delay:
                time.sleep(st.delay)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=60")
        self.end_headers()
        if with_body:
            self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def start_server(delay_s):
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(delay_s)
    threading.Thread(target=srv.serve_forever, name="ftbench-http", daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def build_site(base, feeds, stories):
    """Routes for the server, and each story's boilerplate snippets."""
    routes, snippets = {}, {}
    routes["/robots.txt"] = ("text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n", "other")
    for feed in feeds:
        routes[feed["path"]] = ("application/rss+xml; charset=utf-8", feed_xml(base, feed).encode(), "feed")
    for s in stories:
        doc, snips = page_html(feeds[s["feed"]], s, stories)
        routes[s["path"]] = ("text/html; charset=utf-8", doc.encode(), "page")
        snippets[s["n"]] = snips
    return routes, snippets


# ---------------------------------------------------------------------------
# Runs


def config_text(args, base, feeds, db, full_text):
    rules = json.dumps(args.rules)
    out = [f"rules = [{rules}]", "",
           "[storage]", f"path = {json.dumps(str(db))}", "",
           "[http]", 'user_agent = "newswatch-fulltext-bench/1"', 'timeout = "30s"', 'connect_timeout = "5s"',
           "concurrency = 32", "per_host = 8", 'host_spacing = "0s"', "",
           "[poll]", 'backfill = "3650d"', ""]
    if full_text is not None:
        out += ["[full_text]", f"enabled = {'true' if full_text else 'false'}", f"min_words = {args.min_words}",
                f"timeout = {json.dumps(args.ft_timeout)}", f"per_minute = {args.per_minute}",
                "allow_private = false", ""]
    for feed in feeds:
        out += ["[[feed]]", f"url = {json.dumps(base + feed['path'])}", f"name = {json.dumps(feed['site'])}",
                f"tags = [{json.dumps(feed['lang'])}]", ""]
    out += ["[[sink]]", 'name = "log"', 'kind = "log"', ""]
    return "\n".join(out)


def child_env():
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy")
           and k not in ("NEWSWATCH_CONFIG", "STATE_DIRECTORY")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.setdefault("RUST_LOG", "info")
    env["NO_COLOR"] = "1"
    return env


def tail(path, n=25):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + x for x in lines[-n:])


def run_child(cmd, out_path, err_path, timeout, stdin_data=None):
    """Runs cmd in its own session; kills that session on timeout. (rc or None, wall seconds)."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=child_env(), start_new_session=True,
                                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL)
        try:
            if stdin_data is not None:
                try:
                    proc.stdin.write(stdin_data)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
        finally:
            if proc.poll() is None:
                for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(proc.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        proc.wait(timeout=grace)
                        break
                    except subprocess.TimeoutExpired:
                        continue
        return rc, time.monotonic() - t0


ID_RE = re.compile(r"-(\d{5})(?:\.html)?(?:[?#]|$)")
KEY_RE = re.compile(r"ftbench-(\d{5})")


def analyse_db(db, stories, snippets):
    """Per story: stored?, content, watches fired. Raises RuntimeError with a reason."""
    if not db.exists():
        raise RuntimeError(f"no database at {db}")
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        arts = con.execute("SELECT id, item_key, url, content FROM articles").fetchall()
        fired = {}
        for aid, watch in con.execute("SELECT article_id, watch FROM matches"):
            fired.setdefault(aid, set()).add(watch)
        con.close()
    except sqlite3.Error as err:
        raise RuntimeError(f"cannot read {db}: {err}") from err
    found = {}
    for aid, key, url, content in arts:
        m = ID_RE.search(urlsplit(url or "").path + "#") if url else None
        m = m or KEY_RE.search(key or "")
        if m is None:
            continue
        n = int(m.group(1))
        if 0 <= n < len(stories):
            found[n] = {"content": content or "", "watches": fired.get(aid, set())}
    r = {"stored": 0, "extracted": 0, "complete": 0, "with_content": 0, "content_words": 0,
         "leaks": {}, "leaked_pages": 0, "pos": 0, "neg": 0, "cm_tp": 0, "cm_fp": 0, "fl_tp": 0, "fl_fp": 0,
         "missed": [], "false_pos": []}
    for s in stories:
        n = s["n"]
        if s["positive"]:
            r["pos"] += 1
        else:
            r["neg"] += 1
        a = found.get(n)
        if a is None:
            continue
        r["stored"] += 1
        text = norm_text(a["content"])
        if text:
            r["with_content"] += 1
            r["content_words"] += len(text.split())
        marker = s["marker"].lower()
        if marker in text or re.search(rf"storymark[\s_\-]*{n:05d}\b", text):
            r["extracted"] += 1
            first = " ".join(norm_text(s["paragraphs"][0]).split()[:8])
            last = " ".join(norm_text(s["paragraphs"][-1]).split()[:8])
            if first in text and last in text:
                r["complete"] += 1
        leaked = False
        for block, snip in snippets[n].items():
            if norm_text(snip) in text:
                r["leaks"][block] = r["leaks"].get(block, 0) + 1
                leaked = True
        r["leaked_pages"] += leaked
        cm, flagged = WATCH in a["watches"], bool(a["watches"])
        if s["positive"]:
            r["cm_tp"] += cm
            r["fl_tp"] += flagged
            if not cm:
                r["missed"].append(n)
        else:
            r["cm_fp"] += cm
            r["fl_fp"] += flagged
            if flagged:
                r["false_pos"].append(n)
    if r["with_content"]:
        r["content_words"] = round(r["content_words"] / r["with_content"])
    return r


def run_mode(args, binary, base, feeds, stories, snippets, srv, work, mode, with_section):
    d = work / f"run-{mode}"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    db = d / "newswatch.db"
    cfg = d / "newswatch.toml"
    cfg.write_text(config_text(args, base, feeds, db, (mode == "on") if with_section else None))
    log(f"[{mode}] newswatch once (full text {'enabled' if mode == 'on' else 'disabled'}"
        f"{'' if with_section else ', no [full_text] section'}) ...")
    srv.state.reset()
    rc, wall = run_child([str(binary), "--config", str(cfg), "once"], d / "stdout.txt", d / "stderr.txt",
                         args.timeout)
    snap = srv.state.snapshot()
    res = {"mode": mode, "exit_code": rc, "timed_out": rc is None, "wall_s": round(wall, 3),
           "feed_requests": snap["counts"]["feed"], "page_requests": snap["counts"]["page"],
           "pages_fetched": len(snap["pages"]), "page_gets": sum(snap["pages"].values()),
           "not_found": snap["unknown"], "dir": str(d)}
    if snap["first_page"] is not None:
        res["page_window_s"] = round(snap["last_page"] - snap["first_page"], 3)
    res["pages_per_s"] = round(res["pages_fetched"] / wall, 2) if wall > 0 else 0.0
    res["ok"] = rc in (0, 75)
    if not res["ok"]:
        why = "timed out after %ds and was killed" % args.timeout if rc is None else f"exited {rc}"
        log(f"[{mode}] newswatch {why}; last lines of {d / 'stderr.txt'}:\n{tail(d / 'stderr.txt')}")
    try:
        res["db"] = analyse_db(db, stories, snippets)
    except RuntimeError as err:
        res["db_error"] = str(err)
        res["ok"] = False
        log(f"[{mode}] {err}")
    return res


def preflight(binary, work, args, base, feeds):
    """`newswatch check` on the full-text config: (section accepted?, error text)."""
    d = work / "check"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cfg = d / "newswatch.toml"
    cfg.write_text(config_text(args, base, feeds, d / "newswatch.db", True))
    rc, _ = run_child([str(binary), "--config", str(cfg), "check"], d / "stdout.txt", d / "stderr.txt", 60)
    if rc == 0:
        return True, ""
    text = (d / "stderr.txt").read_text(errors="replace") + (d / "stdout.txt").read_text(errors="replace")
    if rc == 78 and re.search(r"unknown key[^\n]*full_text|full_text[^\n]*unknown", text):
        return False, text
    raise SystemExit(fail(1, f"`newswatch check` refused the bench config (exit {rc}):\n{tail(d / 'stderr.txt', 40)}"
                            f"\n  config: {cfg}"))


def oracle(binary, work, args, base, feeds, stories, routes):
    """What the rules fire on feed text, feed text + clean body, feed text + whole page (no HTTP)."""
    d = work / "oracle"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    cfg = d / "newswatch.toml"
    cfg.write_text(config_text(args, base, feeds[:1], d / "unused.db", None))
    variants = {"feed": lambda s: "", "ideal": lambda s: "\n\n".join(s["paragraphs"]),
                "page": lambda s: VisibleText.of(routes[s["path"]][1].decode())}
    lines = []
    for v, content in variants.items():
        for s in stories:
            lines.append(json.dumps({"id": f"{v}:{s['n']}", "title": s["title"], "summary": s["summary"],
                                     "content": content(s), "lang": s["lang"]}, ensure_ascii=False))
    rc, _ = run_child([str(binary), "--config", str(cfg), "test-rules", "--jsonl"], d / "out.jsonl",
                      d / "stderr.txt", 120, ("\n".join(lines) + "\n").encode())
    if rc != 0:
        log(f"[oracle] `newswatch test-rules --jsonl` exited {rc}; skipped:\n{tail(d / 'stderr.txt')}")
        return None
    fired = {}
    for line in (d / "out.jsonl").read_text().splitlines():
        try:
            o = json.loads(line)
        except ValueError:
            continue
        ws = {w.get("name") if isinstance(w, dict) else w for w in o.get("watches") or []}
        fired[str(o.get("id"))] = ws
    if not any(k.startswith("ideal:") for k in fired):
        log(f"[oracle] `newswatch test-rules --jsonl` gave no result for the corpus; skipped ({d / 'out.jsonl'})")
        return None
    out = {}
    for v in variants:
        r = {"cm_tp": 0, "cm_fp": 0, "fl_tp": 0, "fl_fp": 0, "missed": [], "false_pos": []}
        for s in stories:
            ws = fired.get(f"{v}:{s['n']}", set())
            cm = WATCH in ws
            if s["positive"]:
                r["cm_tp"] += cm
                r["fl_tp"] += bool(ws)
                if not cm:
                    r["missed"].append(s["n"])
            else:
                r["cm_fp"] += cm
                r["fl_fp"] += bool(ws)
                if ws:
                    r["false_pos"].append(s["n"])
        out[v] = r
    return out


# ---------------------------------------------------------------------------
# Report


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fail(code, msg):
    log("fulltext bench: " + msg)
    return code


def frac(a, b):
    return f"{a}/{b} {100.0 * a / b:5.1f}%" if b else f"{a}/0"


def report(meta, runs, orc):
    pos, neg, n = meta["positives"], meta["negatives"], meta["stories"]
    lines = [f"newswatch full-text bench: {meta['feeds']} feeds x {meta['items']} items = {n} stories "
             f"({pos} positive, {neg} decoys; {meta['langs']}), seed {meta['seed']}",
             f"binary {meta['binary']}; server {meta['base']}; [full_text] min_words={meta['min_words']} "
             f"timeout={meta['ft_timeout']} per_minute={meta['per_minute']}; page delay {meta['page_delay_ms']} ms",
             ""]
    cols = [r["mode"] for r in runs]
    head = {"on": "full text on", "off": "full text off"}
    rows = [("", [head.get(c, c) for c in cols])]

    def row(label, f):
        rows.append((label, [f(r) for r in runs]))

    row("exit code", lambda r: "timeout" if r["timed_out"] else str(r["exit_code"]))
    row("wall time (s)", lambda r: f"{r['wall_s']:.2f}")
    row("feed requests", lambda r: str(r["feed_requests"]))
    row("article pages fetched", lambda r: f"{r['pages_fetched']}/{n}" + (
        f" ({r['page_gets']} GETs)" if r["page_gets"] != r["pages_fetched"] else ""))
    row("pages/s", lambda r: f"{r['pages_per_s']:.1f}")
    db = lambda r, f: f(r["db"]) if "db" in r else "n/a"  # noqa: E731
    row("stories stored", lambda r: db(r, lambda d: frac(d["stored"], n)))
    row("body extracted (marker)", lambda r: db(r, lambda d: frac(d["extracted"], n)))
    row("  whole body (1st+last para)", lambda r: db(r, lambda d: frac(d["complete"], n)))
    row("  mean words in content", lambda r: db(r, lambda d: str(d["content_words"])))
    row("boilerplate leaked (pages)", lambda r: db(r, lambda d: frac(d["leaked_pages"], n)))
    for block in ("nav", "sidebar", "comments", "footer", "cookie", "related"):
        row(f"  {block}", lambda r, b=block: db(r, lambda d: str(d["leaks"].get(b, 0))))
    row(f"{WATCH} recall", lambda r: db(r, lambda d: frac(d["cm_tp"], pos)))
    row(f"{WATCH} false pos.", lambda r: db(r, lambda d: frac(d["cm_fp"], neg)))
    row("flagged recall", lambda r: db(r, lambda d: frac(d["fl_tp"], pos)))
    row("flagged false pos.", lambda r: db(r, lambda d: frac(d["fl_fp"], neg)))
    w0 = max(len(r[0]) for r in rows)
    w = [max(len(r[1][i]) for r in rows) for i in range(len(cols))]
    for label, vals in rows:
        lines.append(f"{label:<{w0}}  " + "  ".join(f"{v:>{w[i]}}" for i, v in enumerate(vals)))
    lines.append("")
    by = {r["mode"]: r for r in runs}
    on, off = by.get("on"), by.get("off")
    if on and off and on["ok"] and off["ok"]:
        if off["wall_s"] > 0:
            lines.append(f"wall time, on / off:            {on['wall_s'] / off['wall_s']:.2f}x "
                         f"({on['wall_s']:.2f} s vs {off['wall_s']:.2f} s)")
        if on["pages_fetched"]:
            extra = (on["wall_s"] - off["wall_s"]) / on["pages_fetched"] * 1000
            lines.append(f"extra time per page fetched:    {extra:.1f} ms "
                         f"(article fetch window {on.get('page_window_s', 0):.2f} s)")
        if "db" in on and "db" in off and pos:
            a, b = off["db"]["cm_tp"] / pos, on["db"]["cm_tp"] / pos
            lines.append(f"{WATCH} recall, off -> on: {100 * a:.1f}% -> {100 * b:.1f}% ({100 * (b - a):+.1f} points)")
            lines.append(f"{WATCH} false pos., off -> on: {off['db']['cm_fp']} -> {on['db']['cm_fp']} of {neg}; "
                         f"flagged false pos.: {off['db']['fl_fp']} -> {on['db']['fl_fp']}")
    if orc:
        lines.append("")
        lines.append("rules oracle (newswatch test-rules on the generated text, no HTTP):")
        names = {"feed": "title + summary only", "ideal": "+ clean story body (perfect extraction)",
                 "page": "+ every visible word of the page (no extraction)"}
        for v, r in orc.items():
            lines.append(f"  {names[v]:<48} {WATCH} recall {frac(r['cm_tp'], pos)}, false pos. {frac(r['cm_fp'], neg)}; "
                         f"flagged false pos. {r['fl_fp']}")
        if orc["ideal"]["missed"] or orc["ideal"]["false_pos"]:
            lines.append(f"  (corpus check: ideal misses {orc['ideal']['missed'][:10]}, "
                         f"ideal false positives {orc['ideal']['false_pos'][:10]})")
    for r in runs:
        if r.get("not_found"):
            top = sorted(r["not_found"].items(), key=lambda kv: -kv[1])[:5]
            lines.append(f"[{r['mode']}] requests for unknown paths: {top}")
        if "db" in r and r["db"]["stored"] < n:
            lines.append(f"[{r['mode']}] {n - r['db']['stored']} stories not found in the articles table "
                         f"(stored as sightings of another story, or not read)")
    for note in meta.get("notes", []):
        lines.append("note: " + note)
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", help="the newswatch binary (required unless --serve-only / --dump)")
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--items", type=int, default=25, help="items per feed")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--positive-share", type=float, default=0.4)
    ap.add_argument("--rules", default=str(REPO / "config" / "rules" / "*.toml"),
                    help="rule pack glob (default: the shipped packs)")
    ap.add_argument("--min-words", type=int, default=80)
    ap.add_argument("--ft-timeout", default="10s", help="[full_text] timeout")
    ap.add_argument("--per-minute", type=int, default=100000, help="[full_text] per_minute")
    ap.add_argument("--page-delay-ms", type=int, default=0, help="server delay before each article page")
    ap.add_argument("--timeout", type=int, default=300, help="seconds before a run is killed")
    ap.add_argument("--work", default="/tmp/fulltext-bench")
    ap.add_argument("--modes", default="on,off", help="runs, in order (on, off)")
    ap.add_argument("--no-oracle", action="store_true", help="skip the test-rules oracle")
    ap.add_argument("--no-copy", action="store_true", help="run the binary in place (no copy)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    ap.add_argument("--serve-only", action="store_true", help="serve the corpus until Ctrl-C")
    ap.add_argument("--dump", metavar="DIR", help="write feeds, pages and labels.jsonl to DIR and exit")
    args = ap.parse_args()
    if args.feeds < 1 or args.items < 1:
        ap.error("--feeds and --items must be at least 1")
    if not 0.0 <= args.positive_share <= 1.0:
        ap.error("--positive-share must be within 0..1")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or any(m not in ("on", "off") for m in modes):
        ap.error("--modes takes on and/or off")
    if not (args.bin or args.serve_only or args.dump):
        ap.error("--bin is required")

    feeds, stories = make_corpus(args.feeds, args.items, args.seed, args.positive_share)
    srv, base = start_server(args.page_delay_ms / 1000.0)
    try:
        routes, snippets = build_site(base, feeds, stories)
        srv.state.routes = routes
        if args.dump:
            out = Path(args.dump)
            for path, (_, data, _) in routes.items():
                p = out / path.lstrip("/")
                if p.suffix not in (".xml", ".html", ".txt"):
                    p = p.with_name(p.name + ".html")
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            with open(out / "labels.jsonl", "w") as fh:
                for s in stories:
                    fh.write(json.dumps({"n": s["n"], "lang": s["lang"], "positive": s["positive"], "kind": s["kind"],
                                         "layout": s["layout"], "marker": s["marker"], "title": s["title"],
                                         "summary": s["summary"], "path": s["path"],
                                         "body": "\n\n".join(s["paragraphs"])}, ensure_ascii=False) + "\n")
            log(f"wrote {len(routes)} documents and labels.jsonl under {out} (links name {base})")
            return 0
        if args.serve_only:
            for feed in feeds:
                print(base + feed["path"], flush=True)
            log(f"serving {len(stories)} stories on {base}; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                return 0

        binary = Path(args.bin).resolve()
        if not (binary.is_file() and os.access(binary, os.X_OK)):
            return fail(1, f"{args.bin}: not an executable file")
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        if not args.no_copy:
            copy = work / "newswatch"
            shutil.copy2(binary, copy)
            binary_run = copy
        else:
            binary_run = binary
        notes = []
        with_section, _ = preflight(binary_run, work, args, base, feeds)
        if not with_section:
            notes.append("this binary does not know [full_text] (`check`: unknown key); both runs go without the "
                         "section, so the 'on' run cannot fetch pages")
            log("fulltext bench: " + notes[-1])
        orc = None
        if not args.no_oracle:
            log("[oracle] newswatch test-rules --jsonl on the generated text ...")
            orc = oracle(binary_run, work, args, base, feeds, stories, routes)
        runs = [run_mode(args, binary_run, base, feeds, stories, snippets, srv, work, m, with_section) for m in modes]
    finally:
        srv.shutdown()
        srv.server_close()

    meta = {"feeds": args.feeds, "items": args.items, "stories": len(stories),
            "positives": sum(s["positive"] for s in stories), "negatives": sum(not s["positive"] for s in stories),
            "langs": ", ".join(f"{l} {sum(s['lang'] == l for s in stories)}" for l in LANGS),
            "seed": args.seed, "binary": str(binary), "base": base, "min_words": args.min_words,
            "ft_timeout": args.ft_timeout, "per_minute": args.per_minute, "page_delay_ms": args.page_delay_ms,
            "full_text_section": with_section, "notes": notes,
            "layouts": {k: sum(s["layout"] == k for s in stories) for k in LAYOUTS},
            "decoys": {k: sum(s["kind"] == k for s in stories) for k in DECOY_KINDS}}
    if args.json:
        print(json.dumps({"meta": meta, "runs": runs, "oracle": orc}, indent=2, default=list))
    else:
        print(report(meta, runs, orc))

    code = 0
    if any(not r["ok"] for r in runs):
        code = fail(1, "a newswatch run failed (see above; its files are in " + str(work) + ")")
    on = next((r for r in runs if r["mode"] == "on"), None)
    if on is not None and on["page_requests"] == 0:
        code = code or 3
        fail(3, "the server saw no article page request in the full-text run: the feature is missing or "
                "misconfigured (check [full_text] and the daemon's log in " + on["dir"] + "/stderr.txt)")
    return code


if __name__ == "__main__":
    sys.exit(main())
