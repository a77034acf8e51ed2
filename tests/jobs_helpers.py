"""Tiny notebooks with a ``parameters`` cell, for the jobs tests and the bench."""

from __future__ import annotations

from pathlib import Path

import nbformat

PARAMS = 'x = 1\nname = "a"\nrate = 0.5\nflag = False\nsleep = 0.0\nfail = False'
BODY = [
    "import time\ntime.sleep(sleep)",
    'if fail:\n    raise ValueError("boom")',
    "print(name * x)",
]


def write_notebook(path: Path, params: str | None = PARAMS, body: list[str] = BODY) -> Path:
    """Write a small notebook (parameters cell first) and return its path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = []
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [nbformat.v4.new_code_cell(src) for src in body]
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def openapi_schema(name: str) -> dict:
    """The OpenAPI component schema ``name``, ready for ``jsonschema.validate``."""
    import copy

    import yaml

    from nbplatform_hub.service import app

    spec = yaml.safe_load((Path(app.__file__).parent / "openapi.yaml").read_text("utf-8"))

    def fix(node):
        if isinstance(node, dict):
            if node.pop("nullable", False):
                if "type" in node:
                    node["type"] = [node["type"], "null"]
                else:  # nullable $ref / allOf
                    return {"anyOf": [{"type": "null"}, {k: fix(v) for k, v in node.items()}]}
            return {k: fix(v) for k, v in node.items()}
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    schema = {
        "$ref": f"#/components/schemas/{name}",
        "components": copy.deepcopy(spec["components"]),
    }
    return fix(schema)
