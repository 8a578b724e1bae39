// Draws every <canvas class="js-chart" data-chart='{"type":..,"labels":[..],"data":[..],"title":..}'>.
(function () {
  if (typeof Chart === "undefined") { return; }
  const palette = ["#0d6efd", "#20c997", "#ffc107", "#6f42c1", "#dc3545", "#fd7e14", "#198754", "#6c757d"];
  // With nothing to count, say so in the middle of the chart instead of drawing an empty frame.
  const emptyNote = {
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
  };
  document.querySelectorAll("canvas.js-chart").forEach((canvas) => {
    const spec = JSON.parse(canvas.dataset.chart);
    const round = spec.type === "doughnut" || spec.type === "pie";
    canvas.chart = new Chart(canvas, {
      plugins: [emptyNote],
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: (spec.datasets || [{ label: spec.title, data: spec.data }]).map((d, i) => ({
          backgroundColor: round ? palette : palette[i % palette.length], ...d,
        })),
      },
      options: {
        responsive: true, maintainAspectRatio: false,
        plugins: { title: { display: !!spec.title, text: spec.title }, legend: { display: round || !!spec.datasets } },
      },
    });
    canvas.dataset.rendered = "true";
  });
})();
