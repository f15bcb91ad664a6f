"""Check the Markdown of README.md, CHANGELOG.md and docs/: code fences pair up, relative links resolve.

    python docs/tools/check_docs.py        # exit 1 and one line per problem if anything is wrong

- A fence opened with ``` (or ~~~) must be closed by a bare fence of the same kind; an opening fence with
  an info string (```bash) met while a block is open means the previous block was never closed.
- Every relative link `[text](path)` / `[text](path#anchor)` must name a file or folder inside the
  repository; an anchor into a Markdown file must match one of its headings (GitHub's slug rules).
  External links (http:, https:, mailto:) are not fetched.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]


def slug(heading: str) -> str:
    text = re.sub(r"`|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def prose_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of the lines outside code blocks; fence problems are reported on the way."""
    out: list[tuple[int, str]] = []
    opened_at, opener = 0, ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = FENCE.match(line)
        if match:
            fence, info = match.group(1), match.group(2).strip()
            if not opened_at:
                opened_at, opener = number, fence
            elif fence[0] == opener[0] and len(fence) >= len(opener) and not info:
                opened_at = 0
            else:
                problems.append(f"{rel(path)}:{number}: fence {line.strip()!r} inside the block opened at line {opened_at}")
            continue
        if not opened_at:
            out.append((number, line))
    if opened_at:
        problems.append(f"{rel(path)}:{opened_at}: code fence never closed")
    return out


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for _, line in prose_lines(path):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            result.add(base if count == 0 else f"{base}-{count}")
    return result


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


problems: list[str] = []


def main() -> int:
    for path in files():
        for number, line in prose_lines(path):
            for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                dest = (path.parent / file_part).resolve() if file_part else path
                where = f"{rel(path)}:{number}: link {target!r}"
                if ROOT not in dest.parents and dest != ROOT:
                    problems.append(f"{where} points outside the repository")
                elif not dest.exists():
                    problems.append(f"{where}: no such file")
                elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    problems.append(f"{where}: no heading with anchor #{anchor}")
    for problem in problems:
        print(problem)
    print("docs OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
