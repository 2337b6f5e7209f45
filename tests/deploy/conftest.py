import os
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
RENDER_DIR = pathlib.Path(os.environ.get("RENDER_DIR", "/nonexistent"))


def load_docs(name):
    path = RENDER_DIR / f"{name}.yaml"
    if not path.exists():
        if "RENDER_DIR" in os.environ:
            pytest.fail(f"{path} was not rendered")
        pytest.skip(f"{path} not rendered (run tests/deploy/run.sh)")
    with open(path, encoding="utf-8") as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


@pytest.fixture(params=["default", "production"])
def rendered(request):
    docs = load_docs(request.param)
    return request.param, docs
