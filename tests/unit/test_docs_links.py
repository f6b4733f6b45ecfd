"""No document refers to something the repository does not have: every relative link of README.md and docs/*.md
(and its ``#anchor``) resolves, every repository path and module the docs name exists, and every page with API
examples has a test that runs them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.stage import PROJECT_DIR

DOCUMENTS = sorted([PROJECT_DIR / "README.md", *(PROJECT_DIR / "docs").glob("*.md")])
PATH_PREFIXES = ("chalicelib/", "devtools/", "tests/", "infra/", "bench/", "docs/", ".chalice/", "data/")
MODULE = re.compile(r"^(chalicelib|devtools|bench)(\.\w+)+$")
FENCE = re.compile(r"^```.*?^```", flags=re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
LOCAL_API = "http://127.0.0.1:8000"


def _relative(path: Path) -> str:
    return path.relative_to(PROJECT_DIR).as_posix()


def _generated_outputs() -> tuple[str, ...]:
    """Folders the tools write and ``.gitignore`` keeps out of the repository (``bench/work/``, ...): docs may
    name files in them."""
    lines = (PROJECT_DIR / ".gitignore").read_text().splitlines()
    return tuple(line for line in lines if line.endswith("/") and "/" in line[:-1])


def anchors(text: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown text."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", text), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def _link_problem(document: Path, target: str) -> str | None:
    if re.match(r"^[a-z]+:", target):  # https:, mailto:
        return None
    file_part, _, anchor = target.partition("#")
    linked = (document.parent / file_part).resolve() if file_part else document
    if not linked.exists():
        return f"link to a missing file: {target}"
    if anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text()):
        return f"link to a missing heading: {target}"
    return None


def _path_exists(path: str) -> bool:
    """A path as the docs write it: ``<placeholder>`` and ``*`` stand for any name."""
    pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
    if "*" in pattern:
        return any(PROJECT_DIR.glob(pattern))
    return (PROJECT_DIR / pattern).exists()


def _module_exists(dotted: str) -> bool:
    """``chalicelib.heroes.cache.invalidate_all_heroes``: the longest prefix that is a module, and the rest a
    name defined or imported at its top level."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        base = PROJECT_DIR.joinpath(*parts[:end])
        source = next((f for f in (base.with_suffix(".py"), base / "__init__.py") if f.is_file()), None)
        if source is not None:
            rest = parts[end:]
            return not rest or (len(rest) == 1 and re.search(rf"\b{rest[0]}\b", source.read_text()) is not None)
    return False


def _words(text: str) -> list[str]:
    """The words of the inline code spans and of the fenced blocks, stripped of surrounding punctuation."""
    spans = INLINE_CODE.findall(FENCE.sub("", text)) + FENCE.findall(text)
    return [word.strip("\"'()[],;:`").rstrip(".") for span in spans for word in span.split()]


def reference_problems(document: Path, text: str) -> list[str]:
    """What ``text`` (the content of ``document``) names that the repository does not have."""
    problems = [p for target in LINK.findall(FENCE.sub("", text)) if (p := _link_problem(document, target))]
    for word in _words(text):
        word = word.removesuffix("()")
        if word.startswith(PATH_PREFIXES) and not word.startswith(_generated_outputs()) and not _path_exists(word):
            problems.append(f"missing path: {word}")
        elif MODULE.match(word) and not _module_exists(word):
            problems.append(f"missing module or name: {word}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=_relative)
def test_every_link_and_repository_path_of_the_docs_exists(document: Path) -> None:
    assert reference_problems(document, document.read_text()) == []


def test_the_check_finds_what_is_missing() -> None:
    document = PROJECT_DIR / "docs" / "example.md"
    text = (
        "See [ingest](ingest.md), [nothing](nothing.md), [a heading](ingest.md#no-such-heading), `app.py`,\n"
        "`chalicelib/ingest/datasets.py`, `chalicelib/datasets.py`, `.chalice/policy-<stage>-<function>.json`,\n"
        "`.chalice/deployed/<stage>.json`, `chalicelib.heroes.get_hero` and `chalicelib.heroes.no_such_name()`.\n"
        "```bash\n.venv/bin/python -m bench.run --out bench/missing.json\n```\n"
    )
    assert reference_problems(document, text) == [
        "link to a missing file: nothing.md",
        "link to a missing heading: ingest.md#no-such-heading",
        "missing path: chalicelib/datasets.py",
        "missing module or name: chalicelib.heroes.no_such_name",
        "missing path: bench/missing.json",
    ]


def test_every_page_with_api_examples_has_a_test_that_runs_them() -> None:
    tests = [path.read_text() for path in (PROJECT_DIR / "tests" / "integration").rglob("test_*.py")]
    with_examples = [doc for doc in DOCUMENTS if re.search(rf"^curl .*{re.escape(LOCAL_API)}", doc.read_text(), re.M)]
    assert with_examples
    unread = [_relative(doc) for doc in with_examples if not any(_relative(doc) in test for test in tests)]
    assert unread == []
