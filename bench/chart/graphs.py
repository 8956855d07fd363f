"""Synthetic link-chart graphs shaped like case data, in the format of
GET /console/chart/graph.json (node/src/daemon/console/web/static/chart.js reads it).

Persons come in small groups (a case each), every group held by one agency.
A person has one or two phones, often an identity document, sometimes a
vehicle, an e-mail address, a bank account or a device; groups may have an
organisation and a case record that name several of their persons. Phones
call each other, mostly inside their group and now and then across groups,
and a few phones or vehicles are shared by two persons of a group. Edges are
added until there are round(1.5 * n) of them. Everything follows from the
seed: the same (n, seed) gives the same graph.
"""

import random

OURS = "kg-border"
AGENCIES = {
    "kg-border": "#1f6feb",
    "kg-police": "#1a7f37",
    "tj-drug-control": "#d1242f",
    "uz-customs": "#9a6700",
    "kz-fin-intel": "#8250df",
}
# Our own agency holds most of what is on a chart; the rest came from peers.
AGENCY_WEIGHTS = [("kg-border", 5), ("kg-police", 2), ("tj-drug-control", 2),
                  ("uz-customs", 1), ("kz-fin-intel", 1)]

SURNAMES = ["KURBANOV", "ASANOV", "TOKTOGULOV", "RAKHIMOV", "NAZAROV", "SHARIPOV",
            "ISMAILOV", "KARIMOVA", "ABDULLAEVA", "MAMATOV", "YUSUPOV", "SADYKOV",
            "ORUNBAEV", "DZHUMABAEV", "SULTANOVA", "TURSUNOV", "KHOLMATOV", "AZIMOV"]
GIVEN = ["Yusuf", "Aibek", "Nurlan", "Dilnoza", "Farrukh", "Gulnara", "Timur",
         "Aziza", "Bakyt", "Zarina", "Rustam", "Madina", "Ulan", "Saida", "Emil"]
COMPANIES = ["Silk Way Logistics", "Pamir Trade", "Altyn Group", "Ferghana Cargo",
             "Tengri Motors", "Issyk Fruit", "Navruz Invest"]

# (kind, relation, probability that a person has one, label maker)
ATTRIBUTES = [
    ("document", "document", 0.6, lambda r: "%s%07d" % (r.choice(["AN", "ID", "AC"]), r.randrange(10**7))),
    ("vehicle", "vehicle", 0.25, lambda r: "%02d KG %03d %s" % (r.randrange(1, 10), r.randrange(1000), "".join(r.choice("ABEKMNOPTX") for _ in range(3)))),
    ("email", "email", 0.15, lambda r: "%s.%s@mail.example" % (r.choice(GIVEN).lower(), r.randrange(100))),
    ("account", "account", 0.15, lambda r: "KG%02d %04d %04d %04d" % (r.randrange(100), r.randrange(10**4), r.randrange(10**4), r.randrange(10**4))),
    ("device", "device", 0.1, lambda r: "IMEI 35%013d" % r.randrange(10**13)),
]


def phone_label(r):
    return "+996 %d%02d %03d %03d" % (r.choice([5, 7, 9]), r.randrange(100), r.randrange(1000), r.randrange(1000))


def generate(n, seed=1):
    """A graph of exactly n nodes and round(1.5 * n) edges (fewer only when
    n is too small to hold that many distinct links)."""
    r = random.Random("%d/%d" % (seed, n))
    nodes, edges, group_of, phones_of = [], [], {}, {}
    seen_pairs = set()

    def add_node(kind, label, agency, group):
        node_id = "%s:%d" % (kind[:2], len(nodes) + 1)
        node = {"id": node_id, "kind": kind, "label": label, "agency": agency,
                "ours": agency == OURS}
        # Records and some persons can be opened further (graph.json?record=…).
        if kind == "record" or (kind == "person" and r.random() < 0.3):
            node["expand"] = "/console/chart/graph.json?record=" + node_id
        nodes.append(node)
        group_of[node_id] = group
        return node_id

    def add_edge(a, b, relation, count=None):
        key = (min(a, b), max(a, b), relation)
        if a == b or key in seen_pairs:
            return False
        seen_pairs.add(key)
        edges.append({"id": "e:%d" % (len(edges) + 1), "source": a, "target": b,
                      "relation": relation, "count": count})
        return True

    group = 0
    while len(nodes) < n:
        group += 1
        agency = r.choices([a for a, _ in AGENCY_WEIGHTS], [w for _, w in AGENCY_WEIGHTS])[0]
        persons = []
        for _ in range(r.randint(2, 9)):
            if len(nodes) >= n:
                break
            p = add_node("person", "%s %s %d-%02d-%02d" % (
                r.choice(SURNAMES), r.choice(GIVEN), r.randint(1960, 2004),
                r.randint(1, 12), r.randint(1, 28)), agency, group)
            persons.append(p)
            for _ in range(1 if r.random() < 0.7 else 2):
                if len(nodes) >= n:
                    break
                ph = add_node("phone", phone_label(r), agency, group)
                phones_of.setdefault(group, []).append(ph)
                add_edge(p, ph, "phone")
            for kind, relation, prob, label in ATTRIBUTES:
                if len(nodes) < n and r.random() < prob:
                    add_edge(p, add_node(kind, label(r), agency, group), relation)
        if len(persons) >= 3 and len(nodes) < n and r.random() < 0.3:
            org = add_node("organisation", r.choice(COMPANIES), agency, group)
            for p in r.sample(persons, r.randint(2, min(4, len(persons)))):
                add_edge(p, org, "member")
        if persons and len(nodes) < n and r.random() < 0.4:
            rec = add_node("record", "CASE-%d-%04d" % (r.randint(2019, 2026), r.randrange(10**4)),
                           agency, group)
            for p in r.sample(persons, r.randint(1, min(3, len(persons)))):
                add_edge(p, rec, "subject")

    # Calls (and a few shared phones) up to 1.5 edges per node.
    target = round(1.5 * n)
    groups = sorted(phones_of)
    persons_of = {}
    for node in nodes:
        if node["kind"] == "person":
            persons_of.setdefault(group_of[node["id"]], []).append(node["id"])
    attempts = 0
    while len(edges) < target and groups and attempts < 50 * n:
        attempts += 1
        g = r.choice(groups)
        a = r.choice(phones_of[g])
        if r.random() < 0.06 and len(persons_of.get(g, [])) > 1:
            add_edge(r.choice(persons_of[g]), a, "phone")
            continue
        h = g if r.random() < 0.85 else r.choice(groups)
        b = r.choice(phones_of[h])
        add_edge(a, b, "call", min(1 + int(r.expovariate(0.3)), 99))
    return {"nodes": nodes, "edges": edges, "agencies": dict(AGENCIES)}


def expansion(node_id, seed=1):
    """What graph.json?record=<node_id> answers: the node itself again (the
    chart must not duplicate it), 3 to 8 new linked nodes, one of them held
    by an agency the first graph did not name."""
    r = random.Random("expand/%d/%s" % (seed, node_id))
    agency = r.choice(list(AGENCIES))
    me = {"id": node_id, "kind": "record" if node_id.startswith("re:") else "person",
          "label": "(again)", "agency": agency, "ours": agency == OURS}
    nodes, edges = [me], []
    for i in range(r.randint(3, 8)):
        kind = r.choice(["person", "phone", "document", "vehicle", "account", "record"])
        new_agency = "ru-mvd" if i == 0 else agency
        nid = "x:%s:%d" % (node_id, i)
        label = phone_label(r) if kind == "phone" else "%s %s" % (r.choice(SURNAMES), r.choice(GIVEN))
        nodes.append({"id": nid, "kind": kind, "label": label, "agency": new_agency,
                      "ours": new_agency == OURS})
        edges.append({"id": "x:e:%s:%d" % (node_id, i), "source": node_id, "target": nid,
                      "relation": "call" if kind == "phone" else "linked",
                      "count": r.randint(1, 9) if kind == "phone" else None})
    agencies = dict(AGENCIES)
    agencies["ru-mvd"] = "#bf3989"
    return {"nodes": nodes, "edges": edges, "agencies": agencies}


if __name__ == "__main__":
    import collections
    import json
    import sys
    g = generate(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
    print(len(g["nodes"]), "nodes", len(g["edges"]), "edges",
          dict(collections.Counter(x["kind"] for x in g["nodes"])),
          dict(collections.Counter(x["relation"] for x in g["edges"])), file=sys.stderr)
    json.dump(g, sys.stdout)
