"""Finding a child: candidates from indexed blocks, scored by the match model, best first.

The blocks (children.matching.blocks) are index lookups on the search keys every recorded
name carries, each for a kind of error; every name they find is scored by the match model
(children.matching.model): the weights of the levels at which family name, given name and
date of birth agree, the best of the child's names, and then postcode (the best of the
child's addresses, current or past) and sex for the candidates that could still reach the
threshold. A result is shown when its match probability reaches the model's threshold,
with its grade (certain, probable, possible) and how each detail agrees.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from django.utils import timezone

from children.identifiers import normalise_postcode
from children.matching import blocks
from children.matching.comparisons import (
    COMPARISONS,
    DateComparer,
    NameComparer,
    PostcodeComparer,
    only_slips,
    sex_level,
)
from children.matching.keys import first_given_key, name_key, phonetic
from children.matching.model import MatchModel, current_model
from children.models import Child

MAX_RESULTS = 10


@dataclass(frozen=True)
class Match:
    child_id: int
    probability: float
    grade: str  # "certain", "probable" or "possible"
    # Comparison name -> the level the search and the record agree at ("exact", ...).
    agreement: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchOutcome:
    matches: list[Match]  # at most MAX_RESULTS, best first
    too_many: bool  # more children reach the threshold than can be shown: refine the search
    model_version: str = ""
    # Children who partly match, not closely enough to be shown (the user is told to add
    # details, and shown none of them).
    partial: int = 0

    @property
    def child_ids(self) -> list[int]:
        return [match.child_id for match in self.matches]


@dataclass(frozen=True)
class Typed:
    """What was typed, as the model compares it."""

    family_key: str
    given_key: str
    family_sound: str
    given_sound: str
    date_of_birth: date | None
    postcode: str
    outward_code: str
    sex: str


def find_children(
    *,
    family_name: str = "",
    given_name: str = "",
    date_of_birth: date | None = None,
    postcode: str = "",
    sex: str = "",
    nhs_number: str = "",
    model: MatchModel | None = None,
) -> SearchOutcome:
    """The children that match, best first. The caller has checked the minimum criteria."""
    model = model or current_model()
    if nhs_number:
        ids = list(Child.objects.filter(nhs_number=nhs_number).values_list("pk", flat=True)[:1])
        return SearchOutcome(
            matches=[Match(ids[0], 1.0, "certain", {"nhs_number": "exact"})] if ids else [],
            too_many=False,
            model_version=model.version,
        )
    family_key = name_key(family_name)
    given_key = first_given_key(given_name)
    postcode = normalise_postcode(postcode) if postcode else ""
    typed = Typed(
        family_key=family_key,
        given_key=given_key,
        family_sound=phonetic(family_key),
        given_sound=phonetic(given_key),
        date_of_birth=date_of_birth,
        postcode=postcode,
        outward_code=postcode.split(" ")[0] if postcode else "",
        sex=sex,
    )
    if not family_key or (date_of_birth is None and not typed.outward_code):
        return SearchOutcome(matches=[], too_many=False, model_version=model.version)
    comparer = NameComparer(typed.family_key, typed.family_sound, typed.given_key)
    today = timezone.localdate()
    rows = blocks.candidates(
        typed,
        today=today,
        narrowed=_narrowed(typed, comparer, model, today=today),
        common_far=_cannot_count_far(typed, model),
    )
    scored = score(typed, rows, model, prior=model.search_prior, comparer=comparer)
    # A slip shown under the show threshold has no grade of the model's own: possible.
    shown = [
        match if match.grade else replace(match, grade="possible")
        for match in scored
        if shows(match, model)
    ]
    return SearchOutcome(
        matches=shown[:MAX_RESULTS],
        too_many=len(shown) > MAX_RESULTS,
        model_version=model.version,
        partial=sum(
            1
            for match in scored
            if match.probability >= model.partial_at and not shows(match, model)
        ),
    )


def _narrowed(
    typed: Typed, comparer: NameComparer, model: MatchModel, *, today: date
) -> blocks.Narrowed | None:
    """The date block cut down to the names the scorer would score (blocks.Narrowed), when
    it would skip the others: those whose family and given names both differ from the typed
    ones cannot count (_both_names_different_cannot_count), most of the names on a date.
    And, with a common family name, the mistyped-date block of its sound cut down to the
    names whose given name could agree (_common_at_mistyped_dates)."""
    if typed.date_of_birth is None or not _both_names_different_cannot_count(
        typed, model, model.search_prior
    ):
        return None
    common = _common_at_mistyped_dates(typed, model)
    keys = blocks.keys_on_dates(typed, today=today, mistyped_givens=bool(common))
    families, givens = comparer.keys_that_could_agree(keys.families, keys.givens)
    kept = comparer.keys_that_could_agree(set(), keys.mistyped_givens)[1] if common else []
    return blocks.Narrowed(families=families, givens=givens, common=common, givens_kept=kept)


def _common_at_mistyped_dates(typed: Typed, model: MatchModel) -> list[str]:
    """The family keys of the typed family sound so common that a name with one of them,
    at a mistyped date, cannot count unless its given name could agree with the typed one
    (or is blank): with a "different" given name it stays under the lowest threshold even
    at its best (the family name exact, the date's best mistyped level, sex and postcode).
    For "Jones" these are most of the 966 names of its sound on the mistyped dates at
    11,000,000 children."""
    if not (typed.family_sound and typed.given_key):
        return []
    different = model.weights["given_name"][-1]
    rest = _best_but_the_names(typed, model, dates=MISTYPED) + different
    plain, _ = _family_weights_not_by_frequency(model)
    # (A swap needs a given name alike the typed family name: one that could agree, kept.)
    if rest + plain >= model.partial_weight:
        return []
    return model.common_family_keys(typed.family_sound, model.partial_weight - rest)


# The date levels of a mistyped date (one digit, two transposed, the year out), and those
# worse than a slip ("same year" and "different").
MISTYPED = slice(3, 6)
FAR = slice(6, None)


def _best_but_the_names(typed: Typed, model: MatchModel, *, dates: slice) -> float:
    """The prior and the best weights of a candidate's date at these levels, and of the sex
    and postcode if typed."""
    weights = model.weights
    return (
        model.search_prior
        + max(weights["date_of_birth"][dates])
        + (max(weights["sex"]) if typed.sex else 0.0)
        + (max(weights["postcode"]) if typed.postcode else 0.0)
    )


def _family_weights_not_by_frequency(model: MatchModel) -> tuple[float, float]:
    """(the best family level that no name's frequency adjusts, the swap's aside: null
    included; the swap's, with which the given comparison is null)."""
    family = model.weights["family_name"]
    swapped = COMPARISONS["family_name"].index("swapped with the given name")
    plain = max(
        w
        for level, w in enumerate(family)
        if level not in model.family_tf_levels and level != swapped
    )
    return plain, family[swapped]


def _cannot_count_far(typed: Typed, model: MatchModel) -> list[str]:
    """The family keys whose names the sounds block need not fetch at a date far from the
    typed one: common names (their exact or alike weight adjusted down by how common they
    are) that cannot reach the lowest threshold at such a date, whatever the given name,
    sex and postcode. With a common family name, these are most of that block (3,700 names
    for "Jones" and "Freddie" at 11,000,000 children, nearly all born on other dates).
    Empty when the date was not typed, or when any name can count at a far date (a swap,
    or a typed postcode)."""
    if typed.date_of_birth is None or not typed.family_sound:
        return []
    rest = _best_but_the_names(typed, model, dates=FAR)
    given_best = max(model.weights["given_name"])
    plain, swap = _family_weights_not_by_frequency(model)
    if max(rest + plain + given_best, rest + swap) >= model.partial_weight:
        return []
    below = model.partial_weight - rest - given_best
    sounds = {typed.family_sound, typed.given_sound} - {""}
    return sorted(key for sound in sounds for key in model.common_family_keys(sound, below))


def shows(match: Match, model: MatchModel) -> bool:
    """Whether a search shows this candidate: its match probability reaches the model's show
    threshold, or its lower slip threshold when every detail typed agrees or is a slip away
    (both names and the date typed): otherwise a common name with one digit of the date
    mistyped finds no one, the failure the service exists to prevent, while a look-alike
    that differs by more than slips stays unshown. Either way it is graded at least
    possible, with the details that differ."""
    return match.probability >= model.show_at or (
        match.probability >= model.slip_at and only_slips(match.agreement)
    )


def score(
    typed: Typed,
    rows: list[tuple],
    model: MatchModel,
    *,
    prior: float,
    sexes: Mapping[int, str] | None = None,
    comparer: NameComparer | None = None,
) -> list[Match]:
    """The candidates' matches, best first: every name row scored, the best name of each
    child with the best of their postcodes (the current one comes with every name row; past
    ones in the typed outward code come as rows of their own), then sex for those that could
    still reach the threshold: from `sexes` when given (candidates that are not the
    register's children), else from the register. `comparer`: one made for the typed names
    already, with some keys prepared."""
    weights = model.weights
    comparer = comparer or NameComparer(typed.family_key, typed.family_sound, typed.given_key)
    comparer.prepare({row[2] for row in rows if row[2]}, {row[3] for row in rows if row[3]})
    by_date = DateComparer(typed.date_of_birth)
    by_postcode = PostcodeComparer(typed.postcode)
    date_weights = weights["date_of_birth"]
    names: dict[tuple[str, str, str], tuple[float, int, int]] = {}
    dates: dict[date, tuple[float, int]] = {}
    postcodes: dict[int, set[str]] = defaultdict(set)
    best: dict[int, tuple[float, int, int, int]] = {}  # child -> (weight, family, given, date)
    # A record whose names both differ entirely cannot reach the lowest threshold unless its
    # postcode is the one typed (the model's weights say so, checked here): those are not
    # scored at all, most of the rows of a date-of-birth block.
    skip_different = _both_names_different_cannot_count(typed, model, prior)
    for kind, child_id, family_key, given_key, family_sound, born, postcode in rows:
        if postcode:
            postcodes[child_id].add(postcode)
        if kind == blocks.PAST_ADDRESS:
            continue
        if (
            skip_different
            and postcode != typed.postcode
            and not comparer.could_agree(family_key, family_sound, given_key)
        ):
            continue
        key = (family_key, given_key, family_sound)
        found = names.get(key)
        if found is None:
            found = names[key] = _name_weight(comparer, family_key, given_key, family_sound, model)
        on = dates.get(born)
        if on is None:
            level = by_date.level(born)
            on = dates[born] = (date_weights[level], level)
        total = found[0] + on[0]
        if child_id not in best or total > best[child_id][0]:
            best[child_id] = (total, found[1], found[2], on[1])
    placed: dict[int, tuple[float, int]] = {}
    for child_id, (total, *_) in best.items():
        level = by_postcode.level(postcodes.get(child_id, ()))
        placed[child_id] = (total + prior + weights["postcode"][level], level)
    # Sex adds at most this: only candidates that could still be shown are looked up.
    headroom = model.best_weight("sex") if typed.sex else 0.0
    hopeful = [
        child_id
        for child_id, (total, _) in placed.items()
        if total + headroom >= model.partial_weight
    ]
    if sexes is None:
        sexes = _sexes(hopeful) if typed.sex and hopeful else {}
    matches = []
    for child_id in hopeful:
        total, post = placed[child_id]
        _, family, given, born = best[child_id]
        sex = sex_level(typed.sex, sexes.get(child_id, ""))
        probability = model.probability(total + weights["sex"][sex])
        matches.append(
            Match(
                child_id=child_id,
                probability=probability,
                grade=model.grade(probability),
                agreement={
                    "family_name": model.levels["family_name"][family],
                    "given_name": model.levels["given_name"][given],
                    "date_of_birth": model.levels["date_of_birth"][born],
                    "postcode": model.levels["postcode"][post],
                    "sex": model.levels["sex"][sex],
                },
            )
        )
    matches.sort(key=lambda match: (-match.probability, match.child_id))
    return matches


def _both_names_different_cannot_count(typed: Typed, model: MatchModel, prior: float) -> bool:
    """Whether a record whose family and given names are both "different" falls short of the
    lowest threshold with its best date, sex and any postcode but the typed one."""
    if not (typed.family_key and typed.given_key):
        return False
    weights = model.weights
    postcode_best = max(weights["postcode"][2:]) if typed.postcode else 0.0
    best = (
        prior
        + weights["family_name"][-1]
        + weights["given_name"][-1]
        + max(weights["date_of_birth"])
        + max(weights["sex"])
        + max(postcode_best, weights["postcode"][0])
    )
    return best < model.partial_weight


def _name_weight(
    comparer: NameComparer, family_key: str, given_key: str, family_sound: str, model: MatchModel
) -> tuple[float, int, int]:
    """(weight, family level, given level) of one recorded name against the typed names."""
    family, given = comparer.levels(family_key, family_sound, given_key)
    return (
        model.family_weight(family, family_key) + model.weights["given_name"][given],
        family,
        given,
    )


def _sexes(child_ids: list[int]) -> dict[int, str]:
    return dict(Child.objects.filter(pk__in=child_ids).values_list("pk", "sex"))
