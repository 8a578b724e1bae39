// Class activity chart: actions per student per bucket, one stacked dataset per student.
// Data comes from <script type="application/json" id="activity-data"> (no inline script: the CSP forbids it).
(function () {
  const canvas = document.getElementById("activity-chart");
  const source = document.getElementById("activity-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  const spec = JSON.parse(source.textContent);
  // Distinct colours for any number of students: hues spread by the golden angle, two lightness levels.
  const colour = (i) => `hsl(${Math.round((i * 137.508) % 360)}, 62%, ${i % 2 ? 58 : 46}%)`;
  const many = spec.datasets.length > 24;
  canvas.chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: spec.labels,
      datasets: spec.datasets.map((d, i) => ({ ...d, backgroundColor: colour(i), borderWidth: 0, maxBarThickness: 48 })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: spec.axis } },
      },
      // With dozens of students a legend would bury the chart: the tooltip names the student instead.
      plugins: {
        title: { display: true, text: spec.title, align: "start", font: { size: 14, weight: "600" } },
        legend: { display: !many && spec.datasets.length > 0, position: "bottom", labels: { boxWidth: 10, boxHeight: 10 } },
        tooltip: { mode: many ? "nearest" : "index", intersect: many, filter: (item) => item.raw > 0 },
      },
    },
  });
  canvas.dataset.rendered = "true";
})();
