// The forecast page: progress bars take their width from data-width (the CSP forbids inline styles).
document.querySelectorAll(".progress-bar[data-width]").forEach((bar) => {
  const width = Math.max(0, Math.min(100, Number(bar.dataset.width) || 0));
  bar.style.width = `${width}%`;
});
