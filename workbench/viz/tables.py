"""Tables for reports: formatted DataFrames, with paper figures beside measured ones."""

from __future__ import annotations

import pandas as pd

from workbench import papers


def paper_ratio_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """The cost ratios A2D quotes (SPEC §2) against the ratios measured here."""
    by_model = profiles.set_index("model")
    checks = [
        ("params", "vanilla", "resnet20", papers.A2D_PARAMS_VANILLA_OVER_RESNET20, "A2D Sec. 4.1"),
        ("macs", "resnet38", "vanilla", papers.A2D_MACS_RESNET38_OVER_VANILLA, "A2D Sec. 4.1"),
    ]
    rows = []
    for metric, num, den, paper, source in checks:
        measured = None
        if num in by_model.index and den in by_model.index:
            measured = round(by_model.loc[num, metric] / by_model.loc[den, metric], 2)
        rows.append(
            {
                "ratio": f"{metric}({num}) / {metric}({den})",
                "paper": paper,
                "measured": measured,
                "source": source,
            }
        )
    return pd.DataFrame(rows)


def backbone_table(profiles: pd.DataFrame) -> pd.DataFrame:
    """Params and MACs in millions, latency in ms, for display."""
    table = profiles.copy()
    table.insert(1, "params_M", (table.pop("params") / 1e6).round(3))
    table.insert(2, "macs_M", (table.pop("macs") / 1e6).round(2))
    table["activation_MB"] = (table.pop("activation_bytes") / 2**20).round(2)
    return table
