#!/usr/bin/env python3
"""Cases for the normaliser's precision/recall benchmark (see README.md).

Every case is a pair of entities as two agencies would write them, with a
label saying whether they are the same person, phone or document. Nothing
here uses Liaison's own code: names come from the corpora that `faker` and
`russian-names` ship, transliterations from independent packages
(`iuliia`, `translitua`, `cyrtranslit`, `transliterate`, `unidecode`,
`anyascii`, and the tables inside `faker` and `russian-names`), phone
numbers and their written forms from `phonenumbers`.

Writes one JSON object a line:
  {"family", "source", "variant", "label", "a": {"country", "entity"}, "b": {...}}
The same seed and the pinned versions of requirements.txt give the same file.
"""

import argparse
import datetime
import json
import os
import random
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import anyascii  # noqa: E402
import cyrtranslit  # noqa: E402
import iuliia  # noqa: E402
import phonenumbers  # noqa: E402
import transliterate  # noqa: E402
import translitua  # noqa: E402
import unidecode  # noqa: E402
from faker.providers.person.ru_RU import Provider as FakerRu  # noqa: E402
from faker.providers.person.ru_RU import translit as faker_ru_translit  # noqa: E402
from faker.providers.person.uk_UA import Provider as FakerUk  # noqa: E402
from faker.providers.person.uk_UA import translit as faker_uk_translit  # noqa: E402
from faker.providers.person.uz_UZ import Provider as FakerUz  # noqa: E402
from phonenumbers import PhoneNumberFormat, PhoneNumberType  # noqa: E402
from russian_names import RussianNames  # noqa: E402
from russian_names.utils import transliterate_word as rn_translit  # noqa: E402

# Cases per source: positives, and each hard-negative label.
SAME = 100
NEG = 40
PHONE_SAME = 30  # per country and form
PHONE_NEG = 12
DOC_SAME = 40
DOC_NEG = 40

# The agencies of the federation: who writes the records.
AGENCIES = ["KGZ", "KAZ", "TJK", "UZB"]


# --------------------------------------------------------------------------
# Name corpora


def _words(text):
    return [w for w in text.split(" ") if w]


def _clean(names):
    """Distinct Cyrillic names (letters and hyphens only), sorted."""
    out = set()
    for n in names:
        n = n.strip()
        if n and all(c == "-" or ("\u0400" <= c <= "\u04ff") for c in n):
            out.add(n)
    return sorted(out)


class Corpus:
    """Given names, patronymics and surnames by gender ("m"/"f")."""

    def __init__(self, lang, given, patronymic, surname):
        self.lang = lang
        self.given = {g: _clean(v) for g, v in given.items()}
        self.patronymic = {g: _clean(v) for g, v in patronymic.items()}
        self.surname = {g: _clean(v) for g, v in surname.items()}


def russian_corpus():
    # faker ru_RU: given names, patronymics and surnames by gender;
    # russian-names: 50 + 358 given names and ~200,000 surnames.
    d = RussianNames._data
    return Corpus(
        "ru",
        given={
            "m": list(FakerRu.first_names_male) + _words(d[1]),
            "f": list(FakerRu.first_names_female) + _words(d[6]),
        },
        patronymic={
            "m": list(FakerRu.middle_names_male) + _words(d[3]),
            "f": list(FakerRu.middle_names_female) + _words(d[8]),
        },
        surname={
            "m": list(FakerRu.last_names_male) + _words(d[4]),
            "f": list(FakerRu.last_names_female) + _words(d[9]),
        },
    )


def ukrainian_corpus():
    return Corpus(
        "uk",
        given={"m": FakerUk.first_names_male, "f": FakerUk.first_names_female},
        patronymic={"m": FakerUk.middle_names_male, "f": FakerUk.middle_names_female},
        surname={"m": FakerUk.last_names_male, "f": FakerUk.last_names_female},
    )


def levenshtein(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# Spellings of one name that the corpora list as two names (beyond what
# `fold` equates): never used as a hard negative of each other.
VARIANTS = {
    frozenset(p)
    for p in [
        ("Эрнест", "Эрнст"),
        ("Степан", "Стефан"),
        ("Устим", "Юстим"),
        ("Ірена", "Ірина"),
        ("Ірина", "Орина"),
        ("Екатерина", "Катерина"),
        ("Аникита", "Никита"),
        ("Исидор", "Сидор"),
        ("Ульян", "Юлиан"),
        ("Опанас", "Панас"),
        ("Лесь", "Олесь"),
    ]
}


def fold(name):
    """Spelling variants written alike: Наталья/Наталия, Артём/Артем."""
    return name.lower().replace("ё", "е").replace("ь", "и").replace("ия", "иа")


def same_name(x, y):
    return fold(x) == fold(y) or frozenset((x, y)) in VARIANTS


# Patronymic endings, folded, longest first.
ENDINGS = sorted(
    ["иевич", "иевна", "евич", "евна", "ович", "овна", "ична", "ич", "івна", "ївна", "йович", "йовна"],
    key=len,
    reverse=True,
)


def father(patronymic):
    """The father's name a patronymic is made from, roughly: only to keep
    spellings of one patronymic (Харлампьевич/Харлампович,
    Валерьянович/Валерианович) from being used as each other's namesake."""
    t = fold(patronymic)
    for e in ENDINGS:
        if t.endswith(e) and len(t) - len(e) >= 2:
            t = t[: -len(e)]
            break
    return t.rstrip("еиіїй")


def closest(rng, name, pool, k=3, differ=same_name):
    """One of the k names of `pool` nearest to `name` that differ from it
    in at least two letters (one letter apart is the `one_letter` label)
    and are not another spelling of it."""
    ranked = sorted(
        (d, o) for o in pool if not differ(o, name) and (d := levenshtein(fold(name), fold(o))) >= 2
    )
    return rng.choice(ranked[:k])[1]


def one_letter_pairs(names):
    """Pairs of different names one letter apart (Карл/Карп, Нина/Наина)."""
    pairs = []
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            if not same_name(x, y) and levenshtein(fold(x), fold(y)) == 1:
                pairs.append((x, y))
    return pairs


def random_dob(rng):
    start = datetime.date(1950, 1, 1).toordinal()
    end = datetime.date(2005, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(start, end))


def write_dob(rng, dob):
    """A date of birth in one of the two forms agencies write that the
    record model documents: 14.03.1985 or 1985-03-14."""
    if rng.random() < 0.5:
        return dob.strftime("%d.%m.%Y")
    return dob.isoformat()


def new_person(rng, corpus):
    g = rng.choice("mf")
    return {
        "gender": g,
        "surname": rng.choice(corpus.surname[g]),
        "given": rng.choice(corpus.given[g]),
        "patronymic": rng.choice(corpus.patronymic[g]),
        "dob": random_dob(rng),
    }


# --------------------------------------------------------------------------
# Transliteration sources: name -> Latin, each applied to lower case text
# (several packages mishandle capitals such as Ё) and cased afterwards.


def iuliia_scheme(name):
    schema = getattr(iuliia, name)
    return lambda s: schema.translate(s)


def translitua_table(name):
    table = getattr(translitua, name)
    return lambda s: translitua.translit(s, table)


RU_SOURCES = [
    ("iuliia:icao_doc_9303", iuliia_scheme("ICAO_DOC_9303")),
    ("iuliia:mvd_310", iuliia_scheme("MVD_310")),
    ("iuliia:mvd_782", iuliia_scheme("MVD_782")),
    ("iuliia:bgn_pcgn", iuliia_scheme("BGN_PCGN")),
    ("iuliia:gost_7034", iuliia_scheme("GOST_7034")),
    ("iuliia:gost_779", iuliia_scheme("GOST_779")),
    ("iuliia:wikipedia", iuliia_scheme("WIKIPEDIA")),
    ("iuliia:scientific", iuliia_scheme("SCIENTIFIC")),
    ("iuliia:ala_lc", iuliia_scheme("ALA_LC")),
    ("iuliia:telegram", iuliia_scheme("TELEGRAM")),
    ("iuliia:uz", iuliia_scheme("UZ")),
    ("translitua:RussianInternationalPassport1997", translitua_table("RussianInternationalPassport1997")),
    ("translitua:RussianDriverLicense", translitua_table("RussianDriverLicense")),
    ("translitua:RussianSimple", translitua_table("RussianSimple")),
    ("cyrtranslit:ru", lambda s: cyrtranslit.to_latin(s, "ru")),
    ("transliterate:ru", lambda s: transliterate.translit(s, "ru", reversed=True)),
    ("unidecode", unidecode.unidecode),
    ("anyascii", anyascii.anyascii),
    ("faker:ru_RU.translit", faker_ru_translit),
    ("russian-names:translit", rn_translit),
]

UK_SOURCES = [
    ("translitua:UkrainianKMU", translitua_table("UkrainianKMU")),
    ("translitua:UkrainianPassport2007", translitua_table("UkrainianPassport2007")),
    ("translitua:UkrainianPassport2004Alt", translitua_table("UkrainianPassport2004Alt")),
    ("translitua:UkrainianNational1996", translitua_table("UkrainianNational1996")),
    ("translitua:UkrainianBGN", translitua_table("UkrainianBGN")),
    ("translitua:UkrainianSimple", translitua_table("UkrainianSimple")),
    ("translitua:UkrainianGerman", translitua_table("UkrainianGerman")),
    ("translitua:UkrainianISO9", translitua_table("UkrainianISO9")),
    ("cyrtranslit:ua", lambda s: cyrtranslit.to_latin(s, "ua")),
    ("transliterate:uk", lambda s: transliterate.translit(s, "uk", reversed=True)),
    ("unidecode", unidecode.unidecode),
    ("anyascii", anyascii.anyascii),
    ("faker:uk_UA.translit", faker_uk_translit),
]

# The Latin transliteration the "mixed script" sources start from.
MIXED_BASE = {"ru": iuliia_scheme("MVD_310"), "uk": translitua_table("UkrainianKMU")}

# Latin letters and the Cyrillic letters typed for them.
LOOKALIKE = {
    "a": "а", "c": "с", "e": "е", "i": "і", "o": "о", "p": "р", "x": "х", "y": "у",
    "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І", "K": "К", "M": "М",
    "O": "О", "P": "Р", "T": "Т", "X": "Х", "Y": "У",
}  # fmt: skip


def cap(word):
    """Title case that keeps apostrophes inside a word (`Ul'yana`)."""
    out, start = [], True
    for c in word:
        out.append(c.upper() if start else c)
        start = c in " -"
    return "".join(out)


def mix_script(rng, text):
    """Some Latin letters replaced by their Cyrillic look-alikes."""
    spots = [i for i, c in enumerate(text) if c in LOOKALIKE]
    if not spots:
        return text
    chosen = {i for i in spots if rng.random() < 0.35} or {rng.choice(spots)}
    return "".join(LOOKALIKE[c] if i in chosen else c for i, c in enumerate(text))


LAYOUTS = ["fields", "full SGP", "full GPS", "fields, no patronymic"]


def render_person(rng, p, translit, mixed=False):
    """The person as another agency wrote them: returns (variant, entity)."""
    case = rng.choice(["title", "upper"])

    def w(part):
        t = translit(part.lower())
        t = t.upper() if case == "upper" else cap(t)
        return mix_script(rng, t) if mixed else t

    s, g, pt = w(p["surname"]), w(p["given"]), w(p["patronymic"])
    layout = rng.choice(LAYOUTS)
    e = {"type": "person", "dob": write_dob(rng, p["dob"])}
    if layout == "fields":
        e.update(surname=s, given=g, patronymic=pt)
    elif layout == "fields, no patronymic":
        e.update(surname=s, given=g)
    elif layout == "full SGP":
        e["full_name"] = f"{s} {g} {pt}"
    else:
        e["full_name"] = f"{g} {pt} {s}"
    return f"{layout}, {case}", e


def reference_person(rng, p):
    return {
        "type": "person",
        "surname": p["surname"],
        "given": p["given"],
        "patronymic": p["patronymic"],
        "dob": write_dob(rng, p["dob"]),
    }


def negative(rng, label, p, corpus, pairs):
    """A different person who looks like `p`: (reference, other)."""
    q = dict(p)
    g = p["gender"]
    if label == "sibling":
        # A twin: same surname, patronymic and birthday, a near given name.
        q["given"] = closest(rng, p["given"], corpus.given[g])
    elif label == "namesake":
        q["patronymic"] = closest(
            rng, p["patronymic"], corpus.patronymic[g], differ=lambda x, y: father(x) == father(y)
        )
    elif label == "one_letter":
        # Two real given names one letter apart (Карл/Карп, Нина/Наина).
        x, y = rng.choice(pairs[g])
        if rng.random() < 0.5:
            x, y = y, x
        p = dict(p, given=x)
        q["given"] = y
    elif label == "dob_off":
        q["dob"] = p["dob"] + datetime.timedelta(days=rng.choice([-1, 1]))
    else:
        raise ValueError(label)
    return p, q


def person_cases(seed, out):
    ru, uk = russian_corpus(), ukrainian_corpus()
    plans = [(ru, name, fn, False) for name, fn in RU_SOURCES]
    plans += [(ru, "mixed-script:iuliia.mvd_310", MIXED_BASE["ru"], True)]
    plans += [(uk, name, fn, False) for name, fn in UK_SOURCES]
    plans += [(uk, "mixed-script:translitua.UkrainianKMU", MIXED_BASE["uk"], True)]
    pairs = {}
    for c in (ru, uk):
        pairs[c.lang] = {g: one_letter_pairs(c.given[g]) for g in "mf"}

    for corpus, name, fn, mixed in plans:
        source = f"{corpus.lang}/{name}"
        rng = random.Random(f"{seed}:person:{source}")
        for label in ["same", "sibling", "namesake", "one_letter", "dob_off"]:
            for _ in range(SAME if label == "same" else NEG):
                p = new_person(rng, corpus)
                if label == "same":
                    q = p
                else:
                    p, q = negative(rng, label, p, corpus, pairs[corpus.lang])
                variant, b = render_person(rng, q, fn, mixed)
                out.append(case("person", source, variant, label, reference_person(rng, p), b, rng))

    # Cyrillic on both sides, another layout: one full_name in either order,
    # upper or title case, ё written е half the time.
    for corpus in (ru, uk):
        source = f"{corpus.lang}/cyrillic:full_name"
        rng = random.Random(f"{seed}:person:{source}")
        for label in ["same", "sibling", "namesake", "one_letter", "dob_off"]:
            for _ in range(SAME if label == "same" else NEG):
                p = new_person(rng, corpus)
                q = p
                if label != "same":
                    p, q = negative(rng, label, p, corpus, pairs[corpus.lang])
                parts = [q["surname"], q["given"], q["patronymic"]]
                order = rng.choice(["SGP", "GPS"])
                if order == "GPS":
                    parts = parts[1:] + parts[:1]
                full = " ".join(parts)
                if rng.random() < 0.5:
                    full = full.replace("ё", "е").replace("Ё", "Е")
                up = rng.random() < 0.5
                full = full.upper() if up else full
                b = {"type": "person", "full_name": full, "dob": write_dob(rng, q["dob"])}
                variant = f"full {order}, {'upper' if up else 'title'}"
                out.append(case("person", source, variant, label, reference_person(rng, p), b, rng))

    # Dates of birth in forms people write that the record model does not
    # list (names identical, in Cyrillic): how many such records are unread.
    forms = {
        "DD/MM/YYYY": "%d/%m/%Y",
        "DD-MM-YYYY": "%d-%m-%Y",
        "YYYY.MM.DD": "%Y.%m.%d",
        "YYYY/MM/DD": "%Y/%m/%d",
        "DD.MM.YY": "%d.%m.%y",
    }
    rng = random.Random(f"{seed}:person:dob-forms")
    for form, fmt in forms.items():
        for _ in range(SAME // len(forms) * 2):
            p = new_person(rng, ru)
            b = dict(reference_person(rng, p), dob=p["dob"].strftime(fmt))
            out.append(case("person", "ru/dob-forms", form, "same", reference_person(rng, p), b, rng))
    # D.M.YYYY without leading zeros, where there is one to drop.
    rng2 = random.Random(f"{seed}:person:dob-forms:nozero")
    n = 0
    while n < SAME // len(forms) * 2:
        p = new_person(rng2, ru)
        d = p["dob"]
        if d.day >= 10 and d.month >= 10:
            continue
        b = dict(reference_person(rng2, p), dob=f"{d.day}.{d.month}.{d.year}")
        out.append(case("person", "ru/dob-forms", "D.M.YYYY", "same", reference_person(rng2, p), b, rng2))
        n += 1

    # Uzbek names as the Uzbek passport writes them (Latin, with ʻ or ’)
    # against the same name in ASCII, apostrophes dropped or typed as '.
    rng = random.Random(f"{seed}:person:uz_UZ")
    uz = {
        "m": (FakerUz.first_names_male, FakerUz.last_names_male),
        "f": (FakerUz.first_names_female, FakerUz.last_names_female),
    }
    for label in ["same", "sibling", "dob_off"]:
        for _ in range(SAME if label == "same" else NEG):
            g = rng.choice("mf")
            given, last = sorted(set(uz[g][0])), sorted(set(uz[g][1]))
            p = {"surname": rng.choice(last), "given": rng.choice(given), "dob": random_dob(rng)}
            q = dict(p)
            if label == "sibling":
                q["given"] = closest(rng, p["given"], given)
            elif label == "dob_off":
                q["dob"] = p["dob"] + datetime.timedelta(days=rng.choice([-1, 1]))
            style = rng.choice(["ascii", "drop", "upper-drop"])

            def w(s, style=style):
                t = anyascii.anyascii(s)
                if style != "ascii":
                    t = t.replace("'", "")
                return t.upper() if style == "upper-drop" else t

            a = {"type": "person", "surname": p["surname"], "given": p["given"], "dob": write_dob(rng, p["dob"])}
            b = {"type": "person", "full_name": f"{w(q['surname'])} {w(q['given'])}", "dob": write_dob(rng, q["dob"])}
            out.append(case("person", "uz/faker-uz_UZ:anyascii", style, label, a, b, rng))


# --------------------------------------------------------------------------
# Phones


PHONE_REGIONS = {"KGZ": "KG", "KAZ": "KZ", "TJK": "TJ", "UZB": "UZ", "RUS": "RU"}


def mobile_prefixes(region):
    """Two- and three-digit starts of the region's valid mobile numbers."""
    example = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
    length = len(phonenumbers.national_significant_number(example))
    found = []
    probe = random.Random(f"probe:{region}")
    for prefix in range(100, 1000):
        p = str(prefix)
        for _ in range(4):
            nsn = p + "".join(probe.choice("0123456789") for _ in range(length - 3))
            if is_mobile(region, nsn):
                found.append(p)
                break
    return length, found


def is_mobile(region, nsn):
    cc = phonenumbers.country_code_for_region(region)
    n = phonenumbers.PhoneNumber(country_code=cc, national_number=int(nsn))
    return phonenumbers.is_valid_number_for_region(n, region) and phonenumbers.number_type(n) in (
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def random_mobile(rng, region, length, prefixes):
    while True:
        nsn = rng.choice(prefixes) + "".join(rng.choice("0123456789") for _ in range(length - 3))
        if is_mobile(region, nsn):
            return nsn


def one_digit_off(rng, region, nsn):
    while True:
        i = rng.randrange(3, len(nsn))
        d = rng.choice([c for c in "0123456789" if c != nsn[i]])
        other = nsn[:i] + d + nsn[i + 1 :]
        if is_mobile(region, other):
            return other


def group(nsn, rng):
    """The digits in groups the way people space them."""
    style = rng.choice(["3-3-rest", "3-rest", "none"])
    if style == "none":
        return nsn
    if style == "3-rest":
        return f"{nsn[:3]} {nsn[3:]}"
    return f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"


PHONE_FORMS = [
    "international",
    "00-prefixed",
    "international, dashed",
    "national",
    "bare national number",
    "old trunk 8",
    "old 8~10 international",
]


def write_phone(rng, form, region, nsn):
    """(written number, record country) of the number in one form."""
    cc = phonenumbers.country_code_for_region(region)
    n = phonenumbers.parse(f"+{cc}{nsn}")
    alpha3 = next(k for k, v in PHONE_REGIONS.items() if v == region)
    foreign = rng.choice([c for c in PHONE_REGIONS if c != alpha3])
    if form == "international":
        return phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL), foreign
    if form == "00-prefixed":
        intl = phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL)
        return "00" + intl[1:] if rng.random() < 0.5 else f"00{cc}{nsn}", foreign
    if form == "international, dashed":
        # +996-775-987-817: RFC 3966's layout without its `tel:`.
        return phonenumbers.format_number(n, PhoneNumberFormat.RFC3966).removeprefix("tel:"), foreign
    if form == "national":
        return phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL), alpha3
    if form == "bare national number":
        return group(nsn, rng), alpha3
    if form == "old trunk 8":
        # Before the trunk prefix changed (KGZ: 0, TJK and UZB: none) the
        # Soviet 8 was dialled and is still written: 8 918 104804, 8502 232098.
        return rng.choice(["8 ", "8", "8-"]) + group(nsn, rng), alpha3
    if form == "old 8~10 international":
        # The Soviet international prefix: 8, wait for the tone, 10.
        return f"{rng.choice(['8 10 ', '810', '8-10-'])}{cc} {group(nsn, rng)}", foreign
    raise ValueError(form)


def phone_cases(seed, out):
    for alpha3, region in PHONE_REGIONS.items():
        length, prefixes = mobile_prefixes(region)
        for form in PHONE_FORMS:
            source = f"phonenumbers:{form}"
            rng = random.Random(f"{seed}:phone:{alpha3}:{form}")
            for label, count in [("same", PHONE_SAME), ("one_digit", PHONE_NEG)]:
                for _ in range(count):
                    nsn = random_mobile(rng, region, length, prefixes)
                    cc = phonenumbers.country_code_for_region(region)
                    a = {"type": "phone", "number": f"+{cc}{nsn}"}
                    other = nsn if label == "same" else one_digit_off(rng, region, nsn)
                    number, country = write_phone(rng, form, region, other)
                    b = {"type": "phone", "number": number}
                    out.append(
                        {
                            "family": "phone",
                            "source": source,
                            "variant": alpha3,
                            "label": label,
                            "a": {"country": rng.choice(AGENCIES), "entity": a},
                            "b": {"country": country, "entity": b},
                        }
                    )


# --------------------------------------------------------------------------
# Documents


def doc_number(rng, country):
    """A passport number in the country's layout (series letters + digits)."""
    digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
    if country == "KGZ":
        return rng.choice(["AN", "AC", "ID"]), digits(7)
    if country == "KAZ":
        return "N", digits(8)
    if country == "UZB":
        return rng.choice(["AA", "AB", "AC", "FA"]), digits(7)
    if country == "TJK":
        return "A", digits(8)
    # Russian internal passport: 4-digit series, 6-digit number.
    return digits(4), digits(6)


DOC_FORMS = ["spaced", "glued", "dashed", "lower case", "Cyrillic look-alike series", "series split", "with №"]

# Series letters typed on a Cyrillic keyboard: the look-alikes only.
CYR_SERIES = {"A": "А", "B": "В", "C": "С", "I": "І"}


def write_doc(form, series, digits):
    if form == "spaced":
        return f"{series} {digits}"
    if form == "glued":
        return f"{series}{digits}"
    if form == "dashed":
        return f"{series}-{digits}"
    if form == "lower case":
        return f"{series.lower()}{digits}"
    if form == "Cyrillic look-alike series":
        return "".join(CYR_SERIES.get(c, c) for c in series) + " " + digits
    if form == "series split":
        # 45 06 123456 (Russian), A N 1234567: series letters spaced out.
        return " ".join(series) + " " + digits if not series.isdigit() else f"{series[:2]} {series[2:]} {digits}"
    if form == "with №":
        # The number sign Russian-language forms print: AN №1234567.
        return f"{series} №{digits}"
    raise ValueError(form)


def document_cases(seed, out):
    for form in DOC_FORMS:
        source = f"document:{form}"
        rng = random.Random(f"{seed}:document:{form}")
        for label, count in [("same", DOC_SAME), ("one_digit", DOC_NEG)]:
            for _ in range(count):
                country = rng.choice(["KGZ", "KAZ", "TJK", "UZB", "RUS"])
                series, digits = doc_number(rng, country)
                other = digits
                if label == "one_digit":
                    i = rng.randrange(len(digits))
                    other = digits[:i] + rng.choice([c for c in "0123456789" if c != digits[i]]) + digits[i + 1 :]
                a = {"type": "document", "doc_type": "passport", "country": country, "number": series + digits}
                b = {"type": "document", "doc_type": "passport", "country": country, "number": write_doc(form, series, other)}
                out.append(
                    {
                        "family": "document",
                        "source": source,
                        "variant": country,
                        "label": label,
                        "a": {"country": rng.choice(AGENCIES), "entity": a},
                        "b": {"country": rng.choice(AGENCIES), "entity": b},
                    }
                )


# --------------------------------------------------------------------------


def case(family, source, variant, label, a, b, rng):
    ca = rng.choice(AGENCIES)
    cb = rng.choice([c for c in AGENCIES if c != ca])
    return {
        "family": family,
        "source": source,
        "variant": variant,
        "label": label,
        "a": {"country": ca, "entity": a},
        "b": {"country": cb, "entity": b},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    cases = []
    person_cases(args.seed, cases)
    phone_cases(args.seed, cases)
    document_cases(args.seed, cases)

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(cases)} cases written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
