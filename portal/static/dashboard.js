// Draws the dashboard's charts from the figures the page carries as JSON (no inline script).
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#1f6fa8", "#7d3c98", "#a35f00", "#5f6a6a", "#0e7c66", "#2c3e50",
                 "#c0392b", "#5f6a6a", "#b34d00"];
  // Priorities in the badges' colours, so a chart reads like the grid.
  var priorityColours = {low: "#5f6a6a", medium: "#1f6fa8", high: "#b34d00",
                         critical: "#c0392b"};
  // Counts are whole numbers: no 0.2 steps on the axis.
  var options = {responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: {legend: {display: false}},
                 scales: {y: {beginAtZero: true, ticks: {precision: 0}}}};
  function label(key) { var words = key.replace("_", " "); return words.charAt(0).toUpperCase() + words.slice(1); }
  function draw(id, type, labels, values, colours) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {type: type, options: options, data: {
      labels: labels.map(label),
      datasets: [{data: values, backgroundColor: colours || palette}]}});
  }
  draw("chart-status", "bar", data.by_status.labels, data.by_status.values);
  draw("chart-priority", "bar", data.by_priority.labels, data.by_priority.values,
       data.by_priority.labels.map(function (p) { return priorityColours[p]; }));
  draw("chart-technicians", "bar", data.per_technician.labels, data.per_technician.values);
})();
