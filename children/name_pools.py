"""Names of children as England's registers hold them, for the demo register, the benches and
the match model's planted errors (children.matching.corruption): given and family names of
twenty Faker locales with Latin script, weighted roughly like England's children, and the
given names of today's children beside their parents' generation."""

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

# Faker locales with Latin-script names, weighted roughly like England's children.
LOCALES = {
    "en_GB": 54,
    "en_IE": 5,
    "pl_PL": 6,
    "ro_RO": 3,
    "lt_LT": 1.5,
    "it_IT": 2.5,
    "pt_PT": 2.5,
    "es_ES": 2,
    "tr_TR": 2.5,
    "de_DE": 1.5,
    "fr_FR": 1.5,
    "en_IN": 4.5,
    "en_PK": 5,
    "yo_NG": 2,
    "ig_NG": 1,
    "tw_GH": 1,
    "en_KE": 1.5,
    "nl_NL": 1,
    "hu_HU": 1,
    "sk_SK": 1.5,
}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Faker's en_GB given names are their parents' generation; these are the children's.
RECENT_GIVEN_NAMES = {
    "female": _words(
        "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Willow Freya Florence "
        "Emily Ella Poppy Evie Elsie Charlotte Evelyn Sienna Sofia Daisy Phoebe Sophie Alice "
        "Harper Matilda Ruby Emilia Maya Millie Isabelle Esme Eva Chloe Jessica Layla Erin Aria "
        "Hallie Maisie Zara Aisha Maryam Fatima Zainab Hafsa Amira Inaya Zoë Chloë Niamh Aoife "
        "Saoirse Megan Holly Ellie-Mae Lacey-Rose Renée Lola Bonnie Luna Margot Nancy Orla "
        "Penelope Thea Aurora Iris Eliza Beatrice Violet Mabel Ada Arabella Lottie Lyla Amber "
        "Darcie Ruby-Mae Maddison Keira Caitlin Paige Leah Courtney Shannon Imogen Jasmine Lexi "
        "Tilly Summer Nevaeh Hannah Abigail Khadija Safa Ayesha Anaya"
    ),
    "male": _words(
        "Muhammad Noah Oliver George Leo Arthur Oscar Theodore Freddie Theo Archie Jack Henry "
        "Charlie Harry Alfie Jacob Thomas Lucas Finley Isaac Teddy Edward Joshua William James "
        "Logan Tommy Reggie Ethan Mason Max Ronnie Rory Harrison Samuel Adam Yusuf Ibrahim Musa "
        "Ali Omar Hamza Zayn Ayaan Kai Riley Jayden Tyler Callum Kyle Connor Liam Dylan Rhys "
        "Seán Oisín Cian Jean-Luc Aarav Albie Alexander Benjamin Elijah Ezra Frankie Hugo "
        "Jaxon Jenson Jude Louie Luca Milo Otis Reuben Sonny Stanley Toby Zachary Bobby Carter "
        "Caleb Daniel Dexter Felix Frederick Harley Hunter Jesse Kian Lewis Nathan Owen Ryan "
        "Sebastian Tobias Jayden-Lee Harun Idris Zakariya"
    ),
}
NAME_DRAWS = 1_000


@dataclass(frozen=True)
class NamePool:
    """Given and family names of one locale, with repeats so that common names stay common."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    family_female: tuple[str, ...]
    family_male: tuple[str, ...]
    # Given names for children, where they differ from their parents' generation.
    girls: tuple[str, ...]
    boys: tuple[str, ...]


@lru_cache(maxsize=1)
def name_pools() -> dict[str, NamePool]:
    """Built once per process from Faker with a fixed seed, so the same on every machine
    with the pinned Faker."""
    pools = {}
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(2010)

        def draw(method: Callable[[], str]) -> tuple[str, ...]:
            names = (_tidy_name(method()) for _ in range(NAME_DRAWS))
            return tuple(name for name in names if name)

        female, male = draw(fake.first_name_female), draw(fake.first_name_male)
        girls, boys = female, male
        if locale == "en_GB":
            # Three in four English children have a name of the last twenty years' top lists.
            recent_girls, recent_boys = RECENT_GIVEN_NAMES["female"], RECENT_GIVEN_NAMES["male"]
            girls = female + recent_girls * (3 * len(female) // len(recent_girls))
            boys = male + recent_boys * (3 * len(male) // len(recent_boys))
        pools[locale] = NamePool(
            female=female,
            male=male,
            family_female=draw(fake.last_name_female),
            family_male=draw(fake.last_name_male),
            girls=girls,
            boys=boys,
        )
    return pools


def _tidy_name(name: str) -> str:
    """A name in Latin script with plain apostrophes, or "" to skip it."""
    name = name.replace("\u2019", "'").strip()
    for char in name:
        if char.isalpha() and "LATIN" not in unicodedata.name(char, ""):
            return ""
        if not (char.isalpha() or char in " -'"):
            return ""
    return name
