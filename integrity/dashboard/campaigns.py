"""Awareness campaigns: recorded by managers and admins, measured against surveys and reports.

A campaign's effect on a survey figure is a difference in differences: the change from the
last wave before the campaign to the first wave after it in the target units, minus the same
change in the other units. Each of the four group figures is the headcount-weighted combination
of the published unit figures (surveys.estimates.weighted) of the units published in both
waves, so it is built from figures already shown and reveals nothing withheld. The four are
independent samples, so their variances add (docs/dashboard.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from integrity.audit import record
from integrity.dashboard.trends import Point, SurveyTrends, Trend, WaveInfo
from integrity.dashboard.units import UnitTree
from integrity.models import Campaign, CampaignKind, OrgUnit, User
from integrity.reporting.models import Report
from integrity.translation_editor import Group, texts_of
from surveys import estimates
from surveys.estimates import Estimate
from surveys.suppression import ItemKind, Thresholds, suppressed

VOLUME_WINDOW_DAYS = 91  # about three months before the start and after the end


class CampaignError(ValueError):
    """A campaign that cannot be recorded as given; the message says why."""


@dataclass(frozen=True)
class CampaignData:
    name: str
    kind: CampaignKind
    starts_on: date
    ends_on: date
    org_unit_ids: list[int]
    note: str = ""


def campaigns(session: Session) -> list[Campaign]:
    """Every campaign, the latest first."""
    return list(session.scalars(select(Campaign).order_by(Campaign.starts_on.desc(),
                                                          Campaign.id.desc())))


def save_campaign(session: Session, actor: User, data: CampaignData,
                  campaign: Campaign | None = None) -> Campaign:
    """Record a new campaign, or change ``campaign``; audited. The caller commits."""
    name = data.name.strip()
    if not name:
        raise CampaignError(_l("A campaign needs a name."))
    if data.ends_on < data.starts_on:
        raise CampaignError(_l("A campaign cannot end before it starts."))
    org_units = list(session.scalars(select(OrgUnit).where(OrgUnit.id.in_(data.org_unit_ids))))
    if not org_units or len(org_units) != len(set(data.org_unit_ids)):
        raise CampaignError(_l("Choose at least one target unit."))
    added = campaign is None
    if campaign is None:
        campaign = Campaign(created_by_id=actor.id)
        session.add(campaign)
    campaign.name = name[:200]
    campaign.kind = data.kind
    campaign.starts_on = data.starts_on
    campaign.ends_on = data.ends_on
    campaign.note = data.note.strip()
    campaign.org_units = org_units
    session.flush()
    record(session, actor=actor, action="campaign_added" if added else "campaign_changed",
           subject=f"campaign:{campaign.id}",
           details={"kind": campaign.kind, "starts_on": campaign.starts_on.isoformat(),
                    "ends_on": campaign.ends_on.isoformat(),
                    "units": sorted(org_unit.id for org_unit in org_units)})
    return campaign


def delete_campaign(session: Session, actor: User, campaign: Campaign) -> None:
    """Remove a campaign; audited. The caller commits."""
    record(session, actor=actor, action="campaign_deleted", subject=f"campaign:{campaign.id}",
           details={"kind": campaign.kind, "starts_on": campaign.starts_on.isoformat()})
    session.delete(campaign)
    session.flush()


def campaign_groups(campaign: Campaign) -> list[Group]:
    """What the campaign's translation page lists: its name (the note is not translated)."""
    return [Group("campaign", _l("Campaign"), texts_of(campaign, (
        ("name", _l("Campaign"), 200, False),)))]


def target_units(campaign: Campaign, tree: UnitTree) -> set[int]:
    """The units a campaign reached: those named and every unit under them."""
    found: set[int] = set()
    for org_unit in campaign.org_units:
        found |= tree.subtree(org_unit.id)
    return found


@dataclass(frozen=True)
class Span:
    """A campaign as the charts shade it."""

    id: int
    name: str
    starts_on: date
    ends_on: date


def spans(session: Session) -> list[Span]:
    rows = session.execute(select(Campaign.id, Campaign.name, Campaign.starts_on,
                                  Campaign.ends_on).order_by(Campaign.starts_on))
    return [Span(*row) for row in rows]


# --- effects -----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupChange:
    before: Estimate | None
    after: Estimate | None
    units: int  # units published in both waves, whose figures were combined


@dataclass(frozen=True)
class Effect:
    key: str
    label: str
    percent: bool
    better: str
    target: GroupChange
    others: GroupChange
    estimate: Estimate | None  # the difference in differences
    missing: str | None = None  # why there is no estimate

    @property
    def reading(self) -> str:
        """"up", "down", "none" (the interval covers zero) or "unknown"."""
        if self.estimate is None:
            return "unknown"
        if self.estimate.low > 0:
            return "up"
        if self.estimate.high < 0:
            return "down"
        return "none"

    @property
    def improved(self) -> bool | None:
        """Whether the measured change is an improvement; None without a measurable one."""
        if self.reading not in ("up", "down"):
            return None
        return self.reading == self.better


@dataclass(frozen=True)
class Volume:
    """Reports from the target and the other units before and after (None: withheld)."""

    before_days: int
    after_days: int
    target_before: int | None
    target_after: int | None
    others_before: int | None
    others_after: int | None
    target_staff: int
    others_staff: int

    @staticmethod
    def rate(count: int | None, staff: int, days: int) -> float | None:
        """Reports per 100 staff per 30 days."""
        if count is None or not staff or not days:
            return None
        return count / staff * 100 * 30 / days


@dataclass
class CampaignEffects:
    campaign: Campaign
    targets: set[int]
    before: WaveInfo | None
    after: WaveInfo | None
    effects: list[Effect]
    volume: Volume | None


def _combined(point: Point, org_unit_ids: list[int], headcounts: dict[int, int]) -> Estimate:
    cells = [(point.org_units[u].estimate, headcounts[u]) for u in org_unit_ids]
    return estimates.weighted([(e, n) for e, n in cells if e is not None])


def difference_in_differences(target_before: Estimate, target_after: Estimate,
                              others_before: Estimate, others_after: Estimate) -> Estimate:
    """(target after − before) − (others after − before); four independent variances added."""
    return estimates.difference(estimates.difference(others_before, others_after),
                                estimates.difference(target_before, target_after))


def _effect(trend: Trend, before: WaveInfo, after: WaveInfo, targets: set[int],
            headcounts: dict[int, int]) -> Effect:
    first, last = trend.point(before.id), trend.point(after.id)

    def published(point: Point | None, org_unit_id: int) -> bool:
        figure = point.org_units.get(org_unit_id) if point else None
        return figure is not None and figure.estimate is not None

    common = [u for u in sorted(headcounts) if headcounts[u] > 0
              and published(first, u) and published(last, u)]
    target_units = [u for u in common if u in targets]
    other_units = [u for u in common if u not in targets]
    missing = None
    if first is None or last is None:
        missing = _l("The question was not asked in both waves.")
    elif not target_units:
        missing = _l("No target unit has figures in both waves (too few answers).")
    elif not other_units:
        missing = _l("No other unit has figures in both waves to compare with.")
    if missing is not None or first is None or last is None:
        return Effect(trend.key, trend.label, trend.percent, trend.better,
                      GroupChange(None, None, len(target_units)),
                      GroupChange(None, None, len(other_units)), None, str(missing))
    target = GroupChange(_combined(first, target_units, headcounts),
                         _combined(last, target_units, headcounts), len(target_units))
    others = GroupChange(_combined(first, other_units, headcounts),
                         _combined(last, other_units, headcounts), len(other_units))
    assert target.before and target.after and others.before and others.after
    estimate = difference_in_differences(target.before, target.after, others.before,
                                         others.after)
    return Effect(trend.key, trend.label, trend.percent, trend.better, target, others, estimate)


def waves_around(trends: SurveyTrends, campaign: Campaign) -> tuple[WaveInfo | None,
                                                                     WaveInfo | None]:
    """The last wave closed before the campaign started, the first opened after it ended."""
    before = [w for w in trends.waves if w.closes_on < campaign.starts_on]
    after = [w for w in trends.waves if w.opens_on > campaign.ends_on]
    return (max(before, key=lambda w: w.opens_on) if before else None,
            min(after, key=lambda w: w.opens_on) if after else None)


def volume(session: Session, campaign: Campaign, targets: set[int], tree: UnitTree,
           today: date, threshold: int) -> Volume | None:
    """Reports from the target and other units in the 91 days before and after the campaign."""
    before_start = campaign.starts_on - timedelta(days=VOLUME_WINDOW_DAYS)
    after_start = campaign.ends_on + timedelta(days=1)
    after_end = min(campaign.ends_on + timedelta(days=VOLUME_WINDOW_DAYS), today)
    after_days = max(0, (after_end - after_start).days + 1)
    in_target = case((Report.org_unit_id.in_(sorted(targets)), 1), else_=0)
    window = case((Report.created_on < campaign.starts_on, 0), else_=1)
    rows = session.execute(
        select(in_target, window, func.count())
        .where(Report.org_unit_id.isnot(None),
               or_(and_(Report.created_on >= before_start,
                        Report.created_on < campaign.starts_on),
                   and_(Report.created_on >= after_start, Report.created_on <= after_end)))
        .group_by(in_target, window))
    counts = {(int(t), int(w)): int(n) for t, w, n in rows}
    thresholds = Thresholds(threshold, threshold, threshold)
    shown: dict[tuple[int, int], int | None] = {}
    for w in (0, 1):
        cells = {"total": counts.get((1, w), 0) + counts.get((0, w), 0),
                 "target": counts.get((1, w), 0), "others": counts.get((0, w), 0)}
        hidden = suppressed(cells, kind=ItemKind.DISTRIBUTION, thresholds=thresholds,
                            parent={"target": "total", "others": "total"})
        shown[(1, w)] = None if "target" in hidden else cells["target"]
        shown[(0, w)] = None if "others" in hidden else cells["others"]
    staff = sum(tree.nodes[u].headcount for u in targets if u in tree.nodes)
    return Volume(VOLUME_WINDOW_DAYS, after_days, shown[(1, 0)], shown[(1, 1)] if after_days
                  else None, shown[(0, 0)], shown[(0, 1)] if after_days else None, staff,
                  tree.headcount() - staff)


def campaign_effects(session: Session, campaign: Campaign, trends: SurveyTrends | None,
                     today: date, threshold: int, tree: UnitTree | None = None
                     ) -> CampaignEffects:
    """The campaign's effect on each survey series and on the number of reports."""
    tree = tree or UnitTree.load(session)
    targets = target_units(campaign, tree)
    before, after = waves_around(trends, campaign) if trends else (None, None)
    effects = []
    if trends and before and after:
        headcounts = {uid: node.headcount for uid, node in tree.nodes.items()}
        effects = [_effect(trend, before, after, targets, headcounts) for trend in trends.trends]
    return CampaignEffects(campaign, targets, before, after, effects,
                           volume(session, campaign, targets, tree, today, threshold))
