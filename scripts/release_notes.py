"""The release notes of a version: its section of CHANGELOG.md, checked before a release.

The release workflow (``.github/workflows/release.yml``) runs it on the pushed tag and
publishes what it prints as the GitHub release; the tests read the CHANGELOG with it too.
Standard library only: it runs on the runner's own Python, before anything is installed::

    python3 scripts/release_notes.py 0.2.0 > notes.md
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

UNRELEASED = "Unreleased"
# "## Unreleased", "## 0.1.0 - 2026-11-22", "## [0.2.0] - ..."
HEADING_RE = re.compile(r"^## \[?(?P<name>[^\]\s]+)\]?(?:\s+-\s+(?P<date>\S+))?\s*$")


def changelog_releases(text: str) -> list[str]:
    """The second-level headings of a CHANGELOG, top to bottom (``Unreleased`` included)."""
    return [match["name"] for line in text.splitlines() if (match := HEADING_RE.match(line))]


def section_lines(text: str, name: str) -> list[str]:
    """The lines under the ``## <name>`` heading, up to the next second-level heading."""
    lines: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.startswith("## "):
            match = HEADING_RE.match(line)
            inside = match is not None and match["name"] == name
            continue
        if inside:
            lines.append(line)
    return lines


def unreleased_entries(text: str) -> list[str]:
    """The non-blank lines of the ``## Unreleased`` section (comments aside)."""
    return [
        line
        for line in section_lines(text, UNRELEASED)
        if line.strip() and not line.lstrip().startswith("<!--")
    ]


def section_notes(text: str, version: str) -> str:
    """The ``## <version>`` section's text; ``ValueError`` (one line) when missing or empty."""
    if version not in changelog_releases(text):
        raise ValueError(
            f"CHANGELOG.md has no '## {version}' section: add what {version} changes (or tag "
            "the bare version that has one, e.g. 0.2.0, not v0.2.0)"
        )
    notes = "\n".join(section_lines(text, version)).strip()
    if not notes:
        raise ValueError(f"CHANGELOG.md's '## {version}' section is empty: say what it changes")
    return notes + "\n"


def release_notes(text: str, version: str) -> str:
    """What a release of ``version`` publishes: its section, once nothing is left unreleased.

    A tag on a commit with entries under Unreleased would publish notes that miss them.
    """
    if unreleased_entries(text):
        raise ValueError(
            f"CHANGELOG.md has entries under '## {UNRELEASED}': move them into '## {version}' "
            "before tagging"
        )
    return section_notes(text, version)


def main(argv: list[str] | None = None) -> int:
    """Print a version's release notes; exit 1 with one line on stderr when there are none."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="the release tag: the bare version, e.g. 0.2.0")
    parser.add_argument("--changelog", type=Path, default=Path("CHANGELOG.md"))
    args = parser.parse_args(argv)
    try:
        notes = release_notes(args.changelog.read_text(encoding="utf-8"), args.version)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
