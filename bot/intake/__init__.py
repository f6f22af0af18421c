"""The snelfiche (quick intake): care requests with consent, kept as drafts while filled in."""
