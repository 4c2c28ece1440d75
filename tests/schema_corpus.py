#!/usr/bin/env python3
"""Validates YAML specs against netspec's JSON Schema, as an editor would: one line per file,
"valid FILE" or "invalid FILE MESSAGE" (tab-separated). tests/test_schema.c compares these
verdicts with netspec's own on tests/specs/schema_corpus.

usage: schema_corpus.py SCHEMA.json SPEC.yaml...
Exits 77 (after saying why on stderr) when python3-jsonschema or python3-yaml is missing.

Scalars are typed as YAML 1.2's core schema types them (what yaml-language-server does, and
what netspec reads): true/false in three spellings are booleans, `yes`, `on` and `010` are not
YAML 1.1's boolean and octal."""
import json
import re
import sys

try:
    import yaml
    from jsonschema import Draft202012Validator
except ImportError as e:
    print(f"schema_corpus.py: {e.name or e}: install python3-jsonschema and python3-yaml", file=sys.stderr)
    sys.exit(77)


class CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core schema scalars instead of YAML 1.1's."""


CoreLoader.yaml_implicit_resolvers = {}
for tag, pattern, first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("null", r"^(?:~|null|Null|NULL|)$", list("~nN") + [""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", list("-+0123456789.")),
]:
    CoreLoader.add_implicit_resolver(f"tag:yaml.org,2002:{tag}", re.compile(pattern), first)


def core_int(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def core_float(loader, node):
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text.endswith(".nan"):
        return float("nan")
    return float(text)


CoreLoader.add_constructor("tag:yaml.org,2002:int", core_int)
CoreLoader.add_constructor("tag:yaml.org,2002:float", core_float)


def main(argv):
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        validator = Draft202012Validator(json.load(f))
    for path in argv[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                document = yaml.load(f, Loader=CoreLoader)
        except yaml.YAMLError as e:
            print(f"invalid\t{path}\tYAML: {str(e).splitlines()[0]}")
            continue
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path)
            message = errors[0].message.replace("\n", " ")[:200]
            print(f"invalid\t{path}\t{where}: {message}")
        else:
            print(f"valid\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
