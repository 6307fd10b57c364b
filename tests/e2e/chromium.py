"""Headless Chromium flags for opening `tiers report`'s page (the browser tests, the README
screenshot of scripts/report_screenshot.py).

Without the background-networking flags Chromium's own connections are refused on a closed
network and slow it down; the page itself needs none.
"""

from __future__ import annotations

HEADLESS_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
)
