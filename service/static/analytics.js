/* The analytics dashboard: draws the charts from the page's JSON block with ECharts (shipped in
   static/echarts/), and lets each chart's table be shown or hidden. No inline script: the page's
   strict CSP allows scripts from this origin only. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("analytics-data").textContent);
  var NAMES = { answered: "已回答", declined: "未能回答", handed_over: "转人工", clarify: "追问澄清", smalltalk: "寒暄" };
  var charts = [];

  function short(text) {
    return text.length > 18 ? text.slice(0, 17) + "…" : text;
  }

  function draw(id, option) {
    var element = document.getElementById(id);
    if (!element) return;
    var chart = echarts.init(element, null, { renderer: "canvas" });
    option.animation = false;
    chart.setOption(option);
    element.setAttribute("data-drawn", "true");
    charts.push(chart);
  }

  function groupsOption(groups, color) {
    var rows = groups.slice(0, 10).reverse();
    return {
      grid: { left: 10, right: 30, top: 10, bottom: 20, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: rows.map(function (g) { return short(g.typical); }) },
      series: [{ type: "bar", name: "问题数", color: color, data: rows.map(function (g) { return g.count; }) }]
    };
  }

  var kinds = Object.keys(NAMES).filter(function (k) {
    return k !== "clarify" || data.totals.clarify > 0;
  });
  draw("daily-chart", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 10, right: 20, top: 40, bottom: 20, containLabel: true },
    xAxis: { type: "category", data: data.daily.map(function (d) { return d.date.slice(5); }) },
    yAxis: { type: "value", minInterval: 1 },
    series: kinds.map(function (k) {
      return { type: "bar", stack: "all", name: NAMES[k], data: data.daily.map(function (d) { return d[k]; }) };
    })
  });
  draw("outcomes-chart", {
    tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
    legend: { bottom: 0 },
    series: [{
      type: "pie", radius: ["35%", "65%"], name: "回答结果",
      data: kinds.map(function (k) { return { name: NAMES[k], value: data.totals[k] }; })
    }]
  });
  if (data.top) { // absent while the index (and so the encoder) is loading
    draw("top-chart", groupsOption(data.top.groups, "#0b57d0"));
    draw("unanswered-chart", groupsOption(data.unanswered.groups, "#b3261e"));
    var topics = data.rising.topics.slice(0, 10).reverse();
    draw("rising-chart", {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 10, right: 30, top: 40, bottom: 20, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: topics.map(function (t) { return short(t.typical); }) },
      series: [
        { type: "bar", name: "上周", color: "#9aa5b1", data: topics.map(function (t) { return t.last_week; }) },
        { type: "bar", name: "本周", color: "#2e7d32", data: topics.map(function (t) { return t.this_week; }) }
      ]
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-toggle]"), function (button) {
    var table = document.getElementById(button.getAttribute("data-toggle") + "-table");
    function show(visible) {
      table.hidden = !visible;
      button.setAttribute("aria-expanded", visible ? "true" : "false");
      button.textContent = visible ? "隐藏表格" : "表格视图";
    }
    show(false); // the charts show the figures; without script the tables stay visible
    button.addEventListener("click", function () { show(table.hidden); });
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
