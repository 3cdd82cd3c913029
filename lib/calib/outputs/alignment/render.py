"""Rendering performance alignment documents: Markdown and one self-contained HTML page.

Templates live in calib/templates/alignment/. Every string from the inputs is escaped: by jinja2's
autoescape in HTML, by an escaping `finalize` in Markdown; only http(s) addresses become links;
the HTML has inline CSS, no scripts and a Content-Security-Policy that forbids anything external.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from calib.files import write_text_atomic

if TYPE_CHECKING:
    from calib.outputs.alignment.model import AlignmentDoc

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "alignment"
# calib.analyses.evidence.LIGHT_MIN_EXAMPLES (a test keeps them equal); importing that module would pull in
# scipy, a second of start-up for every `calib alignment` run
LIGHT_MIN_EXAMPLES = 2
CSS = (TEMPLATES / "document.css").read_text(encoding="utf-8")


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(value: object) -> str:
    """Text safe to drop into Markdown: no markup, no HTML, one line."""
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = re.sub(r"&(?=#?\w+;)", "&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _md_finalize(value: object) -> object:
    if isinstance(value, Markup):
        return str(value)
    return md_escape("" if value is None else value)


def _md_link(label: object, url: str | None) -> Markup:
    text = md_escape(label)
    if not url:
        return Markup(text)
    target = quote(url, safe=":/?#@!$&'*+,;=%~-._").replace("(", "%28").replace(")", "%29")  # [] and () break links
    return Markup(f"[{text}]({target})")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


@functools.cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        finalize=None if autoescape else _md_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["mdlink"] = _md_link
    env.filters["score"] = _score
    return env


def render_markdown(doc: AlignmentDoc) -> str:
    """The document as Markdown (every value from the inputs escaped; only http(s) links)."""
    return re.sub(
        r"\n{3,}", "\n\n", _environment(False).get_template("document.md.j2").render(d=doc, light=LIGHT_MIN_EXAMPLES)
    )


def render_html(doc: AlignmentDoc) -> str:
    """The document as one self-contained HTML page: inline CSS, no scripts, nothing external."""
    return _environment(True).get_template("document.html.j2").render(d=doc, css=CSS, light=LIGHT_MIN_EXAMPLES)


def file_stem(employee_id: str) -> str:
    """A file name for an id: letters, digits, dot, dash and underscore kept, anything else "_"."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", employee_id).lstrip(".") or "_"


def write_documents(docs: list[AlignmentDoc], out: Path) -> list[Path]:
    """Render every document, then write `<id>.md` and `<id>.html` per person, each atomically."""
    rendered = [(file_stem(d.employee_id), render_markdown(d), render_html(d)) for d in docs]
    paths = []
    for stem, markdown, html in rendered:
        for suffix, text in ((".md", markdown), (".html", html)):
            write_text_atomic(out / f"{stem}{suffix}", text)
            paths.append(out / f"{stem}{suffix}")
    return paths
