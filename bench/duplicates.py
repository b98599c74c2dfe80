"""Register-wide duplicates (children.matching.register, `manage.py find_duplicates`): pair
recall, precision and time on planted duplicates.

1. Reads every name of every child of the bench register (bench/seed.py --keep, or
   `seed_demo`): the register holds no duplicates of its own, but may hold look-alikes.
2. Plants a second record for a share of its children (default 1%), as a second source's
   record of one child differs (children.matching.corruption.second_record: typos, nicknames,
   changed family names, moves, date slips, in the rates real records show), under a new
   child id and without an NHS number (with one, the import would have attached it), known
   to an organisation that does not know the first record (the second source), except for
   a share (--same-organisation, default 10%) that one of the first's organisations sent
   from another system. Plants twins too (--twins, default 0.8% of children): the same
   family name, date of birth and postcode, another given name, known to the same
   organisations as their twin except for a share (--twins-apart, default 10%) known to
   another one only. Each twin found is a wrong pair.
3. Runs the same find_pairs that find_duplicates runs, and reports: planted pairs found
   (recall), found pairs that are planted (precision), and the time, beside the time of
   reading the register out of PostgreSQL in the same run (the reference).

PostgreSQL only. Run from the repository root, alone on the machine:

    .venv/bin/python bench/duplicates.py                       # the whole bench register
    .venv/bin/python bench/duplicates.py --limit 200000 --share 0.02

Nothing is written to the database.
"""

import argparse
import itertools
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from search import _register_details, environment, setup_django

TARGETS = {"recall": 0.95, "precision": 0.90, "seconds_at_1m": 600}


# Organisations that are no one else's: one per planted record that needs one.
_NEW_ORGANISATIONS = itertools.count(-1, -1)


def planted(
    records: list, share: float, seed: int, same_organisation: float
) -> tuple[list, set[tuple[int, int]]]:
    """Second records for a random share of the children: (the records, the planted pairs)."""
    from children.identifiers import normalise_postcode
    from children.matching.corruption import second_record
    from children.matching.keys import name_keys, other_given_keys
    from children.matching.register import NameRecord

    rng = random.Random(f"{seed}:planted")
    children = sorted({r.child_id for r in records})
    chosen = rng.sample(children, max(1, int(len(children) * share)))
    details = _register_details(chosen)
    next_child = max(children) + 1
    next_name = max(r.name_id for r in records) + 1
    sexes = {r.child_id: r.sex for r in records}
    known_to = {r.child_id: r.known_to for r in records}
    out, pairs = [], set()
    for child_id in chosen:
        if child_id not in details:
            continue
        second = second_record(rng, replace(details[child_id], sex=sexes.get(child_id, "")))
        keys = name_keys(given_names=second.given_name, family_name=second.family_name)
        out.append(
            NameRecord(
                name_id=next_name,
                child_id=next_child,
                nhs_number="",
                family_key=keys["family_key"],
                given_key=keys["given_key"],
                family_sound=keys["family_sound"],
                given_sound=keys["given_sound"],
                date_of_birth=second.date_of_birth,
                postcode=normalise_postcode(second.postcode) if second.postcode else "",
                sex=second.sex,
                other_given_keys=other_given_keys(second.middle_names),
                known_to=(
                    (rng.choice(known_to[child_id]),)
                    if known_to.get(child_id) and rng.random() < same_organisation
                    else (next(_NEW_ORGANISATIONS),)
                ),
            )
        )
        pairs.add((child_id, next_child))
        next_child += 1
        next_name += 1
    return out, pairs


def twins(
    records: list, share: float, apart: float, seed: int, first_child: int, first_name: int
) -> list:
    """A twin for a random share of the children (about 0.8% of children have one): the same
    family name, date of birth and postcode, another given name, the same sex two times in
    three. Not duplicates: each found is a wrong pair."""
    from children.matching.corruption import default_pools
    from children.matching.keys import name_keys

    rng = random.Random(f"{seed}:twins")
    pools = default_pools()
    firsts = [r for r in records if r.name_id == min_name_of(records, r.child_id)]
    out = []
    for n, r in enumerate(rng.sample(firsts, int(len(firsts) * share))):
        sex = r.sex if rng.random() < 2 / 3 else {"female": "male", "male": "female"}.get(r.sex, "")
        given = rng.choice(pools.girls if sex == "female" else pools.boys).split()[0]
        keys = name_keys(given_names=given, family_name="x")
        if keys["given_key"] == r.given_key:
            continue
        out.append(
            replace(
                r,
                name_id=first_name + n,
                child_id=first_child + n,
                nhs_number="",
                given_key=keys["given_key"],
                given_sound=keys["given_sound"],
                sex=sex,
                other_given_keys=(),
                known_to=(next(_NEW_ORGANISATIONS),) if rng.random() < apart else r.known_to,
            )
        )
    return out


_FIRST_NAME: dict[int, int] = {}


def min_name_of(records: list, child_id: int) -> int:
    if not _FIRST_NAME:
        for r in records:
            _FIRST_NAME[r.child_id] = min(_FIRST_NAME.get(r.child_id, r.name_id), r.name_id)
    return _FIRST_NAME[child_id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="signposting_seedbench")
    parser.add_argument("--limit", type=int, default=None, help="at most this many names")
    parser.add_argument("--share", type=float, default=0.01, help="children given a duplicate")
    parser.add_argument("--twins", type=float, default=0.008, help="children given a twin")
    parser.add_argument(
        "--same-organisation",
        type=float,
        default=0.1,
        help="second records sent by an organisation that knows the first",
    )
    parser.add_argument(
        "--twins-apart", type=float, default=0.1, help="twins no organisation knows both of"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--curve", action="store_true", help="recall and precision at lower thresholds too"
    )
    args = parser.parse_args()
    environment(args.database)
    setup_django()
    from children.matching import register
    from children.matching.model import current_model

    read_started = time.monotonic()
    records = list(itertools.islice(register.register_name_records(), args.limit))
    read_seconds = time.monotonic() - read_started
    extra, truth = planted(records, args.share, args.seed, args.same_organisation)
    twin_records = twins(
        records,
        args.twins,
        args.twins_apart,
        args.seed,
        first_child=max(r.child_id for r in extra) + 1_000,
        first_name=max(r.name_id for r in extra) + 1_000,
    )
    extra += twin_records
    twin_children = {r.child_id for r in twin_records}
    model = current_model()
    started = time.monotonic()
    pairs = register.find_pairs(
        [*records, *extra], model=model, progress=print, threshold=0.01 if args.curve else None
    )
    seconds = time.monotonic() - started
    if args.curve:
        for at in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.95):
            kept = {(p.child_a, p.child_b) for p in pairs if p.probability >= at}
            with_twins = len([p for p in kept if p[1] in twin_children])
            print(
                f"at {at:>4}: recall {len(kept & truth) / len(truth):.4f},"
                f" precision {len(kept & truth) / max(1, len(kept)):.4f}, pairs {len(kept)},"
                f" twins {with_twins}"
            )
        pairs = [p for p in pairs if p.probability >= model.show_at]
    found = {(p.child_a, p.child_b) for p in pairs}
    hits = len(found & truth)
    figures = {
        "children": len({r.child_id for r in records}),
        "names": len(records),
        "planted": len(truth),
        "twins_planted": len(twin_children),
        "twins_in_pairs": len([p for p in found if p[1] in twin_children]),
        "pairs_found": len(found),
        "recall": round(hits / len(truth), 4) if truth else None,
        "precision": round(hits / len(found), 4) if found else None,
        "seconds": round(seconds, 1),
        "reference_read_seconds": round(read_seconds, 1),
        "ratio_to_reference": round(seconds / read_seconds, 1) if read_seconds else None,
        "targets": TARGETS,
    }
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    for name, value in figures.items():
        print(f"{name:>24}: {value}")
    missed = sorted(truth - found)[:10]
    if missed:
        print("some planted pairs missed (register child, planted child):", missed)


if __name__ == "__main__":
    main()
