/* The briefing editor's charts, drawn like the DOCX's (a static file: the CSP allows no inline script). */
(function () {
  var RED = "#c00000", GREYS = ["#595959", "#7f7f7f", "#a6a6a6", "#bfbfbf", "#d0d0d0", "#8c8c8c", "#b3b3b3", "#6e6e6e", "#cccccc"];
  var FONT = {fontFamily: '"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","SimHei",sans-serif', color: "#1a1a1a"};
  function title(text) { return {text: text, left: "center", top: 4, textStyle: Object.assign({fontSize: 14}, FONT)}; }
  function draw() {
    if (!window.echarts) { return setTimeout(draw, 50); }
    var d = JSON.parse(document.getElementById("briefing-chart-data").textContent);
    var daily = echarts.init(document.getElementById("briefing-chart-daily"));
    daily.setOption({animation: false, textStyle: FONT, title: title(d.daily.title), tooltip: {trigger: "axis"},
      grid: {left: 10, right: 20, top: 40, bottom: 10, containLabel: true},
      xAxis: {type: "category", data: d.daily.days, axisTick: {alignWithLabel: true}},
      yAxis: {type: "value", minInterval: 1, name: "件", splitLine: {lineStyle: {color: "#d9d9d9"}}},
      series: [{name: "工单", type: "line", data: d.daily.counts, color: RED, symbolSize: 4,
                markPoint: {symbol: "circle", symbolSize: 6, data: [{type: "max"}], label: {position: "top", color: RED}}}]});
    var types = echarts.init(document.getElementById("briefing-chart-appeal-types"));
    var largest = d.appeal_types.reduce(function (best, r, i, all) { return r.value > all[best].value ? i : best; }, 0);
    var share = {};
    d.appeal_types.forEach(function (r) { share[r.name] = r.value + "件  " + r.share; });
    types.setOption({animation: false, textStyle: FONT, title: title("诉求类型分布"),
      tooltip: {trigger: "item", formatter: function (p) { return p.name + "：" + share[p.name]; }},
      legend: {orient: "vertical", left: "55%", top: "middle", icon: "rect", itemWidth: 12, itemHeight: 12, textStyle: FONT,
               formatter: function (name) { return name + "  " + share[name]; }},
      series: [{type: "pie", center: ["28%", "55%"], radius: "70%", label: {show: false}, startAngle: 90,
                itemStyle: {borderColor: "#fff", borderWidth: 1},
                data: d.appeal_types.map(function (r, i) {
                  return {name: r.name, value: r.value, itemStyle: {color: i === largest ? RED : GREYS[(i - (i > largest ? 1 : 0)) % GREYS.length]}};
                })}]});
    var hot = echarts.init(document.getElementById("briefing-chart-hotspots"));
    hot.setOption({animation: false, textStyle: FONT, title: title("热点问题分布"), tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      grid: {left: 10, right: 110, top: 40, bottom: 10, containLabel: true},
      xAxis: {type: "value", show: false}, yAxis: {type: "category", inverse: true, axisTick: {show: false},
      data: d.hotspots.map(function (r) { return r.name; })},
      series: [{type: "bar", barWidth: "60%", data: d.hotspots.map(function (r, i) {
                  return {value: r.value, share: r.share, itemStyle: {color: i === 0 ? RED : "#8c8c8c"}};
                }), label: {show: true, position: "right", color: "#1a1a1a",
                formatter: function (p) { return p.value + "件（" + d.hotspots[p.dataIndex].share + "）"; }}}]});
    window.addEventListener("resize", function () { daily.resize(); types.resize(); hot.resize(); });
    document.body.setAttribute("data-briefing-charts-ready", "1");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
