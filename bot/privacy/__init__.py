"""A family's personal data, in one place: what is stored, its export, erasure and expiry.

- ``export``: everything stored about one conversation id, readable (the right of access: the
  inbox's export, ``python -m bot family export``, the in-chat overview).
- ``erasure``: one family's data deleted now (the inbox, ``python -m bot family delete``) or
  from the chat ("delete my data": its conversation events after the turn is saved, by the
  tracker store, bot/rasa_ext/tracker_store.py).
- ``retention``: what is past its retention period, deleted daily (``python -m bot purge``).
- ``tables``: the stores they all read and change: the assistant's own tables that hold a
  conversation id (care requests, handoffs and their notes, the channel message store of
  connectors/messages.py, opt-outs, the audit log) and the tracker store's events.
- ``cli``: the ``purge`` and ``family`` commands.

The package reads the stores; none of their modules imports it (the actions, the CLI, the
inbox and the tracker store call it), so there is no import cycle
(tests/test_module_imports.py). Nothing is imported here, so a command pays only for
the module it uses.
"""
