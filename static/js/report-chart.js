// A report's chart: one dataset (the measure chosen in the filters), or one per measure the report draws
// side by side (won against quota); a click on a bar or a slice opens
// the records behind it (the same drill-down link as the table row). Data comes from
// <script type="application/json" id="report-data"> (no inline script: the CSP forbids it).
(function () {
  function draw() {
    const canvas = document.getElementById("report-chart");
    const source = document.getElementById("report-data");
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    const spec = JSON.parse(source.textContent);
    const round = spec.type === "pie" || spec.type === "doughnut";
    const colour = (i) => `hsl(${Math.round((210 + i * 137.508) % 360)}, 60%, ${i % 2 ? 58 : 46}%)`;
    canvas.chart = new Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        // One dataset per measure drawn (won against quota); most reports draw one.
        datasets: (spec.series || [{ label: spec.label, values: spec.values }]).map((series, n) => ({
          label: series.label,
          data: series.values,
          backgroundColor: round ? series.values.map((_v, i) => colour(i)) : colour(n),
          borderColor: spec.type === "line" ? colour(n) : undefined,
          maxBarThickness: 56,
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: round ? {} : { y: { beginAtZero: true }, x: { grid: { display: false } } },
        plugins: { legend: { display: round || (spec.series || []).length > 1, position: round ? "right" : "top" } },
        onClick: (_event, elements) => {
          if (!elements.length) { return; }
          const link = spec.links[elements[0].index];
          if (link) { window.location.href = link; }
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
    });
    canvas.dataset.rendered = "true";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
