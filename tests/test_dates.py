"""Start dates, birth dates, ages and days a week as parents type them, in the six languages."""

from __future__ import annotations

import time
from datetime import date

import pytest

from bot import dates
from bot.dates import parse_age_months, parse_birth_date, parse_days_per_week, parse_start_date

TODAY = date(2026, 11, 25)  # a Wednesday
NEXT_MONDAY = date(2026, 11, 30)
NEXT_MONTH = date(2026, 12, 1)
D = date

# Answers that say nothing usable, in every language: all four functions give None.
NOTHING = [
    ("nl", "geen idee"), ("nl", "banaan"), ("nl", ""), ("nl", "   "), ("nl", "weet ik niet"),
    ("fr", "je sais pas"), ("fr", "aucune idée"), ("fr", "banane"),
    ("en", "no idea"), ("en", "banana"), ("en", "idk"),
    ("ar", "ما عرفتش"), ("ar", "لا أعرف"), ("ar", "ma3reftch"),
    ("tr", "bilmiyorum"), ("tr", "muz"), ("tr", "fikrim yok"),
    ("uk", "не знаю"), ("uk", "банан"), ("uk", "hz"),
]


@pytest.mark.parametrize(("lang", "text"), NOTHING)
def test_nothing_found(lang: str, text: str) -> None:
    assert parse_start_date(text, lang, TODAY) is None
    assert parse_birth_date(text, lang, TODAY) is None
    assert parse_age_months(text, lang) is None
    assert parse_days_per_week(text, lang) is None


# --- when should care start ----------------------------------------------------------------

START = [
    # nl
    ("nl", "volgende maand", NEXT_MONTH),
    ("nl", "volgnde maand", NEXT_MONTH),  # typo
    ("nl", "1 maart", D(2027, 3, 1)),
    ("nl", "vanaf 15/3", D(2027, 3, 15)),
    ("nl", "3/4", D(2027, 4, 3)),  # day/month, Belgian order
    ("nl", "zo snel mogelijk", TODAY),
    ("nl", "zsm", TODAY),
    ("nl", "direct", TODAY),
    ("nl", "in september", D(2027, 9, 1)),
    ("nl", "over 2 weken", D(2026, 12, 9)),
    ("nl", "over een maand", D(2026, 12, 25)),
    ("nl", "vanaf maandag", NEXT_MONDAY),
    ("nl", "maandg", NEXT_MONDAY),  # typo
    ("nl", "volgende week vrijdag", D(2026, 12, 4)),
    ("nl", "volgende week", NEXT_MONDAY),
    ("nl", "morgen", D(2026, 11, 26)),
    ("nl", "eind maart", D(2027, 3, 31)),
    ("nl", "15.04.2027", D(2027, 4, 15)),
    ("nl", "2027-03-01", D(2027, 3, 1)),
    ("nl", "1/3/27", D(2027, 3, 1)),
    ("nl", "25/11", TODAY),  # today is not the past
    ("nl", "24/11", D(2027, 11, 24)),  # without a year: next occurrence, never in the past
    ("nl", "in november", TODAY),  # the current month: today, not 1 November
    ("nl", "Ik zoek opvang voor mijn zoon van 8 maanden vanaf januari", D(2027, 1, 1)),
    # fr
    ("fr", "à partir de lundi", NEXT_MONDAY),
    ("fr", "a partir de lundi", NEXT_MONDAY),
    ("fr", "dès que possible", TODAY),
    ("fr", "des que possible", TODAY),
    ("fr", "le mois prochain", NEXT_MONTH),
    ("fr", "a partir du 1er fevrier", D(2027, 2, 1)),
    ("fr", "dans 3 semaines", D(2026, 12, 16)),
    ("fr", "la semaine prochaine", NEXT_MONDAY),
    ("fr", "mi-mars", D(2027, 3, 15)),
    ("fr", "en janvier", D(2027, 1, 1)),
    ("fr", "début janvier", D(2027, 1, 1)),
    ("fr", "3 aoû", D(2027, 8, 3)),  # not in our lists: dateparser
    # en
    ("en", "next week", NEXT_MONDAY),
    ("en", "asap", TODAY),
    ("en", "as soon as possible", TODAY),
    ("en", "next month", NEXT_MONTH),
    ("en", "from monday", NEXT_MONDAY),
    ("en", "starting january 5th", D(2027, 1, 5)),
    ("en", "March 15", D(2027, 3, 15)),
    ("en", "the 3rd of March", D(2027, 3, 3)),
    ("en", "in may", D(2027, 5, 1)),
    ("en", "in 3 months", D(2027, 2, 25)),
    ("en", "septmber", D(2027, 9, 1)),  # typo
    ("en", "I need a place for my baby in 2 weeks", D(2026, 12, 9)),
    # ar (MSA, Darija, Arabizi)
    ("ar", "الشهر القادم", NEXT_MONTH),
    ("ar", "من الاثنين", NEXT_MONDAY),
    ("ar", "بعد أسبوعين", D(2026, 12, 9)),
    ("ar", "في أقرب وقت", TODAY),
    ("ar", "بداية يناير", D(2027, 1, 1)),
    ("ar", "من 15 مارس", D(2027, 3, 15)),
    ("ar", "١٥/٣", D(2027, 3, 15)),
    ("ar", "1 شتنبر", D(2027, 9, 1)),
    ("ar", "الأسبوع الجاي", NEXT_MONDAY),
    ("ar", "fi chhar jay", NEXT_MONTH),
    ("ar", "daba", TODAY),
    ("ar", "ba3d chhar", D(2026, 12, 25)),
    ("ar", "f septembre", D(2027, 9, 1)),
    # tr
    ("tr", "gelecek ay", NEXT_MONTH),
    ("tr", "haftaya", NEXT_MONDAY),
    ("tr", "en kisa surede", TODAY),
    ("tr", "hemen", TODAY),
    ("tr", "eylulde", D(2027, 9, 1)),
    ("tr", "1 Mart'ta", D(2027, 3, 1)),
    ("tr", "15 nisan", D(2027, 4, 15)),
    ("tr", "pazartesiden itibaren", NEXT_MONDAY),
    ("tr", "2 hafta sonra", D(2026, 12, 9)),
    ("tr", "bir ay sonra", D(2026, 12, 25)),
    ("tr", "mart sonu", D(2027, 3, 31)),
    ("tr", "yarin", D(2026, 11, 26)),
    # uk (and Russian)
    ("uk", "з наступного місяця", NEXT_MONTH),
    ("uk", "якнайшвидше", TODAY),
    ("uk", "з понеділка", NEXT_MONDAY),
    ("uk", "з 1 вересня", D(2027, 9, 1)),
    ("uk", "15 квітня", D(2027, 4, 15)),
    ("uk", "у вересні", D(2027, 9, 1)),
    ("uk", "через 2 тижні", D(2026, 12, 9)),
    ("uk", "через місяць", D(2026, 12, 25)),
    ("uk", "наступного тижня", NEXT_MONDAY),
    ("uk", "в кінці березня", D(2027, 3, 31)),
    ("uk", "с 1 сентября", D(2027, 9, 1)),
]


@pytest.mark.parametrize(("lang", "text", "expected"), START)
def test_start_date(lang: str, text: str, expected: date) -> None:
    assert parse_start_date(text, lang, TODAY) == expected


@pytest.mark.parametrize(("lang", "text", "expected"), [
    ("nl", "september 2025", D(2025, 9, 1)),  # the caller explains that this has passed
    ("nl", "15/03/2025", D(2025, 3, 15)),
    ("en", "yesterday", D(2026, 11, 24)),
])
def test_start_date_in_the_past_is_returned_as_is(lang: str, text: str, expected: date) -> None:
    assert parse_start_date(text, lang, TODAY) == expected


@pytest.mark.parametrize(("lang", "text"), [
    ("nl", "3"),  # a bare number is no date
    ("nl", "plaats in 9000 Gent"),
    ("nl", "3 kinderen"),
    ("nl", "niet direct"),
    ("nl", "hoe kan ik nu inschrijven bij de crèche"),  # "nu" only in a short answer
    ("nl", "ik heb een vraag over 3 dagen opvang"),
    ("nl", "Mijn zoon is 8 maanden, ik zoek een plaats"),
    ("nl", "31/2"),
    ("fr", "pas tout de suite"),
    ("en", "may I have a place"),  # "may" is a month only next to a number or "in"
    ("ar", "ماشي دابا"),
    ("ar", "Bghit blasa f creche l weldi 3ndo 8 chhour"),
    ("tr", "Oğlum için kreş arıyorum 2 yaşında"),
    ("uk", "Шукаю місце в садочку для дитини 2 роки"),
])
def test_start_date_not_found(lang: str, text: str) -> None:
    assert parse_start_date(text, lang, TODAY) is None


def test_start_date_without_year_is_never_in_the_past() -> None:
    for month in range(1, 13):
        for day in range(1, 29):
            assert parse_start_date(f"{day}/{month}", "nl", TODAY) >= TODAY
            assert parse_start_date(f"vanaf {day} {_NL_MONTHS[month - 1]}", "nl", TODAY) >= TODAY


_NL_MONTHS = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
              "september", "oktober", "november", "december"]


# --- birth date ----------------------------------------------------------------------------

BIRTH = [
    # nl
    ("nl", "12/05/2025", D(2025, 5, 12)),
    ("nl", "3 mei 2024", D(2024, 5, 3)),
    ("nl", "geboren in januari", D(2026, 1, 1)),  # most recent January
    ("nl", "uitgerekend op 10 juni", D(2027, 6, 10)),  # expected: ahead
    ("nl", "zwanger, uitgerekend 10/06", D(2027, 6, 10)),
    ("nl", "10/06", D(2026, 6, 10)),  # born: behind
    ("nl", "geboren op 12 mei", D(2026, 5, 12)),
    ("nl", "3 feb 2025", D(2025, 2, 3)),
    ("nl", "vorige maand geboren", D(2026, 10, 1)),
    ("nl", "3 febuari 2025", D(2025, 2, 3)),  # typo
    # fr
    ("fr", "né le 12 mai 2025", D(2025, 5, 12)),
    ("fr", "ne le 3 mars 2025", D(2025, 3, 3)),
    ("fr", "il est ne en janvier", D(2026, 1, 1)),
    ("fr", "accouchement prevu le 15 mars", D(2027, 3, 15)),
    ("fr", "terme prévu en février", D(2027, 2, 1)),
    ("fr", "il y a 2 mois", D(2026, 9, 25)),
    # en
    ("en", "born on 3 May 2024", D(2024, 5, 3)),
    ("en", "May 3, 2024", D(2024, 5, 3)),
    ("en", "due date 10 June", D(2027, 6, 10)),
    ("en", "born in january", D(2026, 1, 1)),
    ("en", "2024-05-03", D(2024, 5, 3)),
    ("en", "3 months ago", D(2026, 8, 25)),
    # ar
    ("ar", "مزداد في 12/05/2025", D(2025, 5, 12)),
    ("ar", "ولد في 3 مارس 2024", D(2024, 3, 3)),
    ("ar", "حامل متوقع في يونيو", D(2027, 6, 1)),
    ("ar", "تزاد فيناير", D(2026, 1, 1)),
    ("ar", "١٢/٠٥/٢٠٢٥", D(2025, 5, 12)),
    ("ar", "منذ شهرين", D(2026, 9, 25)),
    ("ar", "tzad f 3 mars 2025", D(2025, 3, 3)),
    # tr
    ("tr", "12 mayis 2025", D(2025, 5, 12)),
    ("tr", "12 Mayıs 2025", D(2025, 5, 12)),
    ("tr", "3 Mart 2024 dogumlu", D(2024, 3, 3)),
    ("tr", "hamileyim, haziranda dogacak", D(2027, 6, 1)),
    ("tr", "ocak 2025", D(2025, 1, 1)),
    ("tr", "12.05.2025", D(2025, 5, 12)),
    ("tr", "2 ay önce", D(2026, 9, 25)),
    # uk
    ("uk", "народився 12 травня 2025", D(2025, 5, 12)),
    ("uk", "12.05.2025", D(2025, 5, 12)),
    ("uk", "вагітна, пдр 10 червня", D(2027, 6, 10)),
    ("uk", "у січні", D(2026, 1, 1)),
    ("uk", "родился 3 марта 2024", D(2024, 3, 3)),
    ("uk", "вагітна, пологи в березні", D(2027, 3, 1)),
]


@pytest.mark.parametrize(("lang", "text", "expected"), BIRTH)
def test_birth_date(lang: str, text: str, expected: date) -> None:
    assert parse_birth_date(text, lang, TODAY) == expected


@pytest.mark.parametrize(("lang", "text"), [
    ("nl", "8 maanden"), ("nl", "1,5 jaar"), ("nl", "2024"), ("fr", "18 mois"),
    ("en", "6 months"), ("ar", "8 شهور"), ("tr", "8 aylik"), ("uk", "8 місяців"),
])
def test_an_age_is_not_a_birth_date(lang: str, text: str) -> None:
    assert parse_birth_date(text, lang, TODAY) is None  # the caller then asks parse_age_months


# --- age -----------------------------------------------------------------------------------

AGE = [
    # nl
    ("nl", "8 maanden", 8), ("nl", "1 jaar", 12), ("nl", "anderhalf jaar", 18),
    ("nl", "1,5 jaar", 18), ("nl", "baby van 3 weken", 0), ("nl", "8 mnd", 8), ("nl", "18m", 18),
    ("nl", "2 jaar oud", 24), ("nl", "een half jaar", 6), ("nl", "acht maanden", 8),
    ("nl", "1 jaar en 3 maanden", 15), ("nl", "8 maanen", 8),
    # fr
    ("fr", "2 ans", 24), ("fr", "18 mois", 18), ("fr", "un an", 12), ("fr", "1 an et demi", 18),
    ("fr", "2 ans et demi", 30), ("fr", "deux ans", 24), ("fr", "3 semaines", 0),
    ("fr", "il a 2 ans", 24),
    # en
    ("en", "2 years old", 24), ("en", "6 months", 6), ("en", "2yo", 24),
    ("en", "she is 10 months old", 10), ("en", "a 3 week old baby", 0), ("en", "two years", 24),
    ("en", "1.5 years", 18), ("en", "a year and a half", 18), ("en", "8 monts", 8),
    # ar
    ("ar", "عمره 8 أشهر", 8), ("ar", "عامين", 24), ("ar", "سنتين", 24), ("ar", "٨ أشهر", 8),
    ("ar", "عمره سنة", 12), ("ar", "سنة ونصف", 18), ("ar", "شهرين", 2), ("ar", "8 chhour", 8),
    ("ar", "3amin", 24), ("ar", "3am w nss", 18), ("ar", "عمرها سنتين ونص", 30),
    # tr
    ("tr", "8 aylik", 8), ("tr", "8 aylık", 8), ("tr", "2 yasinda", 24),
    ("tr", "iki yaşında", 24), ("tr", "bir buçuk yaşında", 18), ("tr", "1,5 yas", 18),
    ("tr", "3 haftalik", 0), ("tr", "8 ay", 8),
    # uk (and Russian, and Latin letters)
    ("uk", "8 місяців", 8), ("uk", "півтора року", 18), ("uk", "два роки", 24),
    ("uk", "2 рочки", 24), ("uk", "пів року", 6), ("uk", "рік і 3 місяці", 15),
    ("uk", "йому рік", 12), ("uk", "8 месяцев", 8), ("uk", "8 misyatsiv", 8),
]


@pytest.mark.parametrize(("lang", "text", "expected"), AGE)
def test_age_months(lang: str, text: str, expected: int) -> None:
    assert parse_age_months(text, lang) == expected


@pytest.mark.parametrize(("lang", "text"), [
    ("nl", "8"), ("nl", "hij is 2"), ("nl", "12/05/2025"), ("fr", "bébé"), ("en", "old"),
    ("ar", "عمره"), ("tr", "yaşında"), ("uk", "місяців"),
])
def test_age_not_found(lang: str, text: str) -> None:
    assert parse_age_months(text, lang) is None


# --- days a week ---------------------------------------------------------------------------

DAYS = [
    # nl
    ("nl", "3", 3), ("nl", "3 dagen", 3), ("nl", "drie dagen", 3), ("nl", "voltijds", 5),
    ("nl", "volltijds", 5), ("nl", "halftijds", 3), ("nl", "ma di do", 3),
    ("nl", "maandag, dinsdag en donderdag", 3), ("nl", "ma-vr", 5), ("nl", "ma t/m do", 4),
    ("nl", "maandag tot donderdag", 4), ("nl", "elke dag behalve woensdag", 4),
    ("nl", "4/5", 4), ("nl", "3 of 4 dagen", 3), ("nl", "2,5 dagen", 3), ("nl", "3x per week", 3),
    # fr
    ("fr", "3 jours", 3), ("fr", "trois jours par semaine", 3), ("fr", "temps plein", 5),
    ("fr", "mi-temps", 3), ("fr", "mi temps", 3), ("fr", "lundi mardi", 2),
    ("fr", "lundi au jeudi", 4), ("fr", "tous les jours sauf mercredi", 4),
    ("fr", "4 jours/semaine", 4),
    # en
    ("en", "three days", 3), ("en", "5 days a week", 5), ("en", "full time", 5),
    ("en", "mon wed fri", 3), ("en", "mon-fri", 5), ("en", "monday to thursday", 4),
    ("en", "everyday", 5), ("en", "half-time", 3), ("en", "mon, tue", 2),
    # ar
    ("ar", "ثلاثة أيام", 3), ("ar", "خمسة أيام", 5), ("ar", "يومين", 2), ("ar", "كل يوم", 5),
    ("ar", "الاثنين والخميس", 2), ("ar", "من الاثنين للجمعة", 5), ("ar", "نص الوقت", 3),
    ("ar", "tlata iyam", 3), ("ar", "jouj iyam", 2), ("ar", "tnin w lkhmis", 2),
    ("ar", "3 jours", 3), ("ar", "٣ أيام", 3),
    # tr
    ("tr", "iki gun", 2), ("tr", "3 gün", 3), ("tr", "haftada 3 gun", 3),
    ("tr", "haftada iki gün", 2), ("tr", "her gun", 5), ("tr", "pazartesiden cumaya", 5),
    ("tr", "pazartesi salı çarşamba", 3), ("tr", "tam zamanli", 5), ("tr", "yari zamanli", 3),
    # uk
    ("uk", "три дні", 3), ("uk", "3 дні", 3), ("uk", "п'ять днів", 5), ("uk", "щодня", 5),
    ("uk", "з понеділка по п'ятницю", 5), ("uk", "понеділок, середа, п'ятниця", 3),
    ("uk", "пн вт ср", 3), ("uk", "пів тижня", 3), ("uk", "2 дня в неделю", 2),
]


@pytest.mark.parametrize(("lang", "text", "expected"), DAYS)
def test_days_per_week(lang: str, text: str, expected: int) -> None:
    assert parse_days_per_week(text, lang) == expected


@pytest.mark.parametrize(("lang", "text"), [
    ("nl", "8 uur"), ("nl", "2 weken"), ("nl", "10"), ("nl", "0"), ("nl", "deeltijds"),
    ("nl", "vanaf 3 maart"), ("fr", "8 jours"), ("en", "8 hours a day"),
    ("ar", "Bghit blasa f creche l weldi 3ndo 8 chhour"), ("tr", "8 saat"), ("uk", "10 днів"),
])
def test_days_not_found(lang: str, text: str) -> None:
    assert parse_days_per_week(text, lang) is None


# --- speed ---------------------------------------------------------------------------------

def test_common_answers_are_fast() -> None:
    dates.warm_up()
    calls = [(parse_start_date, (text, lang, TODAY)) for lang, text, _ in START[::4]]
    calls += [(parse_birth_date, (text, lang, TODAY)) for lang, text, _ in BIRTH[::4]]
    calls += [(parse_age_months, (text, lang)) for lang, text, _ in AGE[::4]]
    calls += [(parse_days_per_week, (text, lang)) for lang, text, _ in DAYS[::4]]
    for func, args in calls:
        func(*args)  # dateparser's first use of a language is slow; not what we measure
    start = time.perf_counter()
    for func, args in calls:
        func(*args)
    per_call_ms = (time.perf_counter() - start) * 1000 / len(calls)
    assert per_call_ms < 5


def test_an_except_word_without_days_names_no_days() -> None:
    from bot import dates

    assert dates.said_days_per_week("ні, без пошти", "uk") is None  # "no, without e-mail"
    assert dates.said_days_per_week("elke dag behalve woensdag", "nl") == 4
