"""The loket's inbox: a small web app for staff (queue, conversation, reply, handback, free
places, report) and the families' web chat, in one aiohttp process on loopback.

Staff replies reach the family through Rasa (``action_staff_say``), so they travel the
family's own channel. Every staff text lives in ``locales/staff/<lang>.yml``.
"""
