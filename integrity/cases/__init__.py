"""The inspectors' workspace: the inbox and the case pages (``views.py``), and the rules of a
case's life (workflow, deadlines, sharing, the thread, retention)."""
