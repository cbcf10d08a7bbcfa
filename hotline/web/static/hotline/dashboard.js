/* The dashboard's charts from the page's chart-data JSON (a static file: the CSP allows no inline script). */
(function () {
  function draw() {
    if (!window.echarts) { return setTimeout(draw, 50); }
    var d = JSON.parse(document.getElementById("chart-data").textContent);
    var trend = echarts.init(document.getElementById("chart-trend"));
    trend.setOption({animation: false, grid: {left: 10, right: 20, top: 20, bottom: 10, containLabel: true}, tooltip: {trigger: "axis"},
      xAxis: {type: "category", data: d.trend.days}, yAxis: {type: "value", minInterval: 1},
      series: [{name: "受理", type: "line", smooth: true, areaStyle: {}, data: d.trend.counts, color: "#b42318"}]});
    var units = echarts.init(document.getElementById("chart-units"));
    units.setOption({animation: false, grid: {left: 10, right: 20, top: 30, bottom: 10, containLabel: true}, tooltip: {trigger: "axis"},
      legend: {data: ["工单", "超期"]}, xAxis: {type: "value", minInterval: 1},
      yAxis: {type: "category", inverse: true, data: d.units.names},
      series: [{name: "工单", type: "bar", data: d.units.counts, color: "#1f6feb"},
               {name: "超期", type: "bar", data: d.units.overdue, color: "#b42318"}]});
    var cats = echarts.init(document.getElementById("chart-categories"));
    cats.setOption({animation: false, tooltip: {trigger: "item"},
      series: [{type: "pie", radius: ["35%", "65%"], data: d.categories, label: {formatter: "{b}\n{c}"}}]});
    document.body.setAttribute("data-charts-ready", "1");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
