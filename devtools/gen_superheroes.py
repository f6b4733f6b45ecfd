"""Generate a realistic ``superheroes`` CSV in the shape of the course's ``mp6data.csv``.

    python -m devtools.gen_superheroes --rows 1000000 --out heroes.csv [--seed N]

Header ``id,name,hero,power,xp,color``; ``id`` counts from 1, ``xp = rows + 1 - id`` (unique, descending);
``name`` is two lower-case words (``irondoctor``); ``hero`` is ``no``/``maybe``/``yes``; ``power`` a verb;
``color`` a colour word. The same seed gives the same file; with the default seed the first five rows are
those of the original file (``data/superheroes/head5.csv``).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

DEFAULT_SEED = 498
HEADER = "id,name,hero,power,xp,color"
CHUNK_ROWS = 50_000
# the first rows of the original file, as transcribed (id, name, hero, power, color; xp follows from id)
ORIGINAL_HEAD = [
    ("irondoctor", "no", "eat", "yellow"),
    ("windhero", "no", "grow", "yellow"),
    ("dogwoman", "maybe", "steal", "pink"),
    ("firechampion", "no", "jump", "blue"),
    ("dogchampion", "no", "think", "white"),
]
FIRST_WORDS = (
    "iron", "wind", "dog", "fire", "ice", "storm", "night", "shadow", "steel", "thunder", "star", "moon", "sun",
    "bat", "spider", "cat", "wolf", "hawk", "ant", "bug", "super", "wonder", "captain", "doctor", "mega", "ultra",
    "black", "green", "silver", "golden", "dark", "light", "rocket", "laser", "atom", "quantum", "cyber", "power",
    "sky", "sea", "stone", "blade", "ghost", "frost", "flame", "venom", "nova", "titan",
)  # fmt: skip
SECOND_WORDS = (
    "doctor", "hero", "woman", "man", "champion", "girl", "boy", "knight", "ranger", "hunter", "guard", "queen",
    "king", "lord", "master", "warrior", "fist", "hawk", "storm", "blade", "shield", "wing", "claw", "heart",
    "strike", "bolt", "fury", "flash", "spark", "mind", "walker", "rider", "runner", "fighter", "wizard", "witch",
    "ninja", "pilot", "agent", "falcon",
)  # fmt: skip
HERO_VALUES = ("no", "maybe", "yes")
HERO_WEIGHTS = (6, 3, 1)
POWERS = (
    "eat", "grow", "steal", "jump", "think", "fly", "run", "swim", "climb", "shrink", "heal", "burn", "freeze",
    "teleport", "read", "sing", "fight", "hide", "stretch", "shout", "dig", "glow", "lift", "see", "build",
    "vanish", "shift", "fold", "bend", "breathe",
)  # fmt: skip
COLORS = (
    "yellow", "pink", "blue", "white", "red", "green", "black", "purple", "orange", "brown", "gray", "silver",
    "gold", "cyan", "magenta", "violet", "indigo", "teal", "maroon", "navy",
)  # fmt: skip
NAMES = tuple(first + second for first in FIRST_WORDS for second in SECOND_WORDS if first != second)


def generate_lines(rows: int, seed: int = DEFAULT_SEED, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[str]]:
    """The data lines (no header) in chunks of ``chunk_rows``, without a trailing newline each."""
    rng = random.Random(seed)
    head = ORIGINAL_HEAD if seed == DEFAULT_SEED else []
    next_id = 1
    while next_id <= rows:
        count = min(chunk_rows, rows + 1 - next_id)
        names = rng.choices(NAMES, k=count)
        heroes = rng.choices(HERO_VALUES, weights=HERO_WEIGHTS, k=count)
        powers = rng.choices(POWERS, k=count)
        colors = rng.choices(COLORS, k=count)
        for i in range(min(count, len(head) + 1 - next_id)):
            names[i], heroes[i], powers[i], colors[i] = head[next_id - 1 + i]
        ids = range(next_id, next_id + count)
        yield [
            f"{i},{n},{h},{p},{rows + 1 - i},{c}"
            for i, n, h, p, c in zip(ids, names, heroes, powers, colors, strict=True)
        ]
        next_id += count


def write_csv(out: IO[str], rows: int, seed: int = DEFAULT_SEED, progress: bool = False) -> None:
    """Write the header and ``rows`` generated rows to ``out``; ``progress`` shows a tqdm bar on stderr."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=rows, unit="rows", unit_scale=True, desc="superheroes", file=sys.stderr)
    out.write(HEADER + "\n")
    for lines in generate_lines(rows, seed):
        out.write("\n".join(lines) + "\n")
        if bar is not None:
            bar.update(len(lines))
    if bar is not None:
        bar.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows to write (default 1000000)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write ('-' for stdout)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    if not 0 <= args.rows <= 4_294_967_295:
        parser.error("--rows must be from 0 to 4294967295 (xp and id are INT UNSIGNED)")
    if str(args.out) == "-":
        write_csv(sys.stdout, args.rows, args.seed)
        return 0
    with args.out.open("w", encoding="utf-8", newline="") as out:
        write_csv(out, args.rows, args.seed, progress=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
