"""Rasa NLU graph components: thin wrappers around ``bot.language`` and ``bot.vocabulary``.

Both run inside the Rasa server process, so language detection and entity lookup cost no extra
network hop. They only add entities; the sticky language decision is made by the slot mappings
(``detected_language`` with role ``switch``) and by the actions (``guess``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import joblib
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import language
from bot.crisis import signals_crisis
from bot.i18n import SUPPORTED
from bot.intent_model import IntentModel
from bot.nlu import answers
from bot.vocabulary import vocabulary


class _NonTrainable(GraphComponent):
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    @staticmethod
    def _add(message: Message, entities: list[dict[str, Any]]) -> None:
        if entities:
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LanguageDetector(_NonTrainable):
    """Adds ``detected_language`` entities with role ``guess``, ``switch`` or ``unsupported``."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"backend": "lingua"}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._detector = language.detector(config.get("backend") or "lingua")

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):  # a button payload, not something a person typed
                continue
            found = language.assess(text, self._detector)
            entities = [
                {
                    "entity": "detected_language",
                    "role": role,
                    "value": value,
                    "start": 0,
                    "end": len(text),
                    "extractor": self.__class__.__name__,
                }
                for role, value in (
                    ("guess", found.guess),
                    ("switch", found.switch),
                    ("unsupported", found.unsupported),
                )
                if value
            ]
            self._add(message, entities)
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class VocabularyEntityExtractor(_NonTrainable):
    """Finds ``care_type`` and ``language`` values in any supported language, typos forgiven."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def process(self, messages: list[Message]) -> list[Message]:
        vocab = vocabulary()
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            self._add(
                message,
                [
                    {
                        "entity": m.entity,
                        "value": m.value,
                        "start": m.start,
                        "end": m.end,
                        "extractor": self.__class__.__name__,
                    }
                    for m in vocab.find(text)
                ],
            )
        return messages


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class CharNgramIntentClassifier(GraphComponent):
    """Intent classification with ``bot.intent_model`` (see there for why not DIET)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 1.0, "temperature": 4.0, "ranking_length": 10}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage,
                 resource: Resource, model: IntentModel | None = None) -> None:
        self.config = config
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        self._model = IntentModel.train(
            [m.get(TEXT) for m in examples], [m.get(INTENT) for m in examples],
            c=float(self.config["C"]), temperature=float(self.config["temperature"]),
        )
        with self._storage.write_to(self._resource) as directory:
            joblib.dump(self._model, directory / "intent_model.joblib")
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> GraphComponent:
        try:
            with model_storage.read_from(resource) as directory:
                model = joblib.load(directory / "intent_model.joblib")
        except ValueError:  # not trained (e.g. a config without NLU data)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:
            return messages
        texts = [m.get(TEXT) or "" for m in messages]
        for message, ranking in zip(messages, self._model.rank(texts), strict=True):
            if not message.get(TEXT) or (message.get(INTENT) or {}).get("name"):
                continue  # empty text, or a payload that already names its intent
            top = ranking[: int(self.config["ranking_length"])]
            message.set(INTENT, {"name": top[0][0], "confidence": top[0][1]},
                        add_to_output=True)
            message.set(INTENT_RANKING_KEY,
                        [{"name": n, "confidence": c} for n, c in top], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class CrisisDetector(_NonTrainable):
    """A message with crisis words is a request for a person, marked urgent (bot.crisis)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/") or not signals_crisis(text):
                continue
            message.set(INTENT, {"name": "request_human", "confidence": 1.0},
                        add_to_output=True)
            self._add(message, [{"entity": "urgency", "value": "crisis", "start": 0,
                                 "end": len(text), "extractor": self.__class__.__name__}])
        return messages


# a registration asked for beside a greeting, thanks or the loket's name ("kan ik hem toch
# inschrijven bij het loket?") is the registration
# "bghit n9iyed bnti f creche": registration words beside a care type ask to register, not
# to search
YIELD_TO_REGISTER = frozenset({"ask_loket_contact", "greet", "thank", "goodbye", "affirm",
                               "find_free_place", "identify_toeleider"})
# … and so does a statement of the family's situation that only sounds like a check ("Bir
# anneyi kaydettirmek istiyorum… leefloon alıyor"), unless it asks something
YIELD_TO_REGISTER_UNASKED = frozenset({"check_priority", "check_reduced_rate"})
# a message full of facts that ends asking to pay less asks for the reduced-rate check
ASKS_WITH_FACTS = frozenset({"find_free_place", "inform", "ask_care_types", "greet"})
KEEP_PAY_LESS = frozenset({"start_intake", "delete_my_data", "see_my_data", "request_human",
                           "check_reduced_rate", "check_priority"})  # (an unsure check: made sure)
GUARD_CONFIDENCE = 0.6  # a form's pending question still reads the message first
UNSURE = 0.45  # below this the classifier's top intent is a guess
# questions about care types name a care type too: never turned into a search
KEEP_WHEN_UNSURE = frozenset({"ask_care_types", "ask_price", "request_human", "start_intake",
                              "find_free_place", "delete_my_data", "see_my_data",
                              "check_priority", "check_reduced_rate", "ask_house_rules"})


def _says(kind: str, text: str, lang: str) -> bool:
    """A cue (registration, paying less) in the guessed language, or in any of ours: a short
    message ("wakha sajjalni") is often guessed wrong, and these words are distinct across
    them."""
    return bool(_all_languages(kind).hits(answers.tokenize(text)))


def _names_rules(text: str) -> bool:
    """A house-rules topic other than absence ("بغيت ندير شكاية على الكريش": a complaint);
    sickness and a doctor are also what a family in need tells."""
    from bot.house_rules import topics_in

    return any(t != "absence" for t in topics_in(text))


def _asks(text: str, lang: str) -> bool:
    return "?" in text or "؟" in text or answers.has_cue("question", text, lang)


@cache
def _all_languages(kind: str) -> answers.Forms:
    """One matcher for a cue's forms in all our languages (one pass over the message)."""
    merged: dict[str, list[str]] = {}
    for code in SUPPORTED:
        for value, forms in answers.table(f"cues.{kind}", code).items():
            merged.setdefault(value, []).extend(forms)
    return answers.Forms(merged)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class IntentGuard(_NonTrainable):
    """The classifier's score checked against the words: a deletion needs a deletion verb
    ("ik wil mijn gegevens zien" is the right of access, never a deletion); a guess or a
    greeting beside registration words is a registration; a price question that asks to pay
    less is the reduced-rate check; a guess at a message that names a kind of care is a
    request for a place."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = message.get(INTENT) or {}
            if text.startswith("/") or not intent.get("name"):
                continue
            entities = message.get(ENTITIES, [])
            guesses = [e.get("value") for e in entities
                       if e.get("entity") == "detected_language" and e.get("role") == "guess"]
            lang = str(guesses[0]) if guesses else "nl"
            name = intent["name"]
            unsure = float(intent.get("confidence") or 0) < UNSURE
            if name == "delete_my_data" and not answers.has_cue("delete", text, lang):
                self._set(message, "see_my_data", 1.0)
            elif _says("pay_less", text, lang) and (name == "ask_price" or (
                    name == "check_reduced_rate" and unsure) or (
                    (name in ASKS_WITH_FACTS or unsure) and name not in KEEP_PAY_LESS
                    and ("?" in text or answers.has_cue("question", text, lang)))):
                # "Скільки коштує садочок і чи можна платити менше?": the check answers both;
                # so it does after the facts of a first message ("… 3 дні на тиждень з
                # січня … чи можна платити менше?"), which are kept for the search
                self._set(message, "check_reduced_rate")
            elif ((unsure and name not in KEEP_WHEN_UNSURE) or name in YIELD_TO_REGISTER
                  or (name in YIELD_TO_REGISTER_UNASKED and "?" not in text)) \
                    and _says("register", text, lang):
                # "safi bghit nsejlo", "بغينا نسجلوها": a registration in its own words
                self._set(message, "start_intake")
            elif (((name == "inform" or unsure) and name not in KEEP_WHEN_UNSURE)
                  or (name == "ask_house_rules" and not _asks(text, lang)
                      and not _names_rules(text))) \
                    and any(e.get("entity") == "care_type" for e in entities):
                # (nor is a statement that only sounds like the house rules a question about
                # them: "my wife is sick … doctor say baby must go to creche some days")
                # a long message full of facts ("mon fils est né le 2 février, je cherche une
                # crèche à Hasselt à partir de janvier…") is a request for a place
                ranking = [r.get("name") for r in message.get(INTENT_RANKING_KEY) or []][:3]
                self._set(message, "start_intake" if "start_intake" in ranking
                          else "find_free_place")
        return messages

    @staticmethod
    def _set(message: Message, name: str, confidence: float = GUARD_CONFIDENCE) -> None:
        message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
