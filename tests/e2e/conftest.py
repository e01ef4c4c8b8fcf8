"""What the browser journeys share: screenshots (for the README with BERTH_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def shot(tmp_path: Path) -> Callable[..., None]:
    """Save a full-page screenshot: in docs/screenshots/ when BERTH_SCREENSHOTS=1, else in the
    test's temporary directory."""
    folder = DOCS_SCREENSHOTS if os.environ.get("BERTH_SCREENSHOTS") == "1" else tmp_path

    def take(page: Page, name: str, full_page: bool = True) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
        assert (folder / f"{name}.png").stat().st_size > 0

    return take
