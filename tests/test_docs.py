"""The documentation a person gets with a clone: README.md and docs/*.md lead only to what the clone holds,
and docs/command.md describes every sub-command, option, export format and exit status the command has."""
import argparse
import re
from pathlib import Path

import pytest

from designer import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
#: [text](target) and ![alt](target); a target may be followed by a "title"
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _name(path):
    return str(path.relative_to(ROOT))


def _prose(path):
    """The page without its code blocks, where brackets and parentheses are code, not links."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchors(path):
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for line in _prose(path).splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_the_docs_are_there():
    assert {path.name for path in DOCS} >= {"file-format.md", "command.md", "architecture.md"}


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_no_page_sends_readers_outside_the_clone(page):
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{_name(page)} points to ../shared, which a clone of the project does not have"


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page):
    broken = []
    for target in LINK.findall(_prose(page)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ... lead outside, by design
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: {_name(linked)} has no heading #{anchor}")
        elif not linked.is_relative_to(ROOT):
            broken.append(f"{target}: outside the repository")
    assert not broken, f"{_name(page)}: " + "; ".join(broken)


def _subcommands():
    parser = cli._parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_command_md_describes_every_subcommand_and_option():
    text = (ROOT / "docs" / "command.md").read_text(encoding="utf-8")
    missing = []
    for name, parser in _subcommands().items():
        if f"nn-designer {name}" not in text:
            missing.append(f"the sub-command {name}")
        for action in parser._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and f"`{option}" not in text and f"{option}`" not in text:
                    missing.append(f"{name} {option}")
    for option in ("--version", "--self-test"):
        if option not in text:
            missing.append(option)
    assert not missing, f"docs/command.md does not describe: {', '.join(missing)}"


def test_command_md_describes_every_export_format():
    export = _subcommands()["export"]
    formats = next(a for a in export._actions if a.dest == "format").choices
    assert set(formats) == set(cli.EXPORT_FORMATS)
    text = (ROOT / "docs" / "command.md").read_text(encoding="utf-8")
    missing = [kind for kind in formats if f"| `{kind}` |" not in text]
    assert not missing, f"docs/command.md has no row for export --to {', '.join(missing)}"


def test_command_md_describes_every_exit_status():
    text = (ROOT / "docs" / "command.md").read_text(encoding="utf-8")
    statuses = {cli.EXIT_OK, cli.EXIT_BUG, cli.EXIT_INPUT, cli.EXIT_DIVERGED, cli.EXIT_INTERRUPTED}
    missing = [status for status in sorted(statuses) if f"| `{status}` |" not in text]
    assert not missing, f"docs/command.md's exit status table lacks {missing}"
