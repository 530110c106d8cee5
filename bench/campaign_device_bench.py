"""Benchmark the field app's offline missed list over one community, as a phone holds it.

Seeds the small demo community into a temporary server database and pulls it into a device
store through the real sync protocol (as `app_search_bench.py` does). Then writes straight into
the device store — importing 50,000 completions through the server would only time the import —
a campaign over the whole community (every permanent or floating resident is a target), 50,000
completion records (half of the targets, the rest people of other communities, as a city-wide
platform export brings) and a few hundred doorstep outcomes. Times `Store.campaign_sweep` plus
the walking-order grouping (`missed_groups`), i.e. what the missed-list screen recomputes after
every recorded outcome; prints the median and the worst of N runs.

    uv run python bench/campaign_device_bench.py [--repeat 10] [--completions 50000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from field_app.store import Store
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
        db.conn.executemany(
            "INSERT INTO outcome (id, version, deleted, campaign_id, resident_id, outcome, "
            "place, reason, revisit_date, recorded_at, clocks) "
            "VALUES (?, 1, 0, ?, ?, ?, 'x', 'y', '2026-12-01', ?, '{}')",
            [
                (
                    str(uuid.uuid4()),
                    campaign_id,
                    rng.choice(residents),
                    rng.choice(kinds),
                    f"2026-11-2{rng.randint(1, 8)}T0{rng.randint(1, 9)}:00:00.000Z",
                )
                for _ in range(400)
            ],
        )
    return campaign_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--completions", type=int, default=50_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = device_with_community(Path(tmp))
        print(f"device set up in {time.perf_counter() - started:.1f} s")
        campaign_id = add_campaign(store, args.completions, rng)
        times: list[float] = []
        for _ in range(args.repeat):
            begin = time.perf_counter()
            swept = store.campaign_sweep(campaign_id)
            groups = swept.missed_groups()
            times.append(time.perf_counter() - begin)
        tally = swept.result.tally()
        completions = store.db.execute("SELECT COUNT(*) FROM completion").fetchone()[0]
        print(
            f"targets {tally.targets}, completed {tally.completed}, settled {tally.settled}, "
            f"missed {tally.missed} in {len(groups)} buildings; {completions} completion records"
        )
        print(
            f"missed list (sweep + walking order), {args.repeat} runs: "
            f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
        )
        store.close()


if __name__ == "__main__":
    main()
