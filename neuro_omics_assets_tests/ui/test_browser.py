"""The Dagster UI in a real headless Chromium, over a demo materialized through Dagster (issue 7, item 5).

The fixtures (conftest.py) run ``run_demo()`` into a temporary instance, serve it with ``dagster dev``
(webserver + daemon: the shipped instance settings queue runs) and open it in Chromium. The tests then
look at what a user sees: every asset in the catalog, the latest materialization of ``gene_vectors``
with its metadata and partition status, and a one-chunk materialization launched from the UI, checked
both on the run's page and in the instance.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest

from neuro_omics_assets.genome.chunks import DEFAULT_N_CHUNKS, chunk_key, gene_chunk

pytestmark = pytest.mark.browser

CHUNK = "chunk_001"
MT_CO2 = "ENSG00000198712"  # the only gene of the test's gene list (conftest.GENES) in chunk_001
GENE_VECTORS_METADATA = (
    "genes",
    "chunks",
    "model_sha256",
    "pooling",
    "rc_averaged",
    "min_rc_cosine",
    "median_rc_cosine",
)
RUN_TIMEOUT_S = 240

# Step through the (virtualized) catalog table: rows outside the viewport are not in the DOM.
SCROLL_TABLES = """
for (const el of document.querySelectorAll("[class*='VirtualizedTable_container']")) {
  const atBottom = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
  el.scrollTop = atBottom ? 0 : el.scrollTop + Math.max(200, el.clientHeight * 0.6);
}
"""


@pytest.fixture(scope="module")
def pipeline_asset_keys(demo_instance) -> set[str]:
    """Every asset of the code location the UI serves (the demo's settings), as the UI spells its key in links."""
    from neuro_omics_assets.defs import build_definitions

    with pytest.MonkeyPatch.context() as env:
        for name, value in demo_instance.env.items():
            if name.startswith("NEURO_OMICS_"):
                env.setenv(name, value)
        defs = build_definitions()
    keys = {"/".join(key.path) for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"gene_sequences", "dnabert2/gene_vectors", "caduceus_ps/gene_vectors"} <= keys, (
        f"the code location lost assets the tests use: {sorted(keys)}"
    )
    return keys


def _asset_links(driver: Any) -> set[str]:
    """Asset keys linked from the page (``/assets/<key>`` links)."""
    from urllib.parse import unquote

    from selenium.webdriver.common.by import By

    keys = set()
    for link in driver.find_elements(By.CSS_SELECTOR, "a[href^='/assets/']"):
        href = link.get_dom_attribute("href") or ""
        key = unquote(href[len("/assets/") :].split("?")[0]).strip("/")
        if key:
            keys.add(key)
    return keys


def _latest_materialization(instance: Any, asset: str, partition: str | None = None) -> Any:
    import dagster as dg

    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey.from_user_string(asset), asset_partitions=[partition] if partition else None
        ),
        limit=1,
    ).records
    return records[0] if records else None


def _run_problems(instance: Any, run_id: str) -> str:
    """The run's error-level events and failure messages, for an assertion message."""
    lines = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if entry.level >= logging.ERROR or (
            event is not None and (event.is_step_failure or event.is_run_failure)
        ):
            error = getattr(getattr(event, "event_specific_data", None), "error", None)
            lines.append(
                f"{entry.step_key or '-'} {entry.message}" + (f"\n{error.to_string()}" if error else "")
            )
    return "\n".join(lines) or "(no error events)"


def _selected_partitions(ui: Any) -> int | None:
    """The launch dialog's count of selected partitions ("Partition selection … 64 partitions")."""
    found = re.search(r"Partition selection\s+([\d,]+) partitions?\b", ui.body_text())
    return int(found.group(1).replace(",", "")) if found else None


def _wait_for_run(instance: Any, short_id: str, timeout: float) -> Any:
    """The run launched from the UI (its id starts with ``short_id``), once it has finished."""
    import dagster as dg

    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": CHUNK}), limit=20)
        run = next((candidate for candidate in runs if candidate.run_id.startswith(short_id)), None)
        if run is not None and run.is_finished:
            return run
        time.sleep(1)
    state = "never reached the instance" if run is None else f"still {run.status.value}"
    raise AssertionError(f"the run {short_id} launched from the UI {state} after {timeout} s")


def test_catalog_lists_every_asset(ui, pipeline_asset_keys, tmp_path):
    from selenium.common.exceptions import TimeoutException

    ui.open("/assets")
    seen: set[str] = set()

    def all_listed(driver: Any) -> bool:
        seen.update(_asset_links(driver))
        if pipeline_asset_keys <= seen:
            return True
        driver.execute_script(SCROLL_TABLES)
        return False

    try:
        ui.wait(all_listed, timeout=120)
    except TimeoutException:
        pass  # reported below with what is missing
    missing = sorted(pipeline_asset_keys - seen)
    assert not missing, f"the asset catalog does not list {missing}"
    unknown = sorted(seen - pipeline_asset_keys)
    assert not unknown, f"the asset catalog lists assets the code location does not define: {unknown}"
    # Back to the top, once the status column has loaded: the demo materialized everything.
    ui.driver.execute_script(
        "for (const el of document.querySelectorAll(\"[class*='VirtualizedTable_container']\")) el.scrollTop = 0;"
    )
    ui.wait(
        lambda _driver: not re.search(r"Loading(…|\.\.\.)", ui.body_text()),
        message="asset statuses never loaded",
    )
    ui.wait_for_text("Materialized")
    ui.screenshot(tmp_path / "catalog.png")


def test_gene_vectors_shows_its_latest_materialization(ui, instance, tmp_path):
    record = _latest_materialization(instance, "dnabert2/gene_vectors")
    assert record is not None, "the demo did not materialize gene_vectors"
    metadata = record.asset_materialization.metadata
    missing = [key for key in GENE_VECTORS_METADATA if key not in metadata]
    assert not missing, (
        f"gene_vectors' materialization lacks the metadata {missing}; it has {sorted(metadata)}"
    )

    ui.open("/assets/dnabert2/gene_vectors")
    # The overview: the latest materialization, its metadata keys, and the model's checksum as the value.
    ui.wait_for_text("Latest materialization", metadata["model_sha256"].value)
    ui.wait(
        lambda driver: all(
            driver.find_elements("xpath", f"//*[normalize-space(text())='{key}']")
            for key in GENE_VECTORS_METADATA
        ),
        message=f"the metadata table does not show every one of {GENE_VECTORS_METADATA}",
    )
    ui.screenshot(tmp_path / "gene_vectors.png")

    # The partition status: the demo materialized every gene chunk, none failed or missing.
    ui.click("xpath", "//a[@role='tab' and normalize-space()='Partitions']")
    ui.wait_for_text(f"Materialized ({DEFAULT_N_CHUNKS})", "Failed (0)", "Missing (0)", chunk_key(0))
    ui.screenshot(tmp_path / "gene_vectors_partitions.png")


def test_materialize_one_chunk_from_the_ui(ui, instance, tmp_path):
    assert chunk_key(gene_chunk(MT_CO2)) == CHUNK
    before = _latest_materialization(instance, "gene_sequences", CHUNK)
    assert before is not None, f"the demo did not materialize gene_sequences {CHUNK}"

    ui.open("/assets/gene_sequences")
    ui.click("xpath", "//button[starts-with(normalize-space(), 'Materialize')]")
    title = "Launch runs to materialize gene_sequences"
    ui.wait_for_text(title, "Partition selection")
    # Custom selection in the partition picker: clear what the dialog preselected (nothing, or all
    # partitions once their status has loaded), filter the list to the one chunk, tick it.
    ui.click("xpath", "//button[normalize-space()='Custom']")
    ui.click(
        "xpath", "//*[@role='dialog']//*[@aria-haspopup='dialog'][.//*[contains(@class, 'TagSelector')]]"
    )
    ui.visible("css selector", "input[placeholder='Filter partitions']")
    for _ in range(3):  # "Select all" toggles: all -> none, some -> all
        count = _selected_partitions(ui)
        if count == 0:
            break
        ui.click("xpath", "//*[@role='menuitem'][.//span[starts-with(normalize-space(), 'Select all')]]")
        ui.wait(lambda _driver, count=count: _selected_partitions(ui) != count, timeout=30)
    assert _selected_partitions(ui) == 0, "could not clear the partition selection of the launch dialog"
    ui.visible("css selector", "input[placeholder='Filter partitions']").send_keys(CHUNK)
    ui.click("xpath", f"//*[@role='menuitem'][.//*[@data-tooltip='{CHUNK}']]")
    ui.wait(lambda _driver: _selected_partitions(ui) == 1, message=f"{CHUNK} was not selected")
    ui.click("xpath", f"//*[normalize-space()='{title}']")  # closes the picker, keeps the dialog
    ui.wait(
        lambda driver: (
            not any(
                element.is_displayed()
                for element in driver.find_elements("css selector", "input[placeholder='Filter partitions']")
            )
        ),
        message="the partition picker did not close",
    )
    ui.screenshot(tmp_path / "launch_dialog.png")
    ui.click("xpath", "//button[normalize-space()='Launch 1 run']")

    toast = ui.wait(
        lambda _driver: re.search(r"Launched run ([0-9a-f]{8})", ui.body_text()),
        timeout=120,
        message="no 'Launched run …' confirmation after 'Launch 1 run'",
    )
    short_id = toast.group(1)

    # The run is queued; the daemon of `dagster dev` dequeues it and the run launcher executes it.
    run = _wait_for_run(instance, short_id, RUN_TIMEOUT_S)
    assert run.status.value == "SUCCESS", (
        f"the run {run.run_id} ended {run.status.value}:\n{_run_problems(instance, run.run_id)}"
    )
    assert run.tags.get("dagster/partition") == CHUNK
    assert run.tags.get("dagster/from_ui") == "true"
    assert {"/".join(key.path) for key in run.asset_selection or ()} == {"gene_sequences"}

    after = _latest_materialization(instance, "gene_sequences", CHUNK)
    assert after.run_id == run.run_id, (
        f"the latest gene_sequences {CHUNK} materialization is from {after.run_id}"
    )
    assert after.timestamp > before.timestamp
    assert after.asset_materialization.metadata["genes"].value == 1  # MT-CO2

    # What the user sees: the run's page says Success, with the chunk and the asset.
    ui.open(f"/runs/{run.run_id}")
    ui.visible("css selector", "[aria-label='run_success']")
    ui.wait_for_text("Success", f"partition: {CHUNK}", "gene_sequences", "RUN_SUCCESS")
    shot = ui.screenshot(tmp_path / f"run_{CHUNK}.png")
    print(f"screenshot of the run's page: {shot}")
