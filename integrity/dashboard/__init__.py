"""Aggregates for managers: report figures, survey results and campaigns, never a case.

Routes are in ``views.py``, ``campaign_views.py`` and ``exports.py`` on the blueprint of
``blueprint.py``; the figures are computed in ``pages.py``, ``kpis.py`` and ``trends.py``.
"""
