#!/usr/bin/env python3
"""Build the bundled recording of 2026-06-12 (``--replay sample``) from the recorded fixtures.

The Daily Papers answer is the real response, byte for byte. The arXiv API answer is written in
the API's real Atom format from the facts collected in ``arxiv_metadata/2026-06-12.json`` plus
the Daily Papers data (title, authors, abstract); what is unknown is left out, not invented, and
papers the metadata does not know are absent, as when the API's index lags.

    python scripts/make_sample.py [--fixtures tests/fixtures] [--out newsletter/samples/2026-06-12]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import httpx

from newsletter.recording import request_key

DATE = "2026-06-12"
HF_URL = "https://huggingface.co/api/daily_papers"
API_URL = "https://export.arxiv.org/api/query"


def atom_entry(meta: dict, hf: dict) -> str:
    pid = meta["id"]
    vid = f"{pid}{meta['version'] or ''}"
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <title>{escape(hf['title'])}</title>",
    ]
    if meta.get("updated") or meta.get("published"):
        lines.append(f"    <updated>{meta.get('updated') or meta['published']}</updated>")
    lines += [
        f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link href="https://arxiv.org/pdf/{vid}" rel="related" type="application/pdf"'
        ' title="pdf"/>',
        f"    <summary>{escape(hf['summary'])}</summary>",
    ]
    for cat in meta.get("categories") or []:
        lines.append(f'    <category term="{cat}" scheme="http://arxiv.org/schemas/atom"/>')
    if meta.get("published"):
        lines.append(f"    <published>{meta['published']}</published>")
    for tag in ("comment", "journal_ref", "doi"):
        if meta.get(tag):
            lines.append(f"    <arxiv:{tag}>{escape(meta[tag])}</arxiv:{tag}>")
    if meta.get("primary_category"):
        lines.append(f"    <arxiv:primary_category term={quoteattr(meta['primary_category'])}/>")
    for author in hf.get("authors", []):
        lines.append(f"    <author>\n      <name>{escape(author['name'])}</name>\n    </author>")
    lines.append("  </entry>")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", default="tests/fixtures", type=Path)
    parser.add_argument("--out", default=f"newsletter/samples/{DATE}", type=Path)
    args = parser.parse_args()
    hf_raw = (args.fixtures / "hf" / f"{DATE}.json").read_bytes()
    hf = {item["paper"]["id"]: item["paper"] for item in json.loads(hf_raw)}
    meta = json.loads((args.fixtures / "arxiv" / f"{DATE}.json").read_text())["papers"]
    known = [pid for pid in sorted(hf) if pid in meta and meta[pid].get("categories")]
    entries = "\n".join(atom_entry(meta[pid], hf[pid]) for pid in known)
    ids = ",".join(sorted(hf))
    feed = (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
        f"  <id>https://arxiv.org/api/sample-{DATE}</id>\n"
        f"  <title>arXiv Query: search_query=&amp;id_list={ids}&amp;start=0&amp;"
        f"max_results={len(hf)}</title>\n"
        f"  <opensearch:itemsPerPage>{len(hf)}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{len(known)}</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        f"{entries}\n</feed>\n"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "huggingface.co").mkdir(exist_ok=True)
    (args.out / "export.arxiv.org").mkdir(exist_ok=True)
    (args.out / "huggingface.co" / f"daily_papers-{DATE}.json").write_bytes(hf_raw)
    (args.out / "export.arxiv.org" / f"query-{DATE}.xml").write_text(feed, encoding="utf-8")
    hf_key = request_key("GET", httpx.URL(HF_URL, params={"date": DATE, "limit": 100}))
    api_key = request_key(
        "GET", httpx.URL(API_URL, params={"id_list": ids, "max_results": len(hf)})
    )
    index = {
        hf_key: {
            "status": 200,
            "content_type": "application/json; charset=utf-8",
            "file": f"huggingface.co/daily_papers-{DATE}.json",
        },
        api_key: {
            "status": 200,
            "content_type": "application/atom+xml; charset=utf-8",
            "file": f"export.arxiv.org/query-{DATE}.xml",
        },
    }
    (args.out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(f"{args.out}: {len(hf)} Daily Papers, arXiv metadata for {len(known)}")


if __name__ == "__main__":
    main()
