// Charts as wide as the page (calib.apps.dashboard.sizer). vega sizes a `width: "container"` chart when it
// is drawn and again on a window resize only; a chart drawn before its widget is attached, or in a tab
// that is hidden, is drawn 0 pixels wide. This watches every chart container and, when one changes
// width (attached, its tab shown, the window resized), sends the window one resize event.
function render({ el }) {
  el.style.display = "none";
  if (window.__calibFitCharts) return;
  window.__calibFitCharts = true;
  const widths = new WeakMap();
  let queued = false;
  const resized = new ResizeObserver((entries) => {
    let changed = false;
    for (const entry of entries) {
      const width = Math.round(entry.contentRect.width);
      if (widths.get(entry.target) !== width) {
        widths.set(entry.target, width);
        changed = true;
      }
    }
    if (changed && !queued) {
      queued = true;
      requestAnimationFrame(() => {
        queued = false;
        window.dispatchEvent(new Event("resize"));
      });
    }
  });
  let scanning = false;
  const watch = () => {
    scanning = false;
    for (const chart of document.querySelectorAll(".calib-charts .vega-embed")) resized.observe(chart);
  };
  new MutationObserver(() => {
    if (!scanning) {
      scanning = true;
      requestAnimationFrame(watch);
    }
  }).observe(document.body, { childList: true, subtree: true });
  watch();
}

export default { render };
