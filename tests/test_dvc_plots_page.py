"""``dvc plots show`` offline: the page template inlines Vega, Vega-Lite and vega-embed from
the vl-convert-python wheel, DVC uses it by default, and in headless Chromium (where it is
installed) every chart of a small DVC project is drawn without the network."""

import configparser
import re
import shutil
import subprocess

import pytest

from vtscale import dvc_plots_page

PLOTS_YAML = """plots:
  - plots/a.csv:
      x: n
      y: [score]
  - plots/b.csv:
      x: n
      y: [score, other]
  - figures/wide.png
"""


def test_the_committed_template_inlines_the_libraries_and_loads_nothing(repo_root):
    page = dvc_plots_page.TEMPLATE_PATH.read_text()
    assert dvc_plots_page.TEMPLATE_PATH == repo_root / "workflow" / "dvc_plots.html"
    assert "{plot_divs}" in page and "{scripts}" not in page      # DVC's CDN tags go to {scripts}
    assert not re.search(r"<script[^>]*\bsrc=", page) and "https://cdn" not in page
    assert "window.vegaEmbed=" in page and page.count("</script>") == 1
    assert "img { max-width: 100%; height: auto; }" in page


def test_the_committed_template_is_what_the_installed_wheel_gives():
    committed = dvc_plots_page.TEMPLATE_PATH.read_text()
    if f"<!-- {dvc_plots_page.bundle_origin()} -->" not in committed:
        pytest.skip("another vl-convert-python is installed: run `vtscale dvc-plots-template`")
    assert committed == dvc_plots_page.page_template()


def test_dvc_uses_the_template_by_default(repo_root):
    config = configparser.ConfigParser()
    config.read(repo_root / ".dvc" / "config")
    template = (repo_root / ".dvc" / config["plots"]["html_template"]).resolve()
    assert template == dvc_plots_page.TEMPLATE_PATH


def test_script_safe_keeps_the_script_element_whole():
    assert dvc_plots_page.script_safe('x="</script>";y="<!--"') == 'x="<\\/script>";y="<\\!--"'
    with pytest.raises(ValueError, match="placeholder {scripts}"):
        dvc_plots_page.script_safe("s='{scripts}'")


def run(cmd, cwd, env):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-2000:]}"
    return proc.stdout


@pytest.fixture
def plots_page(tmp_path, venv_env, repo_root):
    """``dvc plots show`` of a small project using the repository's DVC config."""
    from PIL import Image
    project = tmp_path / "project"
    (project / "plots").mkdir(parents=True)
    (project / "figures").mkdir()
    run(["dvc", "init", "--no-scm", "-q"], project, venv_env)
    shutil.copy(repo_root / ".dvc" / "config", project / ".dvc" / "config")
    (project / "workflow").mkdir()
    shutil.copy(dvc_plots_page.TEMPLATE_PATH, project / "workflow" / "dvc_plots.html")
    (project / "dvc.yaml").write_text(PLOTS_YAML)
    (project / "plots" / "a.csv").write_text("n,score\n1,10\n2,20\n4,15\n")
    (project / "plots" / "b.csv").write_text("n,score,other\n1,3,4\n8,5,2\n")
    Image.new("RGB", (2400, 300), "steelblue").save(project / "figures" / "wide.png")
    run(["dvc", "plots", "show", "-o", "page"], project, venv_env)
    return project / "page" / "index.html"


def test_dvc_plots_show_writes_the_offline_page(plots_page):
    html = plots_page.read_text()
    assert "cdn.jsdelivr" not in html and html.count("vegaEmbed('#") == 2


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed")
def test_every_chart_is_drawn_in_headless_chromium(plots_page, tmp_path):
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=15000", "--window-size=1280,2000", "--dump-dom", plots_page.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="marks"') == 2                  # each Vega chart rendered
    assert dom.count('aria-roledescription="line mark"') >= 3   # a line per series: data drawn
