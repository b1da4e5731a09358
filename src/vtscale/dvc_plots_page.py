"""The HTML template ``dvc plots show`` fills (``.dvc/config``: ``plots.html_template``),
with Vega, Vega-Lite and vega-embed inlined, so the page draws its charts without the
network: DVC's own page loads them from a CDN and, offline, shows blank charts without a
word. The JavaScript comes from the ``vl-convert-python`` wheel (its bundle sets
``window.vegaEmbed``, which DVC's chart code calls); images are sized to the page's width.

``vtscale dvc-plots-template`` writes it again, e.g. after an upgrade of the wheel
(tests/test_dvc_plots_page.py checks the committed page against the wheel installed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vtscale.io import write_text

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "workflow" / "dvc_plots.html"
# DVC's charts are Vega-Lite 5 specs; the newest 5.x the wheel bundles draws them as written.
VEGA_LITE_VERSION = "5.21"
# What DVC replaces in the template; DVC's CDN tags would go where {scripts} is, so it is absent.
PLOTS_PLACEHOLDER = "{plot_divs}"
DVC_PLACEHOLDERS = (PLOTS_PLACEHOLDER, "{scripts}", "{refresh_tag}")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
    <!-- {origin} -->
    <script type="text/javascript">
(function () {{  // the bundle's own names stay out of the page's global scope
{bundle}
}})();
    </script>
    <style>
        table {{ border-spacing: 15px; }}
        /* DVC puts each image in an inline-block box that hides overflow: fit it to the page */
        body > div, body > div > div {{ max-width: calc(100% - 16px); box-sizing: border-box; }}
        img {{ max-width: 100%; height: auto; }}
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def script_safe(javascript: str) -> str:
    """JavaScript that cannot end its <script> element early nor hold one of DVC's
    placeholders (DVC replaces them anywhere in the page)."""
    text = javascript.replace("</script", "<\\/script").replace("<!--", "<\\!--")
    for placeholder in DVC_PLACEHOLDERS:
        if placeholder in text:
            raise ValueError(f"the Vega bundle holds DVC's placeholder {placeholder}")
    return text


def bundle_origin() -> str:
    """Which wheel and library versions the page inlines."""
    import importlib.metadata

    import vl_convert

    return (f"vl-convert-python {importlib.metadata.version('vl-convert-python')}: Vega "
            f"{vl_convert.get_vega_version()}, Vega-Lite {VEGA_LITE_VERSION}, vega-embed "
            f"{vl_convert.get_vega_embed_version()}")


def page_template() -> str:
    """The template, from the installed vl-convert-python wheel."""
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
    # {refresh_tag} and {plot_divs} stay for DVC; PAGE's other literal braces are doubled
    return PAGE.format(origin=bundle_origin(), bundle=script_safe(bundle),
                       refresh_tag="{refresh_tag}", plot_divs=PLOTS_PLACEHOLDER)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vtscale dvc-plots-template", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TEMPLATE_PATH, help=f"template to write (default {TEMPLATE_PATH})")
    args = parser.parse_args(argv)
    write_text(args.out, page_template())
    print(f"{args.out}: {bundle_origin()}")
    return 0
