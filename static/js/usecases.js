// Draw every plotly figure handed to the page with json_script; on the portfolio a click
// on a bubble opens that use case (its URL rides along as customdata). Figures swapped in
// by htmx (the portfolio's filters and sort) are drawn when they arrive.
(function () {
  function draw(root) {
    if (!window.Plotly || !root.querySelectorAll) { return; }
    root.querySelectorAll("[data-figure]:not([data-drawn])").forEach(function (element) {
      var source = document.getElementById(element.dataset.figure);
      if (!source) { return; }
      element.dataset.drawn = "1";
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displaylogo: false, displayModeBar: "hover" })
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
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (event) { draw(event.detail.elt || document); });
  // Back/forward restores htmx's snapshot, whose charts are dead markup: draw them afresh.
  document.addEventListener("htmx:historyRestore", function () {
    document.querySelectorAll("[data-drawn]").forEach(function (element) {
      delete element.dataset.drawn;
      delete element.dataset.ready;
    });
    draw(document);
  });
})();
