"""Checks STIX 2.1 bundles written by Liaison with the reference tools.

Usage: python check.py FILE...

For each file: the OASIS validator (stix2-validator) in strict mode, where
every SHOULD is an error, must find it valid; the stix2 library must parse
it (allow_custom=True: our observables are declared by our extension
definition); and every email-addr id must be the one stix2 computes from
its value (the spec's UUIDv5). Exits 0 when every file passes, 1 otherwise,
naming each failure; exits 2 when a package is missing or not at the
pinned version (requirements.txt beside this file).
"""

import json
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PINNED = {}
for line in (Path(__file__).parent / "requirements.txt").read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        name, _, ver = line.partition("==")
        PINNED[name] = ver

for name in ("stix2", "stix2-validator"):
    try:
        have = version(name)
    except PackageNotFoundError:
        print(f"{name} is not installed: run scripts/browser-deps", file=sys.stderr)
        sys.exit(2)
    if have != PINNED[name]:
        print(f"{name} is {have}, not the pinned {PINNED[name]}: run scripts/browser-deps", file=sys.stderr)
        sys.exit(2)

import stix2  # noqa: E402
from stix2validator import ValidationOptions, validate_instance  # noqa: E402


def check(path):
    errors = []
    bundle = json.loads(Path(path).read_text(encoding="utf-8"))
    results = validate_instance(bundle, ValidationOptions(version="2.1", strict=True))
    # One result for the bundle; in strict mode SHOULDs are errors too.
    for e in results.errors or []:
        errors.append(f"validator: {e}")
    for w in results.warnings or []:
        errors.append(f"validator (strict): {w}")
    if not results.is_valid and not errors:
        errors.append(f"validator: invalid: {results.as_dict()}")
    try:
        parsed = stix2.parse(bundle, allow_custom=True)
        ours = {o["id"] for o in bundle["objects"]}
        got = {o["id"] for o in parsed.objects}
        if got != ours:
            errors.append(f"stix2: parsed {len(got)} objects of {len(ours)}")
    except Exception as e:  # noqa: BLE001 - any refusal is the finding
        errors.append(f"stix2: {type(e).__name__}: {e}")
    for o in bundle["objects"]:
        if o["type"] == "email-addr":
            want = stix2.EmailAddress(value=o["value"]).id
            if o["id"] != want:
                errors.append(f"email-addr {o['value']!r}: id {o['id']}, stix2 computes {want}")
    return errors


def main(paths):
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    failed = False
    for path in paths:
        errors = check(path)
        if errors:
            failed = True
            print(f"{path}: INVALID")
            for e in errors:
                print(f"  {e}")
        else:
            n = len(json.loads(Path(path).read_text(encoding="utf-8"))["objects"])
            print(f"{path}: valid (stix2-validator {version('stix2-validator')} --strict; stix2 {version('stix2')} parsed {n} objects)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
