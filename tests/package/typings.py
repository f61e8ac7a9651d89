"""Typings derived from the package schema, in the shape Pulumi's SDK generators give them, so the
TypeScript and Go examples can be compiled against the schema without the Pulumi CLI.

What this proves: the examples use only resources, inputs, outputs and enum values the schema
declares, with the schema's types (plain or ``Input``), and set every required input. It does not
prove byte-for-byte what ``pulumi package gen-sdk`` writes (naming details of the real generators
may differ); the workflow job generates the real TypeScript SDK with the CLI.
"""

from __future__ import annotations

import re
from typing import Any

PACKAGE = "ai-platform"
TYPES = f"#/types/{PACKAGE}:index:"


def _name(ref: str) -> str:
    return ref.removeprefix(TYPES)


def _is_enum(schema: dict[str, Any], ref: str) -> bool:
    return "enum" in schema["types"][f"{PACKAGE}:index:{_name(ref)}"]


def _doc(text: str | None, indent: str) -> list[str]:
    return [f"{indent}/** {text.replace('*/', '* /')} */"] if text else []


# --- TypeScript -----------------------------------------------------------------------------


def _ts(schema: dict[str, Any], prop: dict[str, Any], *, output: bool) -> str:
    """The TypeScript type of a property: ``pulumi.Input<T>`` unless plain (inputs only)."""
    ref = prop.get("$ref")
    if ref == "pulumi.json#/Any":
        base = "any"
    elif ref:
        base = f"enums.{_name(ref)}" if _is_enum(schema, ref) else f"inputs.{_name(ref)}Args"
    elif prop["type"] == "array":
        base = f"{_ts(schema, prop['items'], output=output)}[]"
    elif prop["type"] == "object":
        base = f"{{[key: string]: {_ts(schema, prop['additionalProperties'], output=output)}}}"
    else:
        base = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}[prop["type"]]
    if output or prop.get("plain"):
        return base
    return f"pulumi.Input<{base}>"


def typescript(schema: dict[str, Any]) -> str:
    """``index.ts`` of a Node SDK for the schema: declarations only (the types are the point)."""
    lines = ['import * as pulumi from "@pulumi/pulumi";', ""]
    enums: list[str] = []
    inputs: list[str] = []
    for token, type_def in sorted(schema["types"].items()):
        name = token.rsplit(":", 1)[-1]
        if "enum" in type_def:
            members = ", ".join(
                f"readonly {_pascal_member(v['name'])}: {_literal(v['value'])}" for v in type_def["enum"]
            )
            enums += [*_doc(type_def.get("description"), "    "), f"    const {name}: {{ {members} }};"]
            enums.append(f"    type {name} = (typeof {name})[keyof typeof {name}];")
            continue
        required = set(type_def.get("required", []))
        inputs += [*_doc(type_def.get("description"), "    "), f"    interface {name}Args {{"]
        for prop_name, prop in sorted(type_def.get("properties", {}).items()):
            optional = "" if prop_name in required else "?"
            inputs += [*_doc(prop.get("description"), "        ")]
            inputs.append(f"        {prop_name}{optional}: {_ts(schema, prop, output=False)};")
        inputs.append("    }")
    lines += ["export declare namespace enums {", *enums, "}", "", "export declare namespace inputs {", *inputs, "}"]
    lines += ["export declare namespace types {", "    export { enums, inputs };", "}", ""]
    for token, resource in sorted(schema["resources"].items()):
        name = token.rsplit(":", 1)[-1]
        required = set(resource.get("requiredInputs", []))
        lines += [*_doc(resource.get("description"), "")]
        lines.append(f"export declare class {name} extends pulumi.ComponentResource {{")
        for prop_name, prop in sorted(resource.get("properties", {}).items()):
            lines += [*_doc(prop.get("description"), "    ")]
            lines.append(f"    readonly {prop_name}: pulumi.Output<{_ts(schema, prop, output=True)}>;")
        args = "args" if required else "args?"
        lines.append(f"    constructor(name: string, {args}: {name}Args, opts?: pulumi.ComponentResourceOptions);")
        lines += ["}", f"export interface {name}Args {{"]
        for prop_name, prop in sorted(resource.get("inputProperties", {}).items()):
            optional = "" if prop_name in required else "?"
            lines += [*_doc(prop.get("description"), "    ")]
            lines.append(f"    {prop_name}{optional}: {_ts(schema, prop, output=False)};")
        lines += ["}", ""]
    return "\n".join(lines)


def _literal(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _pascal_member(name: str) -> str:
    """Enum member names as the generators spell them (``PER_AZ`` -> ``Per_az``: first letter upper)."""
    return name[:1].upper() + name[1:].lower() if name.isupper() else name


# --- Go -----------------------------------------------------------------------------------


def _go_field(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]", name) if part)


_GO_SCALAR = {"string": "String", "integer": "Int", "number": "Float64", "boolean": "Bool"}
_GO_PLAIN = {"string": "string", "integer": "int", "number": "float64", "boolean": "bool"}


def _go_input(schema: dict[str, Any], prop: dict[str, Any], *, optional: bool) -> str:
    """The Go type of an input property, as the Go generator maps it (plain values as Go types,
    pointers when optional; ``pulumi.<T>Input`` otherwise)."""
    ref = prop.get("$ref")
    pointer = "*" if optional else ""
    if prop.get("plain"):
        if ref == "pulumi.json#/Any":
            return "interface{}"
        if ref:
            return f"{pointer}{_name(ref)}" if _is_enum(schema, ref) else f"{pointer}{_name(ref)}Args"
        if prop["type"] == "array":
            return f"[]{_go_input(schema, prop['items'], optional=False)}"
        if prop["type"] == "object":
            return f"map[string]{_go_input(schema, prop['additionalProperties'], optional=False)}"
        return f"{pointer}{_GO_PLAIN[prop['type']]}"
    if ref == "pulumi.json#/Any":
        return "pulumi.Input"
    if ref:
        return f"{_name(ref)}Input"
    if prop["type"] == "array":
        item = prop["items"]
        kind = _GO_SCALAR.get(item.get("type", ""), "") if not item.get("$ref") else ""
        return f"pulumi.{kind}ArrayInput" if kind else "pulumi.ArrayInput"
    if prop["type"] == "object":
        value = prop["additionalProperties"]
        kind = _GO_SCALAR.get(value.get("type", ""), "") if not value.get("$ref") else ""
        return f"pulumi.{kind}MapInput" if kind else "pulumi.MapInput"
    return f"pulumi.{_GO_SCALAR[prop['type']]}{'Ptr' if optional else ''}Input"


_GO_OUTPUTS = {"StringArray", "IntArray", "Float64Array", "StringMap", "IntMap"}


def _go_output(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind in ("array", "object"):
        inner = prop["items"] if kind == "array" else prop["additionalProperties"]
        name = _GO_SCALAR.get(inner.get("type", ""), "") + ("Array" if kind == "array" else "Map")
        if name not in _GO_OUTPUTS:
            name = "Array" if kind == "array" else "Map"
        return f"pulumi.{name}Output"
    if kind in _GO_SCALAR:
        return f"pulumi.{_GO_SCALAR[kind]}Output"
    return "pulumi.AnyOutput"


def go(schema: dict[str, Any]) -> str:
    """``aiplatform.go`` of a Go SDK for the schema: the structs, enums and constructors."""
    lines = ["// Package aiplatform: typings derived from provider/schema.json (tests/package/typings.py).", ""]
    lines += [
        "package aiplatform",
        "",
        "import (",
        '\t"errors"',
        "",
        '\t"github.com/pulumi/pulumi/sdk/v3/go/pulumi"',
        ")",
        "",
    ]
    for token, type_def in sorted(schema["types"].items()):
        name = token.rsplit(":", 1)[-1]
        if "enum" in type_def:
            base = "string" if type_def["type"] == "string" else "int"
            lines += [f"type {name} {base}", "", "const ("]
            for value in type_def["enum"]:
                lines.append(f"\t{name}{_go_field(value['name'].lower())} = {name}({_literal(value['value'])})")
            lines += [")", ""]
            continue
        required = set(type_def.get("required", []))
        lines += [f"type {name}Args struct {{"]
        for prop_name, prop in sorted(type_def.get("properties", {}).items()):
            go_type = _go_input(schema, prop, optional=prop_name not in required)
            lines.append(f'\t{_go_field(prop_name)} {go_type} `pulumi:"{prop_name}"`')
        lines += ["}", ""]
        # the argument types are also inputs of themselves, as the Go generator makes them
        lines += [f"type {name}Input interface{{ pulumi.Input }}", ""]
        lines += [f"func ({name}Args) ElementType() string {{ return {_literal(name)} }}", ""]
    for token, resource in sorted(schema["resources"].items()):
        name = token.rsplit(":", 1)[-1]
        required = set(resource.get("requiredInputs", []))
        lines += [f"type {name} struct {{", "\tpulumi.ResourceState", ""]
        for prop_name, prop in sorted(resource.get("properties", {}).items()):
            lines.append(f'\t{_go_field(prop_name)} {_go_output(prop)} `pulumi:"{prop_name}"`')
        lines += ["}", "", f"type {name}Args struct {{"]
        for prop_name, prop in sorted(resource.get("inputProperties", {}).items()):
            go_type = _go_input(schema, prop, optional=prop_name not in required)
            lines.append(f"\t{_go_field(prop_name)} {go_type}")
        lines += ["}", ""]
        checks = [
            f"\tif args.{_go_field(p)} == nil {{\n\t\treturn nil, errors.New(\"missing required argument '{p}'\")\n\t}}"
            for p in sorted(required)
            if _nilable(_go_input(schema, resource["inputProperties"][p], optional=False))
        ]
        lines += [
            f"func New{name}(ctx *pulumi.Context, name string, args *{name}Args, opts ...pulumi.ResourceOption) "
            f"(*{name}, error) {{",
            "\tif args == nil {",
            '\t\treturn nil, errors.New("missing one or more required arguments")',
            "\t}",
            *checks,
            f"\tvar resource {name}",
            f'\terr := ctx.RegisterRemoteComponentResource("{token}", name, args, &resource, opts...)',
            "\treturn &resource, err",
            "}",
            "",
        ]
    return "\n".join(lines)


def _nilable(go_type: str) -> bool:
    return go_type.startswith(("pulumi.", "*", "[]", "map[")) or go_type.endswith("Input")
