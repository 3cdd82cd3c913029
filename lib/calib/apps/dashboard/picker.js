// The people picker (calib.apps.dashboard.picker): type to search, a list grouped under headings,
// one entry chosen. Entries carry a key (never an employee id), a label (name or pseudonym), a few
// words of why and a mark; search folds case and accents and runs in the page, so typing costs no
// round trip to the kernel. Text is set with textContent only: nothing in an entry is ever HTML.

function fold(text) {
  return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

function render({ model, el }) {
  el.classList.add("calib-picker");
  const search = document.createElement("input");
  search.type = "search";
  search.className = "calib-picker-search";
  search.setAttribute("aria-label", model.get("placeholder"));
  search.placeholder = model.get("placeholder");
  search.autocomplete = "off";
  const count = document.createElement("div");
  count.className = "calib-picker-count";
  count.setAttribute("aria-live", "polite");
  const list = document.createElement("div");
  list.className = "calib-picker-list";
  list.setAttribute("role", "listbox");
  list.tabIndex = 0;
  el.append(search, count, list);
  let visible = []; // entries shown, in order (for the keyboard)
  let cursor = -1; // the entry the keyboard points at

  function choose(key) {
    if (key !== model.get("value")) {
      model.set("value", key);
      model.save_changes();
    }
  }

  function draw() {
    const entries = model.get("entries") || [];
    const value = model.get("value");
    const query = fold(search.value.trim());
    const matched = query ? entries.filter((e) => fold(e.label).includes(query)) : entries;
    const limit = model.get("limit");
    visible = matched.slice(0, limit);
    list.replaceChildren();
    let heading = null;
    let section = list; // each group in its own section, so its sticky heading leaves with it
    visible.forEach((entry, index) => {
      if (entry.group && entry.group !== heading) {
        heading = entry.group;
        section = document.createElement("div");
        section.className = "calib-picker-section";
        section.setAttribute("role", "group");
        section.setAttribute("aria-label", heading);
        const head = document.createElement("div");
        head.className = "calib-picker-group";
        head.textContent = heading;
        section.append(head);
        list.append(section);
      }
      const row = document.createElement("div");
      row.className = "calib-picker-entry";
      row.setAttribute("role", "option");
      row.dataset.key = entry.key;
      row.setAttribute("aria-selected", entry.key === value ? "true" : "false");
      if (index === cursor) row.classList.add("calib-picker-cursor");
      const label = document.createElement("span");
      label.className = "calib-picker-label";
      label.textContent = (entry.mark ? entry.mark + " " : "") + entry.label;
      row.append(label);
      if (entry.why) {
        const why = document.createElement("span");
        why.className = "calib-picker-why";
        why.textContent = entry.why;
        row.append(why);
      }
      row.addEventListener("click", () => choose(entry.key));
      section.append(row);
    });
    const more = matched.length - visible.length;
    if (more > 0) {
      const note = document.createElement("div");
      note.className = "calib-picker-more";
      note.textContent = `… and ${more.toLocaleString()} more: type part of a name to find them`;
      list.append(note);
    }
    count.textContent = query
      ? `${matched.length.toLocaleString()} of ${entries.length.toLocaleString()} match "${search.value.trim()}"`
      : `${entries.length.toLocaleString()} ${model.get("noun")}`;
    const chosen = list.querySelector('[aria-selected="true"]');
    if (chosen && !query) chosen.scrollIntoView({ block: "nearest" });
  }

  search.addEventListener("input", () => {
    cursor = -1;
    draw();
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      cursor = Math.max(0, Math.min(visible.length - 1, cursor + step));
      draw();
      const row = list.querySelector(".calib-picker-cursor");
      if (row) row.scrollIntoView({ block: "nearest" });
    } else if (event.key === "Enter") {
      const entry = visible[cursor >= 0 ? cursor : 0];
      if (entry) choose(entry.key);
    } else if (event.key === "Escape") {
      search.value = "";
      cursor = -1;
      draw();
    }
  });
  model.on("change:entries", draw);
  model.on("change:value", draw);
  draw();
}

export default { render };
