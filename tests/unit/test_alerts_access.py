"""Who may see and do what in the alerts service: tokens, roles, caseloads, the browser's
session cookie and its CSRF token, and a council IdP's keys served over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from schemas.journeys import JourneySnapshot, TimelineEntry
from services.alerts.config import AlertSettings
from services.alerts.store.store import AlertStore
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.runtime.settings import Settings
from tests.unit.test_alert_store import fid, flag

TODAY = date(2026, 3, 2)
ANA_CHILD, BEN_CHILD, SOUTH_CHILD = "pk-ana-child-000001", "pk-ben-child-000002", "pk-south-0003"
Mint = Callable[..., str]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlertStore]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    store.apply_many(
        [
            flag(n=1, person_key=ANA_CHILD, child_ref="CHILD-ANA", caseworker_id="cw-ana"),
            flag(n=2, person_key=BEN_CHILD, child_ref="CHILD-BEN", caseworker_id="cw-ben"),
            flag(n=3, person_key="pk-queued-000004", child_ref="CHILD-Q", caseworker_id=None),
            flag(n=4, person_key=SOUTH_CHILD, caseworker_id="cw-cy", team="south"),
        ]
    )
    store.apply_journeys([(BEN_CHILD, _snapshot(BEN_CHILD, "cw-ben"))])
    yield store
    store.close()


@pytest.fixture
def config() -> AlertSettings:
    return AlertSettings()


@pytest.fixture
def mint(config: AlertSettings, tmp_path: Path) -> Mint:
    def mint(subject: str, *roles: str, team: str | None = None, **kw: Any) -> str:
        return mint_token(config, tmp_path, subject=subject, roles=roles, team=team, **kw)

    return mint


@pytest.fixture
def app_for(tmp_path: Path, store: AlertStore) -> Iterator[Callable[[AlertSettings], TestClient]]:
    clients: list[TestClient] = []

    def app_for(config: AlertSettings) -> TestClient:
        app = create_app(
            Settings(data_dir=tmp_path), store, consume=False, clock=lambda: TODAY, config=config
        )
        clients.append(TestClient(app).__enter__())
        return clients[-1]

    yield app_for
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(app_for: Callable[[AlertSettings], TestClient], config: AlertSettings) -> TestClient:
    return app_for(config)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _snapshot(person_key: str, caseworker: str | None) -> JourneySnapshot:
    return JourneySnapshot(
        person_key=person_key,
        caseworker_id=caseworker,
        team="north",
        as_of=TODAY,
        timeline=[TimelineEntry(on=date(2025, 1, 6), kind="plan.issued", summary="Plan issued")],
        updated_at=datetime(2026, 3, 1, tzinfo=UTC),
    )


# -- signing in --------------------------------------------------------------------------


def test_no_token_is_401_for_the_api_and_the_way_to_login_for_pages(client: TestClient) -> None:
    response = client.get("/alerts")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    page = client.get("/inbox", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (303, "/login")
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == client.get("/metrics").status_code == 200


def test_bad_tokens_are_refused(client: TestClient, mint: Mint, tmp_path: Path) -> None:
    stranger = mint_token(AlertSettings(), tmp_path / "other", subject="cw-ana", roles=["admin"])
    expired = mint("cw-ana", "admin", now=datetime.now(UTC) - timedelta(hours=9))
    wrong_audience = mint_token(
        AlertSettings(auth_audience="someone-else"), tmp_path, subject="cw-ana", roles=["admin"]
    )
    for token in [stranger, expired, wrong_audience, "not-a-jwt"]:
        assert client.get("/alerts", headers=bearer(token)).status_code == 401
    assert client.get("/alerts", headers={"Authorization": "Basic abc"}).status_code == 401


def test_an_integrator_cannot_read_alerts(client: TestClient, mint: Mint) -> None:
    headers = bearer(mint("ingest-bot", "integrator"))
    for path in ["/alerts", f"/alerts/{fid(1)}", f"/alerts/{fid(1)}/journey", "/", "/inbox"]:
        assert client.get(path, headers=headers).status_code == 403, path
    posted = client.post(f"/alerts/{fid(1)}/acknowledge", json={}, headers=headers)
    assert posted.status_code == 403
    assert client.get("/me", headers=headers).json()["roles"] == ["integrator"]


# -- caseloads ---------------------------------------------------------------------------


def test_a_caseworker_sees_only_their_own_alerts(client: TestClient, mint: Mint) -> None:
    ana = bearer(mint("cw-ana", "caseworker", team="north"))
    assert [a["flag_id"] for a in client.get("/alerts", headers=ana).json()] == [fid(1)]
    assert client.get("/alerts?caseworker=cw-ben", headers=ana).json() == []
    assert client.get("/alerts?team=north", headers=ana).json()[0]["flag_id"] == fid(1)
    inbox = client.get("/inbox", headers=ana).text
    assert "CHILD-ANA" in inbox and "CHILD-BEN" not in inbox


def test_a_caseworker_gets_404_for_another_caseworkers_child(
    client: TestClient, mint: Mint, store: AlertStore
) -> None:
    ana = bearer(mint("cw-ana", "caseworker", team="north"))
    for path in [f"/alerts/{fid(2)}", f"/alerts/{fid(2)}/journey", f"/inbox/alerts/{fid(2)}"]:
        response = client.get(path, headers=ana)
        assert response.status_code == 404, path
        assert "CHILD-BEN" not in response.text
    assert client.post(f"/alerts/{fid(2)}/acknowledge", json={}, headers=ana).status_code == 404
    assert client.get("/inbox?caseworker=cw-ben", headers=ana).status_code == 403
    assert client.get("/team", headers=ana).status_code == 403
    assert store.journey_views(BEN_CHILD) == []  # a refused look is not a view
    alert = store.get(fid(2))
    assert alert is not None and alert.status == "open"


def test_a_manager_sees_only_their_team(client: TestClient, mint: Mint) -> None:
    north = bearer(mint("mgr-north", "manager", team="north"))
    assert [a["flag_id"] for a in client.get("/alerts", headers=north).json()] == [
        fid(1),
        fid(2),
        fid(3),
    ]
    assert client.get(f"/alerts/{fid(4)}", headers=north).status_code == 404
    assert client.get("/alerts?team=south", headers=north).json() == []
    team = client.get("/team?team=south", headers=north).text  # the parameter is for admins
    assert "<h1>Team north</h1>" in team and "CHILD-ANA" in team and "CHILD-BEN" in team
    assert "1 alert in the team queue" in team
    assert client.get("/", headers=north, follow_redirects=False).headers["location"] == "/team"
    south_inbox = client.get("/inbox?caseworker=cw-cy", headers=north).text
    assert "There are no open alerts." in south_inbox


def test_every_view_of_a_journey_is_audited(
    client: TestClient, mint: Mint, store: AlertStore
) -> None:
    ben = bearer(mint("cw-ben", "caseworker", team="north"))
    journey = client.get(f"/alerts/{fid(2)}/journey", headers=ben)
    assert journey.status_code == 200
    assert journey.json()["journey"]["timeline"][0]["summary"] == "Plan issued"
    assert BEN_CHILD not in journey.text  # never the person key
    assert client.get(f"/inbox/alerts/{fid(2)}", headers=ben).status_code == 200
    views = store.journey_views(BEN_CHILD)
    assert [(v.viewer, v.channel, v.flag_id) for v in views] == [
        ("cw-ben", "api", fid(2)),
        ("cw-ben", "page", fid(2)),
    ]
    text = client.get("/metrics").text
    assert 'casewatch_alerts_journey_views_total{channel="page"} 1.0' in text


# -- the browser session -----------------------------------------------------------------


def test_login_sets_a_strict_http_only_cookie(client: TestClient, mint: Mint) -> None:
    response = client.get(
        "/login", params={"token": mint("cw-ana", "caseworker")}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("casewatch_session=")
    for attribute in ["HttpOnly", "SameSite=strict", "Path=/", "Max-Age="]:
        assert attribute.lower() in cookie.lower(), attribute
    assert "secure" not in cookie.lower()  # plain http on loopback
    assert "CHILD-ANA" in client.get("/inbox").text  # the cookie now signs in


def test_a_bad_login_says_so(client: TestClient) -> None:
    response = client.get("/login", params={"token": "nonsense"})
    assert response.status_code == 401 and "That token is not valid" in response.text
    assert "set-cookie" not in response.headers


def test_form_posts_need_the_sessions_csrf_token(client: TestClient, mint: Mint) -> None:
    client.get("/login", params={"token": mint("cw-ana", "caseworker")})
    url = f"/inbox/alerts/{fid(1)}/acknowledge"
    assert client.post(url, data={}).status_code == 403
    assert client.post(url, data={"csrf_token": "0" * 64}).status_code == 403
    page = client.get(f"/inbox/alerts/{fid(1)}").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    foreign = client.post(url, data={"csrf_token": token}, headers={"Origin": "https://evil.test"})
    assert foreign.status_code == 403
    done = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (
        303,
        f"/inbox/alerts/{fid(1)}?done=acknowledged",
    )
    api = f"/alerts/{fid(1)}/snooze"
    body = {"until": "2026-03-09", "reason": "school closed"}
    assert client.post(api, json=body).status_code == 403  # a cookie needs the header too
    assert client.post(api, json=body, headers={"X-CSRF-Token": token}).status_code == 200
    metrics = client.get("/metrics").text
    assert 'casewatch_alerts_access_denied_total{reason="csrf"} 4.0' in metrics


def test_logout_clears_the_cookie(client: TestClient, mint: Mint) -> None:
    client.get("/login", params={"token": mint("cw-ana", "caseworker")})
    token = client.get("/inbox").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.headers["location"] == "/login"
    assert 'casewatch_session=""' in response.headers["set-cookie"]
    assert client.get("/alerts").status_code == 401


# -- a council's identity provider -------------------------------------------------------


@pytest.fixture
def idp() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A JWKS endpoint on loopback, as a council's identity provider publishes one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "council-1", "use": "sig", "alg": "RS256"}]})

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/keys", key
    server.shutdown()
    server.server_close()


def test_tokens_from_a_councils_identity_provider(
    app_for: Callable[[AlertSettings], TestClient], idp: tuple[str, rsa.RSAPrivateKey]
) -> None:
    url, key = idp
    config = AlertSettings(auth_jwks_url=url, auth_issuer="https://idp.council.test")
    client = app_for(config)
    now = datetime.now(UTC)
    claims = {
        "iss": "https://idp.council.test",
        "aud": config.auth_audience,
        "sub": "cw-ana",
        "iat": now,
        "exp": now + timedelta(hours=1),
        "roles": ["caseworker"],
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "council-1"})
    alerts = client.get("/alerts", headers=bearer(token)).json()
    assert [a["flag_id"] for a in alerts] == [fid(1)]
    forged = jwt.encode(
        {**claims, "roles": ["admin"]}, "a-guessed-shared-secret-of-32-bytes", algorithm="HS256"
    )
    assert client.get("/alerts", headers=bearer(forged)).status_code == 401
    with pytest.raises(ValueError):
        mint_token(config, Path("unused"), subject="cw-ana", roles=["admin"])
    # No tokens in URLs with a real IdP: /login?token= only shows the page.
    response = client.get("/login", params={"token": token}, follow_redirects=False)
    assert response.status_code == 200 and "set-cookie" not in response.headers
    posted = client.post("/login", data={"token": token}, follow_redirects=False)
    assert posted.status_code == 303 and "casewatch_session=" in posted.headers["set-cookie"]
