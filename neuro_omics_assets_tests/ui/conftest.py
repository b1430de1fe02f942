"""Fixtures of the browser test: a materialized demo instance, the Dagster UI serving it, headless Chromium.

One temporary directory per module holds everything: DAGSTER_HOME, the warehouse, the embedding
cache, the SYNTHETIC demo cohort, the logs of the demo and of ``dagster dev``, Chromium's profile.
Nothing is written into the repository.

Chromium and chromedriver are required: when they are missing the tests FAIL (CI installs them with
``apt-get install -y chromium chromium-driver``; a skip would hide a broken setup), unless
``NEURO_OMICS_SKIP_BROWSER=1`` is set, which skips them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..conftest import CHRM_FASTA, CHRM_GTF, REPO

SKIP_ENV = "NEURO_OMICS_SKIP_BROWSER"
INSTALL_HINT = "apt-get install -y chromium chromium-driver"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "chromedriver")
# Headless, as root, in a closed network: without the background-networking flags Chromium's own
# connections are refused and slow everything down.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--window-size=1600,1000",
)
# A few chrM genes keep the demo fast; MT-CO2 is the only one in chunk_001.
GENES = ("MT-CO2", "MT-ND4L", "MT-CO1", "MT-TA", "MT-CYB")
DEMO_TIMEOUT_S = 420
SERVER_TIMEOUT_S = 180
WAIT_S = 90  # default explicit wait in the browser: generous, the UI shares 2 cores with Dagster

SCREENSHOTS: list[Path] = []  # every screenshot taken, listed in the terminal summary


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"


def _find_executable(candidates: tuple[str, ...]) -> str | None:
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass(frozen=True)
class BrowserBinaries:
    chromium: str
    chromedriver: str


@pytest.fixture(scope="module")
def browser_binaries() -> BrowserBinaries:
    """Chromium and chromedriver; missing ones fail the tests (skipped only with NEURO_OMICS_SKIP_BROWSER=1)."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"{SKIP_ENV}=1: the real-browser tests of the Dagster UI are skipped")
    try:
        import selenium  # noqa: F401
    except ModuleNotFoundError:
        pytest.fail(
            "selenium is not installed: install the test extra (pip install -e '.[test]'), "
            f"or set {SKIP_ENV}=1 to skip the browser tests",
            pytrace=False,
        )
    chromium = _find_executable(CHROMIUM_CANDIDATES)
    chromedriver = _find_executable(CHROMEDRIVER_CANDIDATES)
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", chromedriver)) if not path]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found (looked for {', '.join(CHROMIUM_CANDIDATES + CHROMEDRIVER_CANDIDATES)}): "
            f"run `{INSTALL_HINT}` (CI installs them), or set {SKIP_ENV}=1 to skip the browser tests",
            pytrace=False,
        )
    return BrowserBinaries(chromium=str(chromium), chromedriver=str(chromedriver))


@dataclass(frozen=True)
class DemoInstance:
    root: Path
    dagster_home: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def demo_instance(
    browser_binaries: BrowserBinaries, tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path,
    demo_caduceus_model_dir: Path,
) -> DemoInstance:
    """``run_demo()`` in a subprocess: every asset materialized through Dagster into a temporary instance."""
    root = tmp_path_factory.mktemp("dagster-ui")
    home = root / "dagster_home"
    # The UI's one-time "Join the Dagster community" dialog, as if dismissed once (dagster._core.nux);
    # BrowserUi.dismiss_nux() still closes it should it appear.
    (home / ".nux").mkdir(parents=True)
    (home / ".nux" / "nux.yaml").write_text("seen: 1\n")
    gene_list = root / "genes.txt"
    gene_list.write_text("\n".join(GENES) + "\n")
    # Only this test's settings: nothing inherited from the caller's NEURO_OMICS_* or DAGSTER_* variables.
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("NEURO_OMICS_", "DAGSTER_"))
    }
    env.update(
        DAGSTER_HOME=str(home),
        NEURO_OMICS_WAREHOUSE=str(root / "warehouse"),
        NEURO_OMICS_CACHE_DIR=str(root / "cache"),
        NEURO_OMICS_MODEL_DIR=str(demo_model_dir),
        NEURO_OMICS_CADUCEUS_MODEL_DIR=str(demo_caduceus_model_dir),  # both encoders, as `neuro-omics demo`
        NEURO_OMICS_FASTA=str(CHRM_FASTA),
        NEURO_OMICS_GTF=str(CHRM_GTF),
        NEURO_OMICS_DEVICE="cpu",
        NEURO_OMICS_DATA_ROOTS=os.environ["NEURO_OMICS_DATA_ROOTS"],
        NEURO_OMICS_DEMO_COHORT=str(root / "demo-cohort"),
        NEURO_OMICS_GENE_LIST=str(gene_list),
        PYTHONUNBUFFERED="1",
    )
    log = root / "demo.log"
    script = "from neuro_omics_assets.defs.demo import run_demo; print(run_demo())"
    with log.open("wb") as out:
        try:
            result = subprocess.run(
                [sys.executable, "-c", script],
                cwd=root,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=DEMO_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(
                f"run_demo() took more than {DEMO_TIMEOUT_S} s; its log ({log}):\n{_tail(log)}", pytrace=False
            )
    if result.returncode != 0:
        pytest.fail(
            f"run_demo() failed with exit code {result.returncode}; its log ({log}):\n{_tail(log)}",
            pytrace=False,
        )
    if not (root / "warehouse" / "neuro_omics.duckdb").exists():
        pytest.fail(
            f"run_demo() wrote no DuckDB catalog under {root / 'warehouse'}; its log:\n{_tail(log)}",
            pytrace=False,
        )
    return DemoInstance(root=root, dagster_home=home, env=env)


@pytest.fixture(scope="module")
def instance(demo_instance: DemoInstance) -> Iterator[Any]:
    """The demo's Dagster instance, read from this process (the UI's runs land there too)."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(demo_instance.dagster_home)) as dagster_instance:
        yield dagster_instance


@dataclass(frozen=True)
class DagsterUi:
    url: str
    log: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _default_interrupt_signals() -> None:
    """In the child before exec: SIGINT/SIGTERM back to their defaults.

    A process started in the background by a shell inherits SIGINT *ignored*; ``dagster dev`` maps
    SIGTERM onto SIGINT's handler, so it would then ignore both and never shut down cleanly.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_group_gone(process: subprocess.Popen, group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or the group never empties
        if not _group_alive(group):
            return True
        time.sleep(0.2)
    return False


def _stop_process_group(process: subprocess.Popen, grace_s: float = 30.0) -> None:
    """Stop ``dagster dev`` as Ctrl-C does (it shuts its webserver, daemon and code server down), then
    SIGTERM and finally SIGKILL whatever is left of its process group (runs launched from the UI included)."""
    group = process.pid  # start_new_session=True: the group id is the leader's pid
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    if not _wait_group_gone(process, group, grace_s):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            if _wait_group_gone(process, group, 10.0):
                break
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="module")
def dagster_ui(demo_instance: DemoInstance) -> Iterator[DagsterUi]:
    """``dagster dev`` (webserver + daemon) on a free loopback port, stopped with all its children at teardown.

    The shipped dagster.yaml sets run concurrency, i.e. the QueuedRunCoordinator: a run launched from the
    UI is queued and only the daemon dequeues it, so the webserver alone would not do.
    """
    dagster = Path(sys.executable).with_name("dagster")
    if not dagster.exists():
        pytest.fail(
            f"{dagster} not found; install the project into this virtualenv (make install)", pytrace=False
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = demo_instance.root / "dagster-dev.log"
    command = [str(dagster), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=demo_instance.root,
            env=demo_instance.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_interrupt_signals,
        )
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        deadline = time.monotonic() + SERVER_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"`{' '.join(command)}` exited with {process.returncode}; its log ({log}):\n{_tail(log)}",
                    pytrace=False,
                )
            try:
                with opener.open(f"{url}/server_info", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{url}/server_info did not answer within {SERVER_TIMEOUT_S} s; the log ({log}):\n"
                    f"{_tail(log)}",
                    pytrace=False,
                )
            time.sleep(0.5)
        yield DagsterUi(url=url, log=log, process=process)
    finally:
        _stop_process_group(process)


class BrowserUi:
    """A headless Chromium on the Dagster UI, with explicit waits and click helpers."""

    def __init__(self, driver: Any, server: DagsterUi) -> None:
        self.driver = driver
        self.server = server

    # -- navigation and waits --------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(self.server.url + path)
        self.dismiss_nux()

    def wait(self, condition: Callable[[Any], Any], timeout: float = WAIT_S, message: str = "") -> Any:
        from selenium.common.exceptions import StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(
            self.driver, timeout, poll_frequency=0.5, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition, message)

    def body_text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def wait_for_text(self, *texts: str, timeout: float = WAIT_S) -> str:
        """Wait until the page shows every one of ``texts``; return the page's text."""
        state = {"missing": list(texts)}

        def shown(_driver: Any) -> str | bool:
            body = self.body_text()
            state["missing"] = [text for text in texts if text not in body]
            return body if not state["missing"] else False

        try:
            return self.wait(shown, timeout)
        except Exception as exc:
            raise AssertionError(
                f"{self.driver.current_url} never showed {state['missing']} within {timeout} s"
            ) from exc

    def visible(self, by: str, selector: str, timeout: float = WAIT_S) -> Any:
        from selenium.webdriver.support import expected_conditions as EC

        return self.wait(
            EC.visibility_of_element_located((by, selector)), timeout, f"{selector} never became visible"
        )

    def click(self, by: str, selector: str, timeout: float = WAIT_S) -> Any:
        """Click the element once it is clickable; a dialog in the way is dismissed and the click retried."""
        from selenium.common.exceptions import ElementClickInterceptedException
        from selenium.webdriver.support import expected_conditions as EC

        element = self.wait(
            EC.element_to_be_clickable((by, selector)), timeout, f"{selector} never became clickable"
        )
        try:
            element.click()
        except ElementClickInterceptedException:
            self.dismiss_nux()
            element = self.wait(EC.element_to_be_clickable((by, selector)), timeout, f"{selector} is covered")
            element.click()
        return element

    def dismiss_nux(self) -> None:
        """Close the UI's "Join the Dagster community" dialog if it is shown (Skip)."""
        from selenium.webdriver.common.by import By

        for button in self.driver.find_elements(
            By.XPATH,
            "//*[@role='dialog'][.//*[normalize-space()='Join the Dagster community']]//button[normalize-space()='Skip']",
        ):
            if button.is_displayed():
                button.click()

    # -- artefacts -------------------------------------------------------------------------------
    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise AssertionError(f"Chromium could not save the screenshot {path}")
        SCREENSHOTS.append(path)
        return path

    def save_diagnostics(self, directory: Path, name: str) -> list[Path]:
        """A screenshot and the page source of the current page, for a failed test."""
        directory.mkdir(parents=True, exist_ok=True)
        saved = []
        png, html = directory / f"{name}.png", directory / f"{name}.html"
        if self.driver.save_screenshot(str(png)):
            saved.append(png)
        html.write_text(self.driver.page_source)
        saved.append(html)
        return saved


@pytest.fixture(scope="module")
def ui(
    browser_binaries: BrowserBinaries, dagster_ui: DagsterUi, demo_instance: DemoInstance
) -> Iterator[BrowserUi]:
    """Headless Chromium through chromedriver on the served UI; quit at teardown."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_binaries.chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={demo_instance.root / 'chromium-profile'}")
    service = Service(browser_binaries.chromedriver, log_output=str(demo_instance.root / "chromedriver.log"))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        pytest.fail(
            f"{browser_binaries.chromedriver} could not start {browser_binaries.chromium}: {exc.msg}\n"
            f"(a chromium/chromedriver version mismatch? reinstall both: `{INSTALL_HINT}`)",
            pytrace=False,
        )
    driver.set_page_load_timeout(120)
    try:
        yield BrowserUi(driver, dagster_ui)
    finally:
        driver.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failed browser test: save a screenshot and the page source into its tmp_path, show the UI's log."""
    report = yield
    if report.when == "call" and report.failed:
        browser = getattr(item, "funcargs", {}).get("ui")
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        if isinstance(browser, BrowserUi):
            lines = [f"page: {browser.driver.current_url}"]
            if tmp_path is not None:
                try:
                    saved = browser.save_diagnostics(Path(tmp_path), "failure")
                    lines.append("saved: " + ", ".join(str(path) for path in saved))
                except Exception as exc:  # the browser itself may be what broke
                    lines.append(f"could not save the page: {exc!r}")
            lines.append(f"dagster dev log ({browser.server.log}), last lines:\n{_tail(browser.server.log)}")
            report.sections.append(("browser diagnostics", "\n".join(lines)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOTS:
        terminalreporter.write_sep("-", "Dagster UI screenshots")
        for path in SCREENSHOTS:
            terminalreporter.write_line(str(path))
