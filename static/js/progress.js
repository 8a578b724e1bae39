// /me/progress reloads itself while the run is open, so the checklist follows the student's work.
// It waits while the tab is hidden or a field has focus, and stops when the data-refresh value is 0.
(function () {
  const box = document.querySelector("[data-refresh]");
  const seconds = box ? parseInt(box.dataset.refresh, 10) : 0;
  if (!seconds) { return; }
  setInterval(() => {
    const typing = document.activeElement && ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
    if (document.visibilityState === "visible" && !typing) { window.location.reload(); }
  }, seconds * 1000);
})();
