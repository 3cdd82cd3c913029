// The 9-box board (calib.apps.dashboard.board): cards in boxes, dragged with a mouse or moved with the
// keyboard; a move opens a reason field and is recorded by the kernel only with a reason.
// Plain ES module, no dependencies: every string is set as text (textContent), never parsed as HTML.

function node(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

function nearest(values, all, current) {
  // The value of `values` nearest to `current` on the whole scale `all` (current itself when inside).
  if (values.includes(current)) return current;
  const at = all.indexOf(current);
  if (at < 0) return values[0];
  let best = values[0];
  for (const value of values) {
    if (Math.abs(all.indexOf(value) - at) < Math.abs(all.indexOf(best) - at)) best = value;
  }
  return best;
}

function render({ model, el }) {
  el.classList.add("calib-board");
  const opened = new Set(); // boxes showing every card
  let pending = null; // the move sent and not yet answered: {nonce, key}
  let dialog = null;
  let dragged = null;
  const help = node("p", "calib-board-help");
  const status = node("p", "calib-board-status");
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const content = node("div", "calib-board-content");
  el.append(help, status, content);

  const cardsIn = (data, column, row) =>
    data.cards.filter((card) => card.column === column && card.row === row);

  function cardElement(card) {
    const element = node("div", "calib-board-card");
    element.dataset.key = card.key;
    element.setAttribute("role", "button");
    element.setAttribute("tabindex", "0");
    element.setAttribute("aria-label", `${card.label}, ${card.rating}: press Enter to move`);
    element.append(node("span", "calib-board-name", card.label), node("span", "calib-board-rating", card.rating));
    if (!model.get("locked")) {
      element.draggable = true;
      element.addEventListener("dragstart", (event) => {
        dragged = card.key;
        event.dataTransfer.setData("text/plain", card.key);
        event.dataTransfer.effectAllowed = "move";
        element.classList.add("calib-dragging");
      });
      element.addEventListener("dragend", () => element.classList.remove("calib-dragging"));
      element.addEventListener("click", () => openDialog(card.key, card.column, card.row));
      element.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          openDialog(card.key, card.column, card.row);
        }
      });
    }
    return element;
  }

  function box(data, column, row, title) {
    // One drop zone: its count (and small mark), its cards, a button to open it whole.
    const id = `${column.group}|${row ? row.group : ""}`;
    const inside = cardsIn(data, column.group, row ? row.group : null);
    const small = inside.length > 0 && inside.length < data.small;
    const zone = node("div", small ? "calib-board-box calib-small" : "calib-board-box");
    zone.dataset.box = id;
    zone.setAttribute("aria-label", `${title}: ${inside.length}`);
    const head = node("div", "calib-board-head");
    head.append(node("b", "calib-board-count", inside.length));
    if (small) head.append(node("span", "calib-note", "small: fewer than the minimum group size"));
    zone.append(head);
    const list = node("div", "calib-board-cards");
    const shown = opened.has(id) ? inside : inside.slice(0, data.shown);
    for (const card of shown) list.append(cardElement(card));
    zone.append(list);
    if (inside.length > data.shown) {
      const more = node("button", "calib-board-more", opened.has(id) ? "Show fewer" : `Show all ${inside.length}`);
      more.type = "button";
      more.setAttribute("aria-expanded", opened.has(id) ? "true" : "false");
      more.addEventListener("click", () => {
        if (opened.has(id)) opened.delete(id);
        else opened.add(id);
        draw();
      });
      zone.append(more);
    }
    if (!model.get("locked") && row) {
      zone.addEventListener("dragover", (event) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
        zone.classList.add("calib-over");
      });
      zone.addEventListener("dragleave", () => zone.classList.remove("calib-over"));
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        zone.classList.remove("calib-over");
        const key = event.dataTransfer.getData("text/plain") || dragged;
        dragged = null;
        if (key) openDialog(key, column.group, row.group);
      });
    }
    return zone;
  }

  function draw() {
    const data = model.get("data") || {};
    content.replaceChildren();
    help.textContent = model.get("locked")
      ? "The session is locked: the board is read-only."
      : "Drag a card to another box, or select it and press Enter, to move someone (a reason is required).";
    if (!data.cards) return;
    const grid = node("div", "calib-board-grid");
    grid.append(node("div", "calib-board-corner"));
    for (const column of data.columns) grid.append(node("div", "calib-board-axis calib-board-column", column.title));
    for (const row of data.rows) {
      grid.append(node("div", "calib-board-axis calib-board-row", row.title));
      for (const column of data.columns) grid.append(box(data, column, row, `${row.title}, ${column.title}`));
    }
    content.append(grid);
    const waiting = data.cards.filter((card) => card.row === null);
    if (waiting.length) {
      const tray = node("div", "calib-board-tray");
      tray.append(node("h4", null, `No potential recorded yet (${waiting.length}): drag into the grid to set one`));
      const list = node("div", "calib-board-cards");
      for (const card of waiting) list.append(cardElement(card));
      tray.append(list);
      content.append(tray);
    }
  }

  function openDialog(key, columnGroup, rowGroup) {
    const data = model.get("data") || {};
    const card = (data.cards || []).find((c) => c.key === key);
    if (!card || model.get("locked") || pending) return;
    closeDialog();
    const column = data.columns.find((c) => c.group === columnGroup) || data.columns[0];
    const row = data.rows.find((r) => r.group === rowGroup);
    const element = node("div", "calib-board-dialog");
    const backdrop = node("div", "calib-board-backdrop");
    element.setAttribute("role", "dialog");
    element.setAttribute("aria-modal", "true");
    element.setAttribute("aria-label", `Move ${card.label}`);
    element.append(node("h4", null, `Move ${card.label}`));

    function choice(name, values, current, chosen) {
      const label = node("label", "calib-board-field");
      label.append(node("span", null, `${name}: ${current ?? "none"} → `));
      const select = node("select", `calib-board-${name}`);
      for (const value of values) {
        const option = node("option", null, value);
        option.value = value;
        select.append(option);
      }
      select.value = chosen;
      label.append(select);
      element.append(label);
      return select;
    }
    const rating = choice("rating", data.ratings, card.rating, nearest(column.values, data.ratings, card.rating));
    const chosenPotential = row
      ? nearest(row.values, data.potentials, card.potential)
      : card.potential ?? data.potentials[0];
    const potential = choice("potential", data.potentials, card.potential, chosenPotential);
    const reason = node("textarea", "calib-board-reason");
    reason.placeholder = "Why (required): the evidence you relied on";
    reason.setAttribute("aria-label", "Reason for the move (required)");
    element.append(reason);
    const hint = node("p", "calib-board-hint");
    const message = node("p", "calib-board-message");
    message.setAttribute("role", "alert");
    element.append(hint, message);
    const buttons = node("div", "calib-board-buttons");
    const record = node("button", "calib-board-record", "Record move");
    record.type = "button";
    const cancel = node("button", "calib-board-cancel", "Cancel");
    cancel.type = "button";
    buttons.append(record, cancel);
    element.append(buttons);

    const changed = () => rating.value !== card.rating || potential.value !== (card.potential ?? "");
    const refresh = () => {
      record.disabled = Boolean(pending) || !reason.value.trim() || !changed();
      hint.textContent = changed() ? "" : "Nothing would change: choose another rating or potential.";
    };
    for (const control of [rating, potential]) {
      control.addEventListener("change", () => {
        message.textContent = "";
        refresh();
      });
    }
    reason.addEventListener("input", refresh);
    record.addEventListener("click", () => {
      if (record.disabled) return;
      const nonce = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      pending = { nonce, key };
      record.disabled = true;
      message.textContent = "Recording…";
      model.send({ type: "move", nonce, key, rating: rating.value, potential: potential.value, reason: reason.value });
    });
    cancel.addEventListener("click", () => {
      pending = null;
      closeDialog();
      el.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
    });
    element.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel.click();
    });
    backdrop.append(element);
    backdrop.addEventListener("click", (event) => {
      if (event.target === backdrop) cancel.click();
    });
    dialog = { element: backdrop, key };
    // On the page itself: the widget's boxes would make "fixed" relative to them, not to the window.
    document.body.append(backdrop);
    refresh();
    (row ? reason : rating).focus();
  }

  function closeDialog() {
    if (dialog) dialog.element.remove();
    dialog = null;
  }

  model.on("change:answer", () => {
    const answer = model.get("answer") || {};
    if (!pending || answer.nonce !== pending.nonce) return;
    pending = null;
    if (answer.ok) {
      closeDialog();
      status.textContent = `✔ ${answer.text}`;
      status.className = "calib-board-status calib-recorded";
    } else if (dialog) {
      dialog.element.querySelector(".calib-board-message").textContent = answer.text;
      dialog.element.querySelector(".calib-board-record").disabled = false;
    }
  });
  model.on("change:data", draw);
  model.on("change:locked", () => {
    if (model.get("locked")) closeDialog();
    draw();
  });
  draw();
  return () => closeDialog(); // the view goes away: so does a dialog left open on the page
}

export default { render };
