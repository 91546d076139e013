"""The page every job's report is built on: headline numbers first, as plain HTML, then sections
of words, tables and bokeh plots, in one self-contained file.

BokehJS is inlined (`Resources(mode="inline")`), so the page opens offline: from an email, an
archived run folder, or a cluster with no internet. Only the core library is inlined (the plots
use no widgets, tables or maths), 1.3 MB rather than 4. The headline numbers and the words are
plain HTML, readable even where scripts are blocked; the plots are bokeh.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Blues first (the plots' main series), then an orange and greens for second and third series.
COLORS = (
    "#08519c", "#9ecae1", "#e6550d", "#fdae6b", "#31a354", "#a1d99b",
    "#756bb1", "#bcbddc", "#636363", "#bdbdbd",
)  # fmt: skip
TOOLS = "pan,box_zoom,reset,save"


def _text(text: str) -> str:
    """Escape text for an element's content (quotes need no escaping there)."""
    return html.escape(text, quote=False)


def fmt(value: Any) -> str:
    """Return a number as a person reads it: 14,300; 0.95; text as it is."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if value.is_integer():
            return f"{int(value):,}"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"
    return str(value)


def plural(count: int, one: str, many: str | None = None) -> str:
    """Return "1 state", "3 states": the count with its noun."""
    return f"{fmt(count)} {one if count == 1 else (many or one + 's')}"


@dataclass(frozen=True)
class Headline:
    """One big number at the top of the page."""

    label: str
    value: Any
    note: str = ""


@dataclass(frozen=True)
class Table:
    """A small table of plain HTML (never more than a few dozen rows)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Section:
    """A titled part of the page: paragraphs, then a plot, then a table (each optional)."""

    title: str
    text: Sequence[str] = ()
    figure: Any = None  # a bokeh model
    table: Table | None = None


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       margin: 24px auto; max-width: 1200px; padding: 0 16px; color: #222; }
h1 { font-size: 26px; margin: 0 0 4px; }
.subtitle { color: #555; margin: 0 0 20px; }
.headlines { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 28px; }
.headline { border: 1px solid #ddd; border-radius: 6px; padding: 12px 18px; min-width: 150px; }
.headline .value { font-size: 34px; font-weight: 600; color: #08519c; line-height: 1.1; }
.headline .label { font-size: 15px; margin-top: 4px; }
.headline .note { font-size: 12px; color: #666; margin-top: 2px; }
section.part { margin: 28px 0; }
h2 { font-size: 19px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
table { border-collapse: collapse; margin-top: 10px; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: #777; font-size: 12px; margin-top: 40px; }
"""


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{_text(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{fmt(v)}</td>'
            if isinstance(v, numbers.Real) and not isinstance(v, bool)
            else f"<td>{_text(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in table.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(
    title: str,
    subtitle: str,
    headlines: Sequence[Headline],
    sections: Sequence[Section],
    footer: str = "",
) -> str:
    """Return the whole HTML page: headlines, then the sections in order."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    figures = [section.figure for section in sections if section.figure is not None]
    script, divs = components(figures) if figures else ("", ())
    plots = iter(divs)
    parts = []
    for section in sections:
        body = "".join(f"<p>{_text(paragraph)}</p>" for paragraph in section.text)
        if section.figure is not None:
            body += f'<div class="plot">{next(plots)}</div>'
        if section.table is not None and len(section.table.rows):
            body += _table_html(section.table)
        if not body:
            body = "<p>None in this run.</p>"
        parts.append(f'<section class="part"><h2>{_text(section.title)}</h2>{body}</section>')
    numbers = "".join(
        '<div class="headline">'
        f'<div class="value">{_text(fmt(h.value))}</div>'
        f'<div class="label">{_text(h.label)}</div>'
        + (f'<div class="note">{_text(h.note)}</div>' if h.note else "")
        + "</div>"
        for h in headlines
    )
    resources = Resources(mode="inline", components=["bokeh"]).render() if figures else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(title)}</title>\n<style>{STYLE}</style>\n{resources}\n</head>\n"
        f"<body>\n<header><h1>{_text(title)}</h1>"
        f'<p class="subtitle">{_text(subtitle)}</p></header>\n'
        f'<section class="headlines">{numbers}</section>\n'
        + "\n".join(parts)
        + (f"\n<footer>{_text(footer)}</footer>" if footer else "")
        + f"\n{script}\n</body>\n</html>\n"
    )


def factors(labels: Sequence[Any]) -> list[str]:
    """Return labels as bokeh categories: text, none empty, none repeated (a repeat gets " (2)")."""
    seen: dict[str, int] = {}
    names = []
    for label in labels:
        name = str(label) or "(blank)"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _crowded(names: list[str]) -> bool:
    """Return True when category labels would overlap written across: write them slanted."""
    return sum(len(name) + 3 for name in names) > 110


def _figure(title: str, height: int, **kwargs: Any) -> Any:
    from bokeh.plotting import figure

    chart = figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        toolbar_location="above",
        tools=TOOLS,
        **kwargs,
    )
    chart.title.text_font_size = "13px"
    return chart


def bar_chart(
    labels: Sequence[Any],
    values: Sequence[int | float],
    title: str,
    *,
    value_label: str = "records",
    horizontal: bool = False,
    color: str = COLORS[0],
) -> Any:
    """Return a bar chart of one series over categories, or None when there is nothing to draw.

    Horizontal bars (top to bottom in the given order) suit long labels such as dispositions.
    """
    from bokeh.models import ColumnDataSource, HoverTool

    if not len(labels):
        return None
    names = factors(labels)
    source = ColumnDataSource({"label": names, "value": list(values)})
    if horizontal:
        chart = _figure(title, 60 + 24 * len(names), y_range=list(reversed(names)))
        chart.hbar(y="label", right="value", height=0.7, source=source, color=color)
        chart.x_range.start = 0
        chart.xaxis.axis_label = value_label
    else:
        chart = _figure(title, 340, x_range=names)
        chart.vbar(x="label", top="value", width=0.7, source=source, color=color)
        chart.y_range.start = 0
        chart.yaxis.axis_label = value_label
        if _crowded(names):
            chart.xaxis.major_label_orientation = 1.0
    chart.add_tools(HoverTool(tooltips=[("", "@label"), (value_label, "@value{0,0.[00]}")]))
    return chart


def grouped_bars(
    labels: Sequence[Any],
    series: Mapping[str, Sequence[int | float]],
    title: str,
    *,
    value_label: str = "records",
    stacked: bool = False,
    height: int = 380,
) -> Any:
    """Return bars of several series per category, side by side or stacked; None when empty."""
    from bokeh.models import ColumnDataSource, HoverTool, Legend
    from bokeh.transform import dodge

    if not len(labels):
        return None
    names = factors(labels)
    keys = [f"s{i}" for i in range(len(series))]  # column names safe for bokeh field specs
    data: dict[str, list] = {"label": names}
    for key, values in zip(keys, series.values(), strict=True):
        data[key] = list(values)
    source = ColumnDataSource(data)
    chart = _figure(title, height, x_range=names)
    # The legend beside the plot, not over its bars; a click on an entry hides its series.
    chart.add_layout(Legend(click_policy="hide"), "right")
    colors = list(COLORS[: len(series)])
    legends = list(series)
    if stacked:
        chart.vbar_stack(
            keys, x="label", width=0.7, source=source, color=colors, legend_label=legends
        )
    else:
        width = 0.8 / len(series)
        for i, (key, legend) in enumerate(zip(keys, legends, strict=True)):
            offset = -0.4 + width * (i + 0.5)
            chart.vbar(
                x=dodge("label", offset, range=chart.x_range), top=key, width=width * 0.95,
                source=source, color=colors[i], legend_label=legend,
            )  # fmt: skip
    chart.y_range.start = 0
    chart.yaxis.axis_label = value_label
    if _crowded(names):
        chart.xaxis.major_label_orientation = 1.0
    tips = [("", "@label")] + [
        (legend, f"@{key}{{0,0}}") for key, legend in zip(keys, legends, strict=True)
    ]
    chart.add_tools(HoverTool(tooltips=tips))
    return chart


def spans_chart(
    labels: Sequence[str],
    starts: Sequence[Any],
    ends: Sequence[Any],
    counts: Sequence[int],
    title: str,
    axis_label: str,
) -> Any:
    """Return horizontal spans on a time axis (one per label), e.g. calling windows; None when
    empty."""
    from bokeh.models import ColumnDataSource, HoverTool

    if not len(labels):
        return None
    names = factors(labels)
    source = ColumnDataSource(
        {"label": names, "start": list(starts), "end": list(ends), "rows": list(counts)}
    )
    chart = _figure(
        title, 60 + 24 * len(names), y_range=list(reversed(names)), x_axis_type="datetime"
    )
    chart.hbar(y="label", left="start", right="end", height=0.6, source=source, color=COLORS[0])
    chart.xaxis.axis_label = axis_label
    chart.add_tools(
        HoverTool(
            tooltips=[
                ("", "@label"),
                ("from", "@start{%H:%M}"),
                ("to", "@end{%H:%M}"),
                ("rows", "@rows{0,0}"),
            ],
            formatters={"@start": "datetime", "@end": "datetime"},
        )
    )
    return chart


def run_footer(summary: Mapping[str, Any]) -> str:
    """Return the page's last line: which run, and where its numbers come from."""
    return (
        f"{summary.get('job', '?')} run {summary.get('run_id', '?')}, as of "
        f"{summary.get('as_of', '?')}; the numbers are those of summary.json in the same run "
        "folder."
    )
