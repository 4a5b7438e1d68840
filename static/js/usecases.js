// Draw every plotly figure handed to the page with json_script; on the portfolio a click
// on a bubble opens that use case (its URL rides along as customdata).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var source = document.getElementById(element.dataset.figure);
    if (!source || !window.Plotly) { return; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displaylogo: false })
      .then(function () {
        if (element.dataset.clickUrl) {
          element.on("plotly_click", function (event) {
            var point = event.points && event.points[0];
            if (point && point.customdata) { window.location.href = point.customdata; }
          });
        }
        element.dataset.ready = "1";
      });
  });
});
