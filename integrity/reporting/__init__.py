"""The anonymous reporting channel: the reporter's pages (``views.py``), the API (``api.py``),
the rules of filing and the mailbox (``services.py``), sealed uploads and their storage."""
