"""The curl examples of the superhero API's page (``docs/heroes-api.md``) and of the README's quick start, run as
written (in order, on the sample ``make run`` loads) through ``chalice.test.Client``: the docs cannot drift from
the API. (The reports' and the analyses' pages have their examples run by the reporting and analysis tests,
which know the data those need.)"""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

from devtools.seed import seed_heroes
from devtools.stage import PROJECT_DIR

BASE_URL = "http://127.0.0.1:8000"
HEROES_PAGE = "docs/heroes-api.md"
QUICK_START = "README.md"


def bash_commands(page: str) -> list[list[str]]:
    """The commands of the page's ``bash`` blocks, split into arguments as the shell would (continuation lines
    joined, a quoted argument may span lines, comments dropped)."""
    text = (PROJECT_DIR / page).read_text()
    commands: list[list[str]] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        pending = ""
        for line in block.replace("\\\n", " ").splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                commands.append(shlex.split(pending, comments=True))
            except ValueError:  # a quote still open: the command goes on on the next line
                continue
            pending = ""
        assert not pending, f"{page}: unclosed quote in {pending!r}"
    return commands


def curl_examples(page: str) -> list[list[str]]:
    """The page's curl commands, without the word ``curl``."""
    return [command[1:] for command in bash_commands(page) if command[:1] == ["curl"]]


def request_of(arguments: list[str]) -> tuple[str, str, dict[str, str], str | None]:
    method, headers, data, url = "GET", {}, None, None
    words = iter(arguments)
    for word in words:
        if word == "-X":
            method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = next(words)
            method = "POST" if method == "GET" else method
        elif word.startswith("http"):
            url = word
        else:
            assert word in {"-s", "-i", "-si"}, f"the test does not know curl option {word}"
    assert url is not None and url.startswith(BASE_URL), arguments
    parts = urlsplit(url)
    return method, parts.path + (f"?{parts.query}" if parts.query else ""), headers, data


def run_examples(client, page: str) -> set[tuple[str, str]]:
    """Run every curl example of ``page`` in order; each must succeed. Answers the (method, route) pairs run."""
    commands = curl_examples(page)
    assert commands, f"{page} has no curl example"
    routes = set()
    for arguments in commands:
        method, path, headers, data = request_of(arguments)
        response = client.http.request(method, path, headers=headers, body=data or b"")
        assert response.status_code in {200, 201, 204}, (page, arguments, response.body)
        if method == "GET" and path.startswith("/heroes"):
            assert response.headers["X-Cache"] in {"HIT", "MISS", "BYPASS"}
        routes.add((method, re.sub(r"/\d+", "/{id}", path.split("?")[0])))
    return routes


def test_every_superhero_example_of_the_docs_succeeds(client, hero_table):
    seed_heroes(hero_table, 10_000)
    routes = run_examples(client, HEROES_PAGE)
    assert routes >= {
        ("GET", "/health"),
        ("GET", "/heroes/{id}"),
        ("GET", "/heroes"),
        ("POST", "/heroes"),
        ("PUT", "/heroes/{id}"),
        ("PATCH", "/heroes/{id}"),
        ("DELETE", "/heroes/{id}"),
        ("POST", "/mp6"),
    }


def test_the_quick_start_examples_of_the_readme_succeed(client, hero_table):
    seed_heroes(hero_table, 10_000)
    run_examples(client, QUICK_START)
