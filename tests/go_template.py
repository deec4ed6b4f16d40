"""Rendering an Ollama Modelfile TEMPLATE with Go's text/template, the way Ollama does (tests/go).

Import `go_renderer` (a session fixture: the renderer is built once) and call `go_render`.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

GO_DIR = Path(__file__).resolve().parent / "go"
TODAY = datetime.date.today().isoformat()


@pytest.fixture(scope="session")
def go_renderer(tmp_path_factory) -> Path:
    """tests/go built with the local Go toolchain (standard library only, no downloads)."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed (make setup installs golang-go); cannot run text/template")
    out = tmp_path_factory.mktemp("go") / "render_ollama_template"
    env = {
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",
        "GOCACHE": str(out.parent / "cache"),
        "HOME": str(out.parent),
    }
    subprocess.run(
        [go, "build", "-o", str(out), "."], cwd=GO_DIR, check=True, env={**os.environ, **env}
    )
    return out


def go_render(renderer: Path, template: str, tmp_path: Path, request: dict) -> str:
    """The prompt Ollama builds from `request` ({system, messages, tools, think_level})."""
    tfile = tmp_path / "template.gotmpl"
    tfile.write_text(template, encoding="utf-8")
    res = subprocess.run(
        [str(renderer), str(tfile)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env={"WIKIKIT_TEST_DATE": TODAY, "PATH": "/usr/bin:/bin"},
    )
    assert res.returncode == 0, res.stderr
    return res.stdout
