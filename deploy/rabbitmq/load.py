"""Load tdkt's RabbitMQ users, permissions and exchanges into a broker through its management API.

    python deploy/rabbitmq/load.py [--vhost NAME] [--api http://guest:guest@127.0.0.1:15672]
                                   [--definitions FILE]
    python deploy/rabbitmq/load.py --print-hash PASSWORD

The definitions (``definitions.json`` beside this file) name the vhost ``tdkt``; ``--vhost`` loads
them into another one instead (the tests load them into a vhost of their own). Loading is idempotent:
RabbitMQ upserts every user, permission and exchange of the document. The passwords in the file are
LOCAL development passwords (``tdkt-<role>-local``); a deployment loads a copy whose
``password_hash`` values come from ``--print-hash``.
"""
from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

DEFINITIONS = Path(__file__).resolve().parent / "definitions.json"
DEFAULT_API = "http://guest:guest@127.0.0.1:15672"
HASHING = "rabbit_password_hashing_sha256"
VHOST_SCOPED = ("permissions", "topic_permissions", "exchanges", "queues", "bindings", "policies",
                "parameters")


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + utf-8 password))."""
    salt = os.urandom(4) if salt is None else salt
    if len(salt) != 4:
        raise ValueError("RabbitMQ's salt is 4 bytes")
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode()


def hash_matches(password: str, stored: str) -> bool:
    """Whether ``stored`` (a ``password_hash`` value) is the hash of ``password``."""
    salt = base64.b64decode(stored)[:4]
    return password_hash(password, salt) == stored


def read_definitions(path: Path = DEFINITIONS) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def for_vhost(definitions: dict, vhost: str) -> dict:
    """The same definitions with every vhost-scoped object (and the vhost itself) moved to ``vhost``."""
    moved = copy.deepcopy(definitions)
    moved["vhosts"] = [{**entry, "name": vhost} for entry in moved.get("vhosts", [])]
    for key in VHOST_SCOPED:
        for entry in moved.get(key, []):
            entry["vhost"] = vhost
    return moved


def split_api(api: str) -> tuple[str, tuple[str, str]]:
    """``http://user:pass@host:port`` -> (``http://host:port/api``, (user, pass))."""
    parts = urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--api must be an http(s) URL such as {DEFAULT_API}, got {api!r}")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/api", "", ""))
    return base, (parts.username or "guest", parts.password or "guest")


def load(definitions: dict, api: str = DEFAULT_API, timeout: float = 10.0) -> None:
    """POST ``definitions`` to the broker's ``/api/definitions``; raises ``requests`` errors."""
    base, auth = split_api(api)
    response = requests.post(f"{base}/definitions", json=definitions, auth=auth, timeout=timeout)
    if response.status_code >= 400:
        raise requests.HTTPError(f"{response.status_code} {response.reason}: {response.text[:300]}",
                                 response=response)


def summary(definitions: dict) -> list[str]:
    """What a load put in place, one line per kind of object."""
    vhosts = ", ".join(entry["name"] for entry in definitions.get("vhosts", []))
    users = ", ".join(entry["name"] for entry in definitions.get("users", []))
    exchanges = ", ".join(f"{entry['name']} ({entry['type']})" for entry in definitions.get("exchanges", []))
    return [f"vhost: {vhosts}", f"users: {users}",
            f"permissions: {len(definitions.get('permissions', []))}",
            f"topic permissions: {len(definitions.get('topic_permissions', []))}",
            f"exchanges: {exchanges}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load tdkt's RabbitMQ users and permissions.")
    parser.add_argument("--vhost", help="load into this vhost instead of the file's (tdkt)")
    parser.add_argument("--api", default=DEFAULT_API, help=f"management API (default {DEFAULT_API})")
    parser.add_argument("--definitions", type=Path, default=DEFINITIONS, help="definitions file")
    parser.add_argument("--print-hash", metavar="PASSWORD",
                        help="print a password_hash value for PASSWORD and exit")
    args = parser.parse_args(argv)
    if args.print_hash is not None:
        print(password_hash(args.print_hash))
        return 0
    definitions = read_definitions(args.definitions)
    if args.vhost:
        definitions = for_vhost(definitions, args.vhost)
    try:
        load(definitions, args.api)
    except ValueError as exc:
        print(f"load.py: {exc}", file=sys.stderr)
        return 2
    except (requests.ConnectionError, requests.Timeout) as exc:
        base, _ = split_api(args.api)
        print(f"load.py: cannot reach the RabbitMQ management API at {base} ({type(exc).__name__}).\n"
              "  Is RabbitMQ running with its management plugin "
              "('rabbitmq-plugins enable rabbitmq_management')? Or pass --api.", file=sys.stderr)
        return 1
    except requests.HTTPError as exc:
        base, _ = split_api(args.api)
        print(f"load.py: the management API at {base} refused the definitions: {exc}", file=sys.stderr)
        return 1
    print(f"loaded {args.definitions.name} into {split_api(args.api)[0]}")
    for line in summary(definitions):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
