"""Conversation evaluation (``make converse-eval``): scripted personas who answer whatever the
assistant asks in free words, and what ended up stored. See ``python -m tests.converse -h``."""
