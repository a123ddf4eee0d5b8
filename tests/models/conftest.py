"""Shared fixtures for the model tests.

Tests run torch on one thread: on a shared 2-core machine two torch threads competing with other
processes make every forward pass wait on descheduled threads (measured 20-60× slower), and the tests
check behaviour, not multi-thread speed.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Every test in this folder runs on one torch thread (the shared fixture in tests/conftest.py)."""
