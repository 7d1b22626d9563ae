"""The scenario reference for people: every field of a scenario file, its type, range, default
and meaning, written as Markdown from the JSON Schema (``docs/scenario-reference.md``), so the
reference cannot drift from what the validator accepts.

    python -m ctdild_sim.scenario.reference > docs/scenario-reference.md
"""

from __future__ import annotations

import json
from typing import Any

from ctdild_sim.scenario.trial import Scenario

# fmt: off
LIMITS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<",
          "minItems": "items >=", "maxItems": "items <=", "minLength": "length >=", "maxLength": "length <="}
# fmt: on


def scenario_reference() -> str:
    """The reference as Markdown: a section per part of a scenario, a row per field."""
    schema = Scenario.model_json_schema(by_alias=True)
    definitions = schema.get("$defs", {})
    lines = [
        "# Scenario file reference",
        "",
        "Generated from the scenario's JSON Schema (`python -m ctdild_sim.scenario.reference`); "
        "`ctdild-sim schema` prints the schema itself. A field marked *required* must be given "
        "(or inherited through `extends:`); unknown fields are errors.",
        "",
    ]
    sections: list[tuple[str, dict]] = [("scenario", schema)]
    seen: set[str] = set()
    while sections:
        path, node = sections.pop(0)
        lines += [f"## `{path}`", "", _one_line(node.get("description", "")), ""]
        lines += ["| field | type | range | default | meaning |", "|---|---|---|---|---|"]
        required = set(node.get("required", []))
        for name, field in node.get("properties", {}).items():
            kind, refs = _kind(field, definitions)
            for ref in refs:
                if ref not in seen:
                    seen.add(ref)
                    sections.append((ref, definitions[ref]))
            default = "*required*" if name in required else _value(field.get("default"))
            meaning = _one_line(field.get("description", ""))
            lines.append(f"| `{name}` | {kind} | {_limits(field)} | {default} | {meaning} |")
        lines.append("")
    return "\n".join(lines)


def _kind(field: dict, definitions: dict) -> tuple[str, list[str]]:
    """A field's type in words, and the definitions it refers to (documented in their own section)."""
    if "$ref" in field:
        name = field["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})", [name]
    if "anyOf" in field or "oneOf" in field:
        parts = [_kind(option, definitions) for option in field.get("anyOf", field.get("oneOf", []))]
        return " or ".join(kind for kind, _ in parts), [ref for _, refs in parts for ref in refs]
    if field.get("type") == "array":
        kind, refs = _kind(field.get("items", {}), definitions)
        return f"list of {kind}", refs
    if field.get("type") == "object" and "additionalProperties" in field:
        kind, refs = _kind(field["additionalProperties"] or {}, definitions)
        return f"map of {kind}", refs
    if "enum" in field:
        return " / ".join(f"`{value}`" for value in field["enum"]), []
    if "const" in field:
        return f"`{field['const']}`", []
    return str(field.get("format", field.get("type", "any"))), []


def _limits(field: dict) -> str:
    found = [f"{sign} {field[key]}" for key, sign in LIMITS.items() if key in field]
    for option in field.get("anyOf", []):
        found += [f"{sign} {option[key]}" for key, sign in LIMITS.items() if key in option]
    return ", ".join(dict.fromkeys(found))


def _value(value: Any) -> str:
    return "" if value is None else f"`{json.dumps(value)}`"


def _one_line(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


if __name__ == "__main__":
    print(scenario_reference())
