/* pushpop-load's live charts in Locust's web UI (served by pushpop_load.webui; see its docstring).
 *
 * Locust's React app owns the page; this script only adds a box of its own under the table of one of our tabs
 * while that tab is open, and hides it otherwise. It finds the table by its Material UI class; where it is not
 * found (another Locust layout), the box goes at the end of the page's root, still working. Each chart's plotted
 * data is mirrored in its box's data-plotted attribute (x and y arrays), for tests and for reading it back. */
(function () {
  "use strict";
  var script = document.currentScript;
  var base = script.src.replace(/\/pushpop\/static\/charts\.js.*$/, "");
  var tabs = (script.getAttribute("data-tabs") || "").split(",").filter(Boolean);
  var POLL_MS = 2000;
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];
  var state = {};  // tab key -> {host, epoch, rewind, newest, charts: {chart key -> {box, plot, rows: Map}}, timer}

  function loadStyle() {
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = base + "/pushpop/static/uPlot.min.css";
    document.head.appendChild(link);
  }

  function loadUplot(then) {
    if (window.uPlot) { then(); return; }
    var tag = document.createElement("script");
    tag.src = base + "/pushpop/static/uPlot.iife.min.js";
    tag.onload = then;
    document.head.appendChild(tag);
  }

  function currentTab() {
    return new URLSearchParams(window.location.search).get("tab");
  }

  function formatValue(unit, value) {
    if (value == null) return "";
    if (unit === "bytes" || unit === "bytes/s") {
      var steps = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0, v = Math.abs(value);
      while (v >= 1024 && i < steps.length - 1) { v /= 1024; i++; }
      return (value < 0 ? "-" : "") + v.toFixed(v < 10 && i > 0 ? 1 : 0) + " " + steps[i] + (unit === "bytes/s" ? "/s" : "");
    }
    if (unit === "ms") return value.toFixed(3) + " ms";
    if (unit === "%") return value.toFixed(1) + " %";
    return String(Math.round(value * 1000) / 1000);
  }

  function formatTick(unit, value) {
    if (unit === "bytes" || unit === "bytes/s") return formatValue(unit, value);
    return String(Math.round(value * 1000) / 1000);
  }

  function anchorFor(host) {
    var root = document.getElementById("root");
    if (!root) return;
    var table = root.querySelector(".MuiTableContainer-root");
    if (table && table.parentNode) {
      if (table.nextElementSibling !== host) table.after(host);
    } else if (host.parentNode !== root) {
      root.appendChild(host);
    }
  }

  function makeChart(tab, spec) {
    var box = document.createElement("div");
    box.className = "pushpop-chart";
    box.setAttribute("data-chart", spec.key);
    box.style.margin = "16px 0";
    var heading = document.createElement("div");
    heading.textContent = spec.title + (spec.unit ? " (" + spec.unit + ")" : "");
    heading.style.fontWeight = "600";
    heading.style.margin = "4px 0";
    box.appendChild(heading);
    tab.host.appendChild(box);
    var ink = window.getComputedStyle(tab.host).color || "#888";
    var grid = "rgba(128,128,128,0.25)";
    var series = [{}].concat(spec.series.map(function (label, i) {
      return {label: label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
              value: function (u, v) { return formatValue(spec.unit, v); }};
    }));
    var options = {
      width: Math.max(320, (tab.host.clientWidth || 960) - 8),
      height: 240,
      series: series,
      scales: {x: {time: true}},
      axes: [
        {stroke: ink, grid: {stroke: grid}, ticks: {stroke: grid}, space: 80},
        {stroke: ink, grid: {stroke: grid}, ticks: {stroke: grid}, size: 70,
         values: function (u, values) { return values.map(function (v) { return formatTick(spec.unit, v); }); }},
      ],
      legend: {live: true},
    };
    var empty = [[]].concat(spec.series.map(function () { return []; }));
    var chart = {box: box, plot: new window.uPlot(options, empty, box), rows: new Map(), series: spec.series};
    return chart;
  }

  function apply(tab, answer) {
    if (answer.epoch !== tab.epoch) {
      Object.keys(tab.charts).forEach(function (key) {
        tab.charts[key].plot.destroy();
        tab.charts[key].box.remove();
      });
      tab.charts = {};
      tab.epoch = answer.epoch;
      tab.newest = 0;
    }
    tab.rewind = answer.rewind || 0;
    answer.charts.forEach(function (spec) {
      var chart = tab.charts[spec.key];
      if (chart && chart.series.join("\u0000") !== spec.series.join("\u0000")) {
        chart.plot.destroy();
        chart.box.remove();
        chart = null;
      }
      if (!chart) chart = tab.charts[spec.key] = makeChart(tab, spec);
      spec.points.forEach(function (point) {
        chart.rows.set(point[0], point);
        if (point[0] > tab.newest) tab.newest = point[0];
      });
      var xs = Array.from(chart.rows.keys()).sort(function (a, b) { return a - b; });
      var data = [xs].concat(spec.series.map(function (_, i) {
        return xs.map(function (x) { var v = chart.rows.get(x)[i + 1]; return v == null ? null : v; });
      }));
      chart.plot.setData(data);
      chart.box.setAttribute("data-plotted", JSON.stringify({series: spec.series, data: data}));
    });
    tab.host.setAttribute("data-updated", String(Date.now()));
  }

  function poll(key) {
    var tab = state[key];
    if (tab.busy) return;
    tab.busy = true;
    var since = tab.newest > 0 ? tab.newest - tab.rewind : 0;
    fetch(base + "/pushpop/charts/" + encodeURIComponent(key) + "?since=" + since, {cache: "no-store"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) { if (answer) apply(tab, answer); })
      .catch(function () { /* the next poll tries again (Locust restarting, a network blip) */ })
      .then(function () { tab.busy = false; });
  }

  function show(key) {
    var tab = state[key];
    if (!tab) {
      var host = document.createElement("div");
      host.className = "pushpop-charts";
      host.setAttribute("data-tab", key);
      host.style.padding = "0 0 24px 0";
      tab = state[key] = {host: host, epoch: null, rewind: 0, newest: 0, charts: {}, timer: null, busy: false};
    }
    anchorFor(tab.host);
    tab.host.style.display = "";
    if (!tab.timer) {
      poll(key);
      tab.timer = window.setInterval(function () { poll(key); }, POLL_MS);
    }
  }

  function hide(key) {
    var tab = state[key];
    if (!tab) return;
    tab.host.style.display = "none";
    if (tab.timer) { window.clearInterval(tab.timer); tab.timer = null; }
  }

  function follow() {
    var open = currentTab();
    tabs.forEach(function (key) { if (key === open) show(key); else hide(key); });
  }

  window.addEventListener("resize", function () {
    Object.keys(state).forEach(function (key) {
      var tab = state[key];
      Object.keys(tab.charts).forEach(function (chart) {
        tab.charts[chart].plot.setSize({width: Math.max(320, tab.host.clientWidth - 8), height: 240});
      });
    });
  });

  loadStyle();
  loadUplot(function () {
    follow();
    // Locust changes tabs with history.pushState, which fires no event: look again twice a second
    window.setInterval(follow, 500);
  });
})();
