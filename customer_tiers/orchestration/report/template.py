"""The HTML page of `tiers report`: one file, plotly.js inline, nothing fetched when viewed.

The charts travel as JSON in a `<script type="application/json">` block and a small inline script
draws them with Plotly.newPlot. When a chart has been drawn its container gets
`data-rendered="true"` (or `"error"`), and when all are done the body gets `data-rendered` and
`data-resources` (the URLs the page loaded, which must be none), so a headless browser can check
the page. Script errors are written into the `#report-errors` list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from html import escape
from typing import Any

from customer_tiers.orchestration.report.font import EMBEDDED_FAMILY, font_face_css

# The embedded CJK face first (font.py: only the page's Chinese characters, so Latin text
# takes the system font), then system fonts: CJK faces before the generic family, for characters
# the embedded font lacks.
FONT_FAMILY = (
    f'"{EMBEDDED_FAMILY}", system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", '
    '"Noto Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)

STYLE = """
body { font-family: FONT; margin: 0; background: #f4f5f7; color: #1d2433; }
header { padding: 20px 32px 8px; }
h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #5b6475; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px;
       padding: 16px 32px 32px; }
section { background: #fff; border-radius: 8px; padding: 12px 16px;
          box-shadow: 0 1px 2px rgba(0, 0, 0, .08); min-width: 0; }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 16px; margin: 4px 0 6px; }
p.note { margin: 4px 0 0; color: #5b6475; font-size: 13px; }
p.skipped { margin: 8px 0; padding: 10px 12px; background: #fff8e1; border-left: 4px solid #f2b600;
            font-size: 14px; }
.chart { width: 100%; }
#report-errors { margin: 0 32px; color: #b00020; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
""".replace("FONT", FONT_FAMILY)

# Before plotly.js, so an error while loading it is recorded too.
ERROR_SCRIPT = """
(function () {
  var list = document.getElementById('report-errors');
  window.reportError = function (message) {
    list.hidden = false;
    var item = document.createElement('li');
    item.textContent = String(message);
    list.appendChild(item);
    document.body.setAttribute('data-js-errors', String(list.children.length));
  };
  window.onerror = function (message, source, line) {
    window.reportError(message + ' (' + source + ':' + line + ')');
  };
  window.addEventListener('unhandledrejection', function (event) {
    window.reportError('unhandled rejection: ' + event.reason);
  });
})();
"""

# The charts are drawn once the embedded font is loaded: plotly.js lays labels out by their
# measured width, which the fallback font would get wrong.
RENDER_SCRIPT = """
(function () {
  var fonts = document.fonts && document.fonts.load
    ? document.fonts.load('12px "EMBEDDED"') : Promise.resolve();
  fonts.catch(function () {}).then(draw);
  function draw() {
  var page = JSON.parse(document.getElementById('report-data').textContent);
  var config = {displaylogo: false, responsive: true};
  var jobs = page.charts.map(function (chart) {
    var el = document.getElementById('chart-' + chart.key);
    function failed(err) {
      el.setAttribute('data-rendered', 'error');
      window.reportError('chart ' + chart.key + ': ' + err);
    }
    try {
      return Plotly.newPlot(el, chart.data, chart.layout, config).then(function () {
        el.setAttribute('data-rendered', 'true');
      }, failed);
    } catch (err) {
      failed(err);
      return Promise.resolve();
    }
  });
  Promise.all(jobs).then(function () {
    var loaded = performance.getEntriesByType('resource').map(function (e) { return e.name; });
    document.body.setAttribute('data-resources', JSON.stringify(loaded));
    document.body.setAttribute('data-rendered', 'true');
  });
  }
})();
""".replace("EMBEDDED", EMBEDDED_FAMILY)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def page_json(payload: Mapping[str, Any]) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` that could close it."""
    text = json.dumps(payload, ensure_ascii=False, default=_json_default, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def inline_script(code: str) -> str:
    # A literal "</script" inside the code would end the element early.
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def section_html(
    key: str, title: str, *, note: str | None, skipped: str | None, wide: bool, height: int
) -> str:
    """A chart card: the title, then the chart container or the reason it was not drawn."""
    css_class = ' class="wide"' if wide else ""
    parts = [f'<section id="section-{escape(key)}"{css_class}>']
    parts.append(f"<h2>{escape(title)}</h2>")
    if skipped is not None:
        parts.append(f'<p class="skipped" data-skipped="{escape(key)}">{escape(skipped)}</p>')
    else:
        parts.append(
            f'<div class="chart" id="chart-{escape(key)}" data-chart="{escape(key)}" '
            f'data-rendered="false" style="height:{height}px"></div>'
        )
        if note:
            parts.append(f'<p class="note">{escape(note)}</p>')
    parts.append("</section>")
    return "".join(parts)


def page_html(
    *,
    lang: str,
    title: str,
    subtitle: str,
    sections: Sequence[str],
    payload: Mapping[str, Any],
    plotly_js: str,
) -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    data = page_json(payload)
    shown = "".join([title, subtitle, *sections, data])
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{html_lang}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title)}</title>",
            f"<style>{font_face_css(shown)}{STYLE}</style>",
            "</head>",
            "<body>",
            f"<header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header>",
            '<ul id="report-errors" hidden></ul>',
            inline_script(ERROR_SCRIPT),
            inline_script(plotly_js),
            "<main>",
            *sections,
            "</main>",
            f'<script type="application/json" id="report-data">{data}</script>',
            inline_script(RENDER_SCRIPT),
            "</body>",
            "</html>",
            "",
        ]
    )
