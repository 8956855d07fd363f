// Liaison console: the link chart of GET /console/chart.
//
// The page has #chart (data-graph: the URL of graph.json; data-msg-* and
// data-kind-* / data-rel-* / data-agency-*: the words shown to the analyst,
// translated by the server), #chart-tools (#export-png, #export-svg,
// #relayout, #expand), #chart-status and #chart-legend. It loads, in order,
// vendor/cytoscape/cytoscape.min.js, vendor/layout-base/layout-base.js,
// vendor/cose-base/cose-base.js, vendor/cytoscape-fcose/cytoscape-fcose.js
// (classic scripts, defer), then this file as a module.
//
// Layout (layoutJob below): leaves (nodes with a single link, such as a
// person's documents and vehicles) are folded into the node they hang
// from; what is left is laid out with fCoSE, as a whole when it is small
// (LAYOUT_WHOLE_MAX), else group by group (Louvain communities, one fCoSE
// run each) and then the groups as boxes (one more fCoSE run, then pushed
// apart so that none overlap); the leaves go on a ring around their node.
// This runs in a Web Worker (this same file, loaded as a classic worker
// script, lays out a headless copy of the graph), so the page stays
// responsive; where no worker can be had, it runs on the page. The chart
// is then filled ADD_SLICE elements per task and drawn once.
//
// The file is written to run both as a module on the page and as a classic
// script in the worker: no import/export, no import.meta. Everything runs
// under the console's Content-Security-Policy: no inline script or style,
// no eval; element styles are set through the CSSOM only.
//
// Words (attributes of #chart, all optional; numbers stand alone without
// them): data-msg-loading (while fetching; also while laying out, unless
// data-msg-layout), data-msg-nodes and data-msg-edges (the words after the
// numbers of nodes and links: "500 nodes, 750 links"; or data-msg-nodes
// alone as a template with {nodes} and {edges}), data-msg-expanded (before
// the numbers added: "Added: 4 nodes, 4 links."; or a template),
// data-msg-nothing (an expansion added nothing), data-msg-error (followed
// by the HTTP status in brackets, or a template with {status}),
// data-msg-ours (after our agency's name in the legend), data-msg-expand
// (the legend's line for the "+" badge of nodes that can be expanded;
// data-msg-expandable instead if present). Names: data-msg-kind-<kind>,
// data-msg-rel-<relation>, data-msg-agency-<agency id> (also without
// "msg-"), else the ids themselves.
//
// For tests: window.liaisonChart is the cytoscape instance once the first
// layout is done and drawn; #chart gets data-ready="1", data-layout-ms (the
// duration of the last layout, ms), data-ready-ms (from the start of the
// first layout to the chart drawn), data-layout-name, data-expanded (how
// many expansions were merged) and, after an export, data-last-export
// ("png" or "svg"); data-error holds the HTTP status (or "network",
// "data") of a failed load. Harness settings: data-layout (one of LAYOUTS)
// and data-layout-thread="main" (no worker).

(function (scope) {
  'use strict';

  var KINDS = ['person', 'phone', 'document', 'vehicle', 'organisation', 'account',
    'device', 'email', 'record', 'other'];
  // Elements (nodes + edges) above which the renderer goes to its fast mode.
  var BIG = 1000;
  // Elements added to the chart in one go (one task) when it is made.
  var ADD_SLICE = 1000;
  var NODE_SIZE = 36;
  var FONT = 'Helvetica Neue, Helvetica, Arial, sans-serif';
  var LABEL_FONT_SIZE = 11;
  var LABEL_MAX_WIDTH = 120;
  var EDGE_FONT_SIZE = 9;
  var DEFAULT_COLOUR = '#6e7781';
  var PNG_MAX = 8192;
  // Laid out as if each node were this large, so labels do not overlap.
  var LAYOUT_BOX = { w: 96, h: 64 };
  var LAYOUTS = ['fcose', 'fcose-whole', 'fcose-groups', 'cose', 'concentric', 'breadthfirst', 'grid'];
  // Above this many nodes (leaves folded), fcose lays out groups one by
  // one, then the groups as a whole; up to it, the whole graph at once.
  var LAYOUT_WHOLE_MAX = 150;
  // The vendored scripts the worker loads, in the page's order.
  var VENDOR = ['vendor/cytoscape/cytoscape.min.js', 'vendor/layout-base/layout-base.js',
    'vendor/cose-base/cose-base.js', 'vendor/cytoscape-fcose/cytoscape-fcose.js'];

  if (typeof document === 'undefined') {
    if (typeof scope.importScripts === 'function') workerMain(scope);
    return;
  }

  function ready(fn) {
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', fn);
    else fn();
  }
  ready(main);

  // ---- helpers -------------------------------------------------------

  function staticBase() {
    var scripts = document.querySelectorAll('script[src]');
    for (var i = 0; i < scripts.length; i++) {
      var u = new URL(scripts[i].src, document.baseURI);
      if (/\/chart\.js$/.test(u.pathname)) {
        return { base: u.href.replace(/chart\.js(\?.*)?$/, ''), chart: u.href };
      }
    }
    return { base: new URL('/console/static/', document.baseURI).href, chart: null };
  }

  function sameOrigin(url) {
    try {
      var u = new URL(url, document.baseURI);
      return u.origin === location.origin ? u.href : null;
    } catch (e) {
      return null;
    }
  }

  function colour(c) {
    return typeof c === 'string' && /^#(?:[0-9a-fA-F]{3}){1,2}$/.test(c) ? c : DEFAULT_COLOUR;
  }

  // The colour c mixed with white: 1 - amount of c.
  function tint(c, amount) {
    var h = c.slice(1);
    if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
    var out = '#';
    for (var i = 0; i < 3; i++) {
      var v = parseInt(h.substr(i * 2, 2), 16);
      v = Math.round(v + (255 - v) * amount);
      out += (v < 16 ? '0' : '') + v.toString(16);
    }
    return out;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) {
      return Object.prototype.hasOwnProperty.call(values, k) ? String(values[k]) : m;
    });
  }

  // Text that XML 1.0 accepts, with markup characters escaped.
  function xmlText(s) {
    return String(s)
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '$1')
      .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;').replace(/'/g, '&apos;');
  }

  function num(x) {
    return String(Math.round(x * 10) / 10);
  }

  function mark(name) {
    if (typeof performance !== 'undefined' && performance.mark) performance.mark(name);
  }

  function download(blob, name) {
    var url = URL.createObjectURL(blob);
    var a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  // ---- the chart -------------------------------------------------------

  function main() {
    var box = document.getElementById('chart');
    if (!box || typeof scope.cytoscape !== 'function') return;
    var statusEl = document.getElementById('chart-status');
    var legendEl = document.getElementById('chart-legend');
    var buttons = {
      png: document.getElementById('export-png'),
      svg: document.getElementById('export-svg'),
      relayout: document.getElementById('relayout'),
      expand: document.getElementById('expand')
    };
    var paths = staticBase();
    var agencies = new Map();
    var cy = null;
    var busy = false;
    var worker = null; // undefined once a worker failed: lay out on the page
    var workerJobs = {};
    var workerSeq = 0;

    if (!box.hasAttribute('tabindex')) box.tabIndex = 0;
    if (!box.hasAttribute('role')) box.setAttribute('role', 'img');
    // The console's stylesheet should size #chart; a chart needs some height.
    if (box.clientHeight < 200) box.style.height = '70vh';

    // The server's words: data-msg-<name> on #chart, or null.
    function word(name) {
      return box.getAttribute('data-msg-' + name);
    }
    function named(prefix, id) {
      if (!/^[A-Za-z0-9_-]+$/.test(id)) return id;
      return box.getAttribute('data-msg-' + prefix + '-' + id) || box.getAttribute('data-' + prefix + '-' + id) || id;
    }
    function kindName(kind) { return named('kind', kind); }
    function relationName(rel) { return named('rel', rel); }
    function agencyName(id) { return named('agency', id); }
    // "500 nodes, 750 links": data-msg-nodes either a template with
    // {nodes} and {edges}, or the word after the number of nodes (and
    // data-msg-edges the word after the number of links); numbers alone
    // without them.
    function counts(nodes, edges) {
      var t = word('nodes');
      if (t && t.indexOf('{') >= 0) return format(t, { nodes: nodes, edges: edges });
      var e = word('edges');
      return nodes + (t ? ' ' + t : '') + (t || e ? ', ' : ' / ') + edges + (e ? ' ' + e : '');
    }
    function countsNow() {
      return counts(cy.nodes().length, cy.edges().length);
    }
    // data-msg-error, with {status} or followed by it.
    function errorText(st) {
      var t = word('error');
      if (!t) return String(st);
      return t.indexOf('{status}') >= 0 ? format(t, { status: st }) : t + ' (' + st + ')';
    }
    function status(text) {
      if (statusEl) statusEl.textContent = text;
    }
    function setButtons() {
      var on = !!cy && !busy;
      ['png', 'svg', 'relayout'].forEach(function (k) {
        if (buttons[k]) buttons[k].disabled = !on;
      });
      if (buttons.expand) {
        var sel = cy ? cy.nodes(':selected') : null;
        buttons.expand.disabled = !on || !sel || sel.length !== 1 || !sel.data('expand');
      }
    }
    setButtons();

    function iconUrl(kind) {
      return paths.base + 'icons/' + kind + '.svg';
    }
    var badgeUrl = iconUrl('expand');

    // graph.json → cytoscape element definitions, skipping what is already
    // in `have` (ids) and edges whose ends are not known.
    function elementsOf(graph, have) {
      var nodes = [], edges = [];
      var known = new Set();
      (Array.isArray(graph.nodes) ? graph.nodes : []).forEach(function (n) {
        if (!n || typeof n.id !== 'string' || known.has(n.id) || (have && have(n.id))) return;
        known.add(n.id);
        var kind = KINDS.indexOf(n.kind) >= 0 ? n.kind : 'other';
        var c = colour(agencies.get(n.agency));
        var data = {
          id: n.id,
          kind: kind,
          label: typeof n.label === 'string' ? n.label : '',
          agency: typeof n.agency === 'string' ? n.agency : '',
          ours: n.ours === true,
          colour: c,
          fill: tint(c, 0.82),
          icon: iconUrl(kind)
        };
        if (typeof n.expand === 'string' && sameOrigin(n.expand)) data.expand = n.expand;
        nodes.push({ group: 'nodes', data: data, classes: data.ours ? 'ours' : 'theirs' });
      });
      (Array.isArray(graph.edges) ? graph.edges : []).forEach(function (e) {
        if (!e || typeof e.id !== 'string' || known.has(e.id) || (have && have(e.id))) return;
        var ok = function (id) { return known.has(id) || (have && have(id)); };
        if (typeof e.source !== 'string' || typeof e.target !== 'string' ||
            !ok(e.source) || !ok(e.target)) return;
        known.add(e.id);
        var rel = typeof e.relation === 'string' ? e.relation : '';
        var count = typeof e.count === 'number' && isFinite(e.count) ? e.count : null;
        var label = relationName(rel) + (count != null ? ' \u00d7' + count : '');
        edges.push({
          group: 'edges',
          data: {
            id: e.id, source: e.source, target: e.target, relation: rel, count: count,
            label: label, weight: count != null ? Math.min(1 + Math.log2(Math.max(count, 1)), 6) : 1.5
          },
          classes: rel === 'call' ? 'call' : ''
        });
      });
      return { nodes: nodes, edges: edges };
    }

    function mergeAgencies(graph) {
      var a = graph && graph.agencies;
      if (a && typeof a === 'object') {
        Object.keys(a).forEach(function (k) { agencies.set(k, colour(a[k])); });
      }
    }

    function styles(big) {
      return [
        {
          selector: 'node',
          style: {
            shape: 'ellipse',
            width: NODE_SIZE,
            height: NODE_SIZE,
            'background-color': 'data(fill)',
            'background-image': 'data(icon)',
            'background-fit': 'none',
            'background-width': '62%',
            'background-height': '62%',
            'background-clip': 'none',
            'background-image-smoothing': 'yes',
            'border-color': 'data(colour)',
            'border-width': 3,
            label: 'data(label)',
            'font-family': FONT,
            'font-size': LABEL_FONT_SIZE,
            color: '#1f2328',
            'text-valign': 'bottom',
            'text-halign': 'center',
            'text-margin-y': 4,
            'text-wrap': 'wrap',
            'text-max-width': LABEL_MAX_WIDTH,
            'text-background-color': '#ffffff',
            'text-background-opacity': 0.8,
            'text-background-padding': 1,
            'text-background-shape': 'roundrectangle',
            'min-zoomed-font-size': 7
          }
        },
        // Peers' nodes: a double ring; ours: a solid one.
        { selector: 'node.theirs', style: { 'border-style': 'double', 'border-width': 5 } },
        // More to fetch (double-click, Enter or #expand): a "+" badge.
        {
          selector: 'node[?expand][!expanded]',
          style: {
            'background-image': function (ele) { return [ele.data('icon'), badgeUrl]; },
            'background-width': ['62%', '42%'],
            'background-height': ['62%', '42%'],
            'background-position-x': ['50%', '112%'],
            'background-position-y': ['50%', '-12%'],
            'background-clip': ['node', 'none'],
            'background-image-containment': ['inside', 'over'],
            'bounds-expansion': 6
          }
        },
        {
          selector: 'edge',
          style: {
            width: 'data(weight)',
            'line-color': '#8c959f',
            'curve-style': big ? 'haystack' : 'straight',
            'haystack-radius': 0,
            label: 'data(label)',
            'font-family': FONT,
            'font-size': EDGE_FONT_SIZE,
            color: '#57606a',
            'text-rotation': 'autorotate',
            'text-background-color': '#ffffff',
            'text-background-opacity': 0.85,
            'text-background-padding': 1,
            'min-zoomed-font-size': 8
          }
        },
        { selector: 'edge.call', style: { 'line-color': '#57606a', 'line-style': 'solid' } },
        { selector: 'edge[relation != "call"]', style: { 'line-style': 'dashed', 'line-dash-pattern': [6, 3] } },
        { selector: '.faded', style: { opacity: 0.25, 'text-opacity': 0 } },
        { selector: 'edge.near', style: { 'line-color': '#0969da', color: '#0969da', 'z-index': 9 } },
        {
          selector: 'node:selected',
          style: { 'border-color': '#0969da', 'border-width': 5, 'border-style': 'solid', 'z-index': 10, 'font-weight': 'bold' }
        },
        { selector: 'core', style: { 'selection-box-color': '#0969da', 'active-bg-color': '#0969da' } }
      ];
    }

    // ---- layout ----

    // What to run for n nodes; box.dataset.layout (a harness setting) can
    // name another of LAYOUTS: fcose-whole, fcose-groups (fcose's two ways,
    // whatever the size), or cytoscape's own cose, concentric,
    // breadthfirst, grid (on the whole graph, leaves not folded).
    function layoutChoice(n) {
      var forced = box.dataset.layout;
      if (forced && LAYOUTS.indexOf(forced) >= 0) return forced;
      return n < 3 ? 'grid' : 'fcose';
    }

    function getWorker() {
      if (worker === undefined || !paths.chart || typeof Worker !== 'function' || box.dataset.layoutThread === 'main') return null;
      if (worker) return worker;
      try {
        worker = new Worker(paths.chart);
      } catch (e) {
        worker = undefined;
        return null;
      }
      worker.onmessage = function (ev) {
        var job = workerJobs[ev.data.id];
        if (!job) return;
        delete workerJobs[ev.data.id];
        if (ev.data.error) job.reject(new Error(ev.data.error));
        else job.resolve(ev.data.xy);
      };
      worker.onerror = function (ev) {
        ev.preventDefault();
        var jobs = workerJobs;
        workerJobs = {};
        worker.terminate();
        worker = undefined;
        Object.keys(jobs).forEach(function (k) { jobs[k].reject(new Error('worker')); });
      };
      return worker;
    }

    // Positions for the nodes `ids` linked by `edges` (index pairs: source,
    // target, 1 for a call), as a Float64Array [x0, y0, x1, y1, ...]: from
    // the worker when there is one, else computed on the page.
    function computeLayout(ids, edges, choice) {
      var job = { n: ids.length, edges: edges, choice: choice, box: LAYOUT_BOX };
      var w = getWorker();
      if (w) {
        job.id = ++workerSeq;
        job.scripts = VENDOR.map(function (p) { return paths.base + p; });
        return new Promise(function (resolve, reject) {
          workerJobs[job.id] = { resolve: resolve, reject: reject };
          w.postMessage(job);
        }).catch(function () {
          return computeLayout(ids, edges, choice); // the worker failed: on the page
        });
      }
      // Let the status message be painted first.
      return new Promise(function (resolve) { setTimeout(resolve, 30); }).then(function () {
        return layoutJob(scope.cytoscape, job);
      });
    }

    // The graph's ids and edge index triples, from element definitions or
    // from the chart.
    function plainGraph(nodeIds, edgeEnds) {
      var index = {};
      nodeIds.forEach(function (id, i) { index[id] = i; });
      var edges = [];
      edgeEnds.forEach(function (e) {
        var s = index[e[0]], t = index[e[1]];
        if (s !== undefined && t !== undefined && s !== t) edges.push(s, t, e[2] ? 1 : 0);
      });
      return edges;
    }

    // Lays out all of the chart again (the "relayout" button).
    function relayout() {
      busy = true;
      setButtons();
      status(word('layout') || word('loading') || '');
      var ids = cy.nodes().map(function (n) { return n.id(); });
      var edges = plainGraph(ids, cy.edges().map(function (e) {
        return [e.data('source'), e.data('target'), e.data('relation') === 'call'];
      }));
      var choice = layoutChoice(ids.length);
      var t0 = performance.now();
      mark('liaison-layout-start');
      return computeLayout(ids, edges, choice).then(function (xy) {
        cy.batch(function () {
          ids.forEach(function (id, i) { cy.getElementById(id).position({ x: xy[2 * i], y: xy[2 * i + 1] }); });
        });
        mark('liaison-layout-end');
        cy.fit(cy.elements(), 30);
        box.dataset.layoutMs = String(Math.round(performance.now() - t0));
        box.dataset.layoutName = choice;
        busy = false;
        setButtons();
        status(countsNow());
      }, function (err) {
        busy = false;
        setButtons();
        throw err;
      });
    }

    // ---- loading and expanding ----

    function fetchGraph(url) {
      var u = sameOrigin(url);
      if (!u) return Promise.reject({ status: 'data' });
      return fetch(u, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (r) {
          if (!r.ok) throw { status: r.status };
          return r.json().catch(function () { throw { status: 'data' }; });
        }, function () {
          throw { status: 'network' };
        });
    }

    function failed(err) {
      var s = (err && err.status) || 'data';
      box.dataset.error = String(s);
      status(errorText(s));
      busy = false;
      setButtons();
      if (!(err && err.status)) console.error(err);
    }

    function addInSlices(cy, all, size) {
      var i = 0;
      return new Promise(function (resolve) {
        (function next() {
          cy.add(all.slice(i, i + size));
          i += size;
          if (i < all.length) setTimeout(next, 0);
          else resolve();
        })();
      });
    }

    function start() {
      var url = box.dataset.graph;
      if (!url) return;
      status(word('loading') || '');
      busy = true;
      var els, choice, t0;
      fetchGraph(url).then(function (graph) {
        mergeAgencies(graph);
        els = elementsOf(graph, null);
        status(word('layout') || word('loading') || '');
        var ids = els.nodes.map(function (n) { return n.data.id; });
        var edges = plainGraph(ids, els.edges.map(function (e) {
          return [e.data.source, e.data.target, e.data.relation === 'call'];
        }));
        choice = layoutChoice(ids.length);
        t0 = performance.now();
        mark('liaison-layout-start');
        return computeLayout(ids, edges, choice);
      }).then(function (xy) {
        mark('liaison-layout-end');
        box.dataset.layoutMs = String(Math.round(performance.now() - t0));
        box.dataset.layoutName = choice;
        els.nodes.forEach(function (n, i) { n.position = { x: xy[2 * i], y: xy[2 * i + 1] }; });
        var big = els.nodes.length + els.edges.length > BIG;
        // Filled a slice at a time, each in a task of its own, so that the
        // page answers in between; drawn at the end only: until then the
        // chart's own element (inside #chart) has no size.
        var inner = document.createElement('div');
        inner.className = 'liaison-chart-canvas';
        inner.style.position = 'absolute';
        inner.style.left = inner.style.top = '0';
        inner.style.width = inner.style.height = '0';
        inner.style.overflow = 'hidden';
        if (getComputedStyle(box).position === 'static') box.style.position = 'relative';
        box.appendChild(inner);
        cy = scope.cytoscape({
          container: inner,
          style: styles(big),
          minZoom: 0.02,
          maxZoom: 4,
          boxSelectionEnabled: true,
          selectionType: 'single',
          textureOnViewport: big,
          hideEdgesOnViewport: big,
          hideLabelsOnViewport: big,
          pixelRatio: big ? 1 : 'auto',
          motionBlur: false
        });
        cy.big = big;
        cy.inner = inner;
        var all = els.nodes.concat(els.edges);
        els = null;
        return addInSlices(cy, all, ADD_SLICE);
      }).then(function () {
        cy.inner.style.width = cy.inner.style.height = '100%';
        cy.resize();
        cy.fit(cy.elements(), 30);
        wire();
        legend();
        busy = false;
        setButtons();
        status(countsNow());
        return new Promise(function (resolve) { cy.one('render', resolve); });
      }).then(function () {
        mark('liaison-ready');
        box.dataset.readyMs = String(Math.round(performance.now() - t0));
        scope.liaisonChart = cy;
        box.dataset.ready = '1';
      }).catch(failed);
    }

    // Places `added` (new nodes) around `centre` (a node): each on the
    // nearest free spot (no node closer than a layout box) on rings of
    // growing radius, starting away from the node's known neighbours.
    function placeAround(centre, added) {
      var c = centre.position();
      var known = centre.neighborhood('node').not(added);
      var dir = 0;
      if (known.length) {
        var sx = 0, sy = 0;
        known.forEach(function (n) { var p = n.position(); sx += p.x - c.x; sy += p.y - c.y; });
        if (Math.abs(sx) + Math.abs(sy) > 1) dir = Math.atan2(-sy, -sx);
      }
      var gap = LAYOUT_BOX.w * 0.9;
      var reach = 2 * gap * (3 + Math.sqrt(added.length));
      var taken = [];
      cy.nodes().not(added).forEach(function (n) {
        var p = n.position();
        if (Math.abs(p.x - c.x) < reach + gap && Math.abs(p.y - c.y) < reach + gap) taken.push(p);
      });
      function free(x, y) {
        for (var i = 0; i < taken.length; i++) {
          if (Math.abs(taken[i].x - x) < gap && Math.abs(taken[i].y - y) < gap * 0.75) return false;
        }
        return true;
      }
      cy.batch(function () {
        added.forEach(function (node) {
          var spot = null;
          for (var r = gap * 1.3; !spot && r <= reach; r += gap * 0.7) {
            var steps = Math.max(6, Math.floor((2 * Math.PI * r) / gap));
            for (var k = 0; k < steps && !spot; k++) {
              // dir, then alternately either side of it
              var a = dir + (k % 2 ? 1 : -1) * Math.ceil(k / 2) * (2 * Math.PI / steps);
              var x = c.x + r * Math.cos(a), y = c.y + r * Math.sin(a);
              if (free(x, y)) spot = { x: x, y: y };
            }
          }
          if (!spot) spot = { x: c.x + reach * Math.cos(dir), y: c.y + reach * Math.sin(dir) };
          node.position(spot);
          taken.push(spot);
        });
      });
    }

    function expand(node) {
      var url = node && node.data('expand');
      if (!url || busy) return;
      busy = true;
      setButtons();
      status(word('loading') || '');
      fetchGraph(url).then(function (graph) {
        mergeAgencies(graph);
        var els = elementsOf(graph, function (id) { return cy.getElementById(id).length > 0; });
        var added = cy.add(els.nodes.concat(els.edges));
        var newNodes = added.nodes();
        if (newNodes.length) placeAround(node, newNodes);
        node.data('expanded', true);
        // (A chart grown past BIG keeps the style it was made with.)
        legend();
        busy = false;
        setButtons();
        // Show the node and what came with it, close enough to read.
        var bb = node.closedNeighborhood().boundingBox();
        var z = Math.max(cy.zoom(), Math.min(1.2, cy.width() / (bb.w + 160), cy.height() / (bb.h + 160)));
        var cx = (bb.x1 + bb.x2) / 2, cyy = (bb.y1 + bb.y2) / 2;
        cy.animate({
          zoom: z,
          pan: { x: cy.width() / 2 - z * cx, y: cy.height() / 2 - z * cyy },
          duration: cy.big ? 0 : 300
        });
        highlight();
        // "Added: 4 nodes, 4 links. 504 nodes, 754 links" (or a template
        // with {nodes} and {edges}), or data-msg-nothing.
        var t = word('expanded') || '';
        var what;
        if (!added.length && word('nothing')) what = word('nothing');
        else if (t.indexOf('{') >= 0) what = format(t, { nodes: newNodes.length, edges: added.edges().length });
        else what = (t ? t + ': ' : '+') + counts(newNodes.length, added.edges().length) + '.';
        status(what + ' ' + countsNow());
        box.dataset.expanded = String((Number(box.dataset.expanded) || 0) + 1);
      }).catch(function (err) {
        // The chart stays as it was; only the status tells.
        var st = (err && err.status) || 'data';
        box.dataset.expandError = String(st);
        status(errorText(st));
        busy = false;
        setButtons();
        if (!(err && err.status)) console.error(err);
      });
    }

    // ---- interaction ----

    function highlight() {
      cy.batch(function () {
        cy.elements('.faded').removeClass('faded');
        cy.edges('.near').removeClass('near');
        var sel = cy.nodes(':selected');
        if (sel.length !== 1) return;
        var near = sel.closedNeighborhood();
        near.edges().addClass('near');
        if (!cy.big) cy.elements().not(near).addClass('faded');
      });
    }

    function focusNode(node) {
      cy.nodes(':selected').unselect();
      node.select();
      var ext = cy.extent(), p = node.position();
      if (p.x < ext.x1 || p.x > ext.x2 || p.y < ext.y1 || p.y > ext.y2) cy.center(node);
      status(node.data('label') + ' \u2014 ' + kindName(node.data('kind')) + ', ' + agencyName(node.data('agency')));
    }

    function wire() {
      // Once a frame at most (a box selection selects many nodes at once).
      var pending = false;
      cy.on('select unselect', 'node', function () {
        if (pending) return;
        pending = true;
        requestAnimationFrame(function () {
          pending = false;
          setButtons();
          highlight();
        });
      });
      cy.on('dbltap', 'node', function (ev) { expand(ev.target); });
      if (buttons.expand) buttons.expand.addEventListener('click', function () {
        var sel = cy.nodes(':selected');
        if (sel.length === 1) expand(sel);
      });
      if (buttons.relayout) buttons.relayout.addEventListener('click', function () {
        if (!busy) relayout().catch(failed);
      });
      if (buttons.png) buttons.png.addEventListener('click', exportPng);
      if (buttons.svg) buttons.svg.addEventListener('click', exportSvg);
      // Keyboard: arrows pan, + and - zoom, 0 fits, [ and ] step through
      // the nodes (most linked first), Enter expands, Escape unselects.
      var order = null;
      cy.on('add remove', function () { order = null; });
      box.addEventListener('keydown', function (ev) {
        if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
        var step = 60, handled = true;
        switch (ev.key) {
          case 'ArrowLeft': cy.panBy({ x: step, y: 0 }); break;
          case 'ArrowRight': cy.panBy({ x: -step, y: 0 }); break;
          case 'ArrowUp': cy.panBy({ x: 0, y: step }); break;
          case 'ArrowDown': cy.panBy({ x: 0, y: -step }); break;
          case '+': case '=':
            cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }); break;
          case '-':
            cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } }); break;
          case '0': cy.fit(cy.elements(), 30); break;
          case '[': case ']': {
            if (!order) order = cy.nodes().sort(function (a, b) { return b.degree() - a.degree(); }).toArray();
            if (!order.length) break;
            var sel = cy.nodes(':selected');
            var i = sel.length === 1 ? order.indexOf(sel[0]) : -1;
            i = ev.key === ']' ? (i + 1) % order.length : (i <= 0 ? order.length - 1 : i - 1);
            focusNode(order[i]);
            break;
          }
          case 'Enter': {
            var s = cy.nodes(':selected');
            if (s.length === 1) expand(s);
            break;
          }
          case 'Escape': cy.nodes(':selected').unselect(); break;
          default: handled = false;
        }
        if (handled) ev.preventDefault();
      });
    }

    function legend() {
      if (!legendEl) return;
      var usedAgencies = Object.create(null), ourAgencies = Object.create(null), kinds = Object.create(null);
      cy.nodes().forEach(function (n) {
        var a = n.data('agency');
        usedAgencies[a] = (usedAgencies[a] || 0) + 1;
        if (n.data('ours')) ourAgencies[a] = true;
        kinds[n.data('kind')] = (kinds[n.data('kind')] || 0) + 1;
      });
      var frag = document.createDocumentFragment();
      Object.keys(usedAgencies).sort().forEach(function (a) {
        var li = document.createElement('li');
        li.className = 'legend-agency';
        var sw = document.createElement('span');
        sw.className = 'legend-swatch';
        sw.style.display = 'inline-block';
        sw.style.width = sw.style.height = '0.9em';
        sw.style.marginRight = '0.4em';
        sw.style.verticalAlign = '-0.1em';
        sw.style.borderRadius = '50%';
        sw.style.backgroundColor = tint(colour(agencies.get(a)), 0.6);
        sw.style.border = (ourAgencies[a] ? '2px solid ' : '3px double ') + colour(agencies.get(a));
        sw.setAttribute('aria-hidden', 'true');
        li.appendChild(sw);
        var ours = ourAgencies[a] && word('ours');
        li.appendChild(document.createTextNode(agencyName(a) + (ours ? ' (' + ours + ')' : '') + ' \u00b7 ' + usedAgencies[a]));
        li.dataset.agency = a;
        frag.appendChild(li);
      });
      KINDS.forEach(function (k) {
        if (!kinds[k]) return;
        var li = document.createElement('li');
        li.className = 'legend-kind';
        var img = document.createElement('img');
        img.src = iconUrl(k);
        img.alt = '';
        img.width = img.height = 16;
        img.style.verticalAlign = '-0.2em';
        img.style.marginRight = '0.4em';
        li.appendChild(img);
        li.appendChild(document.createTextNode(kindName(k) + ' \u00b7 ' + kinds[k]));
        li.dataset.kind = k;
        frag.appendChild(li);
      });
      var more = word('expandable') || word('expand');
      if (more && cy.nodes('[?expand][!expanded]').length) {
        var li = document.createElement('li');
        li.className = 'legend-expand';
        var img = document.createElement('img');
        img.src = badgeUrl;
        img.alt = '';
        img.width = img.height = 16;
        img.style.verticalAlign = '-0.2em';
        img.style.marginRight = '0.4em';
        li.appendChild(img);
        li.appendChild(document.createTextNode(more));
        frag.appendChild(li);
      }
      legendEl.textContent = '';
      legendEl.appendChild(frag);
    }

    // ---- exports ----

    function exportPng() {
      if (!cy) return;
      // Twice the chart's size, but at most PNG_MAX px a side (browsers
      // limit a canvas's size; cytoscape lets `scale` win over maxWidth).
      var bb = cy.elements().boundingBox();
      var scale = Math.min(2, PNG_MAX / Math.max(bb.w, 1), PNG_MAX / Math.max(bb.h, 1));
      Promise.resolve(cy.png({ full: true, scale: scale, bg: '#fff', output: 'blob-promise', maxWidth: PNG_MAX, maxHeight: PNG_MAX }))
        .then(function (blob) {
          download(blob, 'liaison-chart.png');
          box.dataset.lastExport = 'png';
        }).catch(failed);
    }

    var iconData = {};
    function icons() {
      var kinds = {};
      cy.nodes().forEach(function (n) { kinds[n.data('kind')] = true; });
      return Promise.all(Object.keys(kinds).map(function (k) {
        if (iconData[k]) return null;
        return fetch(iconUrl(k), { credentials: 'same-origin' }).then(function (r) {
          if (!r.ok) throw { status: r.status };
          return r.text();
        }).then(function (text) {
          // btoa takes Latin-1: the UTF-8 bytes of the text, one per char.
          iconData[k] = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(text)));
        });
      })).then(function () { return Object.keys(kinds); });
    }

    // Label lines as the chart wraps them (at spaces, LABEL_MAX_WIDTH px).
    function wrapper() {
      var ctx = document.createElement('canvas').getContext('2d');
      ctx.font = LABEL_FONT_SIZE + 'px ' + FONT;
      return function (text) {
        var words = String(text).split(/\s+/).filter(Boolean), lines = [], line = '';
        words.forEach(function (w) {
          var next = line ? line + ' ' + w : w;
          if (line && ctx.measureText(next).width > LABEL_MAX_WIDTH) {
            lines.push(line);
            line = w;
          } else {
            line = next;
          }
        });
        if (line) lines.push(line);
        return lines;
      };
    }

    function exportSvg() {
      if (!cy) return;
      icons().then(function (kinds) {
        download(new Blob([svgDocument(kinds)], { type: 'image/svg+xml' }), 'liaison-chart.svg');
        box.dataset.lastExport = 'svg';
      }).catch(failed);
    }

    function svgDocument(kinds) {
      var bb = cy.elements().boundingBox({ includeLabels: true });
      var pad = 20;
      var x0 = bb.x1 - pad, y0 = bb.y1 - pad, w = bb.w + 2 * pad, h = bb.h + 2 * pad;
      var wrap = wrapper();
      var r = NODE_SIZE / 2, icon = NODE_SIZE * 0.62;
      var out = [];
      out.push('<?xml version="1.0" encoding="UTF-8"?>\n');
      out.push('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1"' +
        ' width="' + num(w) + '" height="' + num(h) + '" viewBox="' + num(x0) + ' ' + num(y0) + ' ' + num(w) + ' ' + num(h) + '"' +
        ' font-family="' + xmlText(FONT) + '">\n');
      out.push('<defs>\n');
      kinds.forEach(function (k) {
        out.push('<image id="icon-' + k + '" width="' + num(icon) + '" height="' + num(icon) + '" xlink:href="' + iconData[k] + '"/>\n');
      });
      out.push('</defs>\n');
      out.push('<rect x="' + num(x0) + '" y="' + num(y0) + '" width="' + num(w) + '" height="' + num(h) + '" fill="#ffffff"/>\n');
      out.push('<g id="edges" stroke-linecap="round">\n');
      cy.edges().forEach(function (e) {
        var s = e.source().position(), t = e.target().position();
        var call = e.data('relation') === 'call';
        out.push('<line x1="' + num(s.x) + '" y1="' + num(s.y) + '" x2="' + num(t.x) + '" y2="' + num(t.y) + '"' +
          ' stroke="' + (call ? '#57606a' : '#8c959f') + '" stroke-width="' + num(e.data('weight')) + '"' +
          (call ? '' : ' stroke-dasharray="6 3"') + '/>\n');
      });
      out.push('</g>\n<g id="edge-labels" font-size="' + EDGE_FONT_SIZE + '" fill="#57606a" text-anchor="middle"' +
        ' stroke="#ffffff" stroke-width="3" paint-order="stroke" stroke-linejoin="round">\n');
      cy.edges().forEach(function (e) {
        var label = e.data('label');
        if (!label) return;
        var s = e.source().position(), t = e.target().position();
        var mx = (s.x + t.x) / 2, my = (s.y + t.y) / 2;
        var a = Math.atan2(t.y - s.y, t.x - s.x) * 180 / Math.PI;
        if (a > 90) a -= 180;
        if (a < -90) a += 180;
        out.push('<text x="' + num(mx) + '" y="' + num(my - 2) + '" transform="rotate(' + num(a) + ' ' + num(mx) + ' ' + num(my) + ')">' +
          xmlText(label) + '</text>\n');
      });
      out.push('</g>\n<g id="nodes">\n');
      cy.nodes().forEach(function (n) {
        var p = n.position(), c = n.data('colour');
        out.push('<g class="node ' + n.data('kind') + '">');
        out.push('<circle cx="' + num(p.x) + '" cy="' + num(p.y) + '" r="' + num(r) + '" fill="' + n.data('fill') + '"' +
          ' stroke="' + c + '" stroke-width="' + (n.data('ours') ? 3 : 1.6) + '"/>');
        if (!n.data('ours')) {
          out.push('<circle cx="' + num(p.x) + '" cy="' + num(p.y) + '" r="' + num(r - 3.4) + '" fill="none" stroke="' + c + '" stroke-width="1.6"/>');
        }
        out.push('<use xlink:href="#icon-' + n.data('kind') + '" x="' + num(p.x - icon / 2) + '" y="' + num(p.y - icon / 2) + '"/>');
        if (n.data('expand') && !n.data('expanded')) {
          var bx = p.x + r * 0.78, by = p.y - r * 0.78;
          out.push('<circle cx="' + num(bx) + '" cy="' + num(by) + '" r="7" fill="#1f2328" stroke="#ffffff" stroke-width="1.5"/>' +
            '<path d="M' + num(bx - 3.6) + ' ' + num(by) + 'h7.2M' + num(bx) + ' ' + num(by - 3.6) + 'v7.2" stroke="#ffffff" stroke-width="1.8" stroke-linecap="round"/>');
        }
        var lines = wrap(n.data('label'));
        if (lines.length) {
          var ty = p.y + r + 4 + LABEL_FONT_SIZE;
          out.push('<text x="' + num(p.x) + '" y="' + num(ty) + '" font-size="' + LABEL_FONT_SIZE + '" fill="#1f2328" text-anchor="middle"' +
            ' stroke="#ffffff" stroke-width="3" stroke-opacity="0.8" paint-order="stroke" stroke-linejoin="round">');
          lines.forEach(function (line, i) {
            out.push('<tspan x="' + num(p.x) + '"' + (i ? ' dy="' + num(LABEL_FONT_SIZE * 1.2) + '"' : '') + '>' + xmlText(line) + '</tspan>');
          });
          out.push('</text>');
        }
        out.push('</g>\n');
      });
      out.push('</g>\n</svg>\n');
      return out.join('');
    }

    start();
  }

  // ---- layout, on the page or in the worker ---------------------------
  //
  // A job: {n (nodes), edges: [source, target, call, ...] (node indexes),
  // choice (a LAYOUTS name), box: {w, h} (the room a node takes, label
  // included)}; the answer: Float64Array [x0, y0, x1, y1, ...].
  //
  // The fcose layouts first fold the leaves (nodes with one link, to a
  // node with more: a person's documents, vehicles, addresses) into their
  // node, lay out what is left, with each node that took leaves as large
  // as the ring they will form, then put the leaves on that ring, in the
  // widest gap between the node's other links. Fewer nodes to lay out, and
  // no leaf thrown across the chart.

  function layoutJob(cytoscape, m) {
    var n = m.n, E = m.edges, bw = m.box.w, bh = m.box.h;
    var xy = new Float64Array(2 * n);
    var adj = [], i, j;
    for (i = 0; i < n; i++) adj.push([]);
    for (j = 0; j < E.length; j += 3) {
      adj[E[j]].push(E[j + 1]);
      adj[E[j + 1]].push(E[j]);
    }
    var fold = /^fcose/.test(m.choice);
    var owner = new Int32Array(n).fill(-1);
    var leaves = {};
    if (fold) {
      for (i = 0; i < n; i++) {
        if (adj[i].length === 1 && adj[adj[i][0]].length > 1) {
          owner[i] = adj[i][0];
          (leaves[owner[i]] = leaves[owner[i]] || []).push(i);
        }
      }
    }
    // How far from its node a ring of k leaves goes.
    var step = Math.max(bw, bh) * 0.8;
    function ringRadius(k) {
      return Math.max(bw * 0.95, (k * step) / (2 * Math.PI));
    }
    var coarse = [];
    for (i = 0; i < n; i++) if (owner[i] < 0) coarse.push(i);
    var whole = !fold || m.choice === 'fcose-whole' || (m.choice === 'fcose' && coarse.length <= LAYOUT_WHOLE_MAX);
    var part = whole ? null : communities(coarse, adj, owner);
    var els = [];
    coarse.forEach(function (c) {
      var k = leaves[c] ? leaves[c].length : 0;
      var r = k ? ringRadius(k) : 0;
      els.push({ group: 'nodes', data: { id: 'n' + c, w: bw + 1.4 * r, h: bh + 1.4 * r } });
    });
    for (j = 0; j < E.length; j += 3) {
      var s = E[j], t = E[j + 1];
      if (owner[s] >= 0 || owner[t] >= 0 || (part && part[s] !== part[t])) continue;
      els.push({ group: 'edges', data: { id: 'e' + j, source: 'n' + s, target: 'n' + t, call: E[j + 2] } });
    }
    var cy = headless(cytoscape, els);
    if (whole) {
      if (coarse.length < 3) lineUp(cy.nodes());
      else cy.layout(layoutOptions(m.choice, coarse.length)).run();
      cy.nodes().forEach(function (node) {
        var p = node.position(), q = Number(node.id().slice(1));
        xy[2 * q] = p.x;
        xy[2 * q + 1] = p.y;
      });
    } else {
      placeCommunities(cytoscape, cy, coarse, part, E, owner, xy);
    }
    cy.destroy();
    // The leaves, on their ring.
    Object.keys(leaves).forEach(function (key) {
      var c = Number(key), ls = leaves[c], k = ls.length;
      var cx = xy[2 * c], cy0 = xy[2 * c + 1];
      var angles = adj[c].filter(function (t) { return owner[t] < 0; }).map(function (t) {
        return Math.atan2(xy[2 * t + 1] - cy0, xy[2 * t] - cx);
      }).sort(function (a, b) { return a - b; });
      var r = ringRadius(k);
      var from = 0, span = 2 * Math.PI, full = true;
      if (angles.length) {
        // The widest gap between the other links.
        var best = -1;
        for (var a = 0; a < angles.length; a++) {
          var lo = angles[a], hi = a + 1 < angles.length ? angles[a + 1] : angles[0] + 2 * Math.PI;
          if (hi - lo > best) { best = hi - lo; from = lo; }
        }
        var need = (k * step) / r; // radians k leaves need at radius r
        if (best - 0.6 >= need) {
          span = best;
          full = false;
        } else {
          from += best / 2; // all round, starting in the middle of the gap
        }
      }
      for (var t = 0; t < k; t++) {
        var ang = full ? from + (2 * Math.PI * (t + 0.5)) / k : from + (span * (t + 1)) / (k + 1);
        xy[2 * ls[t]] = cx + r * Math.cos(ang);
        xy[2 * ls[t] + 1] = cy0 + r * Math.sin(ang);
      }
    });
    return xy;
  }

  // One or two nodes (fcose wants three), side by side.
  function lineUp(nodes) {
    var x = 0;
    nodes.forEach(function (node) {
      node.position({ x: x + node.width() / 2, y: 0 });
      x += node.width() + 40;
    });
  }

  function headless(cytoscape, els) {
    return cytoscape({
      headless: true,
      styleEnabled: true,
      style: [{ selector: 'node', style: { width: 'data(w)', height: 'data(h)', shape: 'rectangle' } }],
      elements: els
    });
  }

  function layoutOptions(choice, count) {
    var o = { animate: false, fit: false, padding: 30 };
    switch (choice) {
      case 'fcose':
      case 'fcose-whole':
      case 'fcose-groups':
        return Object.assign(o, {
          name: 'fcose',
          quality: 'default',
          randomize: true,
          nodeSeparation: 120,
          nodeRepulsion: 6500,
          idealEdgeLength: function (edge) { return edge.data('call') ? 110 : 70; },
          edgeElasticity: 0.45,
          gravity: 0.3,
          numIter: count > 1500 ? 1200 : 2500,
          tile: true,
          tilingPaddingVertical: 20,
          tilingPaddingHorizontal: 20
        });
      case 'cose':
        return Object.assign(o, { name: 'cose', randomize: true, nodeRepulsion: function () { return 40000; }, idealEdgeLength: function () { return 80; } });
      case 'concentric':
        return Object.assign(o, { name: 'concentric', minNodeSpacing: 10, concentric: function (node) { return node.degree(); }, levelWidth: function () { return 2; } });
      case 'breadthfirst':
        return Object.assign(o, { name: 'breadthfirst', spacingFactor: 1 });
      default:
        return Object.assign(o, { name: 'grid' });
    }
  }

  // Groups of the nodes `coarse`, by their links among themselves: the
  // Louvain method (nodes move to the neighbouring group that raises the
  // modularity most; then the groups become the nodes, and again), in a
  // fixed order, so the same graph gives the same groups. An array,
  // indexed by node, of its group.
  function communities(coarse, adj, owner) {
    var N = coarse.length, loc = new Map(), k, i;
    coarse.forEach(function (c, x) { loc.set(c, x); });
    var W = [];
    for (k = 0; k < N; k++) W.push(new Map());
    coarse.forEach(function (c, x) {
      adj[c].forEach(function (u) {
        if (owner[u] >= 0 || u === c) return;
        var y = loc.get(u);
        W[x].set(y, (W[x].get(y) || 0) + 1);
      });
    });
    var member = new Int32Array(N);
    for (k = 0; k < N; k++) member[k] = k;
    var wc = new Map();
    for (var level = 0; level < 12; level++) {
      var M = W.length, deg = new Float64Array(M), m2 = 0;
      for (i = 0; i < M; i++) {
        W[i].forEach(function (w) { deg[i] += w; });
        m2 += deg[i];
      }
      if (!m2) break;
      var comm = new Int32Array(M), tot = Float64Array.from(deg);
      for (i = 0; i < M; i++) comm[i] = i;
      var movedAny = false;
      for (var pass = 0; pass < 12; pass++) {
        var moves = 0;
        for (i = 0; i < M; i++) {
          var ci = comm[i], ki = deg[i];
          if (!ki) continue;
          wc.clear();
          W[i].forEach(function (w, j) {
            if (j !== i) wc.set(comm[j], (wc.get(comm[j]) || 0) + w);
          });
          tot[ci] -= ki;
          var best = ci, gain = (wc.get(ci) || 0) - (tot[ci] * ki) / m2;
          wc.forEach(function (w, c) {
            var g = w - (tot[c] * ki) / m2;
            if (g > gain + 1e-9) {
              gain = g;
              best = c;
            }
          });
          tot[best] += ki;
          if (best !== ci) {
            comm[i] = best;
            moves++;
          }
        }
        if (!moves) break;
        movedAny = true;
      }
      if (!movedAny) break;
      var renum = new Map();
      for (i = 0; i < M; i++) if (!renum.has(comm[i])) renum.set(comm[i], renum.size);
      var NW = [];
      for (k = 0; k < renum.size; k++) NW.push(new Map());
      for (i = 0; i < M; i++) {
        var a = renum.get(comm[i]);
        W[i].forEach(function (w, j) {
          var b = renum.get(comm[j]);
          NW[a].set(b, (NW[a].get(b) || 0) + w);
        });
      }
      for (k = 0; k < N; k++) member[k] = renum.get(comm[member[k]]);
      W = NW;
    }
    var label = new Int32Array(adj.length).fill(-1);
    coarse.forEach(function (c, x) { label[c] = member[x]; });
    return label;
  }

  // Each group laid out by itself (cy holds only the links inside groups),
  // then the groups, as boxes of their size linked by the links between
  // them, laid out as one graph; positions into xy.
  function placeCommunities(cytoscape, cy, coarse, part, E, owner, xy) {
    var groups = new Map();
    coarse.forEach(function (c) {
      if (!groups.has(part[c])) groups.set(part[c], []);
      groups.get(part[c]).push(c);
    });
    var boxes = [], gi = new Map();
    groups.forEach(function (members, key) {
      var nodes = cy.collection(members.map(function (c) { return cy.getElementById('n' + c); }));
      if (members.length > 2) {
        nodes.union(nodes.connectedEdges()).layout(layoutOptions('fcose', members.length)).run();
      } else {
        lineUp(nodes);
      }
      var x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
      nodes.forEach(function (node) {
        var p = node.position(), w = node.width() / 2, h = node.height() / 2;
        x1 = Math.min(x1, p.x - w); x2 = Math.max(x2, p.x + w);
        y1 = Math.min(y1, p.y - h); y2 = Math.max(y2, p.y + h);
      });
      gi.set(key, boxes.length);
      boxes.push({ key: key, nodes: nodes, cx: (x1 + x2) / 2, cy: (y1 + y2) / 2, w: x2 - x1 + 40, h: y2 - y1 + 40 });
    });
    var els = boxes.map(function (b, i) { return { group: 'nodes', data: { id: 'g' + i, w: b.w, h: b.h } }; });
    var seen = new Set();
    for (var j = 0; j < E.length; j += 3) {
      var s = E[j], t = E[j + 1];
      if (owner[s] >= 0 || owner[t] >= 0 || part[s] === part[t]) continue;
      var a = gi.get(part[s]), b = gi.get(part[t]);
      var key = a < b ? a + ',' + b : b + ',' + a;
      if (seen.has(key)) continue;
      seen.add(key);
      els.push({ group: 'edges', data: { id: 'l' + key, source: 'g' + a, target: 'g' + b, call: 1 } });
    }
    var top = headless(cytoscape, els);
    top.layout(Object.assign(layoutOptions('fcose', boxes.length), {
      idealEdgeLength: function () { return 90; },
      nodeRepulsion: 9000,
      gravity: 0.4
    })).run();
    top.nodes().forEach(function (g) {
      var b = boxes[Number(g.id().slice(1))], p = g.position();
      b.x = p.x;
      b.y = p.y;
    });
    top.destroy();
    separate(boxes);
    boxes.forEach(function (b) {
      b.nodes.forEach(function (node) {
        var q = node.position(), c = Number(node.id().slice(1));
        xy[2 * c] = q.x - b.cx + b.x;
        xy[2 * c + 1] = q.y - b.cy + b.y;
      });
    });
  }

  // Pushes overlapping boxes ({x, y: centre, w, h}) apart, each pair along
  // the axis where they overlap least, until none overlap (or enough
  // rounds went by: the work is quadratic in the number of boxes).
  function separate(boxes) {
    var k = boxes.length;
    // First spread the whole (it keeps its shape) by the factor that parts
    // most of the overlapping pairs, up to 3 times.
    var needs = [];
    for (var p = 0; p < k && k <= 1500; p++) {
      for (var q = p + 1; q < k; q++) {
        var A = boxes[p], B = boxes[q];
        var ax = Math.abs(A.x - B.x), ay = Math.abs(A.y - B.y);
        var sx = ax ? (A.w + B.w) / 2 / ax : Infinity, sy = ay ? (A.h + B.h) / 2 / ay : Infinity;
        var need = Math.min(sx, sy);
        if (need > 1) needs.push(need);
      }
    }
    if (needs.length) {
      needs.sort(function (x, y) { return x - y; });
      var f = Math.min(3, needs[Math.floor(needs.length * 0.8)]);
      boxes.forEach(function (b) { b.x *= f; b.y *= f; });
    }
    var rounds = Math.min(80, Math.floor(2e7 / Math.max(1, k * k)));
    for (var r = 0; r < rounds; r++) {
      var moved = false;
      for (var i = 0; i < k; i++) {
        var a = boxes[i];
        for (var j = i + 1; j < k; j++) {
          var b = boxes[j];
          var ox = (a.w + b.w) / 2 - Math.abs(a.x - b.x);
          var oy = (a.h + b.h) / 2 - Math.abs(a.y - b.y);
          if (ox <= 0 || oy <= 0) continue;
          moved = true;
          if (ox < oy) {
            var dx = (a.x < b.x || (a.x === b.x && i < j) ? -1 : 1) * (ox / 2 + 1);
            a.x += dx;
            b.x -= dx;
          } else {
            var dy = (a.y < b.y || (a.y === b.y && i < j) ? -1 : 1) * (oy / 2 + 1);
            a.y += dy;
            b.y -= dy;
          }
        }
      }
      if (!moved) break;
    }
  }

  // Receives a job plus {id, scripts (the vendored files, in order)};
  // answers {id, xy} or {id, error}.
  function workerMain(self) {
    var loaded = false;
    self.onmessage = function (ev) {
      var m = ev.data;
      try {
        if (!loaded) {
          self.importScripts.apply(self, m.scripts);
          loaded = true;
        }
        var xy = layoutJob(self.cytoscape, m);
        self.postMessage({ id: m.id, xy: xy }, [xy.buffer]);
      } catch (e) {
        self.postMessage({ id: m.id, error: String((e && e.message) || e) });
      }
    };
  }
})(typeof self !== 'undefined' ? self : this);
