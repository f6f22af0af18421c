"""The conversational assistant of the lokaal loket kinderopvang.

Domain logic lives in plain modules (no Rasa import) so tests and the command line can call it;
Rasa-specific glue sits in ``bot.nlu``, ``bot.nlg`` and ``bot.actions``.
"""
