"""GitHub stars for papers that link a repository but carry no star count."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from ..config import GithubSettings, Settings
from ..errors import SourceError
from ..http import Http, json_body
from ..models import Paper
from . import Collecting

log = logging.getLogger(__name__)
NAME = "github"
_REPO = re.compile(r"github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+)")


def repo_slug(url: str) -> str | None:
    """'https://github.com/org/repo/tree/main' -> 'org/repo'; None for other links."""
    match = _REPO.search(url.split("#")[0].split("?")[0])
    if not match:
        return None
    repo = match["repo"].removesuffix(".git")
    return f"{match['owner']}/{repo}" if repo else None


def fill_stars(
    http: Http,
    api_url: str,
    papers: list[Paper],
    token: str = "",
    max_concurrency: int = 4,
    token_env: str = "GITHUB_TOKEN",
) -> list[str]:
    """Set ``github_stars`` where unknown; failures leave it unknown. Returns warnings.

    Each repository is asked once, however many papers link it. Never raises: stars are
    decoration, and a failing GitHub must not fail the day. Once GitHub says the rate limit is
    spent, the remaining repositories are not asked.
    """
    by_repo: dict[str, list[Paper]] = {}
    for p in papers:
        if p.github_repo and p.github_stars is None and (slug := repo_slug(p.github_repo)):
            by_repo.setdefault(slug.lower(), []).append(p)
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    headers = {**auth, "X-GitHub-Api-Version": "2022-11-28"}
    warnings: list[str] = []
    spent = threading.Event()

    def one(linked: list[Paper]) -> None:
        if spent.is_set():
            return
        url = f"{api_url.rstrip('/')}/repos/{repo_slug(linked[0].github_repo or '')}"
        try:
            stars = _stars(http, url, headers, spent, token_env)
        except SourceError as exc:  # stars never fail the day; a bug here still should
            ids = ", ".join(p.id for p in linked)
            warnings.append(f"{ids}: stars unknown: {exc}")
            return
        for paper in linked:
            paper.github_stars = stars

    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        list(pool.map(one, by_repo.values()))
    if spent.is_set():
        skipped = sum(1 for linked in by_repo.values() if linked[0].github_stars is None)
        skipped -= len(warnings)
        if skipped > 0:
            warnings.append(
                f"github: rate limit spent, stars unknown for {skipped} more repositories"
            )
    return warnings


def _stars(
    http: Http, url: str, headers: dict[str, str], spent: threading.Event, token_env: str
) -> int:
    response = http.get(url, source=NAME, accept="application/vnd.github+json", headers=headers)
    if response.status_code in (403, 429) and response.headers.get("x-ratelimit-remaining") == "0":
        spent.set()
        raise SourceError(
            NAME,
            url,
            f"HTTP {response.status_code}: rate limit spent (set ${token_env} for a higher limit)",
        )
    if response.status_code != 200:
        raise SourceError(NAME, url, f"HTTP {response.status_code}")
    body = json_body(response, NAME)
    stars = body.get("stargazers_count") if isinstance(body, dict) else None
    if not isinstance(stars, int) or isinstance(stars, bool):
        raise SourceError(NAME, url, "no integer 'stargazers_count' in the answer")
    return stars


class GitHubStars:
    """Stars of the repositories papers link; a failure leaves them unknown."""

    name = NAME

    def __init__(self, settings: GithubSettings, token: str) -> None:
        self.settings, self.token = settings, token

    def closes_at(self, day: date) -> None:
        """GitHub only fills in."""
        return None

    def candidates(self, run: Collecting) -> list[Paper]:
        """GitHub only fills in."""
        return []

    def enrich(self, papers: dict[str, Paper], run: Collecting) -> None:
        g = self.settings
        todo = list(papers.values())
        before = sum(p.github_stars is None and bool(p.github_repo) for p in todo)
        run.warnings.extend(
            fill_stars(run.http, g.api_url, todo, self.token, g.max_concurrency, g.token_env)
        )
        after = sum(p.github_stars is None and bool(p.github_repo) for p in todo)
        if before:
            run.progress(f"github: stars for {before - after} of {before} repositories")


def from_settings(settings: Settings) -> GitHubStars | None:
    g = settings.sources.github
    token = settings.secrets.github_token.get_secret_value()
    return GitHubStars(g, token) if g.enabled else None
