#!/usr/bin/env python3
"""Compares an ANX chart written by Liaison with the same chart written by
anxwritter (PyPI, an independent ANX writer), element by element.

    $LIAISON_VENV/bin/python tests/formats/anx/compare.py OURS.anx

The chart's content (grade lists, source hints, attribute classes and their
types, entity and link types, every entity with its identity, label, icon
type, grades, source, position, attributes and cards, every link with its
ends, type, arrow, date and time, time zone, grades, source, attributes and
cards) is read from OURS and handed to anxwritter's API; anxwritter decides
the structure. Both documents are then canonicalised (references replaced by
what they point at, the differences listed in ACCEPTED removed) and compared
element by element: element names, nesting and order, and every attribute
and its value. Any other difference fails, printing each with its path.

Exit status: 0 when the structures agree, 1 on a structural difference, 2
when the file or anxwritter cannot be read.
"""

import sys
import xml.etree.ElementTree as ET

try:
    import anxwritter
    from anxwritter import ANXChart, GradeCollection
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(f"anxwritter is not installed ({e}): run scripts/browser-deps", file=sys.stderr)
    sys.exit(2)

# The differences between the two writers that are accepted, with why.
# Attribute names, per element (`*` for any element).
ACCEPTED_ATTRIBUTES = {
    "*": {
        # Element ids: each writer numbers its own; every reference to an
        # id is compared by the name, text or identity it points at.
        "Id": "ids are numbered by each writer; references are compared by what they name",
    },
    "Palette": {
        "Name": "a palette named after its writer: `Liaison` here, `anxwritter` there",
    },
}

# Attribute values are compared after XML attribute-value normalisation
# (XML 1.0, 3.3.3: a tab, carriage return or line feed read as a space).
# Why: anxwritter writes line breaks inside attribute values raw, which
# every XML reader, Analyst's Notebook's included, reads as spaces; Liaison
# writes them as character references (&#10;) so a card's lines survive.
# The difference is in the value's line breaks only, never in structure.
NORMALISED_WHITESPACE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})

REFERENCE_ATTRIBUTES = {
    "AttributeClassReference",
    "EntityTypeReference",
    "LinkTypeReference",
}


def read_anx(path):
    raw = open(path, "rb").read()
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8-sig")
    # ElementTree refuses a str whose declaration names another encoding.
    if text.startswith("<?xml"):
        text = text[text.index("?>") + 2:]
    return ET.fromstring(text)


def strings(chart, tag):
    el = chart.find(tag)
    if el is None:
        return []
    return [s.get("Text") for s in el.find("StringCollection").findall("String")]


# The index of each grade list's "-" entry (ungraded), set by rebuild():
# anxwritter points an item given no grade at that entry itself.
UNGRADED = {}


def grade(el, attr):
    value = el.get(attr)
    if value is None or UNGRADED.get(attr) == int(value):
        return None
    return int(value)


def date_time(el):
    """(date, time) for anxwritter from an element's DateSet/TimeSet/DateTime."""
    if el.get("DateSet") != "true":
        return None, None
    dt = el.get("DateTime")
    date, _, time = dt.partition("T")
    return date, (time.split(".")[0] if el.get("TimeSet") == "true" else None)


def timezone(el):
    tz = el.find("TimeZone")
    if tz is None:
        return None
    return {"id": int(tz.get("UniqueID")), "name": tz.get("Name")}


def cards(holder):
    out = []
    coll = holder.find("CardCollection")
    for c in coll.findall("Card") if coll is not None else []:
        date, time = date_time(c)
        card = {
            "summary": c.get("Summary"),
            "date": date,
            "time": time,
            "description": c.get("Text"),
            "source_ref": c.get("SourceReference"),
            "source_type": c.get("SourceType"),
            "grade_one": grade(c, "GradeOneIndex"),
            "grade_two": grade(c, "GradeTwoIndex"),
            "grade_three": grade(c, "GradeThreeIndex"),
            "timezone": timezone(c),
        }
        out.append({k: v for k, v in card.items() if v is not None})
    return out


def attributes(item, class_types):
    out = {}
    coll = item.find("AttributeCollection")
    for a in coll.findall("Attribute") if coll is not None else []:
        name, value = a.get("AttributeClass"), a.get("Value")
        t = class_types[name]
        if t == "AttNumber":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        elif t == "AttFlag":
            value = value == "true"
        out[name] = value
    return out


ARROWS = {None: None, "ArrowOnHead": "->", "ArrowOnTail": "<-", "ArrowOnBoth": "<->"}


def rebuild(ours):
    """The chart OURS describes, written by anxwritter."""
    chart = ANXChart()
    one, two, three = (strings(ours, t) for t in ("GradeOne", "GradeTwo", "GradeThree"))
    # anxwritter appends the "-" entry for ungraded items itself.
    for name, items in (("grades_one", one), ("grades_two", two), ("grades_three", three)):
        if items and items[-1] == "-":
            items = items[:-1]
            UNGRADED[{"grades_one": "GradeOneIndex", "grades_two": "GradeTwoIndex",
                      "grades_three": "GradeThreeIndex"}[name]] = len(items)
        setattr(chart, name, GradeCollection(items=items))
    chart.source_types = strings(ours, "SourceHints")

    class_types = {}
    for ac in ours.find("AttributeClassCollection") or []:
        class_types[ac.get("Name")] = ac.get("Type")
    for et in ours.find("EntityTypeCollection") or []:
        rep = et.get("PreferredRepresentation")
        chart.add_entity_type(name=et.get("Name"), representation="icon" if rep == "RepresentAsIcon" else None)
    for lt in ours.find("LinkTypeCollection") or []:
        chart.add_link_type(name=lt.get("Name"))

    identities = {}
    items = ours.find("ChartItemCollection")
    for item in items.findall("ChartItem"):
        entity = item.find("End/Entity")
        if entity is None:
            continue
        identities[entity.get("EntityId")] = entity.get("Identity")
        end = item.find("End")
        chart.add_icon(
            id=entity.get("Identity"),
            type=entity.find("Icon/IconStyle").get("Type"),
            label=item.get("Label"),
            x=int(end.get("X")),
            y=int(end.get("Y")),
            source_ref=item.get("SourceReference"),
            source_type=item.get("SourceType"),
            grade_one=grade(item, "GradeOneIndex"),
            grade_two=grade(item, "GradeTwoIndex"),
            grade_three=grade(item, "GradeThreeIndex"),
            attributes=attributes(item, class_types),
            cards=cards(entity),
        )
    for item in items.findall("ChartItem"):
        link = item.find("Link")
        if link is None:
            continue
        style = link.find("LinkStyle")
        date, time = date_time(item)
        chart.add_link(
            from_id=identities[link.get("End1Id")],
            to_id=identities[link.get("End2Id")],
            type=style.get("Type"),
            label=item.get("Label"),
            arrow=ARROWS[style.get("ArrowStyle")],
            date=date,
            time=time,
            timezone=timezone(item),
            source_ref=item.get("SourceReference"),
            source_type=item.get("SourceType"),
            grade_one=grade(item, "GradeOneIndex"),
            grade_two=grade(item, "GradeTwoIndex"),
            grade_three=grade(item, "GradeThreeIndex"),
            attributes=attributes(item, class_types),
            cards=cards(link),
        )
    return ET.fromstring(chart.to_xml(compact=False).split("?>", 1)[1])


def canonical(root):
    """The tree as (tag, attributes, children), references resolved."""
    names = {}
    for el in root.iter():
        if el.get("Id") is not None:
            names[el.get("Id")] = el.get("Name") or el.get("Text") or el.get("Label")
    identities = {
        e.get("EntityId"): e.get("Identity") for e in root.iter("Entity")
    }

    def walk(el):
        attrs = {}
        for k, v in el.attrib.items():
            if k in ACCEPTED_ATTRIBUTES["*"] or k in ACCEPTED_ATTRIBUTES.get(el.tag, {}):
                continue
            if k in REFERENCE_ATTRIBUTES:
                v = "-> " + str(names.get(v, f"(dangling {v})"))
            elif k in ("EntityId", "End1Id", "End2Id"):
                v = "-> " + str(identities.get(v, f"(dangling {v})"))
            attrs[k] = v.translate(NORMALISED_WHITESPACE)
        return (el.tag, attrs, [walk(c) for c in el])

    return walk(root)


def compare(ours, theirs, path, out):
    """Appends to `out` every difference between two canonical elements at
    `path` (`/Chart/ChartItemCollection/ChartItem[3]/End/Entity`)."""
    tag, attrs, children = ours
    ttag, tattrs, tchildren = theirs
    if tag != ttag:
        out.append(f"{path}: element <{tag}> here, <{ttag}> in anxwritter's")
        return
    for k in sorted(set(attrs) | set(tattrs)):
        if attrs.get(k) != tattrs.get(k):
            out.append(f"{path}/@{k}: {attrs.get(k)!r} here, {tattrs.get(k)!r} in anxwritter's")
    ours_tags = [c[0] for c in children]
    theirs_tags = [c[0] for c in tchildren]
    if ours_tags != theirs_tags:
        out.append(f"{path}: children {ours_tags} here, {theirs_tags} in anxwritter's")
        return
    counts = {t: ours_tags.count(t) for t in ours_tags}
    seen = {}
    for a, b in zip(children, tchildren):
        n = seen[a[0]] = seen.get(a[0], 0) + 1
        compare(a, b, f"{path}/{a[0]}" + (f"[{n}]" if counts[a[0]] > 1 else ""), out)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        ours = read_anx(argv[1])
    except (OSError, ET.ParseError, UnicodeDecodeError) as e:
        print(f"{argv[1]}: cannot read: {e}", file=sys.stderr)
        return 2
    if ours.tag != "Chart":
        print(f"{argv[1]}: the root is <{ours.tag}>, not <Chart>", file=sys.stderr)
        return 1
    try:
        theirs = rebuild(ours)
    except Exception as e:  # anxwritter refusing the content is a finding
        print(f"anxwritter {anxwritter.__version__} refuses the chart: {e}", file=sys.stderr)
        return 1
    diffs = []
    compare(canonical(ours), canonical(theirs), "/Chart", diffs)
    items = len(ours.find("ChartItemCollection") or [])
    if diffs:
        print(f"{len(diffs)} structural difference(s) from anxwritter {anxwritter.__version__}:", file=sys.stderr)
        for d in diffs:
            print("  " + d, file=sys.stderr)
        return 1
    print(f"same structure as anxwritter {anxwritter.__version__}: {items} chart items, "
          f"{sum(1 for _ in ours.iter())} elements compared")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
