// Liaison console: the little the pages need JavaScript for. Every page
// works without it; with it, regions marked `data-live` refresh when the
// node's event stream (/api/v1/events) says something they show changed,
// and the match form shows that it is waiting for the peers.
// Loaded as a module from the node itself (CSP: script-src 'self').

document.documentElement.classList.add("js");

// --- Live regions ---------------------------------------------------------

const live = Array.from(document.querySelectorAll("[data-live]"));

async function refresh() {
  const res = await fetch(location.href, {
    credentials: "same-origin",
    headers: { Accept: "text/html" },
  });
  if (res.redirected || !res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  for (const el of live) {
    const fresh = doc.getElementById(el.id);
    // Both trees come from the node's own templates, which escape every
    // value: nodes are moved, not re-parsed from strings.
    if (fresh) el.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.adoptNode(n)));
  }
  document.body.dataset.refreshed = String(Date.now());
}

let pending = null;
function soon() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = null;
    refresh().catch(() => {});
  }, 250);
}

if (live.length > 0 && "EventSource" in window) {
  const kinds = new Set(live.flatMap((el) => el.dataset.live.split(/\s+/)));
  const stream = new EventSource("/api/v1/events", { withCredentials: true });
  for (const kind of kinds) stream.addEventListener(kind, soon);
  stream.addEventListener("open", () => {
    document.body.dataset.live = "open";
  });
  stream.addEventListener("error", () => {
    document.body.dataset.live = "retrying";
  });
  window.addEventListener("pagehide", () => stream.close());
}

// --- The match form: waiting for answers ----------------------------------

const matchForm = document.getElementById("match");
if (matchForm) {
  matchForm.addEventListener("submit", () => {
    const out = document.getElementById("match-progress");
    const button = matchForm.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    if (!out) return;
    const started = Date.now();
    const say = () => {
      const s = Math.round((Date.now() - started) / 1000);
      out.textContent = `${matchForm.dataset.progress} ${s} s`;
    };
    say();
    setInterval(say, 1000);
  });
}

// --- The link chart's selection, exported for i2 or as STIX -----------------

const exportForm = document.getElementById("export-selection");
if (exportForm) {
  exportForm.addEventListener("submit", (event) => {
    const cy = window.liaisonChart;
    // Record nodes are `r:<agency>:<id>`; only ours can be exported here.
    const prefix = `r:${exportForm.dataset.ours}:`;
    const ours = (collection) =>
      collection.filter((n) => n.id().startsWith(prefix)).map((n) => n.id().slice(prefix.length));
    let ids = cy ? ours(cy.nodes(":selected")) : [];
    if (cy && ids.length === 0) ids = ours(cy.nodes());
    for (const old of exportForm.querySelectorAll("input[name=record]")) old.remove();
    if (ids.length === 0) {
      event.preventDefault();
      return;
    }
    for (const id of ids) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "record";
      input.value = id;
      exportForm.append(input);
    }
  });
}
