/* GridSweep console: small enhancements; every page also works without this file. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Filter forms submit themselves when a choice changes.
  document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
    form.addEventListener("change", () => form.requestSubmit());
  });
  // A header checkbox selects every row checkbox of the same name.
  document.querySelectorAll("input[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      const name = box.dataset.selectAll;
      document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((c) => {
        c.checked = box.checked;
      });
    });
  });
  // Typing a value picks the radio button of the same label.
  document.querySelectorAll("input[data-picks]").forEach((input) => {
    input.addEventListener("input", () => {
      const radio = input.closest("label")?.querySelector("input[type=radio]");
      if (radio) radio.checked = true;
    });
  });
});
// Delegated so that rows htmx swaps in are covered too.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (form.dataset.busy) {
    const busy = form.querySelector(".busy");
    if (busy) busy.hidden = false;
    form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
  }
}, true);
