"""Kubernetes objects checked against the schemas Kubernetes and the Dask operator publish.

Built-in kinds (``PodSpec``, ``Deployment``, ``Service``...) are checked against
the strict OpenAPI schemas that ``kubernetes-validate`` ships for each
Kubernetes release; the Dask operator's custom resources (``DaskCluster``,
``DaskWorkerGroup``) against the operator's own CRD schema (``dask_kubernetes``'
``customresources/templates.yaml``), whose references to Kubernetes types point
at the same strict schemas.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

#: The Kubernetes release the objects are checked against.
KUBERNETES = "v1.33.0"


def _schema_dir() -> Any:
    return files("kubernetes_validate") / "kubernetes-json-schema" / f"{KUBERNETES}-local-strict"


@cache
def _registry() -> Registry:
    definitions = json.loads((_schema_dir() / "_definitions.json").read_text())
    return Registry().with_resource(
        "/api/_definitions.json", Resource.from_contents(definitions, DRAFT202012)
    )


def _errors(schema: dict[str, Any], obj: Any) -> list[str]:
    validator = Draft202012Validator(schema, registry=_registry())
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(obj)
    ]


def kubernetes_errors(kind_file: str, obj: Any) -> list[str]:
    """What is wrong with ``obj`` as the built-in kind of ``kind_file`` (``podspec-v1``)."""
    schema = json.loads((_schema_dir() / f"{kind_file}.json").read_text())
    return _errors(schema, obj)


def _k8s_ref(ref: str) -> dict[str, Any]:
    # python://k8s_crd_resolver/schemata/k8s-1.21.1.json#/definitions/io.k8s.api.core.v1.PodSpec
    name = ref.rsplit("/", 1)[-1]
    return {"$ref": f"/api/_definitions.json#/$defs/{name}"}


def _fix(node: Any) -> Any:
    """Point the operator's ``python://`` references at local definitions."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("python://"):
            if "k8s_crd_resolver" in ref:
                return _k8s_ref(ref)
            return {"$ref": "#/$defs/" + ref.rsplit("/", 1)[-1]}
        return {k: _fix(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_fix(v) for v in node]
    return node


def _operator_file(name: str) -> Any:
    text = (files("dask_kubernetes") / "operator" / "customresources" / name).read_text()
    return yaml.safe_load(text)


def dask_errors(kind: str, obj: Any) -> list[str]:
    """What is wrong with ``obj`` as the Dask operator's ``kind`` (``DaskCluster``...)."""
    crd = _operator_file(f"{kind.lower()}.yaml")
    schema = _fix(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    schema = {**schema, "$defs": _fix(_operator_file("templates.yaml")["definitions"])}
    errors = _errors(schema, obj)
    if obj.get("apiVersion") != "kubernetes.dask.org/v1" or obj.get("kind") != kind:
        errors.append(f"apiVersion/kind: not kubernetes.dask.org/v1 {kind}")
    return errors


#: A kube config for a cluster that is never contacted (KubeSpawner loads one at init).
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:9"}
users:
- name: none
  user: {token: unused}
contexts:
- name: none
  context: {cluster: none, user: none, namespace: jhub}
current-context: none
"""


def use_unreachable_kubeconfig(tmp_path: Any, monkeypatch: Any) -> None:
    """Point KubeSpawner (and kubernetes_asyncio's import-time default) at :data:`KUBECONFIG`."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setattr(
        "kubernetes_asyncio.config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION", str(kubeconfig)
    )
