// Every chart with nothing to count says so in its middle (the canvas's data-empty text) instead of
// drawing an empty frame. Registered once for all charts of the page.
(function () {
  if (typeof Chart === "undefined") { return; }
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
