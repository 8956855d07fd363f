// Benchmark harness for node/src/daemon/console/web/static/chart.js (scripts/bench-chart).
// A deferred classic script that runs before the chart: it takes the graph's size
// and the layout settings from the query string onto #chart, and records
// long tasks and CSP violations for the driver to read.
(function () {
  'use strict';
  var h = window.liaisonHarness = { longTasks: [], violations: [] };
  try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) {
        h.longTasks.push({ start: e.startTime, duration: e.duration });
      });
    }).observe({ type: 'longtask', buffered: true });
  } catch (e) {
    h.noLongTasks = String(e);
  }
  document.addEventListener('securitypolicyviolation', function (e) {
    h.violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + (e.lineNumber || ''));
  });
  // The longest task that overlaps the last layout and the making of the
  // chart (chart.js's marks: from liaison-layout-start to one second after
  // liaison-ready, the first frame drawn, or else liaison-layout-end).
  h.longestDuringLayout = function () {
    var s = performance.getEntriesByName('liaison-layout-start');
    var e = performance.getEntriesByName('liaison-ready');
    if (!e.length) e = performance.getEntriesByName('liaison-layout-end');
    if (!s.length || !e.length) return null;
    var from = s[s.length - 1].startTime, to = e[e.length - 1].startTime + 1000;
    var max = 0;
    h.longTasks.forEach(function (t) {
      if (t.start < to && t.start + t.duration > from) max = Math.max(max, t.duration);
    });
    return max;
  };
  // Deferred like the chart's scripts and before them: #chart is there
  // and chart.js has not run yet.
  (function () {
    var q = new URLSearchParams(location.search);
    var box = document.getElementById('chart');
    var graph = new URL(box.dataset.graph, location.href);
    ['n', 'seed', 'nasty', 'fail'].forEach(function (k) { if (q.has(k)) graph.searchParams.set(k, q.get(k)); });
    box.dataset.graph = graph.pathname + graph.search;
    if (q.has('layout')) box.dataset.layout = q.get('layout');
    if (q.has('thread')) box.dataset.layoutThread = q.get('thread');
  })();
})();
