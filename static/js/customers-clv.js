// Customer lifetime value: the ten most valuable accounts as horizontal bars (a click opens the account).
// Data comes from <script type="application/json" id="clv-data"> (the CSP forbids inline scripts).
(function () {
  function draw() {
    const canvas = document.getElementById("clv-chart");
    const source = document.getElementById("clv-data");
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    const spec = JSON.parse(source.textContent);
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: [{ label: spec.label, data: spec.values, backgroundColor: "#1f6feb", maxBarThickness: 22 }] },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { beginAtZero: true }, y: { grid: { display: false } } },
        plugins: { legend: { display: false } },
        onClick: (_event, elements) => {
          if (elements.length) { window.location.href = spec.links[elements[0].index]; }
        },
        onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
      },
    });
    canvas.dataset.rendered = "true";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
