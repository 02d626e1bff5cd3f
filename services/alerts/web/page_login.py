"""The sign-in page. With the embedded default, a person signs in with a token minted by
``casewatch token`` (or the link ``casewatch up`` prints); with a council's identity
provider, the token comes from it (usually through an OIDC proxy in front of the service)."""

from __future__ import annotations

from html import escape

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


def confirm_page(subject: str, roles: list[str], token: str) -> str:
    """Asked when a sign-in link was opened from another site: whose account it signs in to,
    and a button (this site's own form) to go on. Nothing is signed in until it is pressed."""
    who = f"{escape(subject)} ({escape(', '.join(roles) or 'no role')})"
    parts = [
        "<h1>Sign in to casewatch?</h1>",
        '<p class="body">You opened a sign-in link from another website or application. '
        f"It signs this browser in as <strong>{who}</strong>.</p>",
        '<p class="body">Only go on if this is your own account and you asked for the link. '
        "If not, close this page: another website may be trying to sign you in to an account "
        "it controls, to see what you record.</p>",
        '<form method="post" action="/login">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        f'<button type="submit" class="button">Sign in as {escape(subject)}</button></form>',
        '<p class="body"><a href="/login">Sign in another way</a></p>',
    ]
    return page("Sign in to casewatch?", "\n".join(parts))
