"""docs/troubleshooting.md has one section per error class of eventsourcing_kit.errors.

The list of classes is read from the module, so a new error class without a
section, or a section left behind by a removed class, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventsourcing_kit import errors

PAGE = Path(__file__).resolve().parents[2] / "docs" / "troubleshooting.md"
SECTIONS = re.findall(r"^### `(\w+)`$", PAGE.read_text(encoding="utf-8"), re.MULTILINE)
ERROR_CLASSES = sorted(
    name
    for name in errors.__all__
    if isinstance(getattr(errors, name), type)
    and issubclass(getattr(errors, name), errors.EventSourcingError)
)


@pytest.mark.parametrize("name", ERROR_CLASSES)
def test_the_error_class_has_a_section(name: str) -> None:
    assert name in SECTIONS, f"docs/troubleshooting.md has no '### `{name}`' section"


@pytest.mark.parametrize("name", SECTIONS)
def test_the_section_names_an_error_class(name: str) -> None:
    assert name in ERROR_CLASSES, f"docs/troubleshooting.md documents {name}, no such error"


def test_each_section_says_what_it_means_and_what_to_do() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for name, body in zip(SECTIONS, re.split(r"^### `\w+`$", text, flags=re.M)[1:], strict=True):
        assert "**Means:**" in body and "**Do:**" in body, name


def test_every_class_of_the_module_is_listed_in_its_all() -> None:
    # The parametrized tests read __all__: a class left out of it would escape them.
    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.EventSourcingError)
    }
    assert defined == set(ERROR_CLASSES)
