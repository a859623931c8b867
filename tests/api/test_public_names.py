"""The public namespaces: every name from one obvious place, nothing else in them."""

from __future__ import annotations

import importlib
import re
import types

import pytest

import eventsourcing_kit

PUBLIC_MODULES = [
    "eventsourcing_kit",
    "eventsourcing_kit.errors",
    "eventsourcing_kit.domain",
    "eventsourcing_kit.serialization",
    "eventsourcing_kit.stores",
    "eventsourcing_kit.stores.driver",
    "eventsourcing_kit.stores.memory",
    "eventsourcing_kit.stores.sqlite",
    "eventsourcing_kit.stores.postgres",
    "eventsourcing_kit.subscriptions",
    "eventsourcing_kit.testing",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_a_public_namespace_holds_its_api_only(name: str) -> None:
    module = importlib.import_module(name)
    leaked = [
        attribute
        for attribute, value in vars(module).items()
        if not attribute.startswith("_")
        and not isinstance(value, types.ModuleType)
        and attribute not in module.__all__
    ]
    assert leaked == [], f"{name} exposes {leaked} outside its __all__"


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_name_in_all_is_importable(name: str) -> None:
    module = importlib.import_module(name)
    for attribute in module.__all__:
        assert getattr(module, attribute) is not None


def test_the_top_level_holds_what_an_application_uses_as_the_same_objects() -> None:
    from eventsourcing_kit import errors, repository, stores, subscriptions

    for name in ("SubscriptionState", "Projection", "ParkedEvent", "SubscriptionOptions"):
        assert getattr(eventsourcing_kit, name) is getattr(subscriptions, name)
    assert eventsourcing_kit.Loaded is repository.Loaded
    assert eventsourcing_kit.ConnectOptions is stores.ConnectOptions
    assert eventsourcing_kit.ConcurrencyError is errors.ConcurrencyError


def test_dir_lists_the_api_lazy_backends_included() -> None:
    assert dir(eventsourcing_kit) == sorted(eventsourcing_kit.__all__)
    assert "PostgresEventStore" in dir(eventsourcing_kit)


def test_the_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert eventsourcing_kit.__version__ == version("eventsourcing-kit")
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", eventsourcing_kit.__version__)
