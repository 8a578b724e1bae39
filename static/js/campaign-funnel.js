// The campaign page's funnel: members → responded → leads → opportunities → won, drawn as horizontal bars
// (one colour per step). Data comes from <script type="application/json" id="campaign-funnel-data">
// (no inline script: the CSP forbids it).
(function () {
  function draw() {
    const canvas = document.getElementById("campaign-funnel");
    const source = document.getElementById("campaign-funnel-data");
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    const spec = JSON.parse(source.textContent);
    const colour = (i) => `hsl(${Math.round(210 - i * 30)}, 65%, ${44 + i * 4}%)`;
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: [{
          label: spec.title,
          data: spec.values,
          backgroundColor: spec.values.map((_v, i) => colour(i)),
          maxBarThickness: 40,
        }],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { grid: { display: false } } },
        plugins: { legend: { display: false } },
      },
    });
    canvas.dataset.rendered = "true";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
