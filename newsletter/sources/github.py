"""GitHub stars for papers that link a repository but carry no star count."""

from __future__ import annotations

import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor

from ..errors import SourceError
from ..http import Http, json_body
from ..models import Paper

log = logging.getLogger(__name__)
NAME = "github"
_REPO = re.compile(r"github\.com/(?P<owner>[\w.-]+)/(?P<repo>[\w.-]+?)(?:\.git)?/?$")


def repo_slug(url: str) -> str | None:
    match = _REPO.search(url.split("#")[0].split("?")[0])
    return f"{match['owner']}/{match['repo']}" if match else None


def fill_stars(http: Http, api_url: str, papers: list[Paper], token_env: str = "GITHUB_TOKEN",
               max_concurrency: int = 4) -> list[str]:
    """Set ``github_stars`` where unknown; failures leave it unknown. Returns warnings."""
    todo = [p for p in papers if p.github_repo and p.github_stars is None
            and repo_slug(p.github_repo)]
    token = os.environ.get(token_env, "")
    accept = "application/vnd.github+json"
    warnings: list[str] = []

    def one(paper: Paper) -> None:
        url = f"{api_url.rstrip('/')}/repos/{repo_slug(paper.github_repo or '')}"
        try:
            auth = {"Authorization": f"Bearer {token}"} if token else None
            response = http.get(url, source=NAME, accept=accept, headers=auth)
            if response.status_code != 200:
                raise SourceError(NAME, url, f"HTTP {response.status_code}")
            body = json_body(response, NAME)
            stars = body.get("stargazers_count") if isinstance(body, dict) else None
            if isinstance(stars, int):
                paper.github_stars = stars
        except Exception as exc:  # noqa: BLE001 - stars never fail the day
            warnings.append(f"{paper.id}: stars unknown: {exc}")

    with ThreadPoolExecutor(max_workers=max_concurrency) as pool:
        list(pool.map(one, todo))
    return warnings
