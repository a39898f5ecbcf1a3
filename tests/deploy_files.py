"""Readers for deploy/'s files as Docker, Compose and Kubernetes read them, for tests that cannot run
those tools here: an ``.env`` file, Compose's ``${VAR}`` interpolation, a Dockerfile's instructions."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.harness import ROOT

DEPLOY = ROOT / "deploy"
# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, $NAME
_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
                       r"|(?P<bare>[A-Za-z_]\w*))")


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines as Compose reads an ``.env`` file (comments and blank lines skipped)."""
    env = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_]\w*", key):
            raise ValueError(f"{path}:{number}: not KEY=VALUE: {line!r}")
        env[key] = value
    return env


def variables_in(value) -> set[str]:
    """The names of every variable a Compose document (any nesting of dicts, lists, strings) uses."""
    if isinstance(value, dict):
        return set().union(*(variables_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(variables_in(v) for v in value)) if value else set()
    if isinstance(value, str):
        return {m["name"] or m["bare"] for m in _VARIABLE.finditer(value) if not m["escaped"]}
    return set()


def interpolate(value, env: dict[str, str]):
    """The document with every variable replaced as Compose does; KeyError names a variable that is
    required (``:?``/``?``) or has no default but is not set."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match):
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"] or match["bare"], match["op"], match["arg"]
        present = name in env if op in ("-", "?", "+") else env.get(name, "") != ""
        if op and op.endswith("+"):
            return arg if present else ""
        if present:
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise KeyError(f"{name} is not set ({arg})" if op else f"{name} is not set")
    return _VARIABLE.sub(replace, value)


def load_compose(env_file: Path = DEPLOY / ".env.example") -> tuple[dict, dict, dict[str, str]]:
    """(the compose file as written, the same after interpolation with ``env_file``, that env)."""
    raw = yaml.safe_load((DEPLOY / "compose.yml").read_text(encoding="utf-8"))
    env = read_env_file(env_file)
    return raw, interpolate(raw, env), env


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def dockerfile_stages(path: Path = DEPLOY / "Dockerfile") -> tuple[dict[str, str], list[Stage]]:
    """(global ``ARG`` defaults, the build stages in order), continuation lines joined, comments gone."""
    logical, pending = [], ""
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()[:-1] + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    global_args, stages = {}, []
    for text in logical:
        keyword, _, args = text.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m[1], m[0]), words[0])
            stages.append(Stage(base, words[2] if len(words) > 2 and words[1].upper() == "AS" else None))
        elif not stages and keyword == "ARG":
            name, _, default = args.partition("=")
            global_args[name] = default
        else:
            stages[-1].instructions.append((keyword, args))
    return global_args, stages


def exec_form(args: str) -> list[str] | None:
    """The JSON array of an exec-form ``CMD``/``ENTRYPOINT``/``HEALTHCHECK``, or None for shell form."""
    try:
        value = json.loads(args)
    except ValueError:
        return None
    return value if isinstance(value, list) and all(isinstance(item, str) for item in value) else None


def k8s_documents() -> list[tuple[Path, dict]]:
    """Every YAML document under deploy/k8s, with its file."""
    return [(path, document) for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document is not None]
