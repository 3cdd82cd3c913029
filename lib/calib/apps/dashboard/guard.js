// The click guard (calib.apps.dashboard.picker.ClickGuard): a button marked `calib-guarded` takes
// one press, then ignores further presses until the kernel has answered that press and at least
// `quiet_ms` have passed. A double click, or an impatient second press while the first is still
// being recorded, therefore reaches the kernel once: it can never record two events, nor flag and
// unflag at once. The guard listens in the capture phase, before the button's own handler.

function render({ model, el }) {
  el.style.display = "none";
  const busy = new Map(); // button -> time of the press it is busy with

  function release() {
    const answered = performance.now();
    for (const [button, pressed] of busy) {
      const wait = Math.max(0, model.get("quiet_ms") - (answered - pressed));
      setTimeout(() => {
        if (busy.get(button) === pressed) {
          busy.delete(button);
          button.removeAttribute("data-calib-busy");
        }
      }, wait);
    }
  }

  function guard(event) {
    const button = event.target.closest ? event.target.closest("button.calib-guarded") : null;
    if (!button) return;
    if (busy.has(button)) {
      event.stopImmediatePropagation();
      event.preventDefault();
      return;
    }
    busy.set(button, performance.now());
    button.setAttribute("data-calib-busy", "1");
  }

  document.addEventListener("click", guard, true);
  model.on("change:answered", release);
  return () => document.removeEventListener("click", guard, true);
}

export default { render };
