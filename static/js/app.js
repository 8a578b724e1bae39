// Confirmation for destructive POST buttons (no inline scripts: the CSP forbids them).
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

document.querySelectorAll(".js-print").forEach((b) => b.addEventListener("click", () => window.print()));
document.querySelectorAll(".js-autosubmit").forEach((s) => s.addEventListener("change", () => s.form.submit()));
