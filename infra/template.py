"""template.yaml read and translated by SAM's own translator: what the local stack and tests deploy.

Nothing about the resources is typed a second time: tables, environments, routes and policies are
all read from here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import yaml
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
# The stand-in for a local CodeUri: moto's CloudFormation needs code in S3 to create the functions.
PLACEHOLDER_CODE = {"Bucket": "local-function-code", "Key": "placeholder.zip"}


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt...) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader
    return template


@cache
def static_global_environment(path: Path = TEMPLATE_PATH) -> dict[str, str]:
    """The Globals' environment variables that are literals (service name, metrics namespace, log level...):
    Lambda sets them before a function's modules are imported, and Powertools reads them at import."""
    variables = load_template(path)["Globals"]["Function"]["Environment"]["Variables"]
    return {name: value for name, value in variables.items() if isinstance(value, str)}


def translated_template(path: Path = TEMPLATE_PATH, region: str = "us-east-1") -> dict[str, Any]:
    sam = load_template(path)
    globals_function = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_function:
        globals_function["CodeUri"] = dict(PLACEHOLDER_CODE)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {}):
            resource["Properties"]["CodeUri"] = dict(PLACEHOLDER_CODE)
    # Offline: no IAM lookups of managed policy ARNs (the template names none but SAM's own).
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    translated = translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)
    return copy.deepcopy(translated)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str  # logical id of the function that serves it


def http_api_routes(path: Path = TEMPLATE_PATH) -> list[Route]:
    """Every explicit route of the HTTP API, from the functions' HttpApi events."""
    routes = []
    for logical_id, resource in load_template(path)["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                routes.append(Route(props["Method"].upper(), props["Path"], logical_id))
    return routes
