"""Facts people give in free words at any point of a conversation.

"ik zoek een crèche in Mechelen voor mijn zoon van 8 maanden, dringend" says the place, the
care type, the child's age and the urgency before anything was asked. What is said once is
kept and not asked again; the search, the checks and the snelfiche share it.

Only facts the words make clear are taken: a date counts as a birth date only next to a birth
word ("geboren", "born", "né"), as a start only after a start word ("vanaf", "from") or a
relative phrase; a number of days only with a word for days. A professional's own organisation
("OCMW Mechelen") is not the family's place or work. Each fact says whether the message names
its field (``cued``): only a cued fact may change an answer given earlier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import phonenumbers

from bot import dates
from bot.nlu import answers, roles
from bot.nlu.answers import Token, tokenize
from bot.places import geo
from bot.textnorm import DIGITS
from bot.vocabulary import vocabulary

# Facts about the care needed: said in passing they count only in a message about that need
# ("с августа доход упал в два раза" is about income, not a start in August, two days)
NEED_FACTS = frozenset({"start", "frequency"})
URGENT_WITHIN_DAYS = 31  # dringende opvang: care needed within a month
# intake reasons -> the eligibility work situation (absolute priority, first wins)
WORK_SITUATION = (("work", "working"), ("job_seeking", "job_seeking"),
                  ("training", "vocational_training"), ("integration", "integration_course"))
INTAKE_CARE_TYPES = ("gezinsopvang", "groepsopvang")
_CLAUSE = re.compile(r"[,.;!?\n،؛؟]+|\s(?:en|and|et|ve|і|и|та|а|but|maar|mais|ama|але|но|و)\s",
                     re.IGNORECASE)
_CLAUSE_FR = re.compile(r"[,.;!?\n،؛؟]+|\s(?:and|et|but|maar|mais)\s", re.IGNORECASE)


@dataclass(frozen=True)
class Fact:
    field: str  # child_birth, start, frequency, location, care_type, urgent, reason,
    #             work_situation, single_parent, organisation
    value: Any
    cued: bool = True
    # a birth date only as near as the words ("2 jaar", "due in February"): good for the
    # search, but the snelfiche still asks for the date
    approx: bool = False


def clauses(text: str, lang: str = "") -> list[str]:
    """The parts of a message, split at punctuation and the words for "and" and "but"; in
    French "en" is no "and" ("je reprends le travail en mars")."""
    split = _CLAUSE_FR if lang == "fr" else _CLAUSE
    return [c.strip() for c in split.split(text) if c and c.strip()]


def _without(text: str, span: tuple[int, int] | None) -> str:
    if not span:
        return text
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def child_facts(text: str, lang: str, today: date) -> list[Fact]:
    """A birth date after a birth word, or an age ("8 maanden", "1 jaar en 3 maanden")."""
    parts = clauses(text, lang)
    for clause in parts:
        tokens = tokenize(clause)
        if answers.has_cue("birth", tokens, lang):
            birth = dates.parse_birth_date(clause, lang, today)
            if birth is None:
                birth = _from_age(dates.parse_age_months(clause, lang), today)
            if birth is not None and _plausible_birth(birth, today):
                return [Fact("child_birth", birth.isoformat(),
                             approx=dates.month_only(clause, lang, today,
                                                     parts_are_days=False))]
    # an age may span clauses ("1 jaar en 3 maanden"), but not a clause about when
    # ("vanaf 3 maanden", "over 2 weken")
    # nor a clause about something else that happened some time ago ("6 ay önce geldim")
    # (what stands before the start words still counts: "dochter van 10 maanden … vanaf
    # februari")
    about_age = " , ".join(_undenied_ages(
        [_before_start(c, lang) for c in parts if not dates.says_ago(c, lang)], lang))
    tokens = tokenize(about_age)
    months = dates.parse_age_months(about_age, lang)
    if months is None or (not any(t.text.isdigit() for t in tokens) and months == 0):
        return []  # "добрий день": a greeting, not a newborn
    if months == 0 and (not answers.has_cue("age", tokens, lang)
                        or dates.said_days_per_week(about_age, lang) is not None):
        return []  # "4 dagen", "не 5 дней а 4": days a week, not a newborn
    birth = _from_age(months, today)
    return [Fact("child_birth", birth.isoformat(), approx=_whole_years(months))] \
        if birth and _plausible_birth(birth, today) else []


REFINES_WITHIN_DAYS = 62  # an age is this near the birth date it stands for


def refines(fact: Fact, known: Any) -> bool:
    """Whether ``fact`` is the exact birth date of a child whose birth was known only near it
    ("14 mois", then "il est né le 28 septembre 2025"): a refinement, not a new fact."""
    if fact.field != "child_birth" or fact.approx or not known:
        return False
    try:
        days = abs((date.fromisoformat(str(fact.value)) - date.fromisoformat(str(known))).days)
    except ValueError:
        return False
    return 0 < days <= REFINES_WITHIN_DAYS


def _whole_years(months: int) -> bool:
    """"2 jaar", "півтора року": an age in (half) years, months away from the birth date."""
    return months >= 12 and months % 6 == 0


def _undenied_ages(parts: list[str], lang: str) -> list[str]:
    """The clauses without an age that a negation denies, when another age is said: "2 yasinda
    değil 20 aylık" (Turkish denies what stands before "değil"), "не 2 роки, а 20 місяців"."""
    negation = answers.forms("cues.negation", lang)
    out: list[str] = []
    denied = False
    for part in parts:
        tokens = tokenize(part)
        hits = negation.hits(tokens)
        if not hits or dates.parse_age_months(part, lang) is None:
            out.append(part)
            continue
        if lang == "tr":
            cut = hits[-1].end
            after = part[tokens[cut].start:] if cut < len(tokens) else ""
            if dates.parse_age_months(after, lang) is not None:
                out.append(after)
                denied = True
                continue
        else:
            before = part[:tokens[hits[0].start].start]
            if dates.parse_age_months(before, lang) is None:
                denied = True
                continue
        out.append(part)
    if denied and not any(dates.parse_age_months(p, lang) is not None for p in out):
        return parts  # "nog geen 2 jaar" alone is still the age said
    return out


def _before_start(clause: str, lang: str) -> str:
    """The clause up to its first start word ("vanaf", "from", "з")."""
    tokens = tokenize(clause)
    hits = answers.cue_hits("start", tokens, lang)
    if not hits:
        return clause
    return clause[:tokens[hits[0].start].start] if hits[0].start else ""


def _from_age(months: int | None, today: date) -> date | None:
    if months is None or months > dates.MAX_CHILD_AGE_MONTHS:
        return None
    return today - timedelta(days=round(months * 30.44))


def _plausible_birth(birth: date, today: date) -> bool:
    return (today - birth).days <= dates.MAX_CHILD_AGE_MONTHS * 30.44 and \
        birth <= today + timedelta(days=dates.MAX_EXPECTED_DAYS)


def start_facts(clause: str, lang: str, today: date) -> list[Fact]:
    tokens = tokenize(clause)
    cue = answers.has_cue("start", tokens, lang)
    if answers.has_cue("birth", tokens, lang):
        return []
    if not cue:
        return []  # "dringend" alone says it cannot wait, not from when
    # from the start word on: "терміново … з наступного тижня" is next week, not today
    first = answers.cue_hits("start", tokens, lang)[0]
    after = clause[tokens[first.start].start:]
    start = dates.parse_start_date(after, lang, today) or \
        dates.parse_start_date(clause, lang, today)
    if start is None or start < today:
        return []
    # "the mother starts the course in January": the month, not yet the day care starts
    approx = dates.month_only(after if dates.parse_start_date(after, lang, today) else clause,
                              lang, today, future=True)
    return [Fact("start", start.isoformat(), approx=approx)]


def frequency_facts(text: str, lang: str) -> list[Fact]:
    """Days a week said with words for days ("4 dagen", "ma, di en do", "voltijds")."""
    tokens = tokenize(text)
    if not tokens or all(t.text.isdigit() for t in tokens):
        return []  # a bare number says nothing about days
    work_days = [c for c in clauses(text, lang)
                 if answers.forms("choices.reason", lang).hits(tokenize(c))
                 and dates.said_days_per_week(c, lang)]
    # "ik werk voltijds" is about work, not the days of care ("c'est 5 jours par semaine, la
    # formation est tous les jours": the first clause still says the days)
    text = " , ".join(c for c in clauses(text, lang) if c not in work_days)
    if not text.strip():
        return []
    # "vanaf maandag", "с понедельника" say when, not how many days
    # nor does "née le 5 mai, pas le 5 mars" (a birth date)
    # nor does a greeting ("Dag, … een plaats": no day)
    # (a clause that says "a week" counts anyway: "3 дні на тиждень з січня")
    parts = [c for c in clauses(text, lang)
             if (not answers.has_cue("start", c, lang) or dates.says_per_week(c, lang))
             and not answers.has_cue("birth", c, lang)
             and "greeting" not in answers.closed_kinds(c, lang)]
    text = " , ".join(parts)
    days = dates.said_days_per_week(text, lang) if text.strip() else None
    if days is not None and any(answers.has_cue("negation", c, lang) for c in parts):
        # "ой не 5 дней а 4", "4 days, not 3": the count that is not denied
        counts = [dates.parse_days_per_week(c, lang) for c in parts
                  if not answers.has_cue("negation", c, lang)]
        counts = [c for c in counts if c is not None]
        days = counts[-1] if counts else days  # one clause ("4 değil 3 gün"): as read
    if days is None:
        occasional = answers.positive_values("choices.frequency", tokens, lang)
        return [Fact("frequency", "occasional")] if occasional == ["occasional"] else []
    return [Fact("frequency", str(min(days, 5)))]


def location_facts(text: str, lang: str = "nl") -> list[Fact]:
    """The place the message ends with: "niet in Mechelen maar in Leuven" is Leuven, "gent
    değil evergem, gentin yanında" is Evergem (a place after a negation word wins over the
    one before it, and a landmark clause counts only when nothing else names a place)."""
    negation = answers.forms("cues.negation", lang)
    found: list[tuple[bool, geo.Location]] = []
    for clause in clauses(text, lang):
        tokens = tokenize(clause)
        cut = max((h.end for h in negation.hits(tokens)), default=0)
        parts = [clause[tokens[cut].start:]] if 0 < cut < len(tokens) else []
        for part in [*parts, clause]:
            loc = geo.resolve_location(part, fuzzy=False)
            if loc is not None and loc.how != "fuzzy" and loc.municipality:
                found.append((answers.has_cue("near", tokens, lang), loc))
                break
    answers_ = [loc for near, loc in found if not near] or [loc for _, loc in found]
    loc = answers_[-1] if answers_ else geo.resolve_location(text, fuzzy=False)
    if loc is None or loc.how == "fuzzy" or not loc.municipality:
        return []
    if loc.how == "postcode" and _looks_like_a_year_or_phone(text, loc.matched):
        return []
    return [Fact("location", {"municipality": loc.municipality, "postcode": loc.postcode})]


def _looks_like_a_year_or_phone(text: str, code: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return len(digits) >= 8 or bool(re.search(rf"(?:[/.-]\s*){code}|{code}\s*[/.-]", text))


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", re.IGNORECASE)


def contact_facts(text: str) -> list[Fact]:
    """An e-mail address or a phone number (Belgian unless it says otherwise)."""
    found: list[Fact] = []
    email = _EMAIL.search(text)
    if email:
        found.append(Fact("email", email.group(0).strip(".,;").lower()))
    for match in phonenumbers.PhoneNumberMatcher(text.translate(DIGITS), "BE"):
        if phonenumbers.is_valid_number(match.number):
            found.append(Fact("phone", phonenumbers.format_number(
                match.number, phonenumbers.PhoneNumberFormat.E164)))
            break
    return found


# Naming the VDAB says a job search only without a training: "навчання … через VDAB" is the
# VDAB's training
_TRAINING_BODIES = frozenset({"vdab", "вдаб", "фдаб", "actiris", "forem"})


def training_not_search(values: list[str], tokens: Sequence[Token], lang: str) -> list[str]:
    """``values`` without a job search that is only the training body's name."""
    if "training" not in values or "job_seeking" not in values:
        return values
    seeking = [h for h in answers.forms("choices.reason", lang).hits(tokens)
               if h.value == "job_seeking"]
    if all(" ".join(t.text for t in tokens[h.start:h.end]) in _TRAINING_BODIES
           for h in seeking):
        return [v for v in values if v != "job_seeking"]
    return values


def dutch_course_not_training(values: list[str], text: str, lang: str) -> list[str]:
    """``values`` without a training that is the Dutch course itself: "я вчу нідерландську на
    курсах у CVO" is one course (integration); "Nederlandse les en een opleiding" are two."""
    if "training" not in values or "integration" not in values:
        return values
    table = answers.forms("choices.reason", lang)
    for clause in clauses(text, lang):
        tokens = tokenize(clause)
        found = {h.value for h in table.hits(tokens)}
        if "training" in found and ("integration" not in found
                                    or not _only_classes(clause, lang)):
            return values  # "doing my studies plus nederlands les": two
    return [v for v in values if v != "training"]


def work_that_is_sought(values: list[str], text: str, lang: str) -> list[str]:
    """``values`` without a work that is what the person looks for or has an interview for
    ("иду на собеседование на работу", "pour un entretien pour un job"): the word for work
    right after the search or the interview is its object ("الأب يعمل والأم تبحث عن عمل" is
    both)."""
    sought = {"job_seeking", "job_interview"} & set(values)
    if "work" not in values or not sought:
        return values
    tokens = tokenize(text)
    hits = answers.forms("choices.reason", lang).hits(tokens)
    ends = [h.end for h in hits if h.value in sought]
    work = [h for h in hits if h.value == "work" and not answers.negated(h, tokens, lang)]
    if any(not any(0 <= h.start - end <= OBJECT_GAP for end in ends) for h in work):
        return values  # work said on its own too: "ik werk en zoek ander werk"
    return [v for v in values if v != "work"]


OBJECT_GAP = 3  # words between "looking for" / "interview" and the "work" it is about


def reason_values(values: list[str], text: str, lang: str) -> list[str]:
    """The reasons ``text`` names, read together: a search is no training, the Dutch course
    is one course, the work sought is no work."""
    tokens = tokenize(text)
    return work_that_is_sought(dutch_course_not_training(training_not_search(
        values, tokens, lang), text, lang), text, lang)


def reason_facts(text: str, lang: str) -> list[Fact]:
    tokens = tokenize(text)
    values = reason_values(answers.positive_values("choices.reason", tokens, lang), text, lang)
    extra = answers.positive_values("choices.work_situation", tokens, lang)
    facts: list[Fact] = []
    reasons = [v for v in values if v != "none"]
    if reasons:
        facts.append(Fact("reason", reasons))
    if "none" in extra and "job_seeking" in reasons:
        seeking = [h for h in answers.forms("choices.reason", lang).hits(tokens)
                   if h.value == "job_seeking"]
        if all(answers.negative_form(h, tokens, lang) for h in seeking):
            # "ze werkt niet en zoekt ook geen werk": "geen werk" here is no job search
            reasons.remove("job_seeking")
            facts = [f for f in facts if f.field != "reason"]
            if reasons:
                facts.append(Fact("reason", reasons))
    situation = work_situation(reasons, "none" in extra)
    if situation:
        facts.append(Fact("work_situation", situation))
    return facts


# Reasons about a parent's time: the other parent's alone do not say why the family needs care
# ("my husband works part time and I am at home"); their illness does
_TIME_REASONS = frozenset({"work", "job_seeking", "training", "job_interview", "integration"})


def _only_classes(text: str, lang: str) -> bool:
    """Whether every training word in ``text`` is a bare word for classes ("j'ai des cours",
    "уроки", "kursum var"): Dutch lessons or a vocational course, which only the person can
    say; in passing such a word leaves the reason to be asked."""
    tokens = tokenize(text)
    training = [h for h in answers.forms("choices.reason", lang).hits(tokens)
                if h.value == "training"]
    classes = answers.cue_hits("classes", tokens, lang)
    return bool(training) and all(any(c.start <= h.start and h.end <= c.end for c in classes)
                                  for h in training)


def passing_reason_facts(text: str, lang: str) -> list[Fact]:
    """Reasons said in passing. A clause about the partner ("mijn man werkt", "جوزي مهندس")
    counts only beside a reason of the person's own ("… en ik volg Nederlandse les": both):
    alone it leaves the question open, so it is asked instead of guessed. A bare word for
    classes is not taken for a training (it may be the Dutch course)."""
    facts = _passing_reason_facts(text, lang)
    reasons = next((f.value for f in facts if f.field == "reason"), [])
    if "training" not in reasons or not _only_classes(text, lang):
        return facts
    rest = [r for r in reasons if r != "training"]
    out = [f for f in facts if f.field not in ("reason", "work_situation")]
    if rest:
        out.append(Fact("reason", rest))
        situation = work_situation(rest)
        if situation:
            out.append(Fact("work_situation", situation))
    return out


def _passing_reason_facts(text: str, lang: str) -> list[Fact]:
    mine: list[str] = []
    partners: list[str] = []
    for clause in clauses(text, lang):
        tokens = tokenize(clause)
        cue = answers.cue_hits("partner", tokens, lang)
        if not cue:
            mine.append(clause)
            continue
        # what stands before the partner, or after the person names themself again, is the
        # person's own: "ana bshte8el w marti …", "جوزي مهندس … وأنا باخد كورس هولندي"
        back = [h for h in answers.cue_hits("self", tokens, lang) if h.start >= cue[0].end]
        cut = tokens[cue[0].start].start
        end = tokens[back[0].start].start if back else len(clause)
        mine.append(clause[:cut] + " , " + clause[end:])
        partners.append(clause[cut:end])
    if not partners:
        return reason_facts(text, lang)
    own = reason_facts(" , ".join(mine), lang)
    theirs = reason_facts(" , ".join(partners), lang)
    own_reasons = next((f.value for f in own if f.field == "reason"), [])
    their_reasons = next((f.value for f in theirs if f.field == "reason"), [])
    if not own_reasons:
        if any(r in _TIME_REASONS for r in their_reasons):
            return [Fact("reason", [r for r in their_reasons if r not in _TIME_REASONS])] \
                if set(their_reasons) - _TIME_REASONS else []
        return own + [f for f in theirs if f.field == "reason"]
    merged = list(dict.fromkeys([*own_reasons, *their_reasons]))
    situation = work_situation(own_reasons)  # the eligibility asks about the person's own
    return [Fact("reason", merged)] + ([Fact("work_situation", situation)] if situation else [])


def partner_reasons_only(text: str, lang: str) -> bool:
    """Whether ``text`` gives a reason only for the partner ("mijn man werkt deeltijds"): the
    family's work situation, but not why this parent needs care."""
    if not answers.cue_hits("partner", tokenize(text), lang):
        return False
    own = next((f.value for f in passing_reason_facts(text, lang) if f.field == "reason"), [])
    return not any(r in _TIME_REASONS for r in own)


def work_situation(reasons: list[str], says_none: bool = False) -> str | None:
    """The eligibility work situation from reasons: the first that gives absolute priority
    (care for job interviews is care for looking for work)."""
    if "job_interview" in reasons:
        reasons = [*reasons, "job_seeking"]
    for reason, situation in WORK_SITUATION:
        if reason in reasons:
            return situation
    return "none" if says_none else None


def answered_start(text: str, lang: str, today: date) -> str | None:
    """The start date an answer to "from when?" names with a start word, the last one said:
    "asap, let's say 18 January" is 18 January (a later clause without a start word counts
    once a first one has said when, unless it is about the birth)."""
    found: list[str] = []
    for clause in clauses(text, lang):
        facts = start_facts(clause, lang, today)
        if facts:
            found.append(facts[-1].value)
        elif not found and dates.parse_start_date(clause, lang, today) == today:
            found.append(today.isoformat())  # "zo snel mogelijk, gelecek hafta": asap, then when
        elif found and not answers.has_cue("birth", clause, lang):
            later = dates.parse_start_date(clause, lang, today)
            if later is not None and later >= today:
                found.append(later.isoformat())
    return found[-1] if found else None


def _free_price(tokens: Sequence[Token], lang: str) -> bool:
    """Care at a free price named as wanted or acceptable ("le prix libre ne me dérange
    pas"); only a negation before it denies it ("geen vrije prijs")."""
    negation = answers.forms("cues.negation", lang)
    for hit in answers.cue_hits("free_price", tokens, lang):
        before = tokens[max(0, hit.start - answers.NEGATION_BEFORE):hit.start]
        if not negation.hits(before):
            return True
    return False


def says_urgent(text: str, lang: str) -> bool:
    """An urgency word in a clause that does not deny it: "not looking for work right now" is
    no hurry, "I can't wait" (a negation inside the words) is."""
    negation = answers.forms("cues.negation", lang)
    for clause in clauses(text, lang):
        tokens = tokenize(clause)
        for hit in answers.cue_hits("urgent", tokens, lang):
            outside = [t for i, t in enumerate(tokens) if not hit.start <= i < hit.end]
            if answers.negative_form(hit, tokens, lang) or not negation.hits(outside):
                return True
    return False


_BUT = re.compile(r"\b(?:mais|maar|but|ama|fakat|а|але|но|بل|لكن|walakin|mé)\b\s*", re.I)
# Ukrainian typed in Latin letters: "ne 21, a 22 hrudnia"
_BUT_LATIN_A = re.compile(r"\b(?:mais|maar|but|ama|fakat|а|a|але|ale|но|no)\b\s*", re.I)


def corrected_start(text: str, lang: str, today: date) -> str | None:
    """A start said again as a correction without a start word ("ah non pardon, pas février
    mais mars"): the date after "but", when nothing says it is about the birth."""
    if not answers.has_cue("correction", text, lang) or answers.has_cue("birth", text, lang):
        return None
    parts = (_BUT_LATIN_A if lang == "uk" else _BUT).split(text)
    if len(parts) < 2:
        return None
    later = dates.parse_start_date(parts[-1], lang, today)
    return later.isoformat() if later is not None and later > today else None


def corrected_child_name(text: str, lang: str, cue_needed: bool = True) -> str | None:
    """The child's name in a correction ("sorry, ze heet Noor, niet Nora", "عفواً غلطت،
    اسمها زهراء مو زهرة"): a correction word (unless the summary asks whether all is
    right: "ze heet Lotte"), then a name word, then the name up to a negation or the end of
    the clause."""
    tokens = tokenize(text)
    if cue_needed and not answers.has_cue("correction", tokens, lang):
        return None
    # without a correction word only a naming verb counts ("ze heet", "s'appelle"): "c'est
    # bon" at the summary is a yes, no name
    named = [h for kind in ("names.child", "names.verbs") if cue_needed or kind == "names.verbs"
             for h in answers.forms(kind, lang).hits(tokens)]
    if not named:
        return None
    start = min(h.end for h in named if h.start == min(n.start for n in named))
    negation = answers.forms("cues.negation", lang)
    end = start
    while end < len(tokens) and not (end > start and tokens[end].after_break) \
            and not negation.hits(tokens[end:end + 1]):
        end += 1
    if end == start or end - start > 3:
        return None
    name = text[tokens[start].start:tokens[end - 1].end]
    return answers.read_name(name, lang, "child")


def extract(text: str, lang: str, today: date) -> list[Fact]:
    """Every fact the message makes clear, at most one per field (the last said wins)."""
    return list(_extract(text, lang, today))


@lru_cache(maxsize=256)  # one message is read by the form, then by the action answering it
def _extract(text: str, lang: str, today: date) -> tuple[Fact, ...]:
    if not text or text.startswith("/"):
        return ()
    claim = roles.claim(text, lang)
    free = _without(text, claim.span if claim else None)
    found: list[Fact] = []
    if claim and claim.role == "toeleider" and claim.organisation:
        found.append(Fact("organisation", claim.organisation))
    found += child_facts(free, lang, today)
    for clause in clauses(free, lang):  # the last one said wins: "asap, let's say 18 January"
        found += start_facts(clause, lang, today)
    found += frequency_facts(free, lang)
    found += contact_facts(free)
    if not any(f.field == "start" for f in found):
        restart = corrected_start(free, lang, today)
        if restart:
            found.append(Fact("start", restart))
    renamed = corrected_child_name(free, lang)
    if renamed:
        found.append(Fact("child_name", renamed))
    found += location_facts(free if not found or found[-1].field not in ("phone", "email")
                            else _EMAIL.sub(" ", free), lang)
    tokens = tokenize(free)
    care_types = [m.value for m in vocabulary().find(free) if m.entity == "care_type"]
    # "dringend" is urgency; the kind of care is the other word ("een crèche, dringend")
    named = [c for c in care_types if c != "dringende_opvang"] or care_types
    if set(INTAKE_CARE_TYPES) <= set(named) and not any(
            answers.has_cue(k, tokens, lang) for k in ("negation", "prefer")):
        # "sadochok abo niania", "une crèche ou une gardienne": either will do
        found.append(Fact("care_type", "no_preference"))
    elif named:
        found.append(Fact("care_type", named[-1]))
    found += passing_reason_facts(free, lang)
    if _free_price(tokens, lang):
        found.append(Fact("care_pricing", "free_price"))
    single = answers.forms("facts.single_parent", lang).hits(tokens)
    if single:
        found.append(Fact("single_parent", max(single, key=lambda h: h.weight).value == "yes"))
    start = next((f.value for f in found if f.field == "start"), None)
    if says_urgent(free, lang) or "dringende_opvang" in care_types or (
            start and date.fromisoformat(start) <= today + timedelta(days=URGENT_WITHIN_DAYS)):
        found.append(Fact("urgent", True))
    by_field: dict[str, Fact] = {}
    for fact in found:
        by_field[fact.field] = fact
    return tuple(by_field.values())
