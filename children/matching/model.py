"""The match model at request time: the model file read once, weights summed in plain Python.

A candidate's match weight is the prior's log-odds plus, for each detail, the weight of the
level the pair falls in (log2 of m over u, from children.matching.training); an exact
family name's weight is adjusted by the name's frequency on the register (log2 of m over the
name's share: "Smith" counts for less than "Oyelaran"). The weight gives the probability
that the candidate is the child searched for, and the grade shown with the result.

No Splink, no DuckDB here: the file holds the m and u of every level (and the settings Splink
needs for find_duplicates), and tests check that this module gives Splink's weights.
"""

import bisect
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from children.matching.comparisons import COMPARISONS

DEFAULT_MODEL = Path(__file__).resolve().parent / "model.json"
FAMILY = "family_name"
EXACT = 1


@dataclass(frozen=True)
class Grade:
    name: str  # "certain", "probable", "possible"
    at_least: float  # match probability


class MatchModel:
    """Weights by comparison and level (index 0, null, weighs nothing), the family names'
    frequencies, the prior and the thresholds of the grades."""

    def __init__(self, content: dict) -> None:
        self.version: str = content["version"]
        # What Splink needs to score pairs with this model (find_duplicates).
        self.splink_settings: dict = content["splink_settings"]
        prior = content["probability_two_random_records_match"]
        self.prior_weight = math.log2(prior / (1 - prior))
        self.levels: dict[str, tuple[str, ...]] = {}
        self.weights: dict[str, tuple[float, ...]] = {}
        self.m: dict[str, tuple[float, ...]] = {}
        # Level index -> how much the family name's frequency adjusts it (Splink's weight).
        self.family_tf_levels: dict[int, float] = {}
        for name, labels in COMPARISONS.items():
            found = content["comparisons"][name]
            if [level["label"] for level in found] != list(labels[1:]):
                raise ValueError(f"the model's {name} levels are not the comparisons' levels")
            self.levels[name] = labels
            self.weights[name] = (0.0, *(math.log2(lv["m"] / lv["u"]) for lv in found))
            self.m[name] = (1.0, *(lv["m"] for lv in found))
            if name == FAMILY:
                self.family_tf_levels = {
                    index: level["tf_adjustment_weight"]
                    for index, level in enumerate(found, start=1)
                    if level.get("tf_adjustment_weight")
                }
                self.family_exact_u = found[EXACT - 1]["u"]
        tf = content["term_frequencies"][FAMILY]
        self.tf_minimum = tf["tf_minimum_u_value"]
        self.family_tf: dict[str, float] = tf["values"]
        # A name too rare to be listed (training keeps only names shared by several children,
        # so the file names no child) counts as this rare.
        self.rare_tf = tf.get("rare_value", self.tf_minimum)
        thresholds = content["thresholds"]
        self.show_at = thresholds["show"]
        self.grades = (
            Grade("certain", thresholds["certain"]),
            Grade("probable", thresholds["probable"]),
            Grade("possible", thresholds["show"]),
        )
        self.show_weight = _weight_of(self.show_at)
        # A candidate at a slip from every detail typed is shown from here (a model file
        # without it shows only from `show`).
        self.slip_at = thresholds.get("slip", self.show_at)
        # Below the threshold but above this, a candidate "partly matches": not shown, but the
        # user is told to add details rather than that no child matches.
        self.partial_at = thresholds.get("partial", self.show_at)
        self.partial_weight = _weight_of(self.partial_at)
        # The log-odds that one candidate is the child searched for, before any detail is
        # compared: the child typed is one of all the children there are (MATCH_POPULATION,
        # England's under-18s), whether or not they are on the register, so a small register
        # does not make a coincidence look like a match. (The model file's own prior is for
        # two records of the register, which find_duplicates uses.)
        self.search_prior = -math.log2(settings.MATCH_POPULATION)
        self._sounds: dict[str, tuple[tuple[float, ...], tuple[str, ...]]] | None = None

    def family_weight(self, level: int, family_key: str) -> float:
        """The family level's weight for the record's name: a level with a term-frequency
        adjustment (exact, and alike) counts for more on a rare name and for less on a common
        one, as Splink adjusts it: + weight x (log2(u of exact) - log2(the name's share))."""
        weight = self.weights[FAMILY][level]
        adjustment = self.family_tf_levels.get(level)
        if adjustment:
            tf = max(self.family_tf.get(family_key, self.rare_tf), self.tf_minimum)
            weight += adjustment * (math.log2(self.family_exact_u) - math.log2(tf))
        return weight

    def common_family_keys(self, sound: str, below: float) -> list[str]:
        """The family names the model lists (the register's commoner ones) that sound like
        `sound` and whose exact or alike weight, adjusted by how common they are, is below
        `below`."""
        weights, keys = self._by_sound().get(sound, ((), ()))
        return list(keys[: bisect.bisect_left(weights, below)])

    def _by_sound(self) -> dict[str, tuple[tuple[float, ...], tuple[str, ...]]]:
        """Sound -> (the best term-frequency-adjusted family weights, ascending; their keys)."""
        if self._sounds is None:
            from children.matching.keys import phonetic

            grouped: dict[str, list[tuple[float, str]]] = {}
            for key in self.family_tf:
                best = max(self.family_weight(level, key) for level in self.family_tf_levels)
                grouped.setdefault(phonetic(key), []).append((best, key))
            self._sounds = {
                sound: (tuple(w for w, _ in sorted(pairs)), tuple(k for _, k in sorted(pairs)))
                for sound, pairs in grouped.items()
            }
        return self._sounds

    def weight(self, comparison: str, level: int) -> float:
        return self.weights[comparison][level]

    def best_weight(self, comparison: str) -> float:
        return max(self.weights[comparison])

    def probability(self, match_weight: float) -> float:
        """The match probability of a candidate with this summed weight (prior included)."""
        if match_weight > 60:
            return 1.0
        if match_weight < -60:
            return 0.0
        odds = 2.0**match_weight
        return odds / (1 + odds)

    def grade(self, probability: float) -> str:
        for grade in self.grades:
            if probability >= grade.at_least:
                return grade.name
        return ""


def _weight_of(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def model_path() -> Path:
    configured = getattr(settings, "MATCH_MODEL_PATH", "")
    return Path(configured) if configured else DEFAULT_MODEL


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> MatchModel:
    return MatchModel(json.loads(Path(path).read_text()))


def current_model() -> MatchModel:
    """The model file in use (read once per process, again if the file changes)."""
    path = model_path()
    return _load(str(path), path.stat().st_mtime)
