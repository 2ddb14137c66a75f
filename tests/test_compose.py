"""Static checks of the production deployment: docker-compose.yml and the Dockerfile.

Docker is not needed: the files are parsed and compared with the code they
deploy (the settings class, the CLI, the package list in pyproject.toml), so a
renamed setting or subcommand breaks here rather than in production.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml

from api.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PYPROJECT = ROOT / "pyproject.toml"

ENV_PREFIX = "TEMPODESK_"
EXPECTED_SERVICES = ("postgres", "temporal", "temporal-ui", "migrate", "api", "worker")
# Services that run Tempodesk code against the database and Temporal.
CONNECTED_SERVICES = ("api", "worker", "mail-intake")
REQUIRED_CONNECTED_VARS = ("TEMPODESK_DATABASE_URL", "TEMPODESK_TEMPORAL_ADDRESS")
DEPENDS_ON_CONDITIONS = frozenset(
    {"service_started", "service_healthy", "service_completed_successfully"}
)
ROOT_USERS = frozenset({"root", "0", "root:root", "0:0", "root:0", "0:root"})

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ...
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}")


# --- loading ---------------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), f"{COMPOSE_FILE} is missing"
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


def services() -> dict[str, dict[str, Any]]:
    found = compose().get("services")
    assert isinstance(found, dict) and found, "docker-compose.yml defines no services"
    return found


def names_with(key: str) -> list[str]:
    return [name for name, spec in services().items() if key in spec]


@cache
def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


@cache
def cli_commands() -> frozenset[str]:
    from tempodesk.cli import app  # the contract: a typer.Typer named `app`

    # Recent Typer vendors its own click, so check the shape rather than click.Group.
    subcommands = getattr(typer.main.get_command(app), "commands", None)
    assert isinstance(subcommands, dict) and subcommands, "tempodesk.cli.app has no subcommands"
    return frozenset(subcommands)


@cache
def dockerfile() -> tuple[tuple[str, str], ...]:
    """(INSTRUCTION, arguments) per logical line, continuations joined, comments dropped."""
    assert DOCKERFILE.is_file(), f"{DOCKERFILE} is missing"
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return tuple(instructions)


# --- helpers ---------------------------------------------------------------------------------


def interpolate(value: str) -> str:
    """Compose-style substitution: a variable's default if it has one, else a placeholder."""

    def replace(match: re.Match[str]) -> str:
        if match["op"] in {"-", ":-"}:
            return match["arg"]
        return "placeholder"

    return _VARIABLE.sub(replace, value)


def environment(spec: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose forms it uses."""
    env = spec.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(spec: dict[str, Any]) -> dict[str, str]:
    """target -> condition, whichever of the two compose forms is used."""
    deps = spec.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {
        target: (opts or {}).get("condition", "service_started") for target, opts in deps.items()
    }


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when it has none); a digest counts as a tag."""
    name, _, digest = image.partition("@")
    if digest:
        return digest
    last = name.rsplit("/", 1)[-1]  # a registry host may carry a port: host:5000/name
    return last.partition(":")[2] or None


def pin_problem(image: str) -> str | None:
    tag = image_tag(image)
    if tag is None:
        return f"{image!r} has no tag"
    if tag == "latest":
        return f"{image!r} uses 'latest'"
    if not re.search(r"\d", tag):
        return f"{image!r} has a floating tag {tag!r} (no version number)"
    return None


def command_words(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def arguments(text: str) -> list[str]:
    """Dockerfile arguments in exec (JSON) or shell form."""
    if text.startswith("["):
        parsed = json.loads(text)
        assert isinstance(parsed, list), f"not a JSON array: {text}"
        return [str(word) for word in parsed]
    return shlex.split(text)


def instructions(keyword: str) -> list[str]:
    return [args for name, args in dockerfile() if name == keyword]


# --- docker-compose.yml ----------------------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED_SERVICES)
def test_service_is_defined(name: str) -> None:
    assert name in services(), f"docker-compose.yml has no service {name!r}"


@pytest.mark.parametrize("name", sorted(services()))
def test_service_has_image_or_build(name: str) -> None:
    spec = services()[name]
    assert "image" in spec or "build" in spec, f"service {name!r} has neither image nor build"


@pytest.mark.parametrize("name", names_with("image"))
def test_image_is_pinned(name: str) -> None:
    problem = pin_problem(interpolate(str(services()[name]["image"])))
    assert problem is None, f"service {name!r}: {problem}; pin a specific version"


@pytest.mark.parametrize("name", names_with("depends_on"))
def test_depends_on_defined_services_with_valid_conditions(name: str) -> None:
    for target, condition in depends_on(services()[name]).items():
        assert target in services(), f"service {name!r} depends on undefined service {target!r}"
        assert target != name, f"service {name!r} depends on itself"
        assert condition in DEPENDS_ON_CONDITIONS, (
            f"service {name!r}: condition {condition!r} on {target!r} is not one of "
            f"{sorted(DEPENDS_ON_CONDITIONS)}"
        )


@pytest.mark.parametrize("name", names_with("environment"))
def test_tempodesk_variables_are_settings(name: str) -> None:
    env = environment(services()[name])
    values = {
        key.removeprefix(ENV_PREFIX).lower(): interpolate(value)
        for key, value in env.items()
        if key.startswith(ENV_PREFIX)
    }
    unknown = sorted(field for field in values if field not in Settings.model_fields)
    assert not unknown, (
        f"service {name!r} sets {[ENV_PREFIX + f.upper() for f in unknown]}, "
        "which are no fields of api.settings.Settings"
    )
    # The values must parse too (a port is an int, a flag a bool, ...).
    Settings.model_validate(values)


@pytest.mark.parametrize("name", CONNECTED_SERVICES)
def test_connected_service_points_at_defined_services(name: str) -> None:
    env = environment(services()[name])
    missing = [key for key in REQUIRED_CONNECTED_VARS if not env.get(key)]
    assert not missing, f"service {name!r} does not set {missing}"

    database = urlsplit(interpolate(env["TEMPODESK_DATABASE_URL"]))
    assert database.scheme == "postgresql+psycopg", (
        f"service {name!r}: TEMPODESK_DATABASE_URL must use postgresql+psycopg://, "
        f"not {database.scheme}://"
    )
    assert database.hostname in services(), (
        f"service {name!r}: database host {database.hostname!r} is not a compose service"
    )
    assert database.port is None or database.port > 0
    server_env = environment(services()[database.hostname])
    for variable, actual in (
        ("POSTGRES_USER", database.username),
        ("POSTGRES_DB", database.path.lstrip("/")),
    ):
        expected = server_env.get(variable)
        assert expected is None or actual == expected, (
            f"service {name!r}: database URL has {actual!r} but {database.hostname!r} "
            f"sets {variable}={expected!r}"
        )

    temporal = urlsplit("//" + interpolate(env["TEMPODESK_TEMPORAL_ADDRESS"]))
    assert temporal.hostname in services(), (
        f"service {name!r}: Temporal host {temporal.hostname!r} is not a compose service"
    )
    assert temporal.port, f"service {name!r}: TEMPODESK_TEMPORAL_ADDRESS needs host:port"


@pytest.mark.parametrize("name", names_with("build"))
def test_built_service_has_dockerfile_and_cli_command(name: str) -> None:
    spec = services()[name]
    build = spec["build"]
    context, dockerfile_name = (
        (build, "Dockerfile")
        if isinstance(build, str)
        else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
    )
    path = (COMPOSE_FILE.parent / context / dockerfile_name).resolve()
    assert path.is_file(), f"service {name!r} builds from {path}, which does not exist"

    assert "command" in spec, f"service {name!r} must name its tempodesk subcommand"
    words = command_words(spec["command"])
    assert words, f"service {name!r} has an empty command"
    assert words[0] in cli_commands(), (
        f"service {name!r} runs `tempodesk {words[0]}`, but the CLI only has "
        f"{sorted(cli_commands())}"
    )


# --- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_base_images_are_pinned() -> None:
    stages: set[str] = set()
    froms = instructions("FROM")
    assert froms, "the Dockerfile has no FROM"
    for args in froms:
        words = [word for word in args.split() if not word.startswith("--")]
        image = words[0]
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
        if image in stages:
            continue  # a later stage built on an earlier one
        problem = pin_problem(image)
        assert problem is None, f"Dockerfile FROM {problem}; pin a specific patch version"


def test_dockerfile_runs_as_non_root_user() -> None:
    users = instructions("USER")
    assert users, "the Dockerfile never switches away from root (no USER)"
    assert users[-1] not in ROOT_USERS, f"the final USER is {users[-1]!r}, which is root"


def test_dockerfile_copies_every_package_and_the_build_files() -> None:
    patterns = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    top_level = {pattern.rstrip("*").split(".")[0] for pattern in patterns}
    readme = pyproject()["project"].get("readme")
    needed = top_level | {"pyproject.toml"} | ({readme} if isinstance(readme, str) else set())

    copied: set[str] = set()
    for args in instructions("COPY"):
        words = [word for word in arguments(args) if not word.startswith("--")]
        copied.update(word.removeprefix("./").rstrip("/") or "." for word in words[:-1])
    missing = sorted(needed - copied) if "." not in copied else []
    assert not missing, f"the Dockerfile does not COPY {missing}"


def test_dockerfile_entrypoint_is_the_console_script_and_cmd_a_subcommand() -> None:
    scripts = pyproject()["project"]["scripts"]
    entrypoints = instructions("ENTRYPOINT")
    assert entrypoints, "the Dockerfile has no ENTRYPOINT"
    entrypoint = arguments(entrypoints[-1])
    assert entrypoint and entrypoint[0] in scripts, (
        f"ENTRYPOINT {entrypoint} is not one of the console scripts {sorted(scripts)}"
    )
    commands = instructions("CMD")
    assert commands, "the Dockerfile has no default CMD"
    default = arguments(commands[-1])
    assert default and default[0] in cli_commands(), (
        f"CMD {default} is not a tempodesk subcommand ({sorted(cli_commands())})"
    )
