"""HTML reports with bokeh charts, written into a run folder beside the job's CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def target_vs_delivered_html(plan: pd.DataFrame, path: Path, title: str) -> None:
    """Write a self-contained HTML page with a bar chart of target vs delivered records by state.

    Args:
        plan: by state (index): `quota` (the population target) and `granted` (delivered).
        path: the HTML file to write.
        title: the page and chart title.
    """
    from bokeh.embed import file_html
    from bokeh.models import ColumnDataSource, HoverTool
    from bokeh.plotting import figure
    from bokeh.resources import INLINE
    from bokeh.transform import dodge

    states = [str(state) for state in plan.index]
    source = ColumnDataSource(
        {
            "state": states,
            "target": plan["quota"].astype(int).tolist(),
            "delivered": plan["granted"].astype(int).tolist(),
            "shortfall": plan["shortfall"].astype(int).tolist(),
        }
    )
    chart = figure(
        x_range=states,
        height=420,
        sizing_mode="stretch_width",
        title=title,
        toolbar_location="above",
        tools="pan,box_zoom,reset,save",
    )
    bars = (
        ("target", -0.18, "#9ecae1", "target (population share)"),
        ("delivered", 0.18, "#08519c", "delivered"),
    )
    for column, offset, color, label in bars:
        chart.vbar(
            x=dodge("state", offset, range=chart.x_range),
            top=column,
            width=0.34,
            source=source,
            color=color,
            legend_label=label,
        )
    chart.add_tools(
        HoverTool(
            tooltips=[
                ("state", "@state"),
                ("target", "@target"),
                ("delivered", "@delivered"),
                ("shortfall", "@shortfall"),
            ]
        )
    )
    chart.xaxis.major_label_orientation = 1.2
    chart.y_range.start = 0
    chart.legend.location = "top_right"
    chart.yaxis.axis_label = "records"
    # Inline resources: the page opens offline, from an email or an archived run folder.
    path.write_text(file_html(chart, INLINE, title), encoding="utf-8")
