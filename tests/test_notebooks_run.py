"""The student path's notebooks (docs/notebooks/): each runs top to bottom in a Jupyter kernel at
CI's tiny budgets (`LECTURE_RL_NOTEBOOK_SMOKE=1`) without an error, opens with its Colab link and
its install cell, ends with a question, and is stored executed (the docs site shows its
outputs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbclient) is not installed")
nbclient = pytest.importorskip("nbclient", reason="the dev extra (nbclient) is not installed")

FOLDER = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
COLAB = "https://colab.research.google.com/github/"


def test_the_student_path_has_its_five_notebooks():
    names = [path.stem for path in NOTEBOOKS]
    assert names == ["01-worked-example", "02-cliff", "03-monte-carlo-vs-td",
                     "04-parity-memory", "05-dqn-pixels"]  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_is_stored_as_a_student_opens_it(path):
    nb = nbformat.read(path, as_version=4)
    first, install, *rest = nb.cells
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert f"{COLAB}" in first.source and f"/docs/notebooks/{path.name})" in first.source
    assert install.cell_type == "code" and "REPO_URL = " in install.source
    assert "pip" in install.source and "lecture-rl[notebook]" in install.source
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and "## Question" in last.source and "?" in last.source
    for cell in nb.cells[2:]:  # executed for the docs site: every cell run, none failed
        if cell.cell_type == "code":
            assert cell.execution_count is not None, cell.source
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
    views = [c for c in nb.cells if c.cell_type == "code" and "lrl.watch(" in c.source]
    for cell in views:  # executed without a widget frontend: the animation is in the output
        html = [o["data"].get("text/html", "") for o in cell.outputs if "data" in o]
        assert any("data:video/mp4;base64," in h for h in html), cell.source
    assert "application/vnd.jupyter.widget-view+json" not in json.dumps(nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("LECTURE_RL_NOTEBOOK_SMOKE", "1")  # the kernel inherits it
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # run without a frontend: animations and text, no widget (nothing could draw it)
    assert "application/vnd.jupyter.widget-view+json" not in json.dumps(outputs)
