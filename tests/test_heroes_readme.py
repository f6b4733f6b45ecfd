"""The README's superhero curl examples, run as written (in order, on the sample ``make run`` loads) through
``chalice.test.Client``: the manual cannot drift from the API."""

from __future__ import annotations

import re
import shlex
from urllib.parse import urlsplit

from devtools.seed import seed_heroes
from devtools.stage import PROJECT_DIR

BASE_URL = "http://127.0.0.1:8000"


def readme_curls(section: str) -> list[list[str]]:
    """The curl commands of the README section titled ``section``, split into arguments."""
    text = (PROJECT_DIR / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    commands: list[list[str]] = []
    for block in re.findall(r"```bash\n(.*?)```", body, flags=re.DOTALL):
        script = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("#"))
        for token in shlex.split(script.replace("\\\n", " ")):
            if token == "curl":
                commands.append([])
            else:
                commands[-1].append(token)
    return commands


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


def test_every_superhero_example_of_the_readme_succeeds(client, hero_table):
    seed_heroes(hero_table, 10_000)
    commands = readme_curls("Superhero API")
    routes = set()
    for arguments in commands:
        method, path, headers, data = request_of(arguments)
        response = client.http.request(method, path, headers=headers, body=data or b"")
        assert response.status_code in {200, 201, 204}, (arguments, response.body)
        if method == "GET" and path.startswith("/heroes"):
            assert response.headers["X-Cache"] in {"HIT", "MISS", "BYPASS"}
        routes.add((method, re.sub(r"/\d+", "/{id}", path.split("?")[0])))
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
