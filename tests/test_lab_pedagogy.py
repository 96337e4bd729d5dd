"""The labs' pedagogy, checked on the notebooks' source (fast: nothing is executed).

* Every widget a lab shows is followed by the note that it is dead in the published book and
  by a cell that shows its states statically (issue 20, item 4).
* Labs 1-4 each have a "Your turn" section whose check compares the student's code with the
  package's own function (issue 21, item 9).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LABS = sorted((ROOT / "labs").glob("0*.ipynb"))
NOTE = "Interactive in Colab or Jupyter"
# A cell that displays a widget calls one of the package's widget builders.
WIDGET_CALL = re.compile(r"\b(pair_explorer|light_reader|latent_walk|strength_explorer|"
                         r"tos_explorer|scorecard_widget)\(")
#: Your-turn checks: the package function each lab's check must call.
YOUR_TURN = {
    "01_embeddings.ipynb": ["metrics.eer("],
    "02_leakage.ipynb": ["probes.cross_subject("],
    "03_inversion.ipynb": ["attacks.gan_attack("],
    "04_defences.ipynb": ["defenses.NuisanceProjection(", "defenses.BioHash("],
}


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_each_widget_is_followed_by_the_note_and_a_static_view(path: Path):
    nb = cells(path)
    for k, cell in enumerate(nb):
        if cell["cell_type"] != "code" or not WIDGET_CALL.search(source(cell)):
            continue
        if source(cell).rstrip().splitlines()[-1].startswith(("from ", "import ")):
            continue  # only imports the builder
        after = nb[k + 1: k + 3]
        assert len(after) == 2, f"{path.name}: the widget in cell {k} is the last cell"
        note, static = after
        assert note["cell_type"] == "markdown" and NOTE in source(note), (
            f"{path.name}: the widget in cell {k} needs the note '{NOTE}' right below it")
        assert static["cell_type"] == "code" and not WIDGET_CALL.search(source(static)), (
            f"{path.name}: below the note of cell {k}, a cell must show the widget's states")


@pytest.mark.parametrize("name", sorted(YOUR_TURN))
def test_labs_1_to_4_have_a_your_turn_checked_against_the_package(name: str):
    nb = cells(ROOT / "labs" / name)
    heads = [k for k, c in enumerate(nb)
             if c["cell_type"] == "markdown" and source(c).lstrip().startswith("## Your turn")]
    assert len(heads) == 1, f"{name}: one '## Your turn' section expected, found {len(heads)}"
    solution, check = nb[heads[0] + 1], nb[heads[0] + 2]
    assert solution["cell_type"] == check["cell_type"] == "code"
    assert re.search(r"^def my_\w+\(", source(solution), re.M), "the solution cell defines my_*()"
    body = source(check)
    for call in YOUR_TURN[name]:
        assert call in body, f"{name}: the check must compare with the package's {call[:-1]}"
    assert "assert " in body, f"{name}: the check must assert the comparison"
    assert re.search(r"^#.*\b(tolerance|within|exactly)\b", body, re.M | re.I), (
        f"{name}: a comment of the check must state its tolerance")


def test_the_six_widgets_are_all_found():
    # Guards the check above: a renamed builder would otherwise let a widget go unchecked.
    shown = [c for path in LABS for c in cells(path) if c["cell_type"] == "code"
             and WIDGET_CALL.search(source(c))
             and not source(c).rstrip().splitlines()[-1].startswith(("from ", "import "))]
    assert len(shown) == 6
