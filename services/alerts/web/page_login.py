"""The sign-in page. With the embedded default, a person signs in with a token minted by
``casewatch token`` (or the link ``casewatch up`` prints); with a council's identity
provider, the token comes from it (usually through an OIDC proxy in front of the service)."""

from __future__ import annotations

from services.alerts.web.pages import page

MINT = "casewatch token --role caseworker --sub cw-01 --team north"


def login_page(*, local_keys: bool, failed: bool = False, foreign: bool = False) -> str:
    parts = ["<h1>Sign in to casewatch</h1>"]
    if foreign:
        parts.append(
            '<div class="error-summary" role="alert" tabindex="-1"><h2>There is a problem</h2>'
            '<p class="body">That sign-in came from another site, so it was refused. Sign in '
            "on this page instead.</p></div>"
        )
    if failed:
        parts.append(
            '<div class="error-summary" role="alert" tabindex="-1"><h2>There is a problem</h2>'
            '<p class="body">That token is not valid: it may have expired, or come from '
            "another installation.</p></div>"
        )
    if local_keys:
        parts.append(
            '<p class="body">This installation signs its own tokens. Ask its administrator '
            f"for a sign-in link, or mint a token on the server:</p><pre>{MINT}</pre>"
        )
    else:
        parts.append(
            '<p class="body">Sign in through your council&rsquo;s identity provider, or paste an '
            "access token it issued for casewatch.</p>"
        )
    parts.append(
        '<form method="post" action="/login"><div class="form-group">'
        '<label class="label" for="token">Access token</label>'
        '<textarea class="textarea" id="token" name="token" required autocomplete="off" '
        'spellcheck="false"></textarea></div>'
        '<button type="submit" class="button">Sign in</button></form>'
    )
    return page("Sign in", "\n".join(parts))
