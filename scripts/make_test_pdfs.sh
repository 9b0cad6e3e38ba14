#!/usr/bin/env bash
# Rebuild the LaTeX test corpus: tests/fixtures/pdf/NAME.tex -> NAME.pdf (committed beside it).
# Needs pdflatex (Debian: texlive-latex-base, texlive-latex-recommended). CI does not run this:
# the PDFs are committed. Usage: scripts/make_test_pdfs.sh [NAME ...]
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/pdf"
command -v pdflatex >/dev/null || { echo "pdflatex not found (apt-get install texlive-latex-recommended)" >&2; exit 1; }

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for tex in *.tex; do names+=("${tex%.tex}"); done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A fixed date and no unique ID keep rebuilds byte-stable where pdfTeX allows.
export SOURCE_DATE_EPOCH=1735689600 FORCE_SOURCE_DATE=1
for name in "${names[@]}"; do
  cp "$name.tex" "$tmp/"
  for _ in 1 2; do  # twice: cross-references and page totals settle on the second run
    if ! (cd "$tmp" && pdflatex -interaction=nonstopmode -halt-on-error "$name.tex" >"$name.out" 2>&1); then
      tail -30 "$tmp/$name.out" >&2
      echo "pdflatex failed on $name.tex" >&2
      exit 1
    fi
  done
  cp "$tmp/$name.pdf" "$name.pdf"
  pages=$(grep -a '^Output written' "$tmp/$name.log" | sed 's/.*(\([0-9]*\) page.*/\1/')
  echo "$name.pdf: $pages pages"
done
