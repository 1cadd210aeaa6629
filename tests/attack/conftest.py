"""The whole shop for the attack suite: the three web apps on migrated SQLite files and the
test's Redis, the Stripe stand-in on a loopback port, a few books in every service, a stored
article, one phone order, and staff sessions of every role (a session in Redis and a CSRF
token, as a signed-in browser holds them).

Each app runs under uvicorn on a loopback port in a thread of its own, so tests (and
schemathesis and hypothesis) call them over HTTP from plain test functions. Reservations are answered by the catalogue's own handler on the catalogue's database, as its
worker would answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import httpx
import psycopg
import pytest
import redis
from litestar import Litestar
from litestar.middleware.csrf import generate_csrf_token
from loopback_server import ServerThread, bound_socket

from services.catalogue import handlers as catalogue_handlers
from services.catalogue import models as catalogue_models
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.schemas import BookCreate
from services.catalogue.service import BookService
from services.catalogue.settings import CatalogueSettings
from services.catalogue.staff import StaffService
from services.checkout import handlers as checkout_handlers
from services.checkout import models as checkout_models
from services.checkout.app import create_app as create_checkout
from services.checkout.settings import CheckoutSettings
from services.gateway import SERVICE_PREFIXES
from services.recommendation import handlers as recommendation_handlers
from services.recommendation import models as recommendation_models
from services.recommendation.app import create_app as create_recommendation
from services.recommendation.settings import RecommendationSettings
from services.stripe_standin import StripeStandinSettings
from services.stripe_standin import create_app as create_standin
from shared.auth.csrf import CSRF_COOKIE, CSRF_HEADER
from shared.auth.roles import Role
from shared.auth.sessions import SESSION_COOKIE, SESSION_NAMESPACE, StaffIdentity
from shared.auth.settings import StaffAuthSettings
from shared.contracts import BookChanged, ReserveStock
from shared.db import Database
from shared.messaging.message import Command
from shared.messaging.unit_of_work import UnitOfWorkFactory
from shared.migrations import upgrade
from shared.ratelimit import RateLimitSettings

R = TypeVar("R")
ATTACK_REDIS_URL = os.environ.get("BOOKSHOP_ATTACK_REDIS_URL", "redis://127.0.0.1:6379/10")
DATA = Path(__file__).parents[1] / "data"
SECRET_KEY = "attack-suite-secret-key-for-csrf-0123456789abcdef"
WEBHOOK_SECRET = "whsec_attack_suite_webhook_secret"
STRIPE_KEY = "sk_test_attack_suite_secret_api_key"
EDITOR_TOKEN = "editor-token-of-the-attack-suite"
STAFF_PASSWORD = "correct horse battery staple"
ARTICLE_ID = "attack-article"
# Few books: ranking every generated article must stay quick.
BOOK_COUNT = 12
ROLES = (Role.STOCK, Role.PHONE_ORDERS, Role.EDITOR, Role.ADMIN)
SERVICES = ("catalogue", "checkout", "recommendation")


def catalogue_records(count: int = BOOK_COUNT) -> list[dict[str, Any]]:
    with (DATA / "books.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return records[:count]


@dataclass(frozen=True)
class Credentials:
    """A signed-in staff member as a browser holds them: the session cookie and a CSRF token."""

    identity: StaffIdentity
    session_id: str
    csrf_token: str

    @property
    def cookies(self) -> dict[str, str]:
        return {SESSION_COOKIE: self.session_id, CSRF_COOKIE: self.csrf_token}

    @property
    def headers(self) -> dict[str, str]:
        """Cookie and CSRF header for one request; the bearer token opens the editors' API
        while the recommendation service still guards it with a token."""
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {
            "Cookie": cookie,
            CSRF_HEADER: self.csrf_token,
            "Authorization": f"Bearer {EDITOR_TOKEN}",
        }


def staff_session(redis_url: str, *roles: Role, username: str = "sam") -> Credentials:
    """A session in the shared Redis, as the catalogue's sign-in stores it."""
    identity = StaffIdentity(
        staff_id=str(uuid.uuid4()), username=username, name=username.title(), roles=frozenset(roles)
    )
    session_id = uuid.uuid4().hex
    with redis.Redis.from_url(redis_url) as client:
        client.set(
            f"{SESSION_NAMESPACE}:{session_id}",
            json.dumps(identity.to_session()).encode(),
            ex=3600,
        )
    return Credentials(identity, session_id, generate_csrf_token(SECRET_KEY))


def csrf_pair() -> tuple[dict[str, str], dict[str, str]]:
    """(cookies, headers) of an anonymous browser that loaded a page with a form."""
    token = generate_csrf_token(SECRET_KEY)
    return {CSRF_COOKIE: token}, {CSRF_HEADER: token}


class CatalogueReplies:
    """Answers ReserveStock with the catalogue's own handler on its database (its worker's job)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._db: Database | None = None
        self.requests: list[ReserveStock] = []

    async def request(self, command: Command, reply_type: type[R], *, timeout: float) -> R:
        assert isinstance(command, ReserveStock)
        self.requests.append(command)
        if self._db is None:
            # Made on first use, in the event loop of the checkout app that calls it.
            self._db = Database(self._url)
        async with UnitOfWorkFactory(self._db, catalogue_models.outbox)() as uow:
            reply = await catalogue_handlers.on_reserve_stock(command, uow=uow)
        return reply  # type: ignore[return-value]


@dataclass
class Databases:
    catalogue: str
    checkout: str
    recommendation: str


@dataclass
class AttackShop:
    """The running apps, what was put in them, and staff sessions of every role."""

    redis_url: str
    databases: Databases
    urls: dict[str, str]
    apps: dict[str, Litestar]
    catalogue: httpx.Client
    checkout: httpx.Client
    recommendation: httpx.Client
    settings: dict[str, Any]
    isbns: list[str]
    order_reference: str
    order_email: str
    article_id: str
    staff: dict[Role, Credentials] = field(default_factory=dict)

    def signed_in(self, *roles: Role, username: str = "sam") -> Credentials:
        return staff_session(self.redis_url, *roles, username=username)

    staff_password = STAFF_PASSWORD
    """The password of the accounts `<role>-person` (stock-person, editor-person...)."""

    csrf = staticmethod(csrf_pair)

    @staticmethod
    def serve(app: Any) -> ServerThread:
        """Another app on a loopback port: `with shop.serve(app) as server: server.url`."""
        return ServerThread(app, bound_socket())

    def client(self, service: str) -> httpx.Client:
        """A new client of one service with no cookies (close it, or use it in `with`)."""
        return httpx.Client(base_url=self.urls[service], timeout=30)

    def service_of(self, path: str) -> str:
        """The service that answers `path`, by the gateway's prefixes."""
        for service, prefixes in SERVICE_PREFIXES.items():
            owns = any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)
            # "/staff" is the catalogue's catch-all: another service's own prefix wins.
            if owns and (service != "catalogue" or not path.startswith("/staff/")):
                return service
        return "catalogue"


def _migrated(tmp_path: Path, service: str) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}"
    upgrade(f"services.{service}:migrations", url)
    return url


async def _seed(databases: Databases, records: list[dict[str, Any]]) -> None:
    """Books in all three services (as the catalogue's events bring them) and staff accounts."""
    catalogue = Database(databases.catalogue)
    checkout = Database(databases.checkout)
    recommendation = Database(databases.recommendation)
    try:
        books = BookService(uow=UnitOfWorkFactory(catalogue, catalogue_models.outbox), db=catalogue)
        await books.upsert_books(
            books=[
                BookCreate(**{k: v for k, v in record.items() if k in BookCreate.__struct_fields__})
                for record in records
            ],
            actor="seed",
        )
        staff = StaffService(db=catalogue, lockout=StaffAuthSettings().lockout)
        for role in ROLES:
            await staff.add(
                username=f"{role.value}-person",
                password=STAFF_PASSWORD,
                roles=[role.value],
                display_name=None,
            )
        events = [
            BookChanged(
                isbn13=r["isbn13"],
                version=1,
                title=r["title"],
                price_pence=r["price_pence"],
                available=r["stock"],
                **{
                    k: v
                    for k, v in r.items()
                    if k in BookChanged.__struct_fields__
                    and k not in {"isbn13", "title", "price_pence"}
                },
            )
            for r in records
        ]
        async with UnitOfWorkFactory(checkout, checkout_models.outbox)() as uow:
            for event in events:
                await checkout_handlers.on_book_changed(event, uow=uow)
        async with UnitOfWorkFactory(recommendation, recommendation_models.outbox)() as uow:
            for event in events:
                await recommendation_handlers.on_book_changed(event, uow=uow)
    finally:
        for db in (catalogue, checkout, recommendation):
            await db.dispose()


@pytest.fixture(scope="module")
def attack_redis_url() -> Iterator[str]:
    """A Redis database of the attack suite's own, emptied before and after each test (other
    suites flush theirs while this one holds sessions and rate-limit counters in it)."""
    client = redis.Redis.from_url(ATTACK_REDIS_URL, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as error:
        _unavailable(f"Redis is not reachable ({error}); the attack suite needs it")
    yield ATTACK_REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def shop_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    """Each service's migrated database, with the books (and staff accounts) put in: SQLite
    files, or Postgres databases for a module that asks with
    `@pytest.mark.parametrize("shop_databases", ["sqlite", "postgres"], indirect=True)`."""
    if getattr(request, "param", "sqlite") == "postgres":
        with _postgres_databases() as urls:
            for service, url in urls.items():
                upgrade(f"services.{service}:migrations", url)
            databases = Databases(**urls)
            asyncio.run(_seed(databases, catalogue_records()))
            yield databases
        return
    folder = tmp_path_factory.mktemp("attack-shop")
    databases = Databases(
        catalogue=_migrated(folder, "catalogue"),
        checkout=_migrated(folder, "checkout"),
        recommendation=_migrated(folder, "recommendation"),
    )
    asyncio.run(_seed(databases, catalogue_records()))
    yield databases


@contextlib.contextmanager
def _postgres_databases() -> Iterator[dict[str, str]]:
    """A fresh Postgres database per service (asyncpg URLs), dropped afterwards."""
    admin_url = os.environ.get(
        "BOOKSHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.Error as error:
        _unavailable(f"Postgres is not reachable ({error}); the attack suite needs it")
    run = uuid.uuid4().hex[:10]
    names = {service: f"bookshop_attack_{run}_{service}" for service in SERVICES}
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    with admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {service: f"{base}/{name}" for service, name in names.items()}
        finally:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("BOOKSHOP_REQUIRE_SERVICES") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def settings_overrides() -> dict[str, dict[str, Any]]:
    """Extra settings per service ({"checkout": {...}}); override in a test module."""
    return {}


@pytest.fixture(scope="module")
def shop(
    shop_databases: Databases,
    attack_redis_url: str,
    settings_overrides: dict[str, dict[str, Any]],
) -> Iterator[AttackShop]:
    """One running shop per test module (its tests share it: none may need a clean one)."""
    databases, redis_url = shop_databases, attack_redis_url
    staff_auth = StaffAuthSettings(secret_key=SECRET_KEY)
    socks = {name: bound_socket() for name in ("standin", *SERVICES)}
    urls = {name: f"http://127.0.0.1:{sock.getsockname()[1]}" for name, sock in socks.items()}
    # Limits out of the way (the rate-limit tests set their own): fuzzing posts a lot.
    roomy = RateLimitSettings(
        login_per_minute=100_000,
        order_status_per_minute=100_000,
        recommendations_per_minute=100_000,
    )
    common: dict[str, Any] = {
        "redis_url": redis_url,
        "public_url": urls["checkout"],
        "staff_auth": staff_auth,
        "rate_limits": roomy,
    }
    catalogue_settings = CatalogueSettings(
        **common
        | {"database_url": databases.catalogue, "page_cache_seconds": 0}
        | settings_overrides.get("catalogue", {})
    )
    checkout_settings = CheckoutSettings(
        **common
        | {
            "database_url": databases.checkout,
            "stripe_api_key": STRIPE_KEY,
            "stripe_api_base": urls["standin"],
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_timeout_seconds": 2.0,
            "stripe_max_network_retries": 0,
            "reply_timeout_seconds": 2.0,
        }
        | settings_overrides.get("checkout", {})
    )
    recommendation_settings = RecommendationSettings(
        **common
        | {
            "database_url": databases.recommendation,
            "staff_api_token": EDITOR_TOKEN,
            "fetch_timeout_seconds": 1.0,
            "rerank": False,
        }
        | settings_overrides.get("recommendation", {})
    )
    standin = create_standin(
        StripeStandinSettings(
            webhook_urls=[f"{urls['checkout']}/checkout/stripe/webhook"],
            webhook_secret=WEBHOOK_SECRET,
            public_base_url=urls["standin"],
            webhook_retry_delays=[0.2, 0.5],
            expiry_sweep_seconds=60,
        )
    )
    records = catalogue_records()
    apps = {
        "catalogue": create_catalogue(catalogue_settings),
        "checkout": create_checkout(
            checkout_settings, requester=CatalogueReplies(databases.catalogue)
        ),
        "recommendation": create_recommendation(recommendation_settings),
    }
    with (
        ServerThread(standin, socks["standin"]),
        ServerThread(apps["catalogue"], socks["catalogue"]),
        ServerThread(apps["checkout"], socks["checkout"]),
        ServerThread(apps["recommendation"], socks["recommendation"]),
        httpx.Client(base_url=urls["catalogue"], timeout=30) as catalogue,
        httpx.Client(base_url=urls["checkout"], timeout=30) as checkout,
        httpx.Client(base_url=urls["recommendation"], timeout=30) as rec,
    ):
        staff = {role: staff_session(redis_url, role, username=f"{role.value}-x") for role in ROLES}
        email = "reader.one@example.org"
        placed = checkout.post(
            "/api/checkout/orders",
            json={
                "customer": {
                    "name": "Reader One",
                    "email": email,
                    "address": ["1 Any Street", "Sheffield", "S1 1AA"],
                },
                "lines": [{"isbn": records[0]["isbn13"], "quantity": 1}],
                "delivery": "post",
            },
            headers={**staff[Role.PHONE_ORDERS].headers, "Idempotency-Key": "attack-seed-order"},
        )
        assert placed.status_code == 201, placed.text
        stored = rec.post(
            "/recommendations",
            json={
                "text": (DATA / "seed-article.txt").read_text(encoding="utf-8"),
                "article_id": ARTICLE_ID,
                "headline": "The seed article",
            },
            headers=staff[Role.EDITOR].headers,
        )
        assert stored.status_code == 200, stored.text
        yield AttackShop(
            redis_url=redis_url,
            databases=databases,
            urls=urls,
            apps=apps,
            catalogue=catalogue,
            checkout=checkout,
            recommendation=rec,
            settings={
                "catalogue": catalogue_settings,
                "checkout": checkout_settings,
                "recommendation": recommendation_settings,
            },
            isbns=[r["isbn13"] for r in records],
            order_reference=placed.json()["reference"],
            order_email=email,
            article_id=ARTICLE_ID,
            staff=staff,
        )
