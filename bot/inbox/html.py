"""Tiny HTML building with escaping by default, for the pages not yet in ``templates/``.

Every value becomes text through ``html.escape`` unless it is ``Markup`` (already built by
these helpers). A family message ``<script>…`` is thus always shown as text.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Union

Child = Union["Markup", str, int, float, None, Iterable["Child"]]


class Markup(str):
    """HTML that is already safe (built here); anything else is escaped."""

    def __html__(self) -> str:  # Jinja2's autoescape takes it as it is, like markupsafe's
        return self


def esc(value: object) -> Markup:
    if value is None:
        return Markup("")
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


def _children(children: Iterable[Child]) -> str:
    out = []
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str | int | float):
            out.append(esc(child))
        else:
            out.append(_children(child))
    return "".join(out)


def attrs(**attributes: object) -> str:
    """`class_` → class, `data_x` → data-x; True → bare attribute; None/False → left out."""
    out = []
    for name, value in attributes.items():
        if value is None or value is False:
            continue
        name = name.rstrip("_").replace("_", "-")
        out.append(f" {name}" if value is True else f' {name}="{esc(value)}"')
    return "".join(out)


VOID = frozenset({"input", "br", "meta", "link", "hr", "img"})


def el(tag: str, *children: Child, **attributes: object) -> Markup:
    if tag in VOID:
        return Markup(f"<{tag}{attrs(**attributes)}>")
    return Markup(f"<{tag}{attrs(**attributes)}>{_children(children)}</{tag}>")


def join(*children: Child) -> Markup:
    return Markup(_children(children))


def document(*, lang: str, title: str, body: Child, scripts: Iterable[str] = (),
             direction: str = "ltr", styles: Iterable[str] = ("/static/inbox.css",),
             viewport: str = "width=device-width, initial-scale=1") -> str:
    head = join(
        Markup('<meta charset="utf-8">'),
        el("meta", name="viewport", content=viewport),
        el("title", title),
        [el("link", rel="stylesheet", href=href) for href in styles],
        [el("script", src=src, defer=True) for src in scripts],
    )
    return ("<!doctype html>\n"
            + el("html", el("head", head), el("body", body), lang=lang, dir=direction))


def hidden(name: str, value: object) -> Markup:
    return el("input", type="hidden", name=name, value=value)


def post_form(action: str, csrf: str, *children: Child, class_: str | None = None,
              **attributes: object) -> Markup:
    return el("form", hidden("csrf", csrf), *children, method="post", action=action,
              class_=class_, **attributes)


def table(headers: Iterable[Child], rows: Iterable[Iterable[Child]], *, caption: str | None = None,
          **attributes: object) -> Markup:
    return el("table",
              el("caption", caption) if caption else None,
              el("thead", el("tr", [el("th", h, scope="col") for h in headers])),
              el("tbody", [el("tr", [el("td", c) for c in row]) for row in rows]),
              **attributes)


COLOURS = ("#2b6cb0", "#c05621", "#6b46c1", "#2f855a")  # a fourth: the report's 4 series


def bar_chart(rows: list[tuple[str, list[float]]], *, title: str, series: list[str],
              width: int = 620, bar_height: int = 12, label_width: int = 190) -> Markup:
    """Horizontal grouped bars as inline SVG (no script, no external resources): one group per
    row, one bar per series, a legend on top."""
    if not rows:
        return Markup("")
    top = max((v for _, values in rows for v in values), default=0) or 1
    span = width - label_width - 50
    group = len(series) * bar_height + 10
    # the legend from the left edge, on a new line when the next name would not fit
    spots: list[tuple[int, int]] = []
    x, line = label_width, 0
    for name in series:
        needed = 16 + 7 * len(name) + 20  # about 7 px a character at 12 px
        if x > 0 and x + needed > width:
            x, line = 0, line + 1
        spots.append((x, line))
        x += needed
    legend = 22 * (line + 1)
    height = legend + len(rows) * group + 4
    parts: list[Markup] = [el("title", title)]
    for i, (name, (x, line)) in enumerate(zip(series, spots, strict=True)):
        y = 4 + 22 * line
        parts.append(el("rect", x=x, y=y, width=12, height=12, fill=COLOURS[i % len(COLOURS)]))
        parts.append(el("text", name, x=x + 16, y=y + 10, font_size="12"))
    for r, (label, values) in enumerate(rows):
        y0 = legend + r * group
        parts.append(el("text", label[:30], x=label_width - 6, y=y0 + group / 2 + 1,
                        text_anchor="end", font_size="12"))
        for i, value in enumerate(values):
            y = y0 + i * bar_height
            length = max(int(span * value / top), 1 if value else 0)
            parts.append(el("rect", x=label_width, y=y, width=length, height=bar_height - 2,
                            fill=COLOURS[i % len(COLOURS)]))
            parts.append(el("text", f"{value:g}", x=label_width + length + 4,
                            y=y + bar_height - 3, font_size="10"))
    return el("svg", parts, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
              viewBox=f"0 0 {width} {height}", role="img", aria_label=title, class_="chart")
