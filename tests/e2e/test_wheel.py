"""`pip install .` (not editable): the wheel carries the code under one import name, the default
configuration and the dbt project, and an installed `tiers` runs the demo data end to end from a
folder outside the repository, writing nothing into its own installation.

The wheel is built from a copy of the working tree with .venv's setuptools, without build
isolation, and installed with `--no-deps` into a fresh virtual environment that sees .venv's
dependencies through a `.pth` line (a folder of links to them, the project's own editable install
left out), so nothing is downloaded and the repository's code cannot be imported by mistake.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import query

REPO = Path(__file__).resolve().parents[2]
# Not copied into the build: dbt's output and local state. dbt_project/target and logs are planted
# in the copy on purpose (the wheel must leave them out).
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "target*"
)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no variables of ours, no .venv on PATH."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TIERS_", "DBT_", "DAGSTER_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(REPO))
    )
    return {**env, **extra}


def _dbt_output(relative: Path) -> bool:
    """dbt's output and local state, the linter's helper: not part of the dbt project."""
    top = relative.parts[0]
    return (
        top.startswith(("target", ".")) or top in {"logs", "dbt_packages", "sqlfluff_libs"}
    ) or "__pycache__" in relative.parts


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the working tree, with dbt output planted in its dbt project."""
    src = tmp_path_factory.mktemp("src") / "customer-tiers"
    shutil.copytree(REPO, src, ignore=_NOT_SOURCES, symlinks=True)
    for planted in ("target/manifest.json", "target-gw0/run_results.json", "logs/dbt.log"):
        (src / "dbt_project" / planted).parent.mkdir(parents=True, exist_ok=True)
        (src / "dbt_project" / planted).write_text("{}")
    return src


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = source
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "--wheel-dir", str(out), str(src)],
        check=True, capture_output=True, text=True, env=_clean_env(), timeout=300,
    )  # fmt: skip
    (built,) = out.glob("customer_tiers-*.whl")
    return built


def test_the_wheel_has_one_top_level_name_and_carries_config_and_dbt_project(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "customer_tiers",
        f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info",
    }
    # every module of the source tree, the default configuration, every file of the dbt project
    modules = {
        p.relative_to(REPO).as_posix()
        for p in (REPO / "customer_tiers").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules <= set(names), sorted(modules - set(names))
    assert "customer_tiers/config/tiers.yml" in names
    assert "customer_tiers/orchestration/dagster.yaml" in names
    dbt_files = {
        "customer_tiers/" + p.relative_to(REPO).as_posix()
        for p in (REPO / "dbt_project").rglob("*")
        if p.is_file() and not _dbt_output(p.relative_to(REPO / "dbt_project"))
    }
    assert len(dbt_files) > 60 and dbt_files <= set(names), sorted(dbt_files - set(names))
    # dbt's output, logs, the linter's helper and local state stay out
    shipped = [n for n in names if n.startswith("customer_tiers/dbt_project/")]
    assert not [name for name in shipped if _dbt_output(Path(*name.split("/")[2:]))]
    font_dir = "customer_tiers/orchestration/report/fonts/"
    fonts = {font_dir + n for n in ("NotoSansSC-tiers.woff2", "OFL.txt")}
    assert fonts <= set(names)


def _fresh_venv(root: Path) -> Path:
    """A virtual environment without the project, .venv's dependencies visible through a .pth."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    deps = root / "deps"
    deps.mkdir()
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        if not entry.name.lower().startswith(("customer_tiers", "__editable__", "customer-tiers")):
            (deps / entry.name).symlink_to(entry)
    (purelib,) = (venv / "lib").glob("python3*/site-packages")
    (purelib / "_customer_tiers_test_deps.pth").write_text(f"{deps}\n")
    # the dependencies' commands (dbt, ...), as pip would have written them into the new bin/
    for script in Path(sys.executable).parent.iterdir():
        head = script.read_bytes()[:200] if script.is_file() else b""
        if head.startswith(b"#!") and b"python" in head.split(b"\n")[0] and script.name != "tiers":
            body = script.read_text(encoding="utf-8").split("\n", 1)[1]
            target = venv / "bin" / script.name
            if not target.exists():
                target.write_text(f"#!{venv / 'bin' / 'python'}\n{body}", encoding="utf-8")
                target.chmod(0o755)
    return venv


def _pip_install(venv: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--no-build-isolation", "--quiet", *args],
        check=True, capture_output=True, text=True, env=_clean_env(), timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed."""
    venv = _fresh_venv(tmp_path_factory.mktemp("installed"))
    _pip_install(venv, str(wheel))
    return venv


def test_an_editable_install_reads_config_and_dbt_project_from_the_source_tree(
    source: Path, tmp_path: Path
) -> None:
    venv = _fresh_venv(tmp_path)
    _pip_install(venv, "--editable", str(source))
    shown = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "from customer_tiers.orchestration import config, paths; "
         "from customer_tiers.orchestration.report import font as report_font; "
         "print(config.DEFAULT_CONFIG_PATH, config.DBT_PROJECT_DIR, paths.dbt_artifacts_base(), "
         "report_font.FONT_PATH.is_file())"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=_clean_env(),
    ).stdout.split()  # fmt: skip
    assert shown == [
        str(source / "config" / "tiers.yml"),
        str(source / "dbt_project"),
        str(source / "dbt_project"),
        "True",
    ]


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if "__pycache__" not in p.parts
    }


def test_installed_tiers_runs_the_demo_data_from_outside_the_repository(
    venv: Path, tmp_path: Path
) -> None:
    python = venv / "bin" / "python"
    env = _clean_env(
        PATH=f"{venv / 'bin'}{os.pathsep}{_clean_env()['PATH']}",
        XDG_CACHE_HOME=str(tmp_path / "cache"),
    )
    where = subprocess.run(
        [str(python), "-c", "import customer_tiers; print(customer_tiers.__file__)"],
        check=True, capture_output=True, text=True, cwd=tmp_path, env=env,
    ).stdout.strip()  # fmt: skip
    package = Path(where).parent
    assert package.is_relative_to(venv), f"customer_tiers imported from {where}"
    before = _files(package)

    tiers = str(venv / "bin" / "tiers")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [tiers, *args], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900
        )
        assert done.returncode == 0, f"tiers {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done

    run("demo-data", "--out", "sources", "--customers", "50")
    run("run", "--sources", "sources", "--warehouse", "wh/warehouse.duckdb")
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    marts = {
        name
        for (name,) in query(
            warehouse, "select table_name from duckdb_tables() where schema_name = 'marts'"
        )
    }
    assert {"customer_rfm", "customer_abc", "customer_clv", "customer_tiers"} <= marts
    customers = query(warehouse, "select count(*) from marts.customer_tiers")[0][0]
    assert customers == query(warehouse, "select count(*) from raw.customers")[0][0] > 0
    # the report finds its font in the installed package
    run("report", "--warehouse", "wh/warehouse.duckdb", "--out", "report.html", "--lang", "zh")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<h1>客户分析报告</h1>" in page and "url(data:font/woff2;base64," in page
    # dbt's manifest, partial-parse state and logs went to the user's cache, none into the package
    assert _files(package) == before
    assert list((tmp_path / "cache").rglob("manifest.json"))
