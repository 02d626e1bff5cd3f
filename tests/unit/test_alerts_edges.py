"""The alerts service's edges: login CSRF (Origin), credentials and body size before the body."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.alerts.config import AlertSettings
from services.alerts.store.store import AlertStore
from services.alerts.web.app import create_app
from services.alerts.web.auth import mint_token
from services.runtime.settings import Settings
from tests.unit.test_ingest_api import asgi_post


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    store = AlertStore(f"sqlite:///{tmp_path / 'alerts.db'}")
    config = AlertSettings(max_body_bytes=2048)
    app = create_app(Settings(data_dir=tmp_path), store, consume=False, config=config)
    with TestClient(app) as client:
        yield client
    store.close()


def token(tmp_path: Path) -> str:
    return mint_token(AlertSettings(), tmp_path, subject="cw-01", roles=["caseworker"])


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},  # any page can send it; nothing vouches for it here
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another site's page
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_login_posted_by_another_site_does_not_sign_in(
    client: TestClient, tmp_path: Path, headers: dict[str, str]
) -> None:
    response = client.post(
        "/login", data={"token": token(tmp_path)}, headers=headers, follow_redirects=False
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "came from another site" in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, a proxy: no browser, no ambient credentials to abuse
        {"Origin": "http://testserver"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # our page under no-referrer
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked
    ],
)
def test_a_login_from_this_site_signs_in(
    client: TestClient, tmp_path: Path, headers: dict[str, str]
) -> None:
    response = client.post(
        "/login", data={"token": token(tmp_path)}, headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert "casewatch_session=" in response.headers["set-cookie"]


def test_the_login_page_makes_its_form_carry_the_origin(client: TestClient) -> None:
    page = client.get("/login")
    assert page.headers["referrer-policy"] == "same-origin"
    assert client.get("/healthz").headers["referrer-policy"] == "no-referrer"


def test_a_write_without_credentials_is_refused_before_its_body(client: TestClient) -> None:
    huge = (b"content-length", b"999999999")
    assert asgi_post(client.app, "/alerts/f-1/acknowledge", [huge]) == (401, 0)
    assert asgi_post(client.app, "/inbox/alerts/f-1/snooze", [huge]) == (401, 0)
    cookie = (b"cookie", b"casewatch_session=whatever")
    assert asgi_post(client.app, "/inbox/alerts/f-1/snooze", [huge, cookie]) == (413, 0)
    assert asgi_post(client.app, "/login", [huge]) == (413, 0)


def test_a_body_over_the_limit_is_413(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/login", data={"token": "x" * 5000})
    assert response.status_code == 413
    assert response.headers["x-frame-options"] == "DENY"  # refusals at the edge are headed too
    ok = client.post("/login", data={"token": token(tmp_path)}, follow_redirects=False)
    assert ok.status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},  # a link on another site, or in a web mail
        {"Sec-Fetch-Site": "same-site"},
        {"Referer": "https://evil.example/page"},  # a browser without Sec-Fetch-Site
    ],
)
def test_a_sign_in_link_opened_from_another_site_asks_first(
    client: TestClient, tmp_path: Path, headers: dict[str, str]
) -> None:
    """Login CSRF by link: GET /login?token= from another site signs nothing in; the page
    names the account and its own form (posted from this site) signs in."""
    minted = token(tmp_path)
    asked = client.get(f"/login?token={minted}", headers=headers, follow_redirects=False)
    assert asked.status_code == 200 and "set-cookie" not in asked.headers
    assert "It signs this browser in as <strong>cw-01 (caseworker)</strong>" in asked.text
    assert asked.headers["cache-control"] == "no-store"
    assert asked.headers["referrer-policy"] == "same-origin"
    hidden = re.search(r'name="token" value="([^"]+)"', asked.text)
    assert hidden is not None and hidden.group(1) == minted
    # the person's click: the browser posts this site's form with this site's Origin
    posted = client.post(
        "/login",
        data={"token": hidden.group(1)},
        headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and "casewatch_session=" in posted.headers["set-cookie"]


def test_a_forged_link_from_another_site_is_refused_without_a_question(
    client: TestClient,
) -> None:
    headers = {"Sec-Fetch-Site": "cross-site"}
    refused = client.get("/login?token=not.a.token", headers=headers, follow_redirects=False)
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    assert "Sign in as" not in refused.text


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a browser of before Sec-Fetch-Site, the address typed
        {"Sec-Fetch-Site": "none"},  # the link `casewatch up` prints, pasted or clicked
        {"Sec-Fetch-Site": "same-origin", "Referer": "http://testserver/login"},
    ],
)
def test_a_sign_in_link_opened_directly_signs_in(
    client: TestClient, tmp_path: Path, headers: dict[str, str]
) -> None:
    response = client.get(
        f"/login?token={token(tmp_path)}", headers=headers, follow_redirects=False
    )
    assert response.status_code == 303
    assert "casewatch_session=" in response.headers["set-cookie"]
