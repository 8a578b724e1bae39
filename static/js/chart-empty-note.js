// Every chart with nothing to count says so in its middle (the canvas's data-empty text) instead of
// drawing an empty frame. Registered once for all charts of the page.
// When Chart.js itself did not load (CDN blocked, classroom offline), every chart's box shows the plain
// text of this script's data-unavailable attribute instead of staying an empty white card.
(function () {
  const script = document.currentScript;
  if (typeof Chart === "undefined") {
    const note = script && script.dataset.unavailable;
    document.querySelectorAll("canvas[data-empty]").forEach((canvas) => {
      const text = document.createElement("p");
      text.className = "chart-unavailable text-muted small mb-0";
      text.dataset.testid = "chart-unavailable";
      text.textContent = note || "";
      canvas.parentElement.style.height = "auto";  // the box kept room for a chart that will not come
      canvas.replaceWith(text);
    });
    return;
  }
  Chart.register({
    id: "emptyNote",
    afterDraw(chart) {
      const note = chart.canvas.dataset.empty;
      const values = chart.data.datasets.flatMap((d) => d.data || []);
      if (!note || values.some((v) => Number(v) !== 0)) { return; }
      const { ctx, chartArea: area } = chart;
      ctx.save();
      ctx.fillStyle = "#6c757d";
      ctx.font = "14px system-ui, sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText(note, (area.left + area.right) / 2, (area.top + area.bottom) / 2);
      ctx.restore();
    },
  });
})();
