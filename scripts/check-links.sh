#!/usr/bin/env bash
# Every relative link in README.md, CHANGELOG.md and docs/*.md resolves: the
# file (or folder) it names exists in this checkout and, when the link names a
# section (`file.md#section`, `#section`), that file has a heading whose
# anchor is that name (as GitHub makes anchors: lower case, punctuation
# dropped, spaces as hyphens, repeats numbered -1, -2, ...). Links in code
# (fenced blocks, `inline`) and links to other sites are not checked.
#
# Usage: scripts/check-links.sh   (exit 1 naming each broken link)
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - README.md CHANGELOG.md docs/*.md <<'PY'
import os, re, sys

def strip_code(text):
    text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)

def anchors(path, cache={}):
    if path not in cache:
        seen, found = {}, set()
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"^(```|~~~).*?^\1[^\n]*$", "", text, flags=re.S | re.M)
        for m in re.finditer(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, flags=re.M):
            slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            found.add(slug if n == 0 else f"{slug}-{n}")
        cache[path] = found
    return cache[path]

broken = 0
for doc in sys.argv[1:]:
    if not os.path.exists(doc):
        continue
    text = strip_code(open(doc, encoding="utf-8").read())
    for m in re.finditer(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text):
        link = m.group(1)
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):
            continue
        target, _, section = link.partition("#")
        path = os.path.normpath(os.path.join(os.path.dirname(doc), target)) if target else doc
        if not os.path.exists(path):
            print(f"{doc}: {link}: no such file {path}")
            broken += 1
        elif section and path.endswith(".md") and section not in anchors(path):
            print(f"{doc}: {link}: no section #{section} in {path}")
            broken += 1
sys.exit(1 if broken else 0)
PY
