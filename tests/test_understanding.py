"""Reading people, not menus: the pending question first, free-word answers in six languages,
corrections, roles, languages and facts said in passing (plain Python, no Rasa)."""

from __future__ import annotations

from datetime import date

import pytest

from bot import pending
from bot.crisis import signals_crisis
from bot.eligibility.dialogue import interpret as eligibility_answer
from bot.intake import dialogue as intake
from bot.nlu import answers, roles, said
from bot.places.geo import resolve_location
from bot.profile import Profile

TODAY = date(2026, 12, 3)
REASONS = [answers.Option(v, v) for v in intake.BY_NAME["reason"].values]


def turn(field: str, text: str, lang: str, *, intent: str = "inform", confidence: float = 0.9,
         known: dict | None = None, role: str = "parent", free: bool = False,
         kind: str = "structured", entities: list | None = None) -> pending.Turn:
    """read_turn with the snelfiche's own reader for ``field``."""
    question = pending.Question(
        field, lambda t: pending.Read(*_read(intake.reader(field, t, intent, [], lang,
                                                           TODAY))),
        free_text=free, kind=kind)
    return pending.read_turn(question, pending.Message(text, intent, confidence, entities or []),
                             lang, TODAY, role=role, known=known or {},
                             correctable=intake.CORRECTABLE)


def _read(read: intake.Read) -> tuple:
    return read.value, read.ok, read.skipped, read.problem


# --- the pending question comes first ---------------------------------------------------------

@pytest.mark.parametrize("lang,text,expected", [
    ("nl", "ik begin te werken en ik volg nederlandse les", ["work", "integration"]),
    ("en", "the mother works part-time, the father is unemployed", ["work", "job_seeking"]),
    ("ar", "قلت لك أتابع دروس الاندماج", ["integration"]),
    ("nl", "inburgering", ["integration"]),
    ("tr", "calisiyorum", ["work"]),
    ("fr", "je cherche du travail", ["job_seeking"]),
    ("uk", "я шукаю роботу", ["job_seeking"]),
])
def test_a_reason_in_free_words_is_an_answer_whatever_the_classifier_says(lang, text, expected):
    got = turn("reason", text, lang, intent="identify_toeleider", confidence=0.76)
    assert got.kind == "answer"
    assert sorted(got.value) == sorted(expected)


@pytest.mark.parametrize("lang,text,expected", [
    ("tr", "kres", "groepsopvang"), ("tr", "kreş", "groepsopvang"),
    ("fr", "crèche", "groepsopvang"), ("en", "childminder", "gezinsopvang"),
    ("nl", "onthaalouder", "gezinsopvang"), ("nl", "maakt niet uit", "no_preference"),
    ("nl", "2", "groepsopvang"), ("ar", "٢", "groepsopvang"),
])
def test_care_type_words_people_type(lang, text, expected):
    assert turn("care_type", text, lang).value == expected


def test_a_question_in_between_is_a_digression_only_with_a_question_s_words():
    assert turn("location", "wat kost dat eigenlijk?", "nl", intent="ask_price",
                confidence=0.6).kind == "digression"
    # "geen email" leaning towards "contact" is no contact question: a skipped e-mail
    assert turn("email", "geen email", "nl", intent="ask_loket_contact",
                confidence=0.5).kind == "declined"


def test_goodbye_only_when_the_whole_message_is_one():
    sleeps = turn("comfort", "تنام مع اللهاية", "ar", intent="goodbye", confidence=0.8,
                  free=True)
    assert sleeps.kind == "answer" and sleeps.value == "تنام مع اللهاية"
    assert turn("comfort", "ok merci, au revoir", "fr", intent="goodbye", confidence=0.8,
                free=True).kind == "digression"


def test_a_language_named_in_an_answer_about_languages_switches_nothing():
    got = turn("home_languages", "Nederlands en Arabisch", "nl", intent="choose_language",
               free=True)
    assert got.kind == "answer" and got.value == "Nederlands en Arabisch"
    asked = turn("comfort", "huh? in het nederlands aub", "ar", intent="choose_language",
                 free=True)
    assert asked.kind == "language" and asked.value == "nl"


# --- corrections go to their field --------------------------------------------------------------

def test_a_correction_at_another_question_changes_its_field():
    got = turn("allergies", "nee sorry hij is geboren op 3 mei", "nl", free=True,
               known={"child_birth": "2026-04-01"})
    assert (got.kind, got.field, got.value) == ("correction", "child_birth", "2026-05-03")
    fewer_days = turn("reason", "sorry, 4 days, not 3", "en", known={"frequency": "3"})
    assert (fewer_days.kind, fewer_days.field, fewer_days.value) == ("correction",
                                                                     "frequency", "4")
    moved = turn("allergies", "oei, niet in mechelen maar in leuven, we verhuizen", "nl",
                 free=True, known={"location": {"municipality": "Mechelen"}})
    assert moved.field == "location" and moved.value["municipality"] == "Leuven"


def test_a_birth_date_at_the_allergy_question_is_never_the_allergy():
    got = turn("allergies", "hij is geboren op 3 mei", "nl", free=True)
    assert got.kind == "noted" and got.facts[0].field == "child_birth"


def test_a_contact_number_is_not_also_the_parent_s_phone():
    got = turn("toeleider_contact", "015 12 34 56", "nl", kind="contact")
    assert got.kind == "answer" and not got.facts


# --- who is writing -----------------------------------------------------------------------------

@pytest.mark.parametrize("lang,text", [
    ("tr", "calisiyorum"), ("fr", "je travaille"), ("uk", "мне срочно нужен садик, я ищу работу"),
    ("nl", "ik werk in een fabriek"),
    ("fr", "mon assistante sociale du CPAS m'a dit de vous ecrire"),
    ("nl", "de papa is ingeschreven bij de vdab"),
])
def test_work_words_are_no_role(lang, text):
    claim = roles.claim(text, lang)
    assert claim is None or claim.role == "parent"


def test_a_professional_says_so_and_names_the_organisation():
    claim = roles.claim("I'm a social worker at OCMW Mechelen", "en")
    assert claim and claim.role == "toeleider" and claim.organisation == "OCMW Mechelen"
    assert turn("reason", "I'm a social worker at OCMW Mechelen", "en").kind == "role"


@pytest.mark.parametrize("lang, text, organisation", [
    ("fr", "Bonjour, ici Jonas du OCMW Roeselare. Je cherche de l'accueil pour le bébé d'une "
           "famille que j'accompagne.", "OCMW Roeselare"),
    ("uk", "Вітаю! Я міжкультурна медіаторка в Sociaal Huis Brugge. Допомагаю мамі-одиначці.",
     "Sociaal Huis Brugge"),
])
def test_an_organisation_beside_a_family_the_writer_supports_is_a_professional(
        lang, text, organisation):
    claim = roles.claim(text, lang)
    assert claim and claim.role == "toeleider" and claim.for_a_family
    assert claim.organisation == organisation


def test_the_family_supported_is_never_taken_for_the_organisation():
    # "допомагаю родині з Харкова": the family comes from Kharkiv; no organisation is named
    claim = roles.claim("Добрий день, я волонтерка, допомагаю родині з Харкова: вона працює "
                        "прибиральницею", "uk")
    assert claim and claim.role == "toeleider" and claim.organisation is None


@pytest.mark.parametrize("lang, text", [
    ("fr", "des que possible, jai des cours en janvier"),
    ("fr", "elle a cours le lundi, mardi et jeudi"),
    ("uk", "моя студентка не може знайти садочок і через це пропускає уроки"),
    ("tr", "kursum var"),
])
def test_a_bare_word_for_classes_in_passing_leaves_the_reason_to_be_asked(lang, text):
    # Dutch lessons or a vocational course: only the person can say which
    assert not [f for f in said.extract(text, lang, TODAY) if f.field == "reason"]


def test_a_named_training_in_passing_is_a_training():
    facts = said.extract("je commence une formation au vdab", "fr", TODAY)
    assert [f.value for f in facts if f.field == "reason"] == [["training"]]


def test_the_mother_saying_so_wins():
    claim = roles.claim("non je suis la maman, pas une assistante sociale", "fr")
    assert claim and claim.role == "parent"
    assert turn("child_name", "non je suis la maman, pas une assistante sociale", "fr",
                role="toeleider", kind="name").kind == "role"


# --- names, yes and no --------------------------------------------------------------------------

@pytest.mark.parametrize("lang,text,whose,name", [
    ("nl", "mijn naam is Samira El Idrissi", "self", "Samira El Idrissi"),
    ("fr", "la maman s'appelle Clarisse Ilunga", "self", "Clarisse Ilunga"),
    ("tr", "annesi Derya Yildiz", "self", "Derya Yildiz"),
    ("nl", "hij heet Adam", "child", "Adam"),
    ("uk", "Мама: Олена Коваль", "self", "Олена Коваль"),
])
def test_names_without_their_introduction(lang, text, whose, name):
    assert answers.read_name(text, lang, whose) == name


@pytest.mark.parametrize("lang,text,expected", [
    ("nl", "ja is goed", True), ("nl", "geen probleem", True), ("fr", "oui d'accord", True),
    ("tr", "evet olur", True), ("uk", "так", True), ("ar", "نعم", True), ("en", "nope", False),
    ("tr", "hayir", False), ("nl", "ik weet het niet", None),
])
def test_yes_and_no(lang, text, expected):
    assert answers.read_yes_no(text, lang) is expected


def test_single_parent_in_its_own_words():
    assert answers.read_yes_no("nee ik woon met mijn man", "nl", "single_parent") is False
    assert eligibility_answer("single_parent", "ik ben alleen met de kinderen", None, [],
                              "nl").value is True


@pytest.mark.parametrize("lang,text,expected", [
    ("nl", "nee, ze werkt niet en zoekt momenteel ook geen werk", "none"),
    ("en", "no, she does not work and is not looking for work right now", "none"),
    ("nl", "ik werk niet maar ik zoek werk", "job_seeking"),
    ("nl", "ik begin te werken en ik volg nederlandse les", "working"),
    ("nl", "inburgering", "integration_course"),
])
def test_the_work_situation_reads_negations(lang, text, expected):
    assert eligibility_answer("work_situation", text, None, [], lang).value == expected


# --- facts said once ---------------------------------------------------------------------------

def test_facts_in_a_first_message():
    facts = {f.field: f.value for f in said.extract(
        "ik zoek een crèche in Mechelen voor mijn zoon van 8 maanden, dringend", "nl", TODAY)}
    assert facts["location"]["municipality"] == "Mechelen"
    assert facts["care_type"] == "groepsopvang"
    assert facts["child_birth"] == "2026-04-03"
    assert facts["urgent"] is True
    assert "start" not in facts  # "dringend" says it cannot wait, not from when


@pytest.mark.parametrize("text,municipality", [
    ("Мехелен", "Mechelen"), ("ميخلن", "Mechelen"), ("Malines", "Mechelen"),
    ("Anvers", "Antwerpen"), ("в Брюсселі", "Brussel"),
])
def test_places_in_any_script(text, municipality):
    found = resolve_location(text)
    assert found is not None and found.municipality == municipality


def test_urgency_in_six_languages():
    for lang, text in (("nl", "het is dringend"), ("fr", "c'est urgent"),
                       ("uk", "терміново потрібен садочок"), ("tr", "acil lazim"),
                       ("uk", "мне срочно нужен садик"),
                       ("en", "we need it urgently")):
        assert any(f.field == "urgent" for f in said.extract(text, lang, TODAY)), text


def test_a_fact_said_in_passing_never_overwrites_an_answer():
    profile = Profile.of({"location": {"municipality": "Mechelen"}}, {}, {})
    fact = said.Fact("location", {"municipality": "Lier"})
    assert not profile.absorb([fact])
    assert profile.absorb([fact], overwrite=("location",))
    assert profile.place_search["location"]["municipality"] == "Lier"


def test_reasons_add_up_and_give_the_work_situation():
    profile = Profile.of({}, {}, {})
    profile.absorb([said.Fact("reason", ["integration"])])
    profile.absorb([said.Fact("reason", ["work"])])
    assert profile.said["reason"] == ["integration", "work"]
    assert profile.facts["work_situation"] == "working"
    assert profile.intake_prefill()["reason"] == ["integration", "work"]


# --- safety -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "hij heeft me geslagen", "ik word thuis mishandeld", "mijn partner is gewelddadig",
    "ik weet niet waar ik vannacht naartoe moet",
])
def test_crisis_phrasings_reach_a_person(text):
    assert signals_crisis(text)


def test_childcare_words_are_no_crisis():
    assert not signals_crisis("is er dringende opvang in mechelen?")


def test_the_role_check_reads_the_family_over_a_no_in_the_sentence():
    from bot.actions.questionnaire import read_role_check

    said_yes = read_role_check("عائلة أتابعها لا تستطيع دفع الـ inkomenstarief", None, "ar")
    assert said_yes.ok and said_yes.value is True
    own = read_role_check("nee, voor mijn eigen kind", None, "nl")
    assert own.ok and own.value is False
    mother = read_role_check("non je suis la maman", None, "fr")
    assert mother.ok and mother.value is False


def test_the_intent_guard_reads_a_registration_and_never_a_deletion_without_its_verb():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import IntentGuard

    def guarded(text: str, intent: str, confidence: float, lang: str) -> str:
        message = Message({"text": text, "intent": {"name": intent, "confidence": confidence},
                           "entities": [{"entity": "detected_language", "role": "guess",
                                         "value": lang}]})
        IntentGuard({}).process([message])
        return message.get("intent")["name"]

    assert guarded("safi bghit nsejlo", "goodbye", 0.26, "ar") == "start_intake"
    assert guarded("je peux l'inscrire quand meme au loket?", "ask_loket_contact", 0.7,
                   "fr") == "start_intake"
    assert guarded("ik wil mijn gegevens zien", "delete_my_data", 0.8, "nl") == "see_my_data"
    assert guarded("verwijder mijn gegevens", "delete_my_data", 0.8, "nl") == "delete_my_data"
    assert guarded("hoe laat is het", "out_of_scope", 0.3, "nl") == "out_of_scope"
    # registration words beside a search, an introduction or a stated situation
    assert guarded("bghit n9iyed bnti f creche", "find_free_place", 0.67, "ar") == "start_intake"
    assert guarded("Kind en Gezin'de çalışıyorum, Loket'e kayıt yaptırmak istiyoruz",
                   "identify_toeleider", 0.9, "tr") == "start_intake"
    assert guarded("Bir anneyi kaydettirmek istiyorum, leefloon alıyor", "check_reduced_rate",
                   0.8, "tr") == "start_intake"
    assert guarded("kan ik inschrijven en heb ik voorrang?", "check_priority", 0.8,
                   "nl") == "check_priority"
    assert guarded("wakha sajjalni", "affirm", 0.92, "ar") == "start_intake"
    # a short Arabizi message is often guessed to be English: its words still count
    assert guarded("wakha sajjalni", "affirm", 0.92, "en") == "start_intake"
    assert guarded("ja graag", "affirm", 0.99, "nl") == "affirm"


# --- what the conversation evaluation found (round 2) ------------------------------------------

@pytest.mark.parametrize("lang,text,field,value", [
    ("ar", "kay n3es m3a la tetine", None, None),  # Arabizi digits are letters, no age
    ("en", "Hello, I'm a Kind en Gezin nurse in Willebroek.", "child_birth", None),  # "I'm"
    ("tr", "merhaba ben 6 ay once turkiyeden geldim", "child_birth", None),  # ago, no age
    ("nl", "Dag, ik zoek voor een cliënte een plaats in Antwerpen.", "frequency", None),
    ("fr", "elle est nee le 5 mai pas le 5 mars", "frequency", None),
    ("en", "no, she does not work and is not looking for work right now", "urgent", None),
    ("uk", "мне срочно нужен садик", "urgent", True),
    ("nl", "nee, ze werkt niet en zoekt momenteel ook geen werk", "reason", None),
    ("fr", "je cherche une crèche privée, le prix libre ne me dérange pas", "care_pricing",
     "free_price"),
    ("nl", "geen vrije prijs aub", "care_pricing", None),
    ("fr", "bonjour je suis maman seule avec mon fils", "single_parent", True),
    ("fr", "qu'il aille a la creche pour apprendre le neerlandais avant l'ecole", "reason",
     ["development"]),
    ("ar", "الأب يعمل والأم تبحث عن عمل", "reason", ["work", "job_seeking"]),
    ("tr", "pardon yanlis yazdim gent degil evergem, gentin yaninda", "location", "Evergem"),
    ("tr", "genkte oturuyorum", "location", "Genk"),
])
def test_facts_people_mention_and_what_they_do_not_say(lang, text, field, value):
    facts = {f.field: f.value for f in said.extract(text, lang, TODAY)}
    got = facts.get(field) if field else facts.get("child_birth")
    if isinstance(got, dict):
        got = got["municipality"]
    assert got == value


def test_the_start_said_better_in_a_later_clause():
    assert said.answered_start("dès que possible, disons le 18 janvier", "fr",
                               TODAY) == "2027-01-18"
    assert said.answered_start("zo snel mogelijk, gelecek hafta", "tr", TODAY) == "2026-12-07"
    assert said.answered_start("vanaf maart, hij is geboren op 3 mei", "nl",
                               TODAY) == "2027-03-01"


@pytest.mark.parametrize("lang,text,expected", [
    ("uk", "з нового року", "2027-01-01"), ("uk", "z sichnia", "2027-01-01"),
    ("tr", "yilbasindan sonra", "2027-01-01"), ("nl", "na nieuwjaar", "2027-01-01"),
])
def test_start_words_families_use(lang, text, expected):
    assert _read(intake.reader("start", text, "inform", [], lang, TODAY))[:2] == (expected, True)


def test_no_name_yet_skips_the_name_and_stores_no_sentence():
    for lang, text in [("uk", "ещё не выбрали имя"), ("nl", "nog geen naam"),
                       ("en", "no name yet")]:
        value, ok, skipped, _ = _read(intake.reader("child_name", text, "inform", [], lang,
                                                    TODAY))
        assert (value, ok, skipped) == (None, False, True)


def test_a_no_that_answers_is_no_correction():
    # "hayır, işsizlik parası alıyorum" at the leefloon question: the no is the answer
    def read(text: str) -> pending.Read:
        answer = eligibility_answer("receives_leefloon", text, "inform", [], "tr")
        return pending.Read(answer.value, answer.understood)

    question = pending.Question("receives_leefloon", read)
    got = pending.read_turn(question, pending.Message("hayir, issizlik parasi aliyorum",
                                                      "deny", 0.8, []),
                            "tr", TODAY, known={"work_situation": "working"},
                            correctable=("work_situation",))
    assert (got.kind, got.value) == ("answer", False)
    # a real correction word still corrects
    fixed = turn("reason", "sorry, 4 days, not 3", "en", known={"frequency": "3"})
    assert fixed.kind == "correction"


def test_a_no_to_a_list_of_situations_is_none_of_them():
    got = eligibility_answer("work_situation", "لا، زوجي مريض وما بيشتغل وأنا بالبيت",
                             "inform", [], "ar")
    assert (got.value, got.understood) == ("none", True)


@pytest.mark.parametrize("lang,text,expected", [
    ("ar", "اي، قل أكثر من النص", True), ("ar", "ماكو", False), ("ar", "اي", True),
])
def test_iraqi_and_levantine_yes_and_no(lang, text, expected):
    assert answers.read_yes_no(text, lang) is expected


def test_an_organisation_keeps_its_place_in_any_grammar():
    assert roles.claim("CAW Limburg'dan yaziyorum, bir aileyi destekliyorum",
                       "tr").organisation == "CAW Limburg"
    assert roles.claim("Huis van het Kind Beringen'de çalışıyorum",
                       "tr").organisation == "Huis van het Kind Beringen"
    assert roles.claim("ik werk bij het OCMW van Sint-Truiden",
                       "nl").organisation == "OCMW van Sint-Truiden"


@pytest.mark.parametrize("text, intent, expected", [
    ("Скільки коштує садочок і чи можна платити менше?", "ask_price", "check_reduced_rate"),
    # the facts of a first message are kept; its question is the check
    ("Донька Марія, 2 роки. Потрібен садочок 3 дні на тиждень з січня. Скільки це буде "
     "коштувати і чи можна платити менше?", "find_free_place", "check_reduced_rate"),
    # a search that only mentions a cheaper place, and a registration, stay what they are
    ("шукаю дешевший садочок у Генті", "find_free_place", "find_free_place"),
    ("запишіть нас, і чи можна платити менше?", "start_intake", "start_intake"),
])
def test_a_question_that_asks_to_pay_less_is_the_check(text, intent, expected):
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import IntentGuard

    message = Message({"text": text, "intent": {"name": intent, "confidence": 0.62},
                       "entities": [{"entity": "detected_language", "role": "guess",
                                     "value": "uk"}]})
    IntentGuard({}).process([message])
    assert message.get("intent")["name"] == expected


def test_days_a_week_in_a_clause_that_also_says_when():
    facts = {f.field: f.value for f in said.extract(
        "Потрібен садочок 3 дні на тиждень з січня", "uk", TODAY)}
    assert facts["frequency"] == "3" and facts["start"] == "2027-01-01"
    assert "frequency" not in {f.field for f in said.extract("с понедельника", "uk", TODAY)}


def test_a_month_by_its_number():
    assert _read(intake.reader("start", "من شهر ٣", "inform", [], "ar", TODAY))[:2] == (
        "2027-03-01", True)


def test_asking_what_a_word_means_is_no_yes():
    def read(text: str) -> pending.Read:
        answer = eligibility_answer("receives_leefloon", text, "inform", [], "uk")
        return pending.Read(answer.value, answer.understood)

    question = pending.Question("receives_leefloon", read)
    got = pending.read_turn(question, pending.Message("а що таке leefloon?", "inform", 0.5, []),
                            "uk", TODAY)
    assert got.kind == "unreadable"


def test_a_training_at_the_vdab_is_no_job_search_and_levantine_words():
    facts = {f.field: f.value for f in said.extract(
        "з лютого у мене навчання на доглядальницю через VDAB", "uk", TODAY)}
    assert facts["reason"] == ["training"]
    assert _read(intake.reader("reason", "ana 3am edros hollande w zawji 3am ydawer 3a shighl",
                               "inform", [], "ar", TODAY))[:2] == (
        ["integration", "job_seeking"], True)
    # the loket reads the place it knows beside the one written
    assert roles.claim("я социальный работник ОЦМВ Лёвена", "uk").organisation == \
        "ОЦМВ Лёвена (Leuven)"
    assert roles.claim("Bonjour, AS au CPAS de St-Josse. Une maman", "fr").organisation == \
        "CPAS de St-Josse (Sint-Joost-ten-Node)"
    assert roles.claim("je travaille au CPAS d'Anderlecht",
                       "fr").organisation == "CPAS d'Anderlecht"


def test_an_age_before_the_start_words_in_one_clause():
    facts = {f.field: f.value for f in said.extract(
        "ik zoek opvang voor mijn dochter van 10 maanden in Leuven vanaf februari", "nl", TODAY)}
    assert facts["child_birth"] == "2026-02-02" and facts["start"] == "2027-02-01"
    assert "child_birth" not in {f.field for f in said.extract("vanaf 3 maanden", "nl", TODAY)}


def test_a_job_interview_is_looking_for_work_for_the_checks():
    assert said.work_situation(["job_interview"]) == "job_seeking"


def test_languages_a_family_speaks_are_no_request_to_switch():
    assert pending.language_request("українська, трохи російська", "uk") is None
    assert pending.language_request("nederlands en arabisch", "fr") is None
    assert pending.language_request("russian please", "en") is None  # not one we speak
    assert pending.language_request("English?", "nl") == "en"


@pytest.mark.parametrize("lang,text,days", [
    ("uk", "тричі на тиждень", "3"), ("en", "twice a week", "2"), ("ar", "مرتين في الأسبوع", "2"),
    ("nl", "tweemaal per week", "2"),
])
def test_a_number_of_times_a_week(lang, text, days):
    assert _read(intake.reader("frequency", text, "inform", [], lang, TODAY))[:2] == (days, True)


def test_registration_and_professional_words_from_the_new_personas():
    assert answers.has_cue("register", "Kürt bir aile için kreş kaydı yapmak istiyorum", "tr")
    assert answers.has_cue("register", "Вона попросила мене допомогти з реєстрацією", "uk")
    assert answers.has_cue("register", "baddi sajjel ibni", "ar")
    assert roles.claim("je suis AS au CPAS de Liège", "fr").role == "toeleider"
    assert roles.claim("CKG Het Anker'den yazıyorum, bir aileye evde destek veriyoruz",
                       "tr").organisation == "CKG"


def test_a_few_dutch_words_in_another_language_switch_nothing():
    from bot import language

    assert language.assess("tamam inschrijven yapalim").guess == "tr"
    assert language.assess("inschrijven kdv").guess == "nl"  # Dutch words in Dutch stay Dutch
    assert language.assess("mozhna nas zapysaty?").guess == "uk"  # transliterated Ukrainian


def test_a_corrected_child_name_at_another_question():
    got = turn("health", "عفواً غلطت، اسمها زهراء مو زهرة", "ar", free=True,
               known={"child_name": "زهرة"})
    assert (got.kind, got.field, got.value) == ("correction", "child_name", "زهراء")
    assert said.corrected_child_name("ze heet Noor", "nl") is None  # no correction word


def test_round_five_start_correction_duration_and_shifts():
    facts = {f.field: f.value for f in said.extract(
        "Ah non pardon, pas février mais mars, c'est quand ma femme recommence.", "fr", TODAY)}
    assert facts["start"] == "2027-03-01"
    assert "child_birth" not in {f.field for f in said.extract(
        "3 aydir hastalik izninde evdeyim", "tr", TODAY)}  # for how long, not an age
    assert _read(intake.reader("frequency", "ne kozhen tyzhden, tilky koly v mene zminy",
                               "inform", [], "uk", TODAY))[:2] == ("occasional", True)


def test_a_social_worker_s_own_number_is_not_the_family_s_phone():
    got = turn("toeleider_name", "منى عبد الله، ورقمي 0493 12 76 40 إذا احتجتم", "ar",
               kind="name", role="toeleider")
    assert got.kind == "answer" and not any(f.field == "phone" for f in got.facts)


def test_a_title_is_no_part_of_the_name():
    assert answers.read_name("la maman s'appelle Mme Fatoumata Camara", "fr",
                             "self") == "Fatoumata Camara"
    assert answers.read_name("Ayşe Hanım", "tr", "self") == "Ayşe"
    assert answers.read_name("Missy Elliott", "en", "self") == "Missy Elliott"


@pytest.mark.parametrize("lang,text,expected", [
    ("fr", "plutot une creche, elle n'est pas a l'aise avec une gardienne", "groepsopvang"),
    ("nl", "liever een onthaalouder dan een kinderdagverblijf", "gezinsopvang"),
    ("fr", "une gardienne ou une crèche, ce qui est libre", "no_preference"),
])
def test_a_preference_among_two_care_types(lang, text, expected):
    assert _read(intake.reader("care_type", text, "inform", [], lang, TODAY))[:2] == (
        expected, True)


def test_saint_written_short_is_a_place():
    assert resolve_location("St-Josse (1210)").municipality == "Sint-Joost-ten-Node"
    assert resolve_location("St.-Niklaas").municipality == "Sint-Niklaas"


def test_an_other_question_at_a_free_text_question_is_not_its_answer():
    got = turn("allergies", "هي الحضانة بتقدم أكل حلال؟", "ar", free=True,
               intent="out_of_scope", confidence=0.5)
    assert got.kind == "unreadable"
    kept = turn("allergies", "noten, denk ik", "nl", free=True, intent="out_of_scope")
    assert kept.kind == "answer"
    # a question that names a crèche seeks no place: the snelfiche goes on
    halal = turn("allergies", "Kreşte helal yemek veriyorlar mı?", "tr", free=True,
                 intent="find_free_place", confidence=0.6)
    assert halal.kind == "unreadable" and halal.problem == "answer.question_later"
    assert turn("allergies", "is the food halal?", "en", free=True).kind == "unreadable"
    search = turn("allergies", "is er ergens een vrije plaats in Gent?", "nl", free=True,
                  intent="find_free_place", confidence=0.6)
    assert search.kind == "digression"


# --- the partner's reasons, dates only as near as the words ------------------------------------

def _reasons(text: str, lang: str) -> list[str] | None:
    return next((f.value for f in said.extract(text, lang, TODAY) if f.field == "reason"), None)


@pytest.mark.parametrize("lang, text", [
    ("en", "hello, my husband work part time and i am at home with kids. we look for childcare"),
    ("nl", "Hallo, mijn man werkt deeltijds en ik ben thuis met de kinderen."),
    ("fr", "mon mari travaille à temps plein, je cherche une crèche"),
    ("uk", "чоловік працює, шукаємо садочок"),
])
def test_the_partner_s_work_alone_leaves_the_reason_open(lang, text):
    facts = {f.field: f.value for f in said.extract(text, lang, TODAY)}
    assert "reason" not in facts and "work_situation" not in facts


@pytest.mark.parametrize("lang, text, expected", [
    ("nl", "mijn man werkt en ik volg Nederlandse les", {"work", "integration"}),
    ("ar", "ana bshte8el bel forn w marti 3am ta3mel inburgering", {"work", "integration"}),
    ("uk", "Муж работает полный день, а у меня рассеянный склероз", {"work", "crisis_health"}),
    ("fr", "mon mari travaille, moi je cherche du travail", {"work", "job_seeking"}),
    ("nl", "ik werk voltijds", {"work"}),
])
def test_the_partner_s_reason_counts_beside_one_s_own(lang, text, expected):
    assert set(_reasons(text, lang) or []) == expected


@pytest.mark.parametrize("lang, text, expected", [
    ("uk", "чоловік працює, а я вчу нідерландську на курсах у CVO", {"work", "integration"}),
    ("nl", "ik volg Nederlandse les en een opleiding tot verpleegkundige",
     {"integration", "training"}),
])
def test_the_dutch_course_is_no_second_training(lang, text, expected):
    assert set(_reasons(text, lang) or []) == expected
    tokens = answers.tokenize(text)
    read = intake.reader("reason", text, "inform", [], lang, TODAY)
    assert set(read.value) == expected, tokens


@pytest.mark.parametrize("lang, text, approx", [
    ("uk", "я вагітна, роды в феврале", True),
    ("ar", "bghit creche l bnti, 3ndha 2 3am", True),
    ("nl", "mijn zoon van 8 maanden", False),
    ("en", "she was born on 12 May 2025", False),
])
def test_a_birth_as_near_as_the_words_is_asked_again_in_the_snelfiche(lang, text, approx):
    fact = next(f for f in said.extract(text, lang, TODAY) if f.field == "child_birth")
    assert fact.approx is approx
    profile = Profile.of({}, {}, {})
    profile.absorb([fact])
    assert profile.get("child_birth") == fact.value  # the search still knows the age
    assert ("child_birth" in profile.intake_prefill()) is not approx
    if not approx:
        return
    exact = next(f for f in said.extract("geboren op 3 maart 2025", "nl", TODAY)
                 if f.field == "child_birth")
    profile.absorb([exact])  # a date said later replaces the estimate
    assert profile.get("child_birth") == "2025-03-03"
    assert profile.intake_prefill()["child_birth"] == "2025-03-03"


@pytest.mark.parametrize("lang, text, approx", [
    ("tr", "anne ocakta inburgering kursuna başlayacak", True),
    ("uk", "мама з січня теж починає працювати", True),
    ("fr", "on cherche une crèche à partir de mars", True),
    ("nl", "opvang nodig vanaf 11 januari", False),
    ("en", "we need care from next week", False),
])
def test_a_start_said_as_a_month_in_passing_is_asked_in_the_snelfiche(lang, text, approx):
    fact = next(f for f in said.extract(text, lang, TODAY) if f.field == "start")
    assert fact.approx is approx
    profile = Profile.of({}, {}, {})
    profile.absorb([fact])
    assert profile.get("start") == fact.value  # the place search still uses the month
    assert ("start" in profile.intake_prefill()) is not approx
    if not approx:
        return
    exact = next(f for f in said.extract("vanaf 11 januari", "nl", TODAY) if f.field == "start")
    profile.absorb([exact])  # the day said later replaces the month
    assert profile.intake_prefill()["start"] == "2027-01-11"


@pytest.mark.parametrize("lang, text, expected", [
    ("uk", "ой, забыла сказать, у него аллергия на яйца. Зовут Марк", "Марк"),
    ("nl", "sorry, hij heet Adam", "Adam"),
    ("fr", "pardon, elle s appelle Manon", "Manon"),
    ("en", "Mona Abdallah, my number is 0470 12 34 56", "Mona Abdallah"),
    ("en", "oops, sorry", None),
    # a tentative name is the name; the naming verb may come after it; "the dad is …"
    ("en", "we dont know yet, maybe Martina", "Martina"),
    ("fr", "peut-être Lina, on hésite encore", "Lina"),
    ("nl", "ze gaat Nora heten en ze komt normaal op 15/01", "Nora"),
    ("nl", "de papa is Tom Claes", "Tom Claes"),
    ("uk", "Назар, ім'я вже вибрали", "Назар"),
    ("ar", "esmo Karam", "Karam"),
])
def test_the_name_is_the_clause_that_names_never_an_oops(lang, text, expected):
    assert intake.reader("child_name", text, "inform", [], lang, TODAY).value == expected


def test_an_expected_date_without_a_year_lies_ahead_in_russian_too():
    read = intake.reader("child_birth", "ожидаемая дата 10 февраля", "inform", [], "uk", TODAY)
    assert read.value == "2027-02-10"


@pytest.mark.parametrize("lang, text", [
    ("tr", "pardon yanlis yazdim, 2 yasinda degil 20 aylik"),
    ("uk", "ні, не 2 роки, а 20 місяців"),
    ("nl", "sorry, niet 2 jaar maar 20 maanden"),
    ("fr", "pas 2 ans mais 20 mois"),
])
def test_a_denied_age_gives_way_to_the_age_said_instead(lang, text):
    birth = next(f for f in said.extract(text, lang, TODAY) if f.field == "child_birth")
    assert birth.value == "2025-04-03" and not birth.approx  # 20 months


def test_either_care_type_named_is_no_preference_and_searches_both():
    from bot.places.dialogue import search_kwargs

    facts = {f.field: f.value for f in said.extract("sadochok abo niania v Knokke", "uk", TODAY)}
    assert facts["care_type"] == "no_preference"
    profile = Profile.of({}, {}, {})
    profile.absorb(said.extract("sadochok abo niania v Knokke", "uk", TODAY))
    assert profile.intake_prefill()["care_type"] == "no_preference"
    assert search_kwargs(profile.place_search, TODAY)["care_type"] is None
    # a negation chooses one
    assert {f.field: f.value for f in said.extract(
        "pas une crèche mais une gardienne", "fr", TODAY)}["care_type"] == "gezinsopvang"
    assert intake.reader("care_type", "مش فارقة", "inform", [], "ar", TODAY).value == \
        "no_preference"


def test_a_start_corrected_in_latin_ukrainian():
    got = turn("child_birth", "oi, ne 21, a 22 hrudnia, vybachte", "uk",
               known={"start": "2026-12-21"})
    assert (got.kind, got.field, got.value) == ("correction", "start", "2026-12-22")


def test_french_en_is_no_and_back_to_work_says_when():
    facts = {f.field: f.value for f in said.extract(
        "on habite à Forest et je reprends le travail en mars. Il me faudrait une crèche",
        "fr", TODAY)}
    assert facts["start"] == "2027-03-01" and facts["reason"] == ["work"]
    assert {f.field: f.value for f in said.extract(
        "I go back to work on 1 February", "en", TODAY)}["start"] == "2027-02-01"
    # twins: "ils sont nés le 2 mai" is a birth date, never an allergy
    got = turn("allergies", "ils sont nés le 2 mai", "fr", free=True,
               known={"child_birth": "2026-05-04"})
    assert (got.kind, got.field, got.value) == ("correction", "child_birth", "2026-05-02")


def test_a_brussels_municipality_is_named_in_french_for_a_french_family():
    from bot.places.geo import display_name

    location = {"municipality": "Vorst", "postcode": "1190"}
    assert intake.display("location", location, "fr") == "1190 Forest"
    assert intake.display("location", location, "nl") == "1190 Vorst"
    assert display_name("Gent", "fr") == "Gent"  # Flemish names stay as the loket writes them


def test_an_exact_birth_date_refines_one_known_from_an_age():
    got = turn("frequency", "il est né le 28 septembre 2025", "fr",
               known={"child_birth": "2025-10-03"})  # "14 mois" before
    assert (got.kind, got.field, got.value) == ("correction", "child_birth", "2025-09-28")
    far = turn("frequency", "il est né le 28 septembre 2024", "fr",
               known={"child_birth": "2025-10-03"})
    assert far.kind != "correction"  # a year apart: not the same child's date made exact
    profile = Profile.of({}, {}, {})
    profile.absorb(said.extract("son fils de 14 mois", "fr", TODAY))
    profile.absorb(said.extract("il est né le 28 septembre 2025", "fr", TODAY))
    assert profile.get("child_birth") == "2025-09-28"


def test_per_week_is_no_next_week():
    # "haftada" (a week) is one letter from "haftaya" (next week)
    assert not said.says_urgent("şubattan itibaren haftada 3 gün kreş lazım", "tr")


@pytest.mark.parametrize("lang, text, kind", [
    ("fr", "mon enfant a 2 ans", "correction"),   # "enfant" one letter from "enfait"
    ("ar", "حضانة ولا مربية", "negation"),         # "or", not "and no"
])
def test_a_real_word_is_never_read_as_a_typo_of_a_cue(lang, text, kind):
    assert not answers.has_cue(kind, text, lang)
    assert answers.read_yes_no(text, lang) is None


def test_a_real_word_still_counts_where_it_is_a_form_itself():
    assert answers.has_cue("correction", "en fait non", "fr")
    assert answers.read_yes_no("غادي نبدا الخدمة", "ar") is None  # "we start", not "never"


@pytest.mark.parametrize("lang, text", [
    ("fr", "les lundis et mardis"), ("en", "mondays and fridays"),
    ("nl", "op maandagen en dinsdagen")])
def test_weekdays_in_the_plural_are_days_a_week(lang, text):
    assert intake.reader("frequency", text, "inform", [], lang, TODAY).value == "2"


@pytest.mark.parametrize("lang, field, text, expected", [
    ("tr", "frequency", "tam gün", "5"),
    ("tr", "start", "yeni yıldan sonra", "2027-01-01"),
    ("tr", "care_type", "bakıcı", "gezinsopvang"),
    ("ar", "frequency", "نص الأسبوع", "3"),
    ("ar", "care_type", "أي واحدة", "no_preference"),
])
def test_everyday_answers_in_turkish_and_arabic(lang, field, text, expected):
    assert intake.reader(field, text, "inform", [], lang, TODAY).value == expected


@pytest.mark.parametrize("lang, field, text, expected", [
    ("nl", "frequency", "ma-di-do", "3"),      # a list of three days, not Monday to Thursday
    ("nl", "frequency", "ma-vr", "5"),
    ("fr", "frequency", "lundi-mardi-jeudi", "3"),
    ("nl", "start", "na de kerstvakantie", "2027-01-01"),
    ("en", "start", "after christmas", "2027-01-01"),
])
def test_dashed_day_lists_and_after_christmas(lang, field, text, expected):
    assert intake.reader(field, text, "inform", [], lang, TODAY).value == expected


@pytest.mark.parametrize("lang, text", [
    ("fr", "je suis éducatrice en crèche et je cherche une place pour mon fils"),
    ("nl", "ik ben maatschappelijk werker en zoek opvang voor mijn dochter"),
])
def test_a_professional_asking_for_her_own_child_is_a_parent(lang, text):
    assert roles.claim(text, lang) is None
    # … and one who asks for a family stays a professional
    assert roles.claim("ik ben maatschappelijk werker bij het OCMW en help een gezin",
                       "nl").role == "toeleider"


@pytest.mark.parametrize("text, expected", [
    ("Lotte, dat zei ik al", "Lotte"), ("زهراء، قلت لك من قبل", "زهراء"),
    ("Peeters, Sanne", "Peeters, Sanne"), ("El Idrissi - Samira", "El Idrissi - Samira")])
def test_a_remark_after_the_name_is_no_part_of_it(text, expected):
    assert answers.read_name(text, "nl", "child") == expected


def test_the_child_s_name_said_at_the_summary_corrects_it():
    question = pending.Question(
        intake.CONFIRM, lambda t: pending.Read(*_read(intake.reader(
            intake.CONFIRM, t, "inform", [], "nl", TODAY))), open_to_corrections=True)
    got = pending.read_turn(question, pending.Message("ze heet Lotte", "inform", 0.5, []),
                            "nl", TODAY, known={"child_name": "Lotte, dat zei ik al"},
                            correctable=intake.CORRECTABLE)
    assert (got.kind, got.field, got.value) == ("correction", "child_name", "Lotte")
    french = pending.Question(
        intake.CONFIRM, lambda t: pending.Read(*_read(intake.reader(
            intake.CONFIRM, t, "affirm", [], "fr", TODAY))), open_to_corrections=True)
    for yes in ("oui c'est correct", "c'est bon"):  # "c'est" names nobody at the summary
        ok = pending.read_turn(french, pending.Message(yes, "affirm", 0.9, []), "fr", TODAY,
                               known={"child_name": "Manon"}, correctable=intake.CORRECTABLE)
        assert ok.kind == "answer", yes


def test_a_reduced_rate_asked_in_other_words_is_the_check():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import IntentGuard

    message = Message({"text": "العائلة تتقاضى الدخل الاجتماعي (RIS). هل يحق لها تعرفة مخفضة؟",
                       "intent": {"name": "check_reduced_rate", "confidence": 0.28},
                       "entities": [{"entity": "detected_language", "role": "guess",
                                     "value": "ar"}]})
    IntentGuard({}).process([message])
    # the classifier's guess, confirmed by the words: sure enough not to fall back
    assert message.get("intent") == {"name": "check_reduced_rate", "confidence": 0.6}


def test_an_organisation_keeps_its_own_name_after_the_acronym():
    assert roles.claim("Я викладачка нідерландської в CVO Kisp у Генті", "uk").organisation \
        == "CVO Kisp"
    assert roles.claim("I work at the OCMW The mother agreed", "en").organisation == "OCMW"
    assert roles.claim("ik werk bij OCMW Mechelen en help", "nl").organisation == "OCMW Mechelen"


@pytest.mark.parametrize("text, expected", [
    # a need that only sounds like the house rules (sick, doctor, some days) asks for a place
    ("i need help for my baby, my wife is sick after the birth, doctor say baby must go to "
     "creche some days", "find_free_place"),
    # a question about them stays one
    ("does the creche need a doctor's note when he is sick?", "ask_house_rules"),
])
def test_a_statement_of_need_is_no_house_rules_question(text, expected):
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import IntentGuard

    message = Message({"text": text, "intent": {"name": "ask_house_rules", "confidence": 0.8},
                       "entities": [{"entity": "detected_language", "role": "guess",
                                     "value": "en"},
                                    {"entity": "care_type", "value": "groepsopvang"}]})
    IntentGuard({}).process([message])
    assert message.get("intent")["name"] == expected


@pytest.mark.parametrize("lang, text, organisation", [
    ("ar", "السلام عليكم، أنا هبة من Kind en Gezin في تورنهاوت.", "Kind en Gezin"),
    ("fr", "Bonjour, Jeroen de Pleegzorg Oost-Vlaanderen.", "Pleegzorg Oost-Vlaanderen"),
    ("en", "Hi, this is Hannah from Atlas, the integration service in Antwerp.", "Atlas"),
    ("nl", "ik ben Sofie van het OCMW Gent", "OCMW Gent"),
])
def test_a_writer_naming_themself_from_an_organisation_is_a_professional(
        lang, text, organisation):
    claim = roles.claim(text, lang)
    assert claim and claim.role == "toeleider" and claim.organisation == organisation


@pytest.mark.parametrize("lang, text", [
    ("nl", "ik ben ingeschreven bij de VDAB"),
    ("nl", "ik kreeg een brief van het OCMW"),
    ("ar", "أنا مسجلة في OCMW"),
    ("fr", "je suis la maman, inscrite au CPAS"),
    ("uk", "ми отримуємо допомогу від OCMW, не знаю чи це leefloon"),  # help from the OCMW
    ("nl", "we krijgen steun van het OCMW"),
])
def test_a_parent_naming_an_organisation_stays_a_parent(lang, text):
    claim = roles.claim(text, lang)
    assert claim is None or claim.role == "parent"


def test_days_corrected_beside_a_clause_about_the_training_are_read():
    # "la formation est tous les jours" is about the training; the first clause says the days
    facts = said.extract("Pardon, je me suis trompée : c'est 5 jours par semaine, la formation "
                         "est tous les jours.", "fr", TODAY)
    assert [f.value for f in facts if f.field == "frequency"] == ["5"]
    assert not [f for f in said.extract("ik werk voltijds", "nl", TODAY)
                if f.field == "frequency"]


def test_a_complaint_said_as_a_statement_stays_a_house_rules_question():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.components import IntentGuard

    message = Message({"text": "بغيت ندير شكاية على الكريش",
                       "intent": {"name": "ask_house_rules", "confidence": 0.8},
                       "entities": [{"entity": "detected_language", "role": "guess",
                                     "value": "ar"},
                                    {"entity": "care_type", "value": "groepsopvang"}]})
    IntentGuard({}).process([message])
    assert message.get("intent")["name"] == "ask_house_rules"
