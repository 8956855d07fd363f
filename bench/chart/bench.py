"""Link-chart benchmark and checks (run through scripts/bench-chart).

Serves bench/chart/ (the harness page) and node/src/daemon/console/web/static/ on
127.0.0.1 (a port the system picks), every answer under the console's
Content-Security-Policy, with synthetic graphs (graphs.py) at
/console/chart/graph.json?n=N&seed=S and expansions at ?record=ID. Drives
headless Debian Chromium (/usr/bin/chromium) with Playwright.

  bench.py [--sizes 500,2000,5000] [--runs 5] [--layouts auto,...]
  bench.py --check [--out DIR]

The benchmark prints a Markdown table: for each size, the layout's
duration as chart.js measures it (data-layout-ms: from the start of the
layout, in chart.js's worker, to the positions back on the page) as
median, min and max over the runs; when the chart was drawn (data-ready-ms:
from the same start to the first frame of the filled chart), median; and
the longest main-thread task (PerformanceObserver 'longtask') seen from
the layout's start to one second after the first frame, median and max.
--layouts compares others (fcose-whole: fcose on the whole graph at once;
cytoscape's own concentric, breadthfirst, grid). --check loads the
500-node chart and checks the exports, expanding, the keyboard, tiny
graphs, a failed load and the CSP, and saves screenshots.
"""

import argparse
import http.server
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import graphs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATIC = os.path.join(ROOT, "node", "src", "daemon", "console", "web", "static")
HARNESS = os.path.join(ROOT, "bench", "chart")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
TYPES = {".js": "application/javascript", ".mjs": "application/javascript", ".css": "text/css",
         ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8", ".json": "application/json",
         ".png": "image/png"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NASTY = "<b>&amp; \"q\" 'a' ]]> \x01\x0b\ufffe \U0001F600 \ud800 КУРБАНОВ"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body, ctype):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/console/chart/graph.json":
            if "application/json" not in self.headers.get("Accept", ""):
                return self.send(406, b"graph.json wants Accept: application/json\n", "text/plain")
            if q.get("fail"):
                return self.send(503, b"unavailable\n", "text/plain")
            seed = int(q.get("seed", "1"))
            if "record" in q:
                g = graphs.expansion(q["record"], seed)
            else:
                g = graphs.generate(int(q.get("n", "500")), seed)
            if q.get("nasty"):
                for node in g["nodes"][::7]:
                    node["label"] = NASTY + " " + node["label"]
                for edge in g["edges"][::5]:
                    edge["relation"] = "<rel & \"x\">"
            return self.send(200, json.dumps(g).encode(), "application/json")
        for prefix, folder in (("/console/static/", STATIC), ("/bench/chart/", HARNESS)):
            if url.path.startswith(prefix):
                rel = urllib.parse.unquote(url.path[len(prefix):])
                path = os.path.realpath(os.path.join(folder, rel))
                ext = os.path.splitext(path)[1]
                if (path.startswith(os.path.realpath(folder) + os.sep) and os.path.isfile(path)
                        and ext in TYPES and not path.endswith(".py")):
                    with open(path, "rb") as f:
                        return self.send(200, f.read(), TYPES[ext])
        if url.path == "/favicon.ico":
            return self.send(204, b"", "image/x-icon")
        print("bench-chart: 404 for %s" % self.path, file=sys.stderr)
        return self.send(404, b"not found\n", "text/plain")


def serve():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60000)


class Page:
    """A page that records console errors and CSP violations."""

    def __init__(self, context):
        self.page = context.new_page()
        self.console = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.console.append(("pageerror", str(e))))

    def problems(self):
        out = ["console %s: %s" % (t, x) for t, x in self.console
               if t in ("error", "pageerror") or "Content Security Policy" in x or "Refused" in x]
        out += ["CSP violation: " + v for v in self.page.evaluate("window.liaisonHarness.violations")]
        return out

    def open(self, url, timeout_ms):
        self.page.goto(url)
        self.page.wait_for_function(
            "() => { const b = document.getElementById('chart'); return b.dataset.ready === '1' || !!b.dataset.error; }",
            timeout=timeout_ms, polling=100)
        error = self.page.evaluate("document.getElementById('chart').dataset.error")
        if error:
            raise RuntimeError("chart failed to load: %s; %s" % (error, self.problems()))


def bench(args, base):
    from playwright.sync_api import sync_playwright
    rows = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            for layout in args.layouts:
                for n in args.sizes:
                    times, ready, longest, edges, name = [], [], [], None, None
                    for run in range(args.runs):
                        page = Page(context)
                        q = {"n": n, "seed": args.seed}
                        if layout != "auto":
                            q["layout"] = layout
                        if args.thread:
                            q["thread"] = args.thread
                        page.open(base + "/bench/chart/index.html?" + urllib.parse.urlencode(q),
                                  args.run_timeout * 1000)
                        # Let the first frames after the layout be drawn.
                        page.page.wait_for_timeout(1200)
                        r = page.page.evaluate("""() => {
                            const b = document.getElementById('chart');
                            return { ms: Number(b.dataset.layoutMs), name: b.dataset.layoutName,
                                     ready: Number(b.dataset.readyMs),
                                     nodes: window.liaisonChart.nodes().length,
                                     edges: window.liaisonChart.edges().length,
                                     longest: window.liaisonHarness.longestDuringLayout() };
                        }""")
                        problems = page.problems()
                        page.page.close()
                        if problems:
                            raise RuntimeError("; ".join(problems))
                        if r["nodes"] != n:
                            raise RuntimeError("expected %d nodes, the chart has %d" % (n, r["nodes"]))
                        times.append(r["ms"])
                        ready.append(r["ready"])
                        longest.append(r["longest"] or 0)
                        edges, name = r["edges"], r["name"]
                        print("bench-chart: %s n=%d run %d: layout %s %d ms, drawn at %d ms, longest task %d ms"
                              % (layout, n, run + 1, name, r["ms"], r["ready"], r["longest"] or 0), file=sys.stderr)
                    rows.append((n, edges, name if layout == "auto" else layout, times, ready, longest))
        finally:
            browser.close()
    thread = args.thread or "worker"
    print("| nodes | edges | layout | median layout ms | min | max | drawn, median ms | longest main-thread task, median ms | max |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    for n, edges, name, times, ready, longest in rows:
        print("| %d | %d | %s (%s) | %d | %d | %d | %d | %d | %d |" % (
            n, edges, name, thread, statistics.median(times), min(times), max(times),
            statistics.median(ready), statistics.median(longest), max(longest)))


def check(args, base):
    from playwright.sync_api import sync_playwright
    out = args.out or tempfile.mkdtemp(prefix="liaison-chart-check-")
    os.makedirs(out, exist_ok=True)
    failures = []

    def ok(cond, what):
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            failures.append(what)

    n = 500
    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page = Page(context)
            pg = page.page
            page.open(base + "/bench/chart/index.html?n=%d&seed=%d" % (n, args.seed), args.run_timeout * 1000)
            expected = graphs.generate(n, args.seed)
            pg.wait_for_timeout(1500)
            pg.screenshot(path=args.screenshot)
            print("screenshot: " + args.screenshot)
            # A closer look: the view at zoom 1 around the most linked person.
            pg.evaluate("""() => { const cy = window.liaisonChart;
                const p = cy.nodes('[kind = "person"]').max(n => n.degree()).ele;
                cy.zoom(1); cy.center(p); }""")
            pg.wait_for_timeout(800)
            zoomed = os.path.splitext(args.screenshot)[0] + "-zoom.png"
            pg.screenshot(path=zoomed)
            print("screenshot: " + zoomed)
            pg.evaluate("() => window.liaisonChart.fit(undefined, 30)")
            info = pg.evaluate("""() => ({
                nodes: window.liaisonChart.nodes().length, edges: window.liaisonChart.edges().length,
                styles: document.querySelectorAll('style').length,
                legend: [...document.querySelectorAll('#chart-legend li.legend-agency, #chart-legend li.legend-kind')].map(li => li.textContent),
                badge: document.querySelectorAll('#chart-legend li.legend-expand').length,
                layout: document.getElementById('chart').dataset.layoutName,
                ms: document.getElementById('chart').dataset.layoutMs,
                status: document.getElementById('chart-status').textContent })""")
            ok(info["nodes"] == n, "liaisonChart.nodes().length == %d (%d)" % (n, info["nodes"]))
            ok(info["edges"] == len(expected["edges"]), "liaisonChart.edges().length == %d (%d)"
               % (len(expected["edges"]), info["edges"]))
            ok(info["styles"] == 0, "cytoscape injected no <style> element")
            agencies = {x["agency"] for x in expected["nodes"]}
            kinds = {x["kind"] for x in expected["nodes"]}
            ok(len(info["legend"]) == len(agencies) + len(kinds) and info["badge"] == 1,
               "legend: one item per agency and kind, and the expand badge (%s)" % info["legend"])
            ok(bool(pg.workers), "the layout ran in a worker (%d worker(s); layout %s, %s ms)"
               % (len(pg.workers), info["layout"], info["ms"]))
            ok(info["status"].endswith("links"), "status: " + info["status"])

            # PNG
            with pg.expect_download(timeout=60000) as d:
                pg.click("#export-png")
            png = os.path.join(out, d.value.suggested_filename)
            d.value.save_as(png)
            with open(png, "rb") as f:
                head = f.read(24)
            ok(d.value.suggested_filename == "liaison-chart.png" and head[:8] == b"\x89PNG\r\n\x1a\n",
               "PNG export %s (%d x %d px)" % (png, int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")))
            pg.wait_for_function("() => document.getElementById('chart').dataset.lastExport === 'png'", timeout=5000)

            # SVG
            def export_svg(name):
                with pg.expect_download(timeout=60000) as d:
                    pg.click("#export-svg")
                path = os.path.join(out, name)
                d.value.save_as(path)
                pg.wait_for_function("() => document.getElementById('chart').dataset.lastExport === 'svg'", timeout=5000)
                return d.value.suggested_filename, path
            name, svg = export_svg("liaison-chart.svg")
            try:
                root = ET.parse(svg).getroot()
                ns = "{http://www.w3.org/2000/svg}"
                groups = root.findall(".//%sg[@id='nodes']/%sg" % (ns, ns))
                lines = root.findall(".//%sline" % ns)
                ok(name == "liaison-chart.svg" and len(groups) == n and len(lines) == len(expected["edges"]),
                   "SVG export %s parses: %d nodes, %d edges" % (svg, len(groups), len(lines)))
            except ET.ParseError as e:
                ok(False, "SVG export %s parses: %s" % (svg, e))

            # Keyboard: ] selects the most linked node; Escape unselects.
            pg.focus("#chart")
            pg.keyboard.press("]")
            sel = pg.evaluate("window.liaisonChart.nodes(':selected').map(n => n.id())")
            ok(len(sel) == 1, "] selects a node (%s)" % sel)
            pg.keyboard.press("Escape")

            # Expand with the button.
            target = next(x for x in expected["nodes"] if x.get("expand"))
            exp = graphs.expansion(target["id"], args.seed)
            new = [x for x in exp["nodes"] if x["id"] != target["id"]]
            pg.evaluate("id => window.liaisonChart.getElementById(id).select()", target["id"])
            ok(pg.is_enabled("#expand"), "#expand is enabled for a node that can be expanded")
            pg.click("#expand")
            pg.wait_for_function("() => document.getElementById('chart').dataset.expanded === '1'", timeout=30000)
            got = pg.evaluate("""id => ({ nodes: window.liaisonChart.nodes().length,
                edges: window.liaisonChart.edges().length,
                near: window.liaisonChart.getElementById(id).neighborhood('node').length,
                legend: document.querySelectorAll('#chart-legend li.legend-agency, #chart-legend li.legend-kind').length })""", target["id"])
            ok(got["nodes"] == n + len(new) and got["edges"] == len(expected["edges"]) + len(exp["edges"]),
               "expand merges: %d nodes (+%d), %d edges" % (got["nodes"], len(new), got["edges"]))
            ok(got["legend"] == len(info["legend"]) + 1, "the legend names the new agency")
            pg.wait_for_timeout(500)
            pg.screenshot(path=os.path.join(out, "after-expand.png"))

            # Expand again (same node): nothing is duplicated.
            pg.click("#expand")
            pg.wait_for_function("() => document.getElementById('chart').dataset.expanded === '2'", timeout=30000)
            again = pg.evaluate("window.liaisonChart.nodes().length")
            said = pg.text_content("#chart-status")
            ok(again == got["nodes"] and said.startswith("Nothing more to add."),
               "expanding twice adds nothing (%d nodes; %s)" % (again, said))

            # Expand by double-clicking another node.
            other = [x for x in expected["nodes"] if x.get("expand") and x["id"] != target["id"]][0]
            pos = pg.evaluate("""id => { const cy = window.liaisonChart; const n = cy.getElementById(id);
                cy.center(n); const r = n.renderedPosition(); const b = cy.container().getBoundingClientRect();
                return { x: b.left + r.x, y: b.top + r.y }; }""", other["id"])
            pg.wait_for_timeout(300)
            pg.mouse.dblclick(pos["x"], pos["y"])
            pg.wait_for_function("() => document.getElementById('chart').dataset.expanded === '3'", timeout=30000)
            exp2 = graphs.expansion(other["id"], args.seed)
            after = pg.evaluate("window.liaisonChart.nodes().length")
            ok(after == again + len(exp2["nodes"]) - 1, "double-click expands (%d nodes)" % after)

            ok(not page.problems(), "no console error or CSP violation %s" % page.problems())
            pg.close()

        finally:
            browser.close()
    return failures, out


def nasty_check(args, base, out):
    """Labels with markup, quotes, control characters and lone surrogates:
    the SVG export must still be well-formed XML."""
    from playwright.sync_api import sync_playwright
    failures = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 700}, accept_downloads=True)
            page = Page(context)
            pg = page.page
            page.open(base + "/bench/chart/index.html?n=60&nasty=1&thread=main", args.run_timeout * 1000)
            with pg.expect_download(timeout=60000) as d:
                pg.click("#export-svg")
            path = os.path.join(out, "nasty.svg")
            d.value.save_as(path)
            try:
                root = ET.parse(path).getroot()
                texts = "".join(root.itertext())
                good = "<b>&amp; \"q\" 'a'" in texts and "]]>" in texts and "\U0001F600" in texts and "\x01" not in texts
                print(("ok   " if good else "FAIL ") + "SVG export with markup in labels parses and keeps the text (%s)" % path)
                if not good:
                    failures.append("nasty SVG text")
            except ET.ParseError as e:
                print("FAIL SVG export with markup in labels: %s" % e)
                failures.append("nasty SVG parse")
            problems = page.problems()
            print(("ok   " if not problems else "FAIL ") + "no console error or CSP violation on the main-thread layout %s" % problems)
            failures += problems
            # Tiny graphs (fcose wants three nodes) and a failing server.
            for n in (0, 1, 2, 3):
                page = Page(context)
                page.open(base + "/bench/chart/index.html?n=%d" % n, args.run_timeout * 1000)
                got = page.page.evaluate("() => window.liaisonChart.nodes().length")
                good = got == n and not page.problems()
                print(("ok   " if good else "FAIL ") + "a graph of %d node(s) is drawn (%d) %s" % (n, got, page.problems()))
                if not good:
                    failures.append("tiny graph %d" % n)
                page.page.close()
            page = Page(context)
            page.page.goto(base + "/bench/chart/index.html?fail=1")
            page.page.wait_for_function("() => !!document.getElementById('chart').dataset.error", timeout=30000)
            st = page.page.evaluate("() => [document.getElementById('chart').dataset.error, document.getElementById('chart-status').textContent]")
            good = st[0] == "503" and "503" in st[1]
            print(("ok   " if good else "FAIL ") + "a failed load says so: %s" % st)
            if not good:
                failures.append("failed load")
        finally:
            browser.close()
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="500,2000,5000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--layouts", default="auto",
                    help="comma-separated: auto (what chart.js picks), fcose, fcose-draft, cose, concentric, breadthfirst, grid")
    ap.add_argument("--thread", choices=["worker", "main"], default=None,
                    help="where fCoSE runs (default: chart.js's choice, a worker)")
    ap.add_argument("--run-timeout", type=int, default=180, help="seconds for one page to lay out")
    ap.add_argument("--total-timeout", type=int, default=3600, help="seconds for the whole script")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=None, help="--check: where exports go")
    ap.add_argument("--screenshot", default="/tmp/chart-500.png")
    args = ap.parse_args()
    args.sizes = [int(x) for x in args.sizes.split(",")]
    args.layouts = args.layouts.split(",")

    def expired(signum, frame):
        raise TimeoutError("bench-chart: over --total-timeout (%d s)" % args.total_timeout)
    signal.signal(signal.SIGALRM, expired)
    signal.alarm(args.total_timeout)

    server, base = serve()
    try:
        if args.check:
            failures, out = check(args, base)
            failures += nasty_check(args, base, out)
            print("exports in " + out)
            print("%d passed, %d failed" % (0, len(failures)) if failures else "checks: all passed")
            sys.exit(1 if failures else 0)
        else:
            bench(args, base)
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
