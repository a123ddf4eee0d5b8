"""Fixtures shared by the unit tests in every folder of ``tests/``."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_torch_thread():
    """Run the test on one torch thread (restored afterwards): small tensor ops on a shared 2-core machine only
    slow down with more threads, which wait on each other (measured 20-60× slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
