"""The documentation holds together: every relative link in README.md and docs/*.md (and the other READMEs)
reaches a file, and its `#anchor` a heading of that file; every `make <target>` the pages name is a target
of the Makefile; the tables that restate the code (exit codes, record rules, the retry budget) list what
the code has.

Anchors follow GitHub's rule for heading ids: the heading's text as rendered, lower-cased, every
character that is not a letter, digit, space, hyphen or underscore dropped, spaces turned into hyphens,
and a repeated id numbered `-1`, `-2`, ... in order."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from spacex_launches.exceptions import EXIT_MEANINGS
from spacex_launches.job import cores, quality
from spacex_launches.orchestration.retry_budget import FAILURE_CLASSES

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
OTHER_READMES = [REPO / "infra" / "README.md", REPO / "k8s" / "README.md", REPO / "sample" / "README.md"]

FENCE = re.compile(r"^(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# `make` as a command word: at the start, or after a space, a shell operator or an opening bracket.
MAKE_CALL = re.compile(r"(?:^|(?<=[\s;&|(]))make(?=[ \t](.*)$)", re.MULTILINE)
MAKEFILE_RULE = re.compile(r"^([A-Za-z0-9_.][^:=#$\t]*?)\s*::?(?!=)")


def split_fences(text: str) -> tuple[list[str], list[str]]:
    """The file's lines outside fenced code blocks (fenced lines blanked, so line numbers hold) and the
    lines inside them."""
    prose, code, fenced = [], [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            prose.append("")
        elif fenced:
            code.append(line)
            prose.append("")
        else:
            prose.append(line)
    return prose, code


def heading_text(markdown: str) -> str:
    """A heading as GitHub renders it to text: links as their text, code and emphasis marks gone."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = text.replace("`", "")
    return re.sub(r"(\*+)(.+?)\1", r"\2", text)


def slug(text: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading_text(text).strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The ids GitHub gives the headings of a markdown file."""
    prose, _ = split_fences(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    ids = set()
    for line in prose:
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    return ids


def links(path: Path) -> list[str]:
    """The targets of a file's inline and reference links, code spans and fenced code left out."""
    prose, _ = split_fences(path.read_text(encoding="utf-8"))
    text = CODE_SPAN.sub(lambda match: " " * len(match.group(0)), "\n".join(prose))
    found = [match.group(1) for match in INLINE_LINK.finditer(text)]
    found += [match.group(1) for line in text.splitlines() if (match := REFERENCE_LINK.match(line))]
    return found


def broken_link(page: Path, target: str) -> str | None:
    """Why a relative link of `page` does not resolve, or None when it does (or is not relative)."""
    if SCHEME.match(target) or target.startswith("//"):
        return None
    location, _, anchor = target.partition("#")
    resolved = (page.parent / location).resolve() if location else page
    if REPO not in (resolved, *resolved.parents):
        return f"{target}: outside the repository"
    if not resolved.exists():
        return f"{target}: no such file"
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}"
    return None


@pytest.mark.parametrize("page", PAGES + OTHER_READMES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_resolves(page):
    broken = [reason for target in links(page) if (reason := broken_link(page, target))]
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_pages_link_each_other():
    """Every docs page is reachable from the README, so none is written and then lost."""
    linked = {(REPO / target.partition("#")[0]).resolve() for target in links(REPO / "README.md")}
    assert not [page.name for page in PAGES if page.name != "README.md" and page not in linked]


def makefile_targets(makefile: Path = REPO / "Makefile") -> set[str]:
    """The rules of the Makefile and of the files it `include`s (paths relative to the repository)."""
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        if line.startswith("include "):
            for included in line.split()[1:]:
                targets |= makefile_targets(REPO / included)
        match = MAKEFILE_RULE.match(line)
        if match:
            targets.update(name for name in match.group(1).split() if "%" not in name)
    return targets - {".PHONY", ".DEFAULT_GOAL", ".SUFFIXES"}


def make_targets_named(text: str) -> set[str]:
    """The targets of each `make ...` command in some text: the words after `make` (as the shell splits
    them) up to a shell operator, a comment, an optional part (`[...]`) or a closing bracket; variable
    assignments (`ENV=dev`) and options (`-s`) are not targets."""
    named = set()
    for match in MAKE_CALL.finditer(text):
        for word in shell_words(match.group(1)):
            if word[0] in "|;&<>[()`":
                break
            if word.startswith("-") or "=" in word:
                continue
            name = word.rstrip(".,:")
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                break
            named.add(name)
            if name != word:
                break
    return named


def shell_words(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote: prose, not a command
        return line.split()


def commands_in(page: Path) -> set[str]:
    prose, code = split_fences(page.read_text(encoding="utf-8"))
    spans = [match.group(2) for match in CODE_SPAN.finditer("\n".join(prose))]
    return make_targets_named("\n".join(code + [" ".join(span.split()) for span in spans]))


def test_the_make_command_parser():
    assert make_targets_named("make run ENV=dev INPUT='a b' # then") == {"run"}
    assert make_targets_named("make job EXIT_CODE_FILE=f || code=$(cat f)") == {"job"}
    assert make_targets_named("make package deploy submit ENV=$ENV") == {"package", "deploy", "submit"}
    assert make_targets_named("make -s eksctl-config ENV=$ENV | eksctl create -f -") == {"eksctl-config"}
    assert make_targets_named("API_URL=https://x make ingest") == {"ingest"}
    assert make_targets_named("make maintain [LAKE=lake]") == {"maintain"}
    assert make_targets_named("bench/ (make sample) and (make bench)") == {"sample", "bench"}
    assert make_targets_named("`make`'s own arguments; remake it") == set()


@pytest.mark.parametrize("page", PAGES + OTHER_READMES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_make_target_named_exists(page):
    missing = commands_in(page) - makefile_targets()
    assert not missing, f"{page.relative_to(REPO)} names make targets the Makefile lacks: {sorted(missing)}"


def table_rows(page: Path, section: str) -> list[list[str]]:
    """The cells of the table rows under heading `section` of a docs page (up to the next heading)."""
    prose, _ = split_fences(page.read_text(encoding="utf-8"))
    rows, inside = [], False
    for line in prose:
        match = HEADING.match(line)
        if match:
            inside = match.group(2) == section
        elif inside and line.startswith("|") and not re.match(r"^\|[\s|:-]+\|$", line):
            rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_the_exit_code_table_lists_every_code():
    documented = set()
    for row in table_rows(REPO / "docs" / "running.md", "Exit codes")[1:]:
        documented.update(int(code) for code in re.findall(r"`(\d+)`", row[0]))
    assert documented == {*EXIT_MEANINGS, 130, 143}


def test_the_rule_tables_name_every_rule():
    page = (REPO / "docs" / "data-quality.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z_]+)`", page))
    rules = {*quality.RULE_NAMES, *quality.WARNING_RULES, *cores.CORE_RULE_NAMES}
    assert not rules - named, f"rules the page does not name: {sorted(rules - named)}"
    rows = table_rows(REPO / "docs" / "data-quality.md", "Record rules")[1:]
    listed = [name for row in rows for name in re.findall(r"`([a-z_]+)`", row[0])]
    assert listed == list(quality.RULE_NAMES), "the launch rules' table, in the order they are applied"


def test_the_retry_budget_table_matches_the_code():
    rows = table_rows(REPO / "docs" / "operating-on-aws.md", "Retry budget")[1:]
    documented = {(row[0], row[1], not row[3].startswith("nobody")) for row in rows}
    assert documented == {
        (failure.name, "-" if failure.exit_code is None else str(failure.exit_code), failure.retried)
        for failure in FAILURE_CLASSES
    }
