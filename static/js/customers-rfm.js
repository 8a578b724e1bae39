// Customer analytics charts: accounts per RFM segment (a click on a bar narrows the table to that segment)
// and a scatter of the accounts shown (days since the last win × monetary value, coloured by segment; a click
// opens the account). Data comes from <script type="application/json" id="segment-data"> (the CSP forbids
// inline scripts).
(function () {
  // One colour per segment, in the order of the server's segment keys: important ones saturated, general ones pale.
  const colours = ["#1f6feb", "#2da44e", "#bf8700", "#cf222e", "#79b8ff", "#85e89d", "#ffdf5d", "#f97583"];

  function bars(canvas, spec) {
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: [{ label: spec.label, data: spec.values, backgroundColor: colours, maxBarThickness: 48 }] },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { grid: { display: false } } },
        plugins: { legend: { display: false } },
        onClick: (_event, elements) => {
          if (elements.length) { window.location.href = spec.links[elements[0].index]; }
        },
        onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
      },
    });
    canvas.dataset.rendered = "true";
  }

  function scatter(canvas, spec) {
    const datasets = spec.labels.map((label, i) => ({
      label: label,
      data: spec.points.filter((p) => p.s === i),
      backgroundColor: colours[i],
      pointRadius: 4,
    })).filter((d) => d.data.length);
    canvas.chart = new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { beginAtZero: true, title: { display: true, text: spec.axes.x } },
          y: { beginAtZero: true, title: { display: true, text: spec.axes.y } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => `${item.raw.name}: ${item.raw.x} / ${item.raw.y}` } },
        },
        onClick: (_event, elements) => {
          if (!elements.length) { return; }
          const el = elements[0];
          window.location.href = datasets[el.datasetIndex].data[el.index].url;
        },
        onHover: (event, elements) => { event.native.target.style.cursor = elements.length ? "pointer" : "default"; },
      },
    });
    canvas.dataset.rendered = "true";
  }

  function draw() {
    const source = document.getElementById("segment-data");
    if (!source || typeof Chart === "undefined") { return; }
    const spec = JSON.parse(source.textContent);
    const bar = document.getElementById("segment-chart");
    if (bar) { bars(bar, spec); }
    const dots = document.getElementById("segment-scatter");
    if (dots && spec.points.length) { scatter(dots, spec); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
