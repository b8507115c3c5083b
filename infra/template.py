"""template.yaml read and translated by SAM's own translator: what the local stack and tests deploy.

Nothing about the resources is typed a second time: tables, environments, routes and policies are
all read from here.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
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
    authorizer: str | None = None  # the HTTP API's authorizer that guards it (the event's `Auth.Authorizer`)


@dataclass(frozen=True)
class JwtAuthorizer:
    """One of the HTTP API's JWT authorizers as the template writes it: `issuer` and `audience` are CloudFormation
    expressions (`Fn::Sub`, `Ref`), resolved once the resources they name exist (`Intrinsics`)."""

    name: str
    identity_source: str  # "$request.header.Authorization"
    issuer: Any
    audience: list[Any]


def _http_apis(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::HttpApi"
    }


def http_api_routes(path: Path = TEMPLATE_PATH) -> list[Route]:
    """Every explicit route of the HTTP API, from the functions' HttpApi events, each with the authorizer that guards
    it: the event's `Auth.Authorizer`, else its API's `Auth.DefaultAuthorizer` (`NONE`: none)."""
    template = load_template(path)
    apis = _http_apis(template)
    routes = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in resource.get("Properties", {}).get("Events", {}).values():
            if event["Type"] == "HttpApi":
                props = event["Properties"]
                api_id = props.get("ApiId", {})
                api = apis.get(api_id.get("Ref", "") if isinstance(api_id, dict) else "", {})
                auth = props.get("Auth", {})
                if auth.get("AuthorizationScopes"):
                    raise ValueError(f"{logical_id}: route authorization scopes are not played by the local gateway")
                authorizer = auth.get("Authorizer", api.get("Auth", {}).get("DefaultAuthorizer"))
                authorizer = None if authorizer in (None, "NONE") else str(authorizer)
                routes.append(Route(props["Method"].upper(), props["Path"], logical_id, authorizer))
    return routes


def http_api_jwt_authorizers(path: Path = TEMPLATE_PATH) -> dict[str, JwtAuthorizer]:
    """The JWT authorizers of the template's HTTP APIs, by name (the name a route's `Auth.Authorizer` gives)."""
    authorizers: dict[str, JwtAuthorizer] = {}
    for api_id, api in _http_apis(load_template(path)).items():
        for name, authorizer in api.get("Auth", {}).get("Authorizers", {}).items():
            configuration = authorizer.get("JwtConfiguration")
            if configuration is None or authorizer.get("AuthorizationScopes"):
                raise ValueError(f"{api_id}: {name}: only JWT authorizers without scopes are played locally")
            if name in authorizers:
                raise ValueError(f"{api_id}: another HTTP API has an authorizer named {name}")
            authorizers[name] = JwtAuthorizer(
                name=name,
                identity_source=authorizer["IdentitySource"],
                issuer=configuration["issuer"],
                audience=list(configuration.get("audience", [])),
            )
    return authorizers


PSEUDO_PARAMETERS = ("AWS::AccountId", "AWS::Region", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix")
_NO_VALUE = object()  # AWS::NoValue: the property is left out
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def parameter_values(
    template: dict[str, Any], given: Mapping[str, str], *, account_id: str, region: str, stack_name: str
) -> dict[str, Any]:
    """What each `Ref` to a parameter or pseudo parameter resolves to in a stack of `stack_name`: the given
    parameters, else their defaults (a CommaDelimitedList is a list)."""
    values: dict[str, Any] = {
        "AWS::AccountId": account_id,
        "AWS::Region": region,
        "AWS::StackName": stack_name,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }
    for name, parameter in template.get("Parameters", {}).items():
        value = given.get(name, parameter.get("Default"))
        if value is None:
            raise ValueError(f"the parameter {name} has no value and no default")
        value = str(value)
        values[name] = value.split(",") if parameter.get("Type") == "CommaDelimitedList" else value
    return values


class Intrinsics:
    """CloudFormation's intrinsic functions, for the few resources the local stack creates itself (moto's
    CloudFormation cannot) and for the HTTP API's authorizers: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`,
    `Fn::Select`, `Fn::If` over the template's conditions (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
    `Condition`), and `AWS::NoValue`. `refs` maps a logical id (or parameter) to what `Ref` gives and
    `"<logical id>.<attribute>"` to what `Fn::GetAtt` gives; anything else is an error, never a guess."""

    def __init__(self, refs: Mapping[str, Any], conditions: Mapping[str, Any] | None = None) -> None:
        self.refs = refs
        self._conditions = dict(conditions or {})
        self._evaluated: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def condition(self, name: str) -> bool:
        if name not in self._evaluated:
            if name not in self._conditions:
                raise ValueError(f"no condition named {name}")
            self._evaluated[name] = self._truth(self._conditions[name])
        return self._evaluated[name]

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name not in self.refs:
            raise ValueError(f"nothing here resolves Ref {name}")
        return self.refs[name]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in map(self._resolve, value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._ref(f"{logical_id}.{attribute}")
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                local = {name: self._resolve(expression) for name, expression in variables.items()}

                def substitute(found: re.Match[str]) -> str:
                    name = found.group(1)
                    return str(local[name] if name in local else self._ref(name))

                return _SUB_VARIABLE.sub(substitute, text).replace("${!", "${")
            if function == "Fn::Join":
                separator, items = argument
                return separator.join(str(item) for item in self._resolve(items))
            if function == "Fn::Select":
                index, items = argument
                return self._resolve(items)[int(self._resolve(index))]
            if function == "Fn::If":
                name, when_true, when_false = argument
                return self._resolve(when_true if self.condition(name) else when_false)
            if function.startswith("Fn::") or function == "Condition":
                raise ValueError(f"{function} is not resolved here")
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _truth(self, expression: Any) -> bool:
        ((function, argument),) = expression.items()
        if function == "Condition":
            return self.condition(argument)
        if function == "Fn::Equals":
            left, right = (self._resolve(item) for item in argument)
            return bool(str(left) == str(right))
        if function == "Fn::Not":
            return not self._truth(argument[0])
        if function == "Fn::And":
            return all(self._truth(item) for item in argument)
        if function == "Fn::Or":
            return any(self._truth(item) for item in argument)
        raise ValueError(f"{function} is not a condition function")
