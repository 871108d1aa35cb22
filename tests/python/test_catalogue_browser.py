"""The catalogue works for an analyst in a real browser (headless Chromium).

`dbt docs generate` on the session's tiny build (fixture `tiny_docs`) writes index.html,
manifest.json and catalog.json. They are served the way `make docs-serve` serves them (`dbt docs
serve` is Python's http.server over the target folder): a local http.server on 127.0.0.1, on a
free port, over a copy of those three files. index.html reads the two JSON files by XHR, which a
file:// URL blocks; `dbt docs generate --static` (one static_index.html with both inlined) would
need a second docs generate and would not be the page analysts open.

An analyst, in the browser:
- opens the catalogue on the project's overview, with no JavaScript error, no failed request and
  no alert (dbt docs alerts when manifest.json or catalog.json does not load);
- searches for a mart by name, finds it and opens its page from the result;
- reads there the mart's relation, its description and every column's description from the YAML,
  and every column's type from the warehouse (catalog.json, so a missing catalogue shows no type);
- draws the full-screen lineage graph of `+<fact>`: every source the fact is built from is drawn
  and joined to the fact by drawn edges, its own source through staging.

Column lineage and trust (`derived catalogue`, fixture `tiny_catalogue`: the pages `derived
build --docs` writes into `<target>/lineage/`, served beside index.html). An analyst:
- follows the link in a fact's description to its lineage page, opens a column, and clicks
  through to the curated source column it comes from, whose page lists the fact's column among
  those it feeds;
- reads on the same page the trust panel: the row count (the warehouse's) and every test of
  the fact with its result in the build (the build's run_results.json).
Each of these checks is also run on a deliberately broken copy of the catalogue (no lineage
pages, a source column's anchor gone, a chain cut, a wrong row count, a test result dropped)
and must fail there. Screenshots of a lineage page and a trust panel are saved in the test's
temporary folder (printed; `pytest -s` shows where).

Setup: Chromium and its WebDriver come from Debian (`chromium`, `chromium-driver`). When they are
missing, the module installs them with `apt-get update && apt-get install -y` (sudo when not root)
and skips, saying why, only if it cannot. Selenium drives them through the system chromedriver, so
Selenium Manager (which could download drivers and browsers) never runs. apt-get is the only
network access: the browser resolves no host name and sends any other address to a dead proxy, so
it reaches nothing but the catalogue on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import (
    StaleElementReferenceException,
    TimeoutException,
    UnexpectedAlertPresentException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from conftest import TinyCatalogue, TinyDocs, TinyProject

PACKAGE = "derived_tables"

#: The files the catalogue page needs (what `dbt docs serve` serves from the target folder).
SITE_FILES = ("index.html", "manifest.json", "catalog.json")
#: The lineage and trust pages `derived catalogue` writes beside them.
LINEAGE_DIR = "lineage"

#: One fact per source system and the source table it records, as DOMAIN.md's bus matrix has it.
FACTS = {
    "fct_court_hearings": "common_platform.hearings",
    "fct_prison_movements": "nomis.movements",
    "fct_probation_supervision": "delius.events",
    "fct_lpa_applications": "sirius.lpa_applications",
}

BROWSER_NAMES = ("chromium", "chromium-browser")
DRIVER_NAMES = ("chromedriver",)
DEBIAN_PACKAGES = ("chromium", "chromium-driver")
APT_TIMEOUT = 900
#: Longest wait for the page to react (seconds): parsing a 7 MB manifest on a busy 2-core box.
WAIT = 60

#: Chromium on its own, offline: no host name resolves, any non-loopback address goes to a
#: closed port, and none of its background services (updates, sync, safe browsing) start.
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--window-size=1400,1000",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
)

#: dbt docs' own index.html requests three URLs that are unrendered template expressions (an
#: icon `src="{{ getIcon(...) }}"` fetched before Angular compiles it, and a favicon placeholder
#: left by its bundler): they 404 under `dbt docs serve` too. Nothing else may fail.
KNOWN_DBT_DOCS_404 = re.compile(
    r"^http://127\.0\.0\.1:\d+/"
    r"(\$%7Brequire\('\./assets/favicons/favicon\.ico'\)%7D"
    r"|%7B%7B%20getIcon\(item\.type,%20'(on|off)'\)%20%7D%7D)"
    r" - Failed to load resource: the server responded with a status of 404"
)


# --- Chromium from Debian ----------------------------------------------------------------------


def find_chromium() -> tuple[Path | None, Path | None]:
    """The system Chromium and its WebDriver (Debian: /usr/bin/chromium, /usr/bin/chromedriver)."""
    browser = next(filter(None, map(shutil.which, BROWSER_NAMES)), None)
    driver = next(filter(None, map(shutil.which, DRIVER_NAMES)), None)
    return (Path(browser) if browser else None, Path(driver) if driver else None)


def install_chromium() -> str | None:
    """`apt-get install` Debian's Chromium and chromedriver: None when done, else why not."""
    apt = shutil.which("apt-get")
    if apt is None:
        return "there is no apt-get (Chromium is installed from Debian's packages)"
    sudo: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            return "apt-get needs root, and this user is not root and has no sudo"
        sudo = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["update"], ["install", "-y", *DEBIAN_PACKAGES]):
        command = [*sudo, apt, *args]
        try:
            done = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=APT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"`{' '.join(command)}` did not finish in {APT_TIMEOUT} s"
        if done.returncode != 0:
            tail = "\n".join(done.stdout.splitlines()[-15:])
            return f"`{' '.join(command)}` exited {done.returncode}:\n{tail}"
    return None


@pytest.fixture(scope="module")
def chromium() -> tuple[Path, Path]:
    """Paths of Chromium and chromedriver, installed from Debian first if missing."""
    browser, driver = find_chromium()
    if browser is None or driver is None:
        why_not = install_chromium()
        browser, driver = find_chromium()
        if browser is None or driver is None:
            pytest.skip(
                "the catalogue cannot be checked in a browser: Chromium and chromedriver "
                f"(Debian: {' '.join(DEBIAN_PACKAGES)}) are not installed and could not be: "
                + (why_not or f"apt-get installed them, yet found {browser=}, {driver=}")
            )
    return browser, driver


# --- the catalogue, served -----------------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """`site` on http://127.0.0.1:<free port>/ until the block ends (as `dbt docs serve`)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="catalogue-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def copy_site(tiny_docs: TinyDocs, site: Path) -> Path:
    """What `make docs-serve` serves: dbt docs' three files and the lineage pages beside them."""
    site.mkdir(parents=True, exist_ok=True)
    # Whatever docs generate left: a missing file must show in the browser, not here.
    for name in SITE_FILES:
        if (tiny_docs.target_dir / name).exists():
            shutil.copy2(tiny_docs.target_dir / name, site / name)
    lineage = tiny_docs.target_dir / LINEAGE_DIR
    if lineage.is_dir():
        shutil.copytree(lineage, site / LINEAGE_DIR)
    return site


@pytest.fixture(scope="module")
def catalogue_url(
    tiny_docs: TinyDocs, tiny_catalogue: TinyCatalogue, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The tiny build's catalogue on http://127.0.0.1:<free port>/ (stopped after the module)."""
    assert tiny_docs.run.result.ok, tiny_docs.run.result.describe()
    with serve(copy_site(tiny_docs, tmp_path_factory.mktemp("catalogue_site"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(
    chromium: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebDriver]:
    """One headless Chromium for the module, driven by the system chromedriver."""
    binary, driver_path = chromium
    profile = tmp_path_factory.mktemp("chromium_profile")
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for argument in (*CHROMIUM_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    # Console messages, uncaught exceptions and failed requests, read by `problems()`.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = profile.parent / "chromedriver.log"
    # An explicit driver path: Selenium Manager is never asked to find (or download) one.
    service = Service(executable_path=str(driver_path), log_output=str(log))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


# --- what an analyst does ------------------------------------------------------------------------


@dataclass
class Catalogue:
    """The catalogue in the browser, with the actions and readings of an analyst."""

    driver: WebDriver
    url: str
    patience: float = WAIT

    def wait(self, condition: Any, what: str) -> Any:
        """`condition()` once truthy; fails on an alert (dbt docs' way to report a file that
        did not load) or after `patience` seconds."""
        try:
            return WebDriverWait(self.driver, self.patience, poll_frequency=0.2).until(
                lambda _: condition()
            )
        except UnexpectedAlertPresentException as exc:
            failure = f"waiting for {what}, the catalogue showed an alert: {exc.alert_text!r}"
        except TimeoutException:
            failure = (
                f"after {self.patience} s, still waiting for {what}; "
                f"browser errors: {self.problems()}"
            )
        pytest.fail(failure, pytrace=False)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def open(self) -> None:
        """Load the catalogue and wait until it has read the project (the tree is drawn)."""
        self.driver.get_log("browser")  # what an earlier test left is not this test's
        self.driver.get(self.url)
        self.wait(
            lambda: self.js("return document.querySelectorAll('[data-nav-unique-id]').length"),
            "the project tree in the sidebar",
        )

    def problems(self) -> list[str]:
        """Errors since the last call: JS exceptions, console errors, failed requests."""
        try:
            entries = self.driver.get_log("browser")
        except UnexpectedAlertPresentException as exc:
            return [f"alert: {exc.alert_text!r}"]
        return [
            f"{entry['source']}: {entry['message']}"
            for entry in entries
            if entry["level"] == "SEVERE" and not KNOWN_DBT_DOCS_404.match(entry["message"])
        ]

    def assert_no_problems(self) -> None:
        problems = self.problems()
        assert not problems, "the catalogue logged errors:\n" + "\n".join(problems)

    def search_results(self) -> list[tuple[str, str, WebElement]]:
        """(name, resource type, element) of each result the search page lists."""
        results = []
        for element in self.driver.find_elements(By.CSS_SELECTOR, "div.search-result"):
            name = element.find_element(By.CSS_SELECTOR, "h4 > span").text.strip()
            kind = element.find_element(By.CSS_SELECTOR, "h4 > small").text.strip()
            results.append((name, kind, element))
        return results

    def open_model_by_search(self, name: str) -> None:
        """Type the model's name into the search box and click its result (a model)."""
        box = self.driver.find_element(By.ID, "search")
        box.click()
        box.send_keys(name)

        def result() -> WebElement | None:
            found = [e for n, kind, e in self.search_results() if (n, kind) == (name, "model")]
            return found[0] if found else None

        # The results are redrawn as the query changes: an element may go stale under us.
        wait = WebDriverWait(
            self.driver,
            WAIT,
            poll_frequency=0.2,
            ignored_exceptions=[StaleElementReferenceException],
        )
        try:
            element = wait.until(lambda _: result())
        except TimeoutException:
            element = None
        if element is None:
            listed = [(n, kind) for n, kind, _ in self.search_results()]
            pytest.fail(f"searching for {name!r} does not find the model; results: {listed}")
        element.click()
        unique_id = f"model.{PACKAGE}.{name}"
        self.wait(
            lambda: (
                self.driver.current_url.endswith(f"#!/model/{unique_id}")
                and self.js("return document.querySelector('.app-title h1 .break')?.textContent")
                == name
            ),
            f"the page of {name}",
        )

    def details(self) -> dict[str, str]:
        """The Details panel of a model page: label -> value."""
        return self.js(
            """
            const out = {};
            for (const label of document.querySelectorAll('table-details dt.detail-label')) {
                const value = label.nextElementSibling;
                if (value && value.matches('dd')) {
                    out[label.textContent.trim()] = value.textContent.trim();
                }
            }
            return out;
            """
        )

    def description(self) -> str:
        """The rendered description of the model page ('' when the model has none)."""
        text = self.js(
            "const d = document.querySelector('#description ~ .section-content .model-markdown');"
            "return d ? d.innerText : '';"
        )
        return collapse(text)

    def columns(self) -> list[tuple[str, str, str]]:
        """(name, type, description) of every row of the Columns table."""
        rows = self.js(
            """
            return [...document.querySelectorAll('column-details tr.column-row')].map(row => {
                const cells = row.querySelectorAll(':scope > td');
                return [0, 1, 2].map(i => cells[i] ? cells[i].textContent : '');
            });
            """
        )
        return [(collapse(name), collapse(kind), collapse(text)) for name, kind, text in rows]

    def lineage(self, selector: str) -> dict[str, Any]:
        """Open the lineage graph full screen, select `selector`, and read what is drawn."""
        self.driver.find_element(By.CSS_SELECTOR, "a[title='View Lineage Graph']").click()
        self.wait(
            lambda: self.driver.find_element(
                By.CSS_SELECTOR, "a[ng-click='showExpanded()']"
            ).is_displayed(),
            "the lineage graph",
        )
        self.driver.find_element(By.CSS_SELECTOR, "a[ng-click='showExpanded()']").click()
        field = self.driver.find_element(
            By.CSS_SELECTOR, "input[ng-model='selectorService.selection.dirty.include']"
        )
        self.wait(field.is_displayed, "the --select field of the full-screen graph")
        field.clear()
        field.send_keys(selector)
        self.driver.find_element(By.ID, "submit-graph-selection").click()
        # The graph as cytoscape.js drew it in #cy (the container keeps its instance in
        # `_cyreg`): every node with its box in canvas pixels, and the visible edges.
        read = """
            const container = document.getElementById('cy');
            const cy = container && container._cyreg && container._cyreg.cy;
            if (!cy) return null;
            return {
                width: cy.width(),
                height: cy.height(),
                nodes: cy.nodes().map(n => ({
                    id: n.id(), visible: n.visible(), box: n.renderedBoundingBox()})),
                edges: cy.edges(':visible').map(e => [e.source().id(), e.target().id()]),
            };
        """
        previous: list[Any] = [None]

        def drawn() -> dict[str, Any] | None:
            # Drawn once it holds more than the one-hop neighbours of the sidebar graph (a
            # source) and the layout has settled (two reads in a row agree).
            graph = self.js(read)
            settled = graph is not None and graph == previous[0]
            previous[0] = graph
            has_source = settled and any(n["id"].startswith("source.") for n in graph["nodes"])
            return graph if has_source else None

        return self.wait(drawn, f"the lineage graph of {selector} to draw a source and settle")

    # --- the lineage and trust pages (derived catalogue) ---------------------------------

    def open_lineage_page(self, name: str) -> None:
        """From the mart's catalogue page, follow the link in its description."""
        link = self.wait(
            lambda: self.driver.find_elements(
                By.CSS_SELECTOR, f".model-markdown a[href='lineage/{name}.html']"
            ),
            f"the link to the lineage page in the description of {name}",
        )[0]
        link.click()
        self.wait(
            lambda: (
                self.driver.current_url.split("#")[0].endswith(f"/lineage/{name}.html")
                and self.js("return document.querySelector('main h1')?.textContent") == name
            ),
            f"the lineage page of {name}",
        )

    def open_lineage_page_directly(self, name: str) -> None:
        """Load the mart's lineage page by its URL (what the description links to)."""
        self.driver.get_log("browser")
        self.driver.get(f"{self.url}{LINEAGE_DIR}/{name}.html")
        self.wait(
            lambda: self.js("return document.querySelector('main h1')?.textContent") == name,
            f"the lineage page of {name}",
        )

    def column_origins(self, column: str) -> list[str]:
        """Click the column in the page's index; the curated columns its section lists."""
        links = self.driver.find_elements(By.CSS_SELECTOR, f"a[href='#column-{column}']")
        assert links, f"the lineage page lists no column {column!r}"
        links[0].click()
        self.wait(
            lambda: self.driver.current_url.endswith(f"#column-{column}"),
            f"the section of column {column}",
        )
        return self.js(
            "const s = document.getElementById(arguments[0]);"
            "return s ? [...s.querySelectorAll('ul.origins a.origin')]"
            ".map(a => a.dataset.column) : [];",
            f"column-{column}",
        )

    def open_origin(self, column: str, origin: str) -> list[str]:
        """Click the curated column `origin` under `column`; on the source's page, the mart
        columns its section lists as fed by it."""
        table, _, source_column = origin.rpartition(".")
        self.driver.find_element(
            By.CSS_SELECTOR, f"#column-{column} ul.origins a[data-column='{origin}']"
        ).click()
        page = f"source__{table.replace('.', '__')}.html#column-{source_column}"
        self.wait(
            lambda: (
                self.driver.current_url.endswith(f"/{LINEAGE_DIR}/{page}")
                and self.js(
                    "const s = document.getElementById(arguments[0]);"
                    "return !!s && s.matches(':target') && s.offsetParent !== null"
                    " && s.querySelector('h3').textContent === arguments[1];",
                    f"column-{source_column}",
                    source_column,
                )
            ),
            f"the column {source_column} on the page of source {table}",
        )
        return self.js(
            "return [...document.getElementById(arguments[0]).querySelectorAll('a.feeds')]"
            ".map(a => a.textContent);",
            f"column-{source_column}",
        )

    def trust_panel(self) -> dict[str, Any]:
        """What the trust panel of a lineage page shows."""
        return self.js(
            """
            const panel = document.getElementById('trust');
            if (!panel) return null;
            return {
                rows: panel.querySelector('#row-count')?.textContent ?? null,
                summary: panel.querySelector('#test-summary')?.textContent ?? null,
                tests: [...panel.querySelectorAll('#tests tr.test')].map(r => [
                    r.dataset.status, r.cells[2].textContent, r.cells[3].textContent]),
                visible: panel.offsetParent !== null,
            };
            """
        )


def collapse(text: str | None) -> str:
    return " ".join((text or "").split())


def words(text: str) -> str:
    """The words of a text, one space apart: Markdown source and the page it renders to have
    the same words (emphasis, code and list marks aside)."""
    return " " + " ".join(re.findall(r"\w+", text)) + " "


@pytest.fixture
def catalogue(browser: WebDriver, catalogue_url: str) -> Catalogue:
    """The catalogue in the module's browser; each test opens it afresh (`Catalogue.open`)."""
    return Catalogue(browser, catalogue_url)


def upstream(manifest: dict[str, Any], unique_id: str) -> set[str]:
    """Every node `unique_id` is built from, transitively (the manifest's parent map)."""
    parents = manifest["parent_map"]
    seen: set[str] = set()
    todo = deque(parents.get(unique_id, []))
    while todo:
        node = todo.popleft()
        if node not in seen:
            seen.add(node)
            todo.extend(parents.get(node, []))
    return seen


def drawn_path(edges: list[list[str]], start: str, end: str) -> list[str] | None:
    """A path from `start` to `end` along drawn edges (breadth first), or None."""
    children: dict[str, list[str]] = {}
    for source, target in edges:
        children.setdefault(source, []).append(target)
    previous: dict[str, str | None] = {start: None}
    todo = deque([start])
    while todo:
        node = todo.popleft()
        if node == end:
            path = [node]
            while (step := previous[path[-1]]) is not None:
                path.append(step)
            return path[::-1]
        for child in children.get(node, []):
            if child not in previous:
                previous[child] = node
                todo.append(child)
    return None


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_catalogue_opens_on_the_overview_without_errors(
    catalogue: Catalogue, tiny_docs: TinyDocs
) -> None:
    catalogue.open()
    overview = tiny_docs.manifest["docs"][f"doc.{PACKAGE}.__overview__"]["block_contents"]
    title = next(
        line.lstrip("#").strip() for line in overview.splitlines() if line.startswith("# ")
    )
    headings = catalogue.js(
        "return [...document.querySelectorAll('[ui-view] h1')].map(h => h.innerText.trim())"
    )
    assert title in headings, f"the overview page shows {headings}, not the project's {title!r}"
    sources = {
        node["source_name"]
        for node in tiny_docs.manifest["sources"].values()
        if node["package_name"] == PACKAGE
    }
    sidebar = catalogue.js(
        "return [...document.querySelectorAll('a.menu-tree')]"
        ".filter(a => a.offsetParent !== null).map(a => a.innerText.trim())"
    )
    missing = sorted(sources - set(sidebar))
    assert sources and not missing, f"sources not listed in the sidebar: {missing}"
    catalogue.assert_no_problems()


@pytest.mark.slow
@pytest.mark.parametrize("fact", sorted(FACTS))
def test_search_opens_the_mart_page_with_yaml_docs_and_warehouse_types(
    catalogue: Catalogue, tiny_docs: TinyDocs, fact: str
) -> None:
    unique_id = f"model.{PACKAGE}.{fact}"
    node = tiny_docs.manifest["nodes"][unique_id]
    catalog = tiny_docs.catalog
    assert catalog is not None, "dbt docs generate wrote no catalog.json"
    warehouse_columns = {
        name.lower(): column["type"]
        for name, column in catalog["nodes"][unique_id]["columns"].items()
    }
    yaml_columns = {
        name.lower(): collapse(column.get("description"))
        for name, column in node["columns"].items()
    }

    catalogue.open()
    catalogue.open_model_by_search(fact)

    relation = catalogue.details().get("Relation", "")
    assert relation.endswith(f"{node['schema']}.{node['alias']}"), (
        f"{fact}: the page names the relation {relation!r}, not {node['schema']}.{node['alias']}"
    )

    shown = catalogue.description()
    first_paragraph = node["description"].strip().split("\n\n")[0]
    assert words(first_paragraph).strip(), f"{fact} has no description in the YAML"
    assert words(first_paragraph) in words(shown), (
        f"{fact}: the page's description does not show the YAML's first paragraph.\n"
        f"YAML: {first_paragraph!r}\npage: {shown[:400]!r}"
    )
    assert "grain" in shown.lower(), f"{fact}: the description shown states no grain: {shown!r}"

    rows = catalogue.columns()
    assert [name for name, _, _ in rows], f"{fact}: the page lists no column"
    assert {name.lower() for name, _, _ in rows} == set(warehouse_columns), (
        f"{fact}: the page's columns differ from the warehouse's"
    )
    wrong: list[str] = []
    for name, kind, text in rows:
        expected_type = warehouse_columns[name.lower()]
        expected_text = yaml_columns.get(name.lower(), "")
        if not kind or kind != expected_type:
            wrong.append(f"{name}: type {kind!r} shown, the warehouse has {expected_type!r}")
        if not text or text != expected_text:
            wrong.append(f"{name}: description {text!r} shown, the YAML has {expected_text!r}")
    assert not wrong, f"{fact}: {len(wrong)} column(s) shown wrong:\n" + "\n".join(wrong)
    catalogue.assert_no_problems()


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "own_source"), sorted(FACTS.items()))
def test_lineage_graph_reaches_back_to_the_sources(
    catalogue: Catalogue, tiny_docs: TinyDocs, fact: str, own_source: str
) -> None:
    unique_id = f"model.{PACKAGE}.{fact}"
    sources = {
        node for node in upstream(tiny_docs.manifest, unique_id) if node.startswith("source.")
    }
    own = f"source.{PACKAGE}.{own_source}"
    assert own in sources, f"the manifest says {fact} is not built from {own_source}"

    catalogue.open()
    catalogue.open_model_by_search(fact)
    graph = catalogue.lineage(f"+{fact}")

    # Drawn: visible and inside the graph's canvas (to a pixel), not merely in the model.
    drawn = {
        node["id"]
        for node in graph["nodes"]
        if node["visible"]
        and -1 <= node["box"]["x1"] <= node["box"]["x2"] <= graph["width"] + 1
        and -1 <= node["box"]["y1"] <= node["box"]["y2"] <= graph["height"] + 1
    }
    assert unique_id in drawn, f"the lineage graph of +{fact} does not draw {fact}"
    missing = sorted(sources - drawn)
    assert not missing, f"the lineage graph of +{fact} does not draw the sources {missing}"
    unjoined = sorted(s for s in sources if drawn_path(graph["edges"], s, unique_id) is None)
    assert not unjoined, f"no drawn path from {unjoined} to {fact}"
    path = drawn_path(graph["edges"], own, unique_id)
    assert path is not None
    assert any(step.startswith(f"model.{PACKAGE}.stg_") for step in path), (
        f"the drawn path from {own_source} to {fact} skips staging: {path}"
    )
    catalogue.assert_no_problems()


# --- column lineage and trust (derived catalogue) ------------------------------------------------

#: A fact, one of its columns, and the curated source column it is computed from.
LINEAGE_CASES = {
    "fct_court_hearings": ("listed_minutes", "common_platform.hearings.listed_minutes"),
    "fct_prison_movements": ("movement_reason_key", "nomis.movements.movement_reason_code"),
}


def open_lineage(catalogue: Catalogue, fact: str, search: bool) -> None:
    """The fact's lineage page: as an analyst reaches it (search the catalogue, follow the
    link in the description), or directly by its URL (the broken-catalogue checks)."""
    if search:
        catalogue.open()
        catalogue.open_model_by_search(fact)
        catalogue.open_lineage_page(fact)
    else:
        catalogue.open_lineage_page_directly(fact)


def check_column_reaches_its_source(
    catalogue: Catalogue,
    fact: str,
    column: str,
    origin: str,
    screenshot: Path | None = None,
    search: bool = True,
) -> None:
    """Search the fact, open its lineage page, open the column, reach the curated column."""
    open_lineage(catalogue, fact, search)
    origins = catalogue.column_origins(column)
    assert origin in origins, f"{fact}.{column}: the page lists {origins}, not {origin}"
    if screenshot is not None:
        catalogue.js(
            "const d = document.querySelector(arguments[0]); if (d) d.open = true;",
            f"#column-{column} details",
        )
        catalogue.driver.save_screenshot(str(screenshot))
    feeds = catalogue.open_origin(column, origin)
    assert f"{fact}.{column}" in feeds, (
        f"the page of {origin} does not list {fact}.{column} among the columns it feeds: {feeds}"
    )


def expected_trust(
    manifest: dict[str, Any], results: dict[str, Any], project: TinyProject, fact: str
) -> tuple[str, list[tuple[str, str]]]:
    """The fact's row count (from the warehouse) and its tests' (status, name) in the build:
    a `column_constraints` test (all of the model's `not_null` constraints and checks in one
    query) is shown once per constrained column and once per check, named with its rule."""
    unique_id = f"model.{PACKAGE}.{fact}"
    statuses = {r["unique_id"]: r["status"] for r in results["results"]}
    columns = manifest["nodes"][unique_id]["columns"].values()
    constrained = [
        "not_null"
        for column in columns
        if any(c.get("type") == "not_null" for c in column.get("constraints") or [])
    ] + [
        "check: " + " ".join(c["expression"].split())
        for column in columns
        for c in column.get("constraints") or []
        if c.get("type") == "check"
    ]
    tests = sorted(
        (statuses.get(uid, "not run"), name)
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
        and (
            node.get("attached_node") == unique_id
            if node.get("attached_node")
            else unique_id in node["depends_on"]["nodes"]
        )
        for name in (
            [f"{node['name']} ({rule})" for rule in constrained]
            if (node.get("test_metadata") or {}).get("name") == "column_constraints"
            else [node["name"]]
        )
    )
    with project.connect() as con:
        row = con.execute(
            f"select count(*) from {manifest['nodes'][unique_id]['relation_name']}"
        ).fetchone()
    assert row is not None
    return f"{row[0]:,}", tests


def check_trust_panel(
    catalogue: Catalogue,
    fact: str,
    rows: str,
    tests: list[tuple[str, str]],
    screenshot: Path | None = None,
    search: bool = True,
) -> None:
    """The fact's lineage page shows its row count and every test's result in the build."""
    open_lineage(catalogue, fact, search)
    panel = catalogue.trust_panel()
    assert panel is not None and panel["visible"], f"{fact}: no trust panel on its page"
    assert panel["rows"] == rows, f"{fact}: the panel shows {panel['rows']!r} rows, not {rows}"
    shown = sorted((status, name) for status, name, _ in panel["tests"])
    assert shown == tests, (
        f"{fact}: the panel's tests differ from the build's:\n"
        f"missing {sorted(set(tests) - set(shown))}\nextra {sorted(set(shown) - set(tests))}"
    )
    counts = {status: sum(1 for s, _ in tests if s == status) for status, _ in tests}
    for status, count in counts.items():
        assert f"{count} {status}" in (panel["summary"] or ""), panel["summary"]
    if screenshot is not None:
        catalogue.driver.find_element(By.ID, "trust").screenshot(str(screenshot))


@pytest.fixture(scope="module")
def build_results(tiny_catalogue: TinyCatalogue) -> dict[str, Any]:
    return json.loads(tiny_catalogue.build_results.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue_screenshots")
    print(f"\ncatalogue screenshots in {folder}")
    return folder


@pytest.mark.slow
@pytest.mark.parametrize(("fact", "case"), sorted(LINEAGE_CASES.items()))
def test_mart_column_lineage_reaches_the_curated_source_column(
    catalogue: Catalogue, screenshots: Path, fact: str, case: tuple[str, str]
) -> None:
    column, origin = case
    check_column_reaches_its_source(
        catalogue, fact, column, origin, screenshot=screenshots / f"lineage_{fact}.png"
    )
    catalogue.assert_no_problems()


@pytest.mark.slow
@pytest.mark.parametrize("fact", sorted(FACTS))
def test_trust_panel_shows_row_count_and_test_results(
    catalogue: Catalogue,
    tiny_docs: TinyDocs,
    tiny_project: TinyProject,
    build_results: dict[str, Any],
    screenshots: Path,
    fact: str,
) -> None:
    rows, tests = expected_trust(tiny_docs.manifest, build_results, tiny_project, fact)
    assert tests and all(status != "not run" for status, _ in tests), tests
    check_trust_panel(catalogue, fact, rows, tests, screenshot=screenshots / f"trust_{fact}.png")
    catalogue.assert_no_problems()


def _drop_lineage(site: Path) -> None:
    shutil.rmtree(site / LINEAGE_DIR)


def _edit(page: str, old: str, new: str) -> Any:
    def edit(site: Path) -> None:
        path = site / LINEAGE_DIR / page
        text = path.read_text(encoding="utf-8")
        changed = re.sub(old, new, text, count=1, flags=re.S)
        assert changed != text, f"the breakage {old!r} matched nothing in {page}"
        path.write_text(changed, encoding="utf-8")

    return edit


#: Ways to break the catalogue, and which check must then fail ("unbroken": the control, both
#: checks pass on an intact copy opened the same way).
BREAKAGES = {
    "unbroken": ("both", lambda site: None),
    "no lineage pages": ("lineage", _drop_lineage),
    "source column anchor gone": (
        "lineage",
        _edit(
            "source__common_platform__hearings.html",
            r'id="column-listed_minutes"',
            'id="column-gone"',
        ),
    ),
    "chain to the source cut": (
        "lineage",
        _edit(
            "fct_court_hearings.html",
            r'(<section class="column" id="column-listed_minutes">.*?)<ul class=origins>.*?</ul>',
            r"\1",
        ),
    ),
    "mart not among the columns the source feeds": (
        "lineage",
        _edit(
            "source__common_platform__hearings.html",
            r'(id="column-listed_minutes">.*?)fct_court_hearings\.listed_minutes',
            r"\1fct_court_hearings.other",
        ),
    ),
    "wrong row count": (
        "trust",
        _edit("fct_court_hearings.html", r'(<span id="row-count">)[^<]*', r"\g<1>1,000,000"),
    ),
    "a test result dropped": (
        "trust",
        _edit("fct_court_hearings.html", r'<tr class="test" data-status="pass">.*?</tr>', ""),
    ),
    "a test shown passing that failed": (
        "trust",
        _edit(
            "fct_court_hearings.html",
            r'<tr class="test" data-status="pass">',
            '<tr class="test" data-status="fail">',
        ),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_checks_fail_on_a_broken_catalogue(
    browser: WebDriver,
    tiny_docs: TinyDocs,
    tiny_catalogue: TinyCatalogue,
    tiny_project: TinyProject,
    build_results: dict[str, Any],
    tmp_path: Path,
    breakage: str,
) -> None:
    check, breaks = BREAKAGES[breakage]
    site = copy_site(tiny_docs, tmp_path / "site")
    breaks(site)
    fact = "fct_court_hearings"
    with serve(site) as url:
        # Straight to the lineage page (the link from dbt docs is checked above, unbroken).
        broken = Catalogue(browser, url, patience=10)
        column, origin = LINEAGE_CASES[fact]
        rows, tests = expected_trust(tiny_docs.manifest, build_results, tiny_project, fact)
        if check == "both":
            check_column_reaches_its_source(broken, fact, column, origin, search=False)
            check_trust_panel(broken, fact, rows, tests, search=False)
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            if check == "lineage":
                check_column_reaches_its_source(broken, fact, column, origin, search=False)
            elif check == "trust":
                check_trust_panel(broken, fact, rows, tests, search=False)
            else:
                raise AssertionError("the control breaks nothing")
    browser.get_log("browser")  # the broken site's 404s are not the next test's
