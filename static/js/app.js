// Confirmation for destructive POST buttons (no inline scripts: the CSP forbids them).
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.querySelectorAll(".js-print").forEach((b) => b.addEventListener("click", () => window.print()));
document.querySelectorAll(".js-autosubmit").forEach((s) => s.addEventListener("change", () => s.form.submit()));

// Mark the navbar entry of the current section (and the language in use on signed-out pages).
(function () {
  const here = window.location.pathname;
  let best = null;
  document.querySelectorAll("nav.navbar a.nav-link[href], nav.navbar a.dropdown-item[href]").forEach((a) => {
    const href = a.getAttribute("href");
    if (!href || href.startsWith("#")) { return; }
    const url = new URL(href, window.location.href);
    const path = url.pathname;
    if (url.origin !== window.location.origin || path.startsWith("/auth/language/")) { return; }
    const prefix = path.endsWith("/") ? path : path + "/";
    const match = path === "/" ? here === "/" : here === path || here.startsWith(prefix);
    if (match && (!best || path.length > best.path.length)) { best = { a, path }; }
  });
  if (best) {
    best.a.classList.add("active");
    best.a.setAttribute("aria-current", "page");
    const menu = best.a.closest(".dropdown");
    if (menu && menu.querySelector(".dropdown-toggle")) { menu.querySelector(".dropdown-toggle").classList.add("active"); }
  }
  const lang = (document.documentElement.lang || "").toLowerCase();
  document.querySelectorAll("nav.navbar a.nav-link[href*='/auth/language/']").forEach((a) => {
    const code = new URL(a.href).pathname.split("/").pop().toLowerCase();
    if (code === lang || (code.startsWith("zh") && lang.startsWith("zh"))) {
      a.classList.add("active");
      a.setAttribute("aria-current", "true");
    }
  });
})();

// A header checkbox that ticks every box of a table: <input class="js-check-all" data-name="user_ids">.
document.querySelectorAll(".js-check-all").forEach((all) => {
  const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.name}"]`);
  all.addEventListener("change", () => boxes().forEach((b) => { b.checked = all.checked; }));
  all.form.addEventListener("change", (event) => {
    if (event.target === all) { return; }
    const list = [...boxes()];
    all.checked = list.length > 0 && list.every((b) => b.checked);
    all.indeterminate = !all.checked && list.some((b) => b.checked);
  });
});
