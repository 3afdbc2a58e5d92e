"""The HTML report (results/report/report.html) as a reader sees it: rendered by headless
Chromium (Debian's package ``chromium``), driven through the DevTools protocol by
playwright (its Python package, with the system's Chromium; it downloads no browser).

Checks that every figure is visible (an <img> loaded with a natural size, an inline SVG
with a view box, both drawn with a size on the page and the aspect of their view box),
that every internal link and reference (``href="#id"``, ``url(#id)``) resolves to an
element, that no two elements share an id, and that the page logs no console error,
uncaught exception or failed request.  A screenshot of the first screen (1280 x 800
CSS pixels) is kept beside the report as ``report-first-screen.png``.

The report is made by the workflow, so this test runs after it: ``.ci/run`` runs
``python -m pytest -m browser`` once the test profile's workflow is done, with
HPSIM_BROWSER_REQUIRED=1 so that a missing report, playwright or Chromium fails there.
Elsewhere (the README's plain ``python -m pytest`` on a clean clone) it is skipped,
saying what is missing.  HPSIM_REPORT_HTML names another report; HPSIM_CHROMIUM
another Chromium executable.
"""
from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
REPORT = Path(os.environ.get("HPSIM_REPORT_HTML", ROOT / "results" / "report" / "report.html"))
SCREENSHOT = REPORT.parent / "report-first-screen.png"
VIEWPORT = {"width": 1280, "height": 800}     # CSS pixels: a laptop's first screen
REQUIRED = os.environ.get("HPSIM_BROWSER_REQUIRED") == "1"


def _need(ok: bool, reason: str) -> None:
    """Skip (or, with HPSIM_BROWSER_REQUIRED=1, fail) when a prerequisite is missing."""
    if not ok:
        (pytest.fail if REQUIRED else pytest.skip)(reason)


def _chromium() -> str | None:
    return (os.environ.get("HPSIM_CHROMIUM") or shutil.which("chromium")
            or shutil.which("chromium-browser"))


# Run in the page: every figure's visibility, every internal reference, every id.
_INSPECT = r"""() => {
  const vis = el => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
    return {shown: s.display !== "none" && s.visibility !== "hidden" && s.opacity !== "0",
            w: r.width, h: r.height}; };
  const figures = [...document.querySelectorAll("figure:not(.table)")].map(f => {
    const imgs = [...f.querySelectorAll("img")].map(i => ({kind: "img", src: i.src,
      loaded: i.complete, nw: i.naturalWidth, nh: i.naturalHeight, ...vis(i)}));
    const svgs = [...f.querySelectorAll(":scope > svg, :scope > * > svg")].map(s => {
      const vb = s.viewBox.baseVal, bb = s.getBBox();
      return {kind: "svg", loaded: true, nw: vb ? vb.width : 0, nh: vb ? vb.height : 0,
              drawn_w: bb.width, drawn_h: bb.height, ...vis(s)}; });
    return {id: f.id, images: imgs.concat(svgs)};
  });
  const refs = [];
  for (const el of document.querySelectorAll("[href], [*|href]")) {
    const h = el.getAttribute("href") || el.getAttribute("xlink:href") || "";
    if (h.startsWith("#")) refs.push(decodeURIComponent(h.slice(1)));
  }
  for (const el of document.querySelectorAll("*")) {
    for (const a of el.attributes)
      for (const m of a.value.matchAll(/url\(#([^)]+)\)/g)) refs.push(m[1]);
  }
  const missing = [...new Set(refs)].filter(id => !document.getElementById(id));
  const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
  const dup = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  const links = [...document.querySelectorAll("a[href^='#']")].length;
  return {figures, refs: refs.length, links, missing, dup};
}"""


@pytest.fixture(scope="module")
def page():
    """The report loaded in headless Chromium: what _INSPECT found, and the console errors,
    uncaught exceptions and failed requests seen while it loaded.  Writes SCREENSHOT."""
    _need(REPORT.is_file(), f"no report at {REPORT}: build one first (snakemake --cores 1 "
                            f"--configfile config/test.yaml); CI runs this test after the "
                            f"workflow (python -m pytest -m browser)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed (pip install -r requirements.txt)")
    exe = _chromium()
    _need(exe is not None, "no Chromium (apt-get install chromium, or set HPSIM_CHROMIUM)")
    errors = []
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where Chromium's sandbox will not start
        browser = p.chromium.launch(executable_path=exe, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            pg = browser.new_page(viewport=VIEWPORT)
            pg.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
                  if m.type == "error" else None)
            pg.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            pg.on("requestfailed", lambda r: errors.append(f"failed request: {r.url}"))
            pg.goto(REPORT.resolve().as_uri(), wait_until="load")
            found = pg.evaluate(_INSPECT)
            SCREENSHOT.unlink(missing_ok=True)
            pg.screenshot(path=str(SCREENSHOT), full_page=False)
        finally:
            browser.close()
    found["errors"] = errors
    return found


def test_every_figure_is_visible(page):
    figures = page["figures"]
    assert figures, f"{REPORT}: no figure"
    for f in figures:
        assert len(f["images"]) == 1, (f["id"], f["images"])
        im = f["images"][0]
        assert im["loaded"] and im["nw"] > 0 and im["nh"] > 0, (f["id"], im)
        assert im["shown"] and im["w"] > 0 and im["h"] > 0, (f["id"], im)
        # drawn at the aspect of its own size (not squashed, nor the 150 px default)
        assert abs(im["h"] / im["w"] - im["nh"] / im["nw"]) < 0.02 * im["nh"] / im["nw"], \
            (f["id"], im)
        if im["kind"] == "svg":
            assert im["drawn_w"] > 0 and im["drawn_h"] > 0, (f["id"], im)


def test_every_internal_link_resolves_and_ids_are_unique(page):
    assert page["links"] > 0, f"{REPORT}: no internal link to check"
    assert page["missing"] == [], "links to no element"
    assert page["dup"] == [], "ids used twice"


def test_the_page_logs_no_error(page):
    assert page["errors"] == []


def test_the_first_screen_is_kept(page):
    data = SCREENSHOT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", SCREENSHOT
    width, height = struct.unpack(">II", data[16:24])      # the IHDR chunk
    assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"])
