"""Fake provider APIs for the channel tests: real HTTP servers on 127.0.0.1, in a thread."""

from fakes.telegram import FakeTelegram
from fakes.twilio import FakeTwilio

__all__ = ["FakeTelegram", "FakeTwilio"]
