// The opportunity page's inline forms: their pickers (product, contact, partner, competitor) arrive with the
// placeholder alone, and their choices are fetched once, for all four, when a form is reached for: the pointer
// over it, a touch, or focus (the keyboard). A page opened at one of the cards (#lines after adding a line)
// fetches them at once. Most visits read the opportunity without adding to it.
(() => {
  const forms = Array.from(document.querySelectorAll("form[data-pickers-url]"));
  if (!forms.length) return;
  const url = forms[0].dataset.pickersUrl;
  const selectOf = (form) => form.querySelector(`select[name="${form.dataset.picker}"]`);
  let state = "idle"; // idle | loading | done

  const say = (form, text) => {
    const select = selectOf(form);
    if (!select || !select.options.length) return;
    select.options[0].textContent = text;
  };

  const load = () => {
    if (state !== "idle") return;
    state = "loading";
    forms.forEach((form) => {
      const select = selectOf(form);
      if (select) select.setAttribute("aria-busy", "true");
      say(form, form.dataset.loading);
    });
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.json();
      })
      .then((choices) => {
        forms.forEach((form) => {
          const select = selectOf(form);
          if (!select || !(form.dataset.picker in choices)) return;
          // Server-rendered, escaped <option>s (records/rendered.py writes them as the full forms do).
          select.innerHTML = choices[form.dataset.picker];
          select.removeAttribute("aria-busy");
        });
        state = "done";
      })
      .catch(() => {
        forms.forEach((form) => {
          say(form, form.dataset.failed);
          const select = selectOf(form);
          if (select) select.removeAttribute("aria-busy");
        });
        state = "idle"; // the next reach tries again
      });
  };

  forms.forEach((form) => {
    ["pointerenter", "focusin"].forEach((name) => form.addEventListener(name, load));
    form.addEventListener("touchstart", load, { passive: true });
  });
  const target = window.location.hash && document.getElementById(window.location.hash.slice(1));
  if (target && forms.some((form) => target.contains(form))) load();
})();
