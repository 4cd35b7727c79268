// The page's entry point (a file, not an inline script, so the Content-Security-Policy can
// forbid inline scripts). The lab ships two builds of its wasm (scripts/build-web.sh): the
// lite module (lite/, the first view only, no training engine) and the full one (every view;
// the training worker loads it too). A link to the first view starts with the lite module,
// which checks the link itself (src/lite.rs) and, if it shows more than the first view, calls
// __memgenLoadEngine before mounting anything; any other link starts with the full module.
// Opening another view from the lite module loads the page again at its link, here.

let engine = null;
// The running module's exports (its memory: scripts/soak.mjs samples its size).
const started = (out) => {
  window.__memgenWasm = out;
  return out;
};
window.__memgenLoadEngine = () => {
  engine ??= import('../memgen-lab.js').then((m) => m.default()).then(started);
  return engine;
};

function firstView() {
  const slug = location.hash.replace(/^#\/?/, '').split(/[?&/]/)[0];
  return slug === '' || slug === 'memory';
}

if (firstView() && !new URLSearchParams(location.search).has('lesson')) {
  import('../lite/memgen-lab.js')
    .then((m) => m.default())
    .then(started)
    .catch((e) => {
      console.warn('the lite module did not load; loading the full one', e);
      return window.__memgenLoadEngine();
    });
} else {
  window.__memgenLoadEngine();
}
