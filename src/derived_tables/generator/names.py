"""Name vocabularies and the realistic ways a name differs between two records of one person.

Names are drawn by index from fixed lists (given names by sex and generation, surnames with a
Zipf-like frequency). Every name has a row of *variants*: slot 0 is the name itself, slot 1 a
nickname or alternative spelling (William -> Bill, Smith -> Smyth; the name itself when there is
none) and slots 2-4 typing errors (transposed, dropped or doubled letters). The variants are
computed once, deterministically, so a record's name is just ``variant_table[index * 5 + slot]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa

SLOTS = 5
SLOT_EXACT = 0
SLOT_ALTERNATIVE = 1
FIRST_TYPO_SLOT = 2

MALE_YOUNGER = """
James John David Michael Daniel Thomas Christopher Matthew Andrew Paul Mark Robert Richard
Steven Lee Ryan Jamie Liam Adam Craig Dean Darren Jason Wayne Gary Kevin Scott Shaun Carl
Ashley Jordan Connor Callum Kieran Nathan Luke Joshua Jack Harry Samuel Joseph Benjamin Oliver
Aaron Bradley Reece Kyle Jake Lewis Alexander Mohammed Muhammad Ali Ahmed Hassan Tyler Declan
Sean Anthony Peter Stuart Ian Simon Martin Neil Jonathan Nicholas William George Charlie Alfie
Ethan Dylan Kai Leon Marcus Jermaine Adrian Gavin Grant Ross Barry Terry Philip Karl Glen
Stephen Edward Patrick Elliot Mason Brandon Cameron Jay Billy Owen Rhys Gareth Dale Imran Bilal
Tariq Kamil Piotr Tomasz Andrei Mihai Luca Jonathon Mitchell Harvey
"""
MALE_OLDER = """
John David Peter Michael Robert William Brian Alan Kenneth Roy Derek Colin Keith Raymond
Geoffrey Dennis Ronald Malcolm Anthony Trevor Barry Terence Graham Leslie Stanley Frank Arthur
Albert Harold Norman Gordon Eric Donald Bernard Frederick Roger Christopher Richard Stephen
Philip Thomas James George Edward Charles Douglas Clive Maurice Victor Ernest Gerald Walter
Sidney Leonard Cyril Herbert Jack Ralph Howard Ivor Glyn Dafydd Hugh Nigel Alistair
"""
FEMALE_YOUNGER = """
Sarah Emma Laura Rebecca Gemma Claire Nicola Lisa Amy Jessica Charlotte Hannah Samantha Rachel
Kelly Stacey Danielle Natalie Louise Michelle Jade Chloe Lauren Sophie Katie Amber Leanne
Kirsty Donna Joanne Victoria Stephanie Jennifer Elizabeth Zoe Hayley Carly Shannon Megan
Olivia Emily Ellie Holly Abigail Fatima Aisha Amina Tracey Kerry Lucy Helen Karen Angela Julie
Catherine Jodie Toni Chelsea Paige Courtney Natasha Melissa Siobhan Sian Bethan Ayesha Agnieszka
Joanna Georgia Keeley
"""
FEMALE_OLDER = """
Margaret Patricia Barbara Jean Mary Joan Dorothy Sheila Pauline Christine Maureen Irene Valerie
Brenda Sandra Janet Shirley Kathleen Elizabeth Susan Linda Carol Ann Anne Elaine Jacqueline
Gillian Marion Doreen Eileen Sylvia June Joyce Audrey Betty Rita Hazel Beryl Wendy Diane
Gloria Marjorie Edna Vera Mavis Lilian Joy Judith Rosemary Veronica Sheena Glenys Gwen Moira
Frances Evelyn Josephine Teresa Bridget Yvonne
"""
SURNAMES = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson
Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner
Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott
Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson
Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams
Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell
Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens
Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews
Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson
Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong
Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh
Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson Newton
Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson Parry Burgess
Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls Hamilton Byrne
Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss
McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle
Wallace George Jordan Hutchinson Rahman Akhtar Mahmood Iqbal Nowak Kowalski Popescu Okafor
Mensah Adeyemi Campbell-Brown Francis Pritchard Howells Vaughan Llewellyn
"""

NICKNAMES: dict[str, str] = {
    "William": "Bill",
    "Robert": "Bob",
    "Richard": "Rick",
    "James": "Jim",
    "Michael": "Mick",
    "Thomas": "Tom",
    "Christopher": "Chris",
    "Matthew": "Matt",
    "Andrew": "Andy",
    "Anthony": "Tony",
    "Daniel": "Danny",
    "David": "Dave",
    "Joseph": "Joe",
    "Benjamin": "Ben",
    "Samuel": "Sam",
    "Stephen": "Steve",
    "Steven": "Steve",
    "Nicholas": "Nick",
    "Jonathan": "Jon",
    "Jonathon": "Jon",
    "Edward": "Ted",
    "Alexander": "Alex",
    "Peter": "Pete",
    "Kenneth": "Ken",
    "Ronald": "Ron",
    "Frederick": "Fred",
    "Albert": "Bert",
    "Terence": "Terry",
    "Raymond": "Ray",
    "Leslie": "Les",
    "Gerald": "Gerry",
    "Leonard": "Len",
    "Sidney": "Sid",
    "Charles": "Charlie",
    "Harold": "Harry",
    "Philip": "Phil",
    "Bradley": "Brad",
    "Cameron": "Cam",
    "Patrick": "Pat",
    "Timothy": "Tim",
    "Douglas": "Doug",
    "Mohammed": "Mohammad",
    "Muhammad": "Mohammed",
    "Ahmed": "Ahmad",
    "Piotr": "Peter",
    "Elizabeth": "Liz",
    "Margaret": "Maggie",
    "Patricia": "Pat",
    "Catherine": "Cathy",
    "Jennifer": "Jenny",
    "Rebecca": "Becky",
    "Samantha": "Sam",
    "Victoria": "Vicky",
    "Stephanie": "Steph",
    "Jacqueline": "Jackie",
    "Susan": "Sue",
    "Christine": "Chris",
    "Kathleen": "Kath",
    "Dorothy": "Dot",
    "Barbara": "Babs",
    "Gillian": "Gill",
    "Abigail": "Abbie",
    "Nicola": "Nicky",
    "Jessica": "Jess",
    "Charlotte": "Lottie",
    "Natalie": "Nat",
    "Joanne": "Jo",
    "Josephine": "Jo",
    "Frances": "Fran",
    "Valerie": "Val",
    "Pauline": "Paula",
    "Natasha": "Tash",
    "Katie": "Kate",
    "Danielle": "Dani",
}
SURNAME_ALTERNATIVES: dict[str, str] = {
    "Smith": "Smyth",
    "Thompson": "Thomson",
    "Davies": "Davis",
    "Davis": "Davies",
    "Phillips": "Philips",
    "McDonald": "MacDonald",
    "Clarke": "Clark",
    "Clark": "Clarke",
    "Reid": "Reed",
    "Reed": "Reid",
    "Matthews": "Mathews",
    "Gray": "Grey",
    "Hussain": "Hussein",
    "Mohammed": "Muhammad",
    "O'Brien": "OBrien",
    "O'Connor": "OConnor",
    "O'Neill": "ONeill",
    "Byrne": "Burn",
    "Rees": "Reece",
    "Nicholls": "Nichols",
    "Cooke": "Cook",
    "Cook": "Cooke",
    "Campbell-Brown": "Brown",
    "Griffiths": "Griffith",
    "Powell": "Powel",
}

_VOWELS = "aeiou"


def _words(block: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in block.split():
        seen.setdefault(word, None)
    return list(seen)


def _typos(name: str, rng: np.random.Generator) -> list[str]:
    """Three distinct plausible typing errors of ``name`` (never changing its first letter)."""
    out: list[str] = []
    attempts = 0
    while len(out) < SLOTS - FIRST_TYPO_SLOT and attempts < 50:
        attempts += 1
        chars = list(name)
        kind = int(rng.integers(0, 4))
        pos = int(rng.integers(1, max(2, len(chars))))
        if kind == 0 and len(chars) > 2 and pos < len(chars) - 1:
            chars[pos], chars[pos + 1] = chars[pos + 1], chars[pos]
        elif kind == 1 and len(chars) > 3:
            del chars[pos]
        elif kind == 2 and pos < len(chars):
            chars.insert(pos, chars[pos])
        elif kind == 3:
            vowels = [i for i, c in enumerate(chars) if i > 0 and c in _VOWELS]
            if not vowels:
                continue
            i = vowels[int(rng.integers(0, len(vowels)))]
            chars[i] = _VOWELS[(_VOWELS.index(chars[i]) + 1 + int(rng.integers(0, 4))) % 5]
        typo = "".join(chars)
        if typo != name and typo not in out and typo[:1].isalpha():
            out.append(typo)
    while len(out) < SLOTS - FIRST_TYPO_SLOT:
        out.append(name[:-1] if len(name) > 2 else name + name[-1])
    return out


@dataclass(frozen=True)
class Vocabulary:
    """A list of names with their variants, flattened for ``take``."""

    names: tuple[str, ...]
    weights: np.ndarray
    variants: pa.Array  # len(names) * SLOTS strings

    def __len__(self) -> int:
        return len(self.names)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` name indices drawn with the vocabulary's frequencies."""
        return rng.choice(len(self.names), size=n, p=self.weights)


def _vocabulary(
    names: list[str], alternatives: dict[str, str], seed: int, zipf: float
) -> Vocabulary:
    rng = np.random.default_rng(seed)  # fixed: the variants are part of the vocabulary
    rows: list[str] = []
    for name in names:
        rows.append(name)
        rows.append(alternatives.get(name, name))
        rows.extend(_typos(name, rng))
    ranks = np.arange(1, len(names) + 1, dtype=np.float64)
    weights = ranks**-zipf
    return Vocabulary(tuple(names), weights / weights.sum(), pa.array(rows, pa.string()))


@dataclass(frozen=True)
class Names:
    """The four given-name vocabularies and the surnames."""

    male_younger: Vocabulary
    male_older: Vocabulary
    female_younger: Vocabulary
    female_older: Vocabulary
    surnames: Vocabulary


@lru_cache(maxsize=1)
def names() -> Names:
    """The name vocabularies (built once per process)."""
    return Names(
        male_younger=_vocabulary(_words(MALE_YOUNGER), NICKNAMES, 11, 0.55),
        male_older=_vocabulary(_words(MALE_OLDER), NICKNAMES, 12, 0.6),
        female_younger=_vocabulary(_words(FEMALE_YOUNGER), NICKNAMES, 13, 0.55),
        female_older=_vocabulary(_words(FEMALE_OLDER), NICKNAMES, 14, 0.6),
        surnames=_vocabulary(_words(SURNAMES), SURNAME_ALTERNATIVES, 15, 0.75),
    )


@dataclass(frozen=True)
class GivenNames:
    """The four given-name vocabularies concatenated, so that one integer names any given name.

    Global index = ``offsets[group] + local index``; group 0 male born 1965 or later, 1 male
    born earlier, 2 female born 1965 or later, 3 female born earlier.
    """

    vocabularies: tuple[Vocabulary, Vocabulary, Vocabulary, Vocabulary]
    offsets: np.ndarray
    variants: pa.Array

    def sample(
        self, rng: np.random.Generator, is_female: np.ndarray, birth_year: np.ndarray
    ) -> np.ndarray:
        """A given-name index per person, from the vocabulary of their sex and generation."""
        group = np.asarray(is_female, dtype=np.int64) * 2 + (np.asarray(birth_year) < 1965)
        out = np.empty(group.shape, dtype=np.int64)
        for g, vocab in enumerate(self.vocabularies):
            sel = np.flatnonzero(group == g)
            out[sel] = vocab.sample(rng, sel.size) + self.offsets[g]
        return out


@lru_cache(maxsize=1)
def given_names() -> GivenNames:
    """The concatenated given-name vocabularies."""
    n = names()
    vocabs = (n.male_younger, n.male_older, n.female_younger, n.female_older)
    sizes = np.array([len(v) for v in vocabs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    variants = pa.concat_arrays([v.variants for v in vocabs])
    return GivenNames(vocabs, offsets, variants)
