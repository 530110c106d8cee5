"""docs/sync-protocol.md says what the schema and the server do: its reference section is the
generated one, and every code the push answers with is in its table of rejection codes."""

from __future__ import annotations

import re
from pathlib import Path

from shared import protocol_doc

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sync-protocol.md"


def test_the_documents_reference_section_is_what_the_schema_generates() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert protocol_doc.BEGIN in text and protocol_doc.END in text
    assert protocol_doc.rewrite(text) == text, (
        "docs/sync-protocol.md is out of date with shared/schema.py: run `make docs`"
    )


def test_the_generated_section_follows_the_schema() -> None:
    """Not a copy of itself: a flag or a limit changed in the schema changes the document."""
    section = protocol_doc.generated()
    assert (
        "| `grid_node` | a node of the 5-level grid tree; managed by admins on the server | nothing (read-only) |"
        in section
    )
    assert "| `outcome` |" in section and "| create |" in section
    assert "| operations in one push | 1000 | 413 `too_large`" in section
    assert "`note` | string |  | yes | `lww` | at most 2000 characters |" in section


def test_every_rejection_code_the_push_answers_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    rejections = text.split("### Rejection codes", 1)[1].split("\n## ", 1)[0]
    errors = text.split("\n## Errors", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([a-z_]+)`", rejections + errors))
    sources = [
        ROOT / "sync_server" / "services" / "push.py",
        ROOT / "shared" / "merge.py",
    ]
    used: set[str] = set()
    for source in sources:
        code = source.read_text(encoding="utf-8")
        used |= set(re.findall(r'OpRejected\(\s*"([a-z_]+)"', code))
        used |= set(re.findall(r'MergeRejected\(\s*\w+,\s*"([a-z_]+)"', code))
        used |= set(re.findall(r'code="([a-z_]+)"', code))
        used |= set(
            re.findall(r'f"not_device_\{code\}"', code)
            and {"not_device_creatable", "not_device_updatable", "not_device_deletable"}
        )
    assert used, "the scan found no codes: the pattern no longer matches the code"
    assert used - documented == set()
