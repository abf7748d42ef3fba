"""Small-cell suppression: primary, complementary, hierarchy, and what an outsider can work out."""

import random

import pytest

from surveys.suppression import Cell, ItemKind, Reason, Thresholds, publish, suppressed

TOO_FEW, COMPLEMENTARY = Reason.TOO_FEW, Reason.COMPLEMENTARY


def test_nothing_is_withheld_when_every_cell_is_large():
    assert suppressed({"north": 10, "south": 25, "airport": 40}) == {}


def test_a_small_cell_and_the_next_smallest_are_withheld():
    # Alone, "port" (4) would equal the total (99) minus the published cells (95).
    counts = {"north": 30, "port": 4, "south": 25, "airport": 40}
    hidden = suppressed(counts)
    assert hidden == {"port": TOO_FEW, "south": COMPLEMENTARY}
    rest = sum(counts.values()) - sum(n for unit, n in counts.items() if unit not in hidden)
    assert rest == 29
    assert all(rest != counts[unit] for unit in hidden)


def test_two_small_cells_protect_each_other_when_they_pool_to_k():
    assert suppressed({"a": 4, "b": 6, "c": 30, "d": 40}) == {"a": TOO_FEW, "b": TOO_FEW}


def test_small_cells_that_pool_below_k_need_a_large_one():
    # 2 + 3 + 4 = 9 responses could still be read off as one pooled figure.
    hidden = suppressed({"a": 2, "b": 3, "c": 4, "d": 50, "e": 60})
    assert hidden == {"a": TOO_FEW, "b": TOO_FEW, "c": TOO_FEW, "d": COMPLEMENTARY}


def test_ties_go_to_the_cell_listed_first():
    hidden = suppressed({"a": 3, "b": 20, "c": 20, "d": 20})
    assert hidden == {"a": TOO_FEW, "b": COMPLEMENTARY}


def test_sensitive_items_use_the_higher_threshold():
    counts = {"north": 15, "south": 30, "airport": 40}
    assert suppressed(counts, kind=ItemKind.INDEX) == {}
    assert suppressed(counts, kind=ItemKind.DISTRIBUTION) == {}
    assert suppressed(counts, kind=ItemKind.SENSITIVE) == {"north": TOO_FEW, "south": COMPLEMENTARY}


def test_thresholds_can_be_set():
    counts = {"north": 7, "south": 30, "airport": 40}
    assert suppressed(counts, thresholds=Thresholds(index=5)) == {}
    assert suppressed(counts) == {"north": TOO_FEW, "south": COMPLEMENTARY}
    with pytest.raises(ValueError):
        Thresholds(sensitive=0)


def test_an_empty_unit_is_withheld_but_forces_nothing():
    assert suppressed({"a": 0, "b": 15, "c": 20}) == {"a": TOO_FEW}


def test_an_empty_unit_does_not_hide_a_small_one():
    # 12 of the wave's 112 responses carry no listed unit: the wave minus the published cells
    # gives 3 + 12, but the 12 may be known and the empty unit adds nothing, so "c" goes too.
    counts = {"wave": 112, "a": 0, "b": 3, "c": 40, "d": 57}
    hidden = suppressed(counts, parent=dict.fromkeys("abcd", "wave"))
    assert hidden == {"a": TOO_FEW, "b": TOO_FEW, "c": COMPLEMENTARY}


def test_a_small_remainder_in_the_total_is_protected():
    # 3 of the wave's 93 responses belong to no listed unit: the wave minus the cells would
    # give their pooled figure, so two cells are withheld to bury them.
    counts = {"wave": 93, "a": 20, "b": 30, "c": 40}
    hidden = suppressed(counts, parent=dict.fromkeys("abc", "wave"))
    assert hidden == {"a": COMPLEMENTARY, "b": COMPLEMENTARY}


def test_children_are_checked_against_their_parent():
    counts = {"east": 60, "west": 45, "east-rail": 5, "east-road": 25, "east-port": 30}
    parent = {"east-rail": "east", "east-road": "east", "east-port": "east"}
    assert suppressed(counts, parent=parent) == {"east-rail": TOO_FEW, "east-road": COMPLEMENTARY}


def test_a_withheld_parent_cannot_be_rebuilt_from_its_children():
    # "north" (4) needs a partner: "east" (30), the smallest. Published, its children would add
    # up to 30 and give "east" back, and with it "north"; so both children go too.
    counts = {"east": 30, "north": 4, "west": 50, "east-rail": 12, "east-road": 18}
    parent = {"east-rail": "east", "east-road": "east"}
    hidden = suppressed(counts, parent=parent)
    assert hidden == {
        "north": TOO_FEW,
        "east": COMPLEMENTARY,
        "east-rail": COMPLEMENTARY,
        "east-road": COMPLEMENTARY,
    }


def test_responses_attached_to_the_parent_itself_are_protected():
    # "east" has 30 responses, its two stations 14 each: the 2 at headquarters would be
    # "east" minus its stations, so the stations are withheld.
    counts = {"east": 30, "west": 40, "east-rail": 14, "east-road": 14}
    parent = {"east-rail": "east", "east-road": "east"}
    hidden = suppressed(counts, parent=parent)
    assert hidden == {"east-rail": COMPLEMENTARY, "east-road": COMPLEMENTARY}


def test_the_wave_itself_can_be_a_unit():
    # Listing the wave as the top unit withholds its own figure when it is small.
    counts = {"wave": 7, "north": 3, "south": 4}
    parent = {"north": "wave", "south": "wave"}
    hidden = suppressed(counts, parent=parent)
    assert hidden == {"wave": TOO_FEW, "north": TOO_FEW, "south": TOO_FEW}
    counts = {"wave": 75, "north": 5, "south": 30, "airport": 40}
    parent = {"north": "wave", "south": "wave", "airport": "wave"}
    assert suppressed(counts, parent=parent) == {"north": TOO_FEW, "south": COMPLEMENTARY}


@pytest.mark.parametrize(
    ("counts", "parent"),
    [
        ({"a": -1, "b": 20}, None),
        ({"a": 20, "a1": 15, "a2": 15}, {"a1": "a", "a2": "a"}),
        ({"a": 20, "a1": 15}, {"a1": "b"}),
        ({"a": 20, "b": 20}, {"a": "b", "b": "a"}),
    ],
    ids=["negative", "children exceed parent", "unknown parent", "cycle"],
)
def test_inconsistent_counts_are_refused(counts, parent):
    with pytest.raises(ValueError):
        suppressed(counts, parent=parent)


# --- what an outsider can work out -----------------------------------------------------------


SIZES = [0, 1, 2, 3, 5, 8, 9, 12, 20, 35, 60]


def _random_tree(rng: random.Random) -> tuple[dict[str, int], dict[str, str]]:
    """A wave of directorates and their posts, with some responses above the posts."""
    counts: dict[str, int] = {}
    parent: dict[str, str] = {}
    for d in range(rng.randint(1, 4)):
        posts = {f"d{d}p{p}": rng.choice(SIZES) for p in range(rng.randint(0, 4))}
        counts |= posts
        parent |= dict.fromkeys(posts, f"d{d}")
        own = rng.choice([0, 0, 0, 2, 12]) if posts else rng.choice(SIZES)
        counts[f"d{d}"] = sum(posts.values()) + own
        parent[f"d{d}"] = "wave"
    counts["wave"] = sum(n for unit, n in counts.items() if parent[unit] == "wave")
    counts["wave"] += rng.choice([0, 0, 0, 3, 15])
    return counts, parent


def _leaks(counts: dict[str, int], parent: dict[str, str], hidden: dict, k: int) -> list[str]:
    """What an outsider could work out from each published total and its published parts."""
    leaks = []
    for owner in set(parent.values()):
        parts = [unit for unit, up in parent.items() if up == owner]
        unpublished = counts[owner] - sum(counts[u] for u in parts if u not in hidden)
        withheld = [u for u in parts if u in hidden and counts[u] > 0]
        if owner in hidden:
            if unpublished == 0 and counts[owner] > 0:
                leaks.append(f"{owner} is the sum of its published parts")
        elif 0 < unpublished < k:
            leaks.append(f"{owner} minus its published parts is {unpublished} responses")
        elif len(withheld) == 1:
            leaks.append(f"{owner} minus its published parts leaves only {withheld[0]}")
    return leaks


@pytest.mark.parametrize("kind", list(ItemKind))
def test_nothing_withheld_can_be_worked_out_from_the_totals(kind):
    k = Thresholds().k(kind)
    rng = random.Random(7)
    for _ in range(500):
        counts, parent = _random_tree(rng)
        hidden = suppressed(counts, kind=kind, parent=parent)
        assert all(counts[unit] >= k for unit in counts if unit not in hidden)
        assert _leaks(counts, parent, hidden, k) == [], (counts, hidden)


def test_the_leak_check_finds_what_primary_suppression_alone_gives_away():
    counts = {"wave": 99, "north": 30, "port": 4, "south": 25, "airport": 40}
    parent = dict.fromkeys(["north", "port", "south", "airport"], "wave")
    assert _leaks(counts, parent, {"port": TOO_FEW}, 10) != []
    assert _leaks(counts, parent, suppressed(counts, parent=parent), 10) == []


def test_flat_units_give_up_at_most_one_large_cell():
    rng = random.Random(11)
    for _ in range(500):
        counts = {f"unit{i}": rng.choice(SIZES) for i in range(rng.randint(2, 8))}
        hidden = suppressed(counts)
        assert sum(reason is COMPLEMENTARY for reason in hidden.values()) <= 1, counts


def test_a_withheld_index_cannot_be_worked_out_from_the_overall_index():
    counts = {"north": 30, "port": 4, "south": 25, "airport": 40}
    index = {"north": 60.0, "port": 20.0, "south": 55.0, "airport": 70.0}
    total = sum(counts.values())
    overall = sum(counts[u] * index[u] for u in counts) / total  # published for the wave
    shown = [cell for cell in publish(index, counts).values() if cell.withheld is None]
    rest = total - sum(cell.n for cell in shown)
    worked_out = (overall * total - sum(cell.n * cell.value for cell in shown)) / rest
    assert worked_out != pytest.approx(index["port"])
    # Withholding only "port" would have given it away.
    naive = (overall * total - sum(counts[u] * index[u] for u in counts if u != "port")) / 4
    assert naive == pytest.approx(index["port"])


# --- the published table ---------------------------------------------------------------------


def test_publish_replaces_withheld_cells_and_says_why():
    counts = {"north": 30, "port": 4, "south": 25, "airport": 40}
    table = publish({"north": 61.5, "port": 20.0, "south": 55.0, "airport": 70.25}, counts)
    assert table == {
        "north": Cell(61.5, 30),
        "port": Cell(None, None, TOO_FEW),
        "south": Cell(None, None, COMPLEMENTARY),
        "airport": Cell(70.25, 40),
    }


def test_publish_takes_any_values_and_a_subset_of_units():
    counts = {"north": 15, "south": 30, "airport": 40}
    shares = {"north": {"yes": 0.2, "no": 0.8}, "airport": {"yes": 0.1, "no": 0.9}}
    table = publish(shares, counts, kind=ItemKind.SENSITIVE)
    assert table == {"north": Cell(None, None, TOO_FEW), "airport": Cell(shares["airport"], 40)}


def test_publish_refuses_a_value_without_a_count():
    with pytest.raises(ValueError):
        publish({"north": 1.0, "elsewhere": 2.0}, {"north": 30})
