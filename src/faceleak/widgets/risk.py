"""An interactive scorecard for Lab 6: change verdicts and weights, watch the rating move."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

from faceleak.legal import risk

__all__ = ["scorecard_widget"]


def scorecard_widget(
    ledger: risk.Ledger | None = None, vendor: str | None = None
) -> widgets.Widget:
    """Build the Lab 6 scorecard.

    Six sliders set the factor weights; one drop-down per claim sets its verdict. The panel
    shows the evidence-only rating, the factor scores and the claims that moved the rating.
    Setting an opinion claim to "verified" is allowed on purpose: it shows what the seed's
    rating would need to be true.

    Parameters
    ----------
    ledger
        The claim ledger (default: the course ledger).
    vendor
        Vendor shown first (default: the first vendor in the ledger).

    Returns
    -------
    ipywidgets.Widget
        Display it as the last expression of a cell.
    """
    ledger = risk.load_ledger() if ledger is None else ledger
    state = {"verdicts": {}}
    w0 = risk.default_weights()
    labels = risk.factor_table()["label"]
    sliders = {
        f: widgets.FloatSlider(
            value=round(w0[f], 2),
            min=0.0,
            max=1.0,
            step=0.05,
            description=labels[f],
            style={"description_width": "220px"},
            layout=widgets.Layout(width="480px"),
            continuous_update=False,
        )
        for f in risk.FACTORS
    }
    vendor_dd = widgets.Dropdown(
        options=[(v.name, v.id) for v in ledger.vendors],
        value=vendor or ledger.vendors[0].id,
        description="Vendor",
    )
    claims_box = widgets.VBox()
    out = widgets.Output()
    reset = widgets.Button(description="Reset verdicts and weights")

    def current_ledger() -> risk.Ledger:
        return ledger.with_verdicts(state["verdicts"]) if state["verdicts"] else ledger

    def refresh(*_):
        out.clear_output(wait=True)
        with out:
            try:
                weights = risk.validate_weights({f: s.value for f, s in sliders.items()})
            except ValueError as exc:
                print(f"Weights rejected: {exc}")
                return
            led = current_ledger()
            v = led.vendor(vendor_dd.value)
            res = risk.score_vendor(led, v.id, weights)
            print(
                f"{v.name}: seed rating {v.seed_rating}; evidence-only rating {res.label} "
                f"(index {res.risk_index:.3f})"
            )
            print(
                "Factor scores: " + ", ".join(f"{f} {s:.2f}" for f, s in res.factor_scores.items())
            )
            print("Normalised weights: " + ", ".join(f"{f} {x:.2f}" for f, x in weights.items()))
            movers = risk.top_movers(res, 6)[["factor", "verdict", "contribution", "text"]]
            display(movers.style.format({"contribution": "{:+.3f}"}))

    def on_verdict(change, claim_id: str):
        original = ledger.claim(claim_id).verdict
        if change["new"] == original:
            state["verdicts"].pop(claim_id, None)
        else:
            state["verdicts"][claim_id] = change["new"]
        refresh()

    def build_claims(*_):
        rows = []
        for c in ledger.for_vendor(vendor_dd.value):
            dd = widgets.Dropdown(
                options=list(risk.VERDICTS),
                value=state["verdicts"].get(c.id, c.verdict),
                layout=widgets.Layout(width="130px"),
            )
            dd.observe(lambda ch, cid=c.id: on_verdict(ch, cid), names="value")
            text = widgets.HTML(
                f"<b>{c.id}</b> [{c.factor}; {c.evidence_type}] {c.text}",
                layout=widgets.Layout(width="640px"),
            )
            rows.append(widgets.HBox([dd, text]))
        claims_box.children = rows

    def on_reset(_):
        state["verdicts"].clear()
        for f, s in sliders.items():
            s.value = round(w0[f], 2)
        build_claims()
        refresh()

    for s in sliders.values():
        s.observe(refresh, names="value")
    vendor_dd.observe(lambda _: (build_claims(), refresh()), names="value")
    reset.on_click(on_reset)
    build_claims()
    refresh()
    claims_acc = widgets.Accordion(children=[claims_box])
    claims_acc.set_title(0, "Claim verdicts (change one and watch the rating)")
    return widgets.VBox(
        [
            widgets.HTML("<b>Vendor scorecard</b>: weights (normalised to sum to 1)"),
            vendor_dd,
            widgets.VBox(list(sliders.values())),
            reset,
            out,
            claims_acc,
        ]
    )
