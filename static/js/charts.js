// Draws every <canvas class="js-chart" data-chart='{"type":..,"labels":[..],"data":[..],"title":..}'>.
(function () {
  if (typeof Chart === "undefined") { return; }
  const palette = ["#0d6efd", "#20c997", "#ffc107", "#6f42c1", "#dc3545", "#fd7e14", "#198754", "#6c757d"];
  document.querySelectorAll("canvas.js-chart").forEach((canvas) => {
    const spec = JSON.parse(canvas.dataset.chart);
    const round = spec.type === "doughnut" || spec.type === "pie";
    canvas.chart = new Chart(canvas, {
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
        // Counts of people or records have no fractions on their axis.
        ...(spec.integer ? { scales: { y: { ticks: { precision: 0 } } } } : {}),
      },
    });
    canvas.dataset.rendered = "true";
  });
})();
