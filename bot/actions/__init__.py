"""Rasa custom actions. Kept thin: each reads the tracker, calls plain domain code in ``bot``,
and sends the resulting replies. The action server loads every module of this package."""
