#!/usr/bin/env python3
"""Regenerates the configuration table in SPEC.md §2 from the KEYS table in src/config/keys.rs.

Run from the repository root after adding or changing a configuration key:
    python3 scripts/spec-config-table.py
tests/cli/spec_sync.rs fails when a key or environment name is missing from SPEC.md.
"""
import re
import sys

import glob


def resolve_const(path):
    """The string value of a `pub const NAME: &str = "…";` anywhere under src/."""
    name = path.split("::")[-1]
    for f in glob.glob("src/**/*.rs", recursive=True):
        text = open(f).read()
        m = re.search(r"pub const " + name + r': &str =\s*"((?:[^"\\]|\\.)*)"', text, re.S)
        if m:
            return m.group(1)
    return name


src = open("src/config/keys.rs").read()
start = src.index("pub const KEYS")
keys_src = src[start:src.index("\n];", start)]
flat = re.sub(r"\s+", " ", keys_src)
rows = []
for e in flat.split("KeyDef {")[1:]:
    key = re.search(r'key: "([^"]+)"', e).group(1)
    flag = re.search(r'flag: (None|Some\("([^"]+)"\))', e)
    flag = flag.group(2) if flag.group(1) != "None" else None
    envs = re.search(r"envs: &\[([^\]]*)\]", e).group(1)
    d = re.search(r'default: (None|Some\("([^"]*)"\)|Some\(([A-Za-z_:]+)\))', e)
    if d.group(1) == "None":
        default = None
    elif d.group(3):
        default = resolve_const(d.group(3))
    else:
        default = d.group(2)
    help_text = re.search(r'help: "((?:[^"\\]|\\.)*)"', e).group(1)
    envs = ", ".join("`%s`" % x.strip().strip('"') for x in envs.split(",") if x.strip())
    shown = "" if default is None else ("empty" if default == "" else "`" + default + "`")
    rows.append(f"| `{key}` | {('`' + flag + '`') if flag else ''} | {envs} | {shown} | {help_text} |")

spec = open("SPEC.md").read()
header = "| key | flag | environment | default | meaning |\n|---|---|---|---|---|\n"
a = spec.index(header) + len(header)
b = spec.index("\nThe token:", a)
open("SPEC.md", "w").write(spec[:a] + "\n".join(rows) + "\n" + spec[b:])
print(f"{len(rows)} keys written to SPEC.md", file=sys.stderr)
