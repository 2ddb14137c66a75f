"""Small factories: organisations, people with API tokens, and an API client per person."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from api.security import digest, hash_password, new_api_token

PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per test run


class Api:
    """Calls the JSON API with one person's bearer token (over a shared connection pool)."""

    def __init__(self, http: httpx.Client, token: str | None) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.http.request(method, "/api/v1" + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, expected: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == expected, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def open_ticket(self, subject: str = "Printer on fire", **fields: Any) -> dict[str, Any]:
        return self.ok("POST", "/tickets", 201, json={"subject": subject, **fields})


@dataclass
class Person:
    id: int
    email: str
    name: str
    role: str
    organisation_id: int | None
    token: str
    api: Api


class Directory:
    """Creates organisations and people straight in the database (a test factory)."""

    def __init__(self, database_url: str, base_url: str) -> None:
        self.dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def close(self) -> None:
        self.http.close()

    def admin_for_fuzzing(self) -> Person:
        """One admin shared by the generated API tests (made on first use)."""
        if not hasattr(self, "_fuzz_admin"):
            self._fuzz_admin = self.person("admin")
        return self._fuzz_admin

    def api(self, token: str | None) -> Api:
        return Api(self.http, token)

    def organisation(self, name: str | None = None, *, shared: bool = False) -> int:
        name = name or f"Org {uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO organisations (name, shared_tickets) VALUES (%s, %s) RETURNING id",
                (name, shared),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def person(
        self, role: str = "agent", organisation_id: int | None = None, name: str | None = None
    ) -> Person:
        tag = uuid.uuid4().hex[:10]
        email = f"{role}-{tag}@example.com"
        name = name or f"{role.title()} {tag[:4]}"
        token = new_api_token()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO users (email, name, role, organisation_id, password_hash) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (email, name, role, organisation_id, _HASH),
            ).fetchone()
            assert row is not None
            user_id = int(row[0])
            conn.execute(
                "INSERT INTO api_tokens (user_id, name, digest, prefix) VALUES (%s, %s, %s, %s)",
                (user_id, "test", digest(token), token[:10]),
            )
        return Person(user_id, email, name, role, organisation_id, token, self.api(token))

    def group(self, name: str | None = None, members: list[Person] | None = None) -> int:
        name = name or f"Group {uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "INSERT INTO groups (name) VALUES (%s) RETURNING id", (name,)
            ).fetchone()
            assert row is not None
            for member in members or []:
                conn.execute(
                    "INSERT INTO group_members (group_id, user_id) VALUES (%s, %s)",
                    (row[0], member.id),
                )
        return int(row[0])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()


@contextlib.contextmanager
def browser_session(base_url: str, email: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    """An httpx client logged in through the web login form (session cookie)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        client.get("/login")
        form = {
            "email": email,
            "password": password,
            "csrf_token": client.cookies["tempodesk_login_csrf"],
        }
        response = client.post("/login", data=form)
        assert response.status_code == 303, response.text
        yield client


def csrf_of(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]
