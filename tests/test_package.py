"""fsttopo as users install it: the wheel, installed into a fresh virtual environment, aligns the
shipped example from another directory (the model and example travel inside the package)."""

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with only the fsttopo wheel in it; its dependencies come from this environment's
    site-packages through a path file (that adds the directory without running its .pth files, so
    this checkout's editable install stays invisible)."""
    tmp = tmp_path_factory.mktemp("package")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-w", str(tmp / "dist"), str(ROOT)], capture_output=True, text=True, cwd=tmp)
    assert build.returncode == 0, build.stderr[-3000:]
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    wheel = next((tmp / "dist").glob("fsttopo-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", str(wheel)], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    return tmp, python


def test_wheel_carries_the_model_and_example(installed):
    tmp, python = installed
    where = subprocess.run([str(python), "-c", "import fsttopo, fsttopo.resources as r; print(fsttopo.__file__); "
                            "print(r.default_model_path()); print(r.example_paths()[0])"],
                           capture_output=True, text=True, cwd=tmp)
    assert where.returncode == 0, where.stderr
    package, model, example = where.stdout.split()
    assert not package.startswith(str(ROOT)) and Path(model).is_file() and Path(example).is_file()


def test_installed_cli_aligns_the_example_from_elsewhere(installed):
    tmp, python = installed
    fsttopo = tmp / "venv" / "bin" / "fsttopo"
    version = subprocess.run([str(fsttopo), "--version"], capture_output=True, text=True, cwd=tmp)
    assert version.returncode == 0 and version.stdout.startswith("fsttopo "), version.stderr
    example = subprocess.run([str(python), "-c", "import fsttopo.resources as r; print(*r.example_paths()[:2])"],
                             capture_output=True, text=True, cwd=tmp).stdout.split()
    run = subprocess.run([str(fsttopo), "align", *example, "--out", "out"], capture_output=True, text=True, cwd=tmp)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp / "out" / "flite-rms-s13372.json").is_file() and "year" in run.stdout
    # the plot, drawn by the plot process the installed command forks
    assert (tmp / "out" / "flite-rms-s13372.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
