// The phone page's keys. The lists are listboxes driven from their search box
// (aria-activedescendant): the focus stays in the box while the arrows move the highlight.
(function () {
  "use strict";
  const form = document.getElementById("phone-order");
  const customerSearch = document.getElementById("customer-search");
  const bookSearch = document.getElementById("book-search");
  const waiting = new Map(); // search box -> an Enter pressed before its results arrived
  // A book was just taken: its quantity box gets the focus when the basket comes back, unless
  // the clerk has moved on meanwhile (typing the next search, another field): taking the focus
  // then sent their next keys into the quantity box.
  let focusQuantity = false;
  for (const type of ["keydown", "input", "focusin", "pointerdown"]) {
    document.addEventListener(type, () => { focusQuantity = false; }, true);
  }

  function listOf(input) { return document.getElementById(input.getAttribute("aria-controls")); }
  function options(list) { return Array.from(list.querySelectorAll("[role=option]:not([aria-disabled=true])")); }
  function current(list) { return list.querySelector("[role=option][aria-selected=true]") || options(list)[0] || null; }
  function upToDate(input) { return (listOf(input).dataset.q || "") === input.value.trim(); }

  function sync(input) {
    const list = listOf(input);
    const open = !list.hidden && list.children.length > 0;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    const item = open ? current(list) : null;
    if (item) { input.setAttribute("aria-activedescendant", item.id); } else { input.removeAttribute("aria-activedescendant"); }
  }

  function move(input, step) {
    const items = options(listOf(input));
    if (!items.length) return;
    let at = items.findIndex((li) => li.getAttribute("aria-selected") === "true");
    at = at < 0 ? 0 : (at + step + items.length) % items.length;
    items.forEach((li, n) => li.setAttribute("aria-selected", n === at ? "true" : "false"));
    items[at].scrollIntoView({ block: "nearest" });
    sync(input);
  }

  function close(input) {
    const list = listOf(input);
    list.hidden = true;
    list.innerHTML = "";
    list.dataset.q = "";
    sync(input);
  }

  function takeCustomer(item) {
    const query = customerSearch.value.trim();
    if (item) {
      for (const field of ["name", "email", "phone", "address"]) {
        document.getElementById(field).value = item.dataset[field] || "";
      }
      close(customerSearch);
      bookSearch.focus();
      return;
    }
    // Nobody matched: a new customer, starting from what was typed.
    if (query.includes("@")) { document.getElementById("email").value = query; }
    else if (/\d/.test(query)) { document.getElementById("phone").value = query; }
    else if (query) { document.getElementById("name").value = query; }
    close(customerSearch);
    document.getElementById("name").focus();
  }

  function takeBook(item) {
    if (!item) return;
    htmx.ajax("POST", "/staff/phone/basket", {
      source: form, target: "#basket", swap: "outerHTML", values: { add: item.dataset.isbn },
    });
    bookSearch.value = "";
    close(bookSearch);
    focusQuantity = true;
  }

  function take(input, item) {
    const chosen = item || current(listOf(input));
    if (input === customerSearch) { takeCustomer(chosen); } else { takeBook(chosen); }
  }

  for (const input of [customerSearch, bookSearch]) {
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        move(input, event.key === "ArrowDown" ? 1 : -1);
      } else if (event.key === "Enter" && !event.ctrlKey) {
        event.preventDefault();
        if (upToDate(input)) { take(input); return; }
        if (!input.value.trim()) { if (input === customerSearch) takeCustomer(null); return; }
        waiting.set(input, input.value.trim());
        htmx.trigger(input, "search");
      } else if (event.key === "Escape") {
        close(input);
      }
    });
    // On the fieldset: htmx replaces the list itself with every answer.
    input.closest("fieldset").addEventListener("click", (event) => {
      const list = listOf(input);
      const item = event.target.closest("[role=option]:not([aria-disabled=true])");
      if (item && list.contains(item)) { take(input, item); }
    });
  }

  document.body.addEventListener("htmx:afterSettle", () => {
    for (const input of [customerSearch, bookSearch]) {
      // A late answer to a search the clerk has since cleared (by taking its result).
      if (!input.value.trim() && listOf(input).dataset.q) close(input);
      sync(input);
      if (waiting.has(input) && upToDate(input) && waiting.get(input) === input.value.trim()) {
        waiting.delete(input);
        take(input);
      }
    }
    const next = document.querySelector("#basket [data-focus]");
    if (next) {
      next.removeAttribute("data-focus");
      if (focusQuantity) { next.focus(); next.select(); }
      focusQuantity = false;
    }
  });

  form.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.target.matches("textarea, button, #customer-search, #book-search")) {
      if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey) { event.preventDefault(); form.requestSubmit(); return; }
    event.preventDefault();
    if (event.target.matches(".qty")) { bookSearch.focus(); return; }
    // Enter in a customer field moves on, like Tab, rather than placing a half-typed order.
    const fields = Array.from(form.querySelectorAll("input:not([type=hidden]), textarea, button"));
    const next = fields[fields.indexOf(event.target) + 1];
    if (next) next.focus();
  });

  form.addEventListener("submit", () => {
    // The key in the form makes a second submit the same order; this spares the round trip.
    const button = document.getElementById("place-order");
    setTimeout(() => { button.disabled = true; button.textContent = "Placing the order…"; }, 0);
  });
})();
