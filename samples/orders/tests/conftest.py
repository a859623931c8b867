"""Fixtures of the orders sample's tests."""

from __future__ import annotations

import logging

import pytest
import structlog


@pytest.fixture(autouse=True)
def _quiet_debug_logs() -> None:
    # Property tests run thousands of loads and saves: rendering each debug
    # line would cost more than the test itself.
    # The root conftest.py restores structlog's configuration after each test.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
