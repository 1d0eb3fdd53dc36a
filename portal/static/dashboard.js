// Draws the dashboard's charts from the figures the page carries as JSON (no inline script).
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#3498db", "#9b59b6", "#f39c12", "#7f8c8d", "#18bc9c", "#2c3e50",
                 "#e74c3c", "#95a5a6", "#e67e22"];
  var options = {responsive: true, maintainAspectRatio: false,
                 plugins: {legend: {display: false}}, animation: false};
  function label(key) { return key.replace("_", " "); }
  function draw(id, type, labels, values) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {type: type, options: options, data: {
      labels: labels.map(label),
      datasets: [{data: values, backgroundColor: palette}]}});
  }
  draw("chart-status", "bar", Object.keys(data.by_status), Object.values(data.by_status));
  draw("chart-priority", "bar", Object.keys(data.by_priority), Object.values(data.by_priority));
  draw("chart-technicians", "bar", data.per_technician.map(function (r) { return r.technician; }),
       data.per_technician.map(function (r) { return r.open; }));
})();
