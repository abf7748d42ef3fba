"""The anonymous reporting channel: the reporter's pages (``views.py``), the API (``api.py``),
the rules of filing (``filing.py``, ``routing.py``, ``pow.py``, ``checks.py``), the mailbox
(``mailbox.py``), sealed uploads (``attachments.py``) and their storage."""
