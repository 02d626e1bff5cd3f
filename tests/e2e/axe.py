"""axe-core (Deque's accessibility engine, from npm) run inside the inbox's pages by Playwright.

``tests/e2e/package.json`` and its lock file pin axe-core; ``scripts/system-deps`` (which
``make test`` runs) installs it with ``npm ci`` into ``tests/e2e/node_modules``, and
:func:`axe_source` does the same when a test finds it missing, so a fresh clone needs nothing
by hand. The pages' CSP forbids scripts, so axe is not added as a ``<script>`` tag: it is
given to the browser context as an init script (DevTools' "evaluate on new document", which
the CSP does not govern), so every page keeps its real headers and still has ``axe``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA as axe tags its rules: A and AA of 2.0, 2.1 and 2.2 (2.2 adds no A rule in axe)
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => n.target.join(' ') + ' -- ' + (n.failureSummary || '')),
  }));
}"""


@cache
def axe_source() -> str:
    """axe.min.js, installed with ``npm ci`` if it is not there yet (a skip without npm,
    a failure in CI)."""
    if not AXE_JS.exists() and (npm := shutil.which("npm")):
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            check=True,
            timeout=300,
        )
    if not AXE_JS.exists():
        reason = f"{AXE_JS} is missing: run scripts/system-deps (needs npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the accessibility test must run in CI: {reason}")
        pytest.skip(reason)
    return AXE_JS.read_text("utf-8")


def install_axe(context: Any) -> None:
    """Every page the browser context opens from now on has ``window.axe``."""
    context.add_init_script(script=axe_source())


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every WCAG 2.2 A/AA violation axe finds on the page as it is now."""
    assert page.evaluate("typeof window.axe === 'object'"), "install_axe(context) first"
    violations: list[dict[str, Any]] = page.evaluate(_RUN, WCAG_22_AA)
    return violations


def describe(where: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {node}" for node in v["nodes"][:5])
    return "\n".join(lines)
