"""Benchmark the field app's offline missed list over one community, as a phone holds it.

Seeds the small demo community into a temporary server database and pulls it into a device
store through the real sync protocol (as `app_search_bench.py` does). Then writes straight into
the device store — importing 50,000 completions through the server would only time the import —
a campaign over the whole community (every permanent or floating resident is a target), 50,000
completion records (half of the targets, the rest people of other communities, as a city-wide
platform export brings) and a few hundred doorstep outcomes. Then times, in one run, a tap at a door both ways:
- main: record an outcome, then `Store.campaign_sweep` plus the walking-order grouping
  (`missed_groups`), i.e. what the missed-list screen recomputed after every recorded outcome;
- kept: record an outcome, then `Store.missed_list`, the kept list (field_app/store/kept.py)
  brought up to date for the one person and returned with its counts;
and opening the stored list (held by the connection, and from the file as after a restart), and
the kept list's full recompute (a new campaign, a rescope). The machine is often shared: each
figure also gives this process's CPU time, which waiting for a core does not inflate.
Prints medians and worst cases, and the ratios to main's recompute.

    uv run python bench/campaign_device_bench.py [--repeat 10] [--taps 50] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from field_app.store import Store
from field_app.store.kept import KeptLists
from shared.campaigns import OUTCOME_ZH

sys.path.insert(0, str(Path(__file__).resolve().parent))
from app_search_bench import device_with_community


def add_campaign(store: Store, completions: int, rng: random.Random) -> str:
    db = store.db
    root = db.execute(
        "SELECT id FROM grid_node WHERE deleted = 0 ORDER BY level LIMIT 1"
    ).fetchone()
    campaign_id = str(uuid.uuid4())
    residents = [r[0] for r in db.execute("SELECT id FROM resident WHERE deleted = 0")]
    done = rng.sample(residents, len(residents) // 2)
    others = [str(uuid.uuid4()) for _ in range(max(0, completions - len(done)))]
    with db.conn:
        db.execute(
            "INSERT INTO campaign (id, version, deleted, name, kind, start_date, end_date, "
            "grid_id, residence_statuses, tags, clocks) VALUES (?, 1, 0, ?, ?, ?, ?, ?, ?, ?, '{}')",
            [
                campaign_id,
                "第3轮核酸检测",
                "testing",
                "2026-11-20",
                "2026-11-30",
                root[0],
                '["floating", "permanent"]',
                "[]",
            ],
        )
        db.conn.executemany(
            "INSERT INTO completion (id, version, deleted, campaign_id, resident_id, clocks) "
            "VALUES (?, 1, 0, ?, ?, '{}')",
            [(str(uuid.uuid4()), campaign_id, rid) for rid in done + others],
        )
        kinds = list(OUTCOME_ZH)
        seal = db.sealer.seal
        outcome_ids = [str(uuid.uuid4()) for _ in range(400)]
        db.conn.executemany(
            "INSERT INTO outcome (id, version, deleted, campaign_id, resident_id, outcome, "
            "place, reason, revisit_date, recorded_at, clocks) "
            "VALUES (?, 1, 0, ?, ?, ?, ?, ?, '2026-12-01', ?, '{}')",
            [
                (
                    oid,
                    campaign_id,
                    rng.choice(residents),
                    rng.choice(kinds),
                    # Sealed as `records` seals them (personal fields).
                    seal("outcome", oid, "place", "x"),
                    seal("outcome", oid, "reason", "y"),
                    f"2026-11-2{rng.randint(1, 8)}T0{rng.randint(1, 9)}:00:00.000Z",
                )
                for oid in outcome_ids
            ],
        )
    return campaign_id


class Times:
    """Wall-clock times of runs, and this process's CPU time in each: on a machine shared with
    other work the wall clock also counts waiting for a core, the CPU time does not."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Times:
        self._begin = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall.append(time.perf_counter() - self._begin[0])
        self.cpu.append(time.process_time() - self._begin[1])

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    def __str__(self) -> str:
        return (
            f"median {self.median * 1000:.1f} ms, worst {max(self.wall) * 1000:.1f} ms "
            f"(CPU median {statistics.median(self.cpu) * 1000:.1f} ms, "
            f"worst {max(self.cpu) * 1000:.1f} ms)"
        )


def record(store: Store, campaign_id: str, resident_id: str, kind: str) -> None:
    """An outcome as the missed screen records it (`MissedScreen.save_outcome`)."""
    detail = {"done_elsewhere": {"place": "市一医院"}, "exempt": {"reason": "卧床"}}
    store.create(
        "outcome",
        {
            "campaign_id": campaign_id,
            "resident_id": resident_id,
            "outcome": kind,
            "recorded_at": f"2026-11-29T0{len(kind) % 10}:00:00.000Z",
            **detail.get(kind, {}),
            **({"revisit_date": "2026-12-01"} if kind == "not_home" else {}),
        },
        user_id="bench",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--taps", type=int, default=50)
    parser.add_argument("--completions", type=int, default=50_000)
    parser.add_argument("--profile", action="store_true", help="profile the kept path's taps")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = device_with_community(Path(tmp))
        print(f"device set up in {time.perf_counter() - started:.1f} s")
        campaign_id = add_campaign(store, args.completions, rng)
        kinds = list(OUTCOME_ZH)

        # The kept list's full recompute: what a new campaign, a rescope or m014 costs once.
        build = Times()
        for _ in range(max(1, args.repeat // 2)):
            store.db.execute("INSERT OR IGNORE INTO campaign_dirty (kind, id) VALUES ('all', '')")
            store.db.conn.commit()
            with build:
                listed = store.missed_list(campaign_id)

        # main: every tap records the outcome, then recomputes the sweep and the walking order.
        main_taps = Times()
        for _ in range(args.repeat):
            person = rng.choice(sorted(listed.missed))
            with main_taps:
                record(store, campaign_id, person, rng.choice(kinds))
                swept = store.campaign_sweep(campaign_id)
                groups = swept.missed_groups()
                tally = swept.result.tally()
        listed = store.missed_list(campaign_id)  # catch up with main's taps

        # kept: every tap records the outcome, then the store returns the updated list and counts.
        profile = cProfile.Profile() if args.profile else None
        taps = Times()
        for _ in range(args.taps):
            person = rng.choice(sorted(listed.missed))
            with taps:
                if profile:
                    profile.enable()
                record(store, campaign_id, person, rng.choice(kinds))
                listed = store.missed_list(campaign_id)
                if profile:
                    profile.disable()

        # Opening the stored list (nothing changed since it was last read).
        opens = Times()
        for _ in range(args.taps):
            with opens:
                listed = store.missed_list(campaign_id)

        # Opening it from the file, as after the app restarts (no list held in memory).
        cold = Times()
        for _ in range(args.repeat):
            store._kept = KeptLists()
            with cold:
                listed = store.missed_list(campaign_id)

        swept = store.campaign_sweep(campaign_id)
        groups = swept.missed_groups()
        tally = swept.result.tally()
        assert listed.groups == groups and listed.tally == tally, "kept list != recompute"
        completions = store.db.execute("SELECT COUNT(*) FROM completion").fetchone()[0]
        print(
            f"targets {tally.targets}, completed {tally.completed}, settled {tally.settled}, "
            f"missed {tally.missed} in {len(groups)} buildings; {completions} completion records"
        )
        print(f"main: record an outcome + recompute the list, {args.repeat} taps: {main_taps}")
        print(
            f"kept: record an outcome + updated list and counts, {args.taps} taps: {taps}; "
            f"target <= 20 ms median; {main_taps.median / taps.median:.1f}x faster than main at "
            f"the median, {max(main_taps.wall) / max(taps.wall):.1f}x at the worst"
        )
        print(
            f"kept: open the stored list, {args.taps} opens: {opens}; target <= 150 ms; main "
            f"opened by recomputing, {main_taps.median / opens.median:.1f}x the time"
        )
        print(
            f"kept: open the stored list after a restart (nothing held), {args.repeat} opens: "
            f"{cold}; target <= 150 ms; {main_taps.median / cold.median:.1f}x faster than main"
        )
        print(
            f"kept: full recompute into the kept tables (new campaign, rescope, m014), "
            f"{len(build.wall)} runs: {build}; {build.median / main_taps.median:.2f}x main's "
            f"recompute"
        )
        if profile:
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
        store.close()


if __name__ == "__main__":
    main()
