/* Charts and maps of the Datapedia pages, drawn with Apache ECharts (vendor/echarts).
 *
 * Every chart and map draws the numbers of a table that the server rendered into the page
 * (data-value, data-status, data-class): the table is the accessible version and the page
 * works without JavaScript. Geometry comes from the geography API (GeoJSON); the class
 * colours come from the legend swatches in site.css, so they are defined once.
 * No inline style or script: the Content-Security-Policy forbids both.
 */
(function () {
  "use strict";

  var CITY = ["#0b4f8a", "#3f7fbf", "#79a9d9", "#a9c8e8", "#084081", "#2b8cbe"];
  var CITYREGION = ["#e07b1a", "#f0a050", "#f6c48a", "#b35806", "#fdb863", "#8c4a0c"];
  var REGION = "#b2182b";
  var LEGEND_GAP = 40; // px from the chart's top to its plot, under a legend of one row

  function numberFormat(lang, decimals) {
    return new Intl.NumberFormat(lang === "en" ? "en-GB" : "nl-BE", {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
    });
  }

  function cellValue(td) {
    var raw = td ? td.getAttribute("data-value") : "";
    return raw === "" || raw === null ? null : Number(raw);
  }

  function drawComparison(holder) {
    var figure = holder.closest("figure");
    var table = figure.querySelector("table[data-series]");
    var lang = document.documentElement.lang;
    var decimals = Number(holder.getAttribute("data-decimals"));
    var fmt = numberFormat(lang, decimals);
    var axisFmt = new Intl.NumberFormat(lang === "en" ? "en-GB" : "nl-BE", {
      notation: "compact", maximumFractionDigits: 1,
    });
    var withRegion = holder.getAttribute("data-rule") !== "sum";
    var periods = Array.prototype.map.call(
      table.querySelectorAll("thead th[scope=col]"), function (th) { return th.textContent; }
    ).slice(1);
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var cities = rows.filter(function (r) { return r.getAttribute("data-kind") === "city"; });
    var regionRow = rows.filter(function (r) { return r.getAttribute("data-kind") === "region"; })[0];
    var categories = cities.map(function (r) { return r.getAttribute("data-name"); });
    if (withRegion && regionRow) categories.push(holder.getAttribute("data-region-label"));
    var series = [];
    var colours = [];
    periods.forEach(function (period, p) {
      var cityValues = cities.map(function (r) {
        return cellValue(r.querySelector('td[data-period="' + period + '"]'));
      });
      var regionValues = cities.map(function (r) {
        var next = r.nextElementSibling;
        return next && next.getAttribute("data-kind") === "cityregion"
          ? cellValue(next.querySelector('td[data-period="' + period + '"]')) : null;
      });
      var cityColour = CITY[p % CITY.length];
      var regionColour = CITYREGION[p % CITYREGION.length];
      colours.push(cityColour, regionColour);
      // The Flemish Region's bar is a series of its own (its colour, its legend entry),
      // stacked with the cities' of the period so that it takes their place, not a third.
      series.push({
        name: holder.getAttribute("data-city-label") + " " + period,
        type: "bar", stack: "p" + p, data: cityValues, itemStyle: { color: cityColour },
      });
      series.push({
        name: holder.getAttribute("data-cityregion-label") + " " + period,
        type: "bar", data: regionValues, itemStyle: { color: regionColour },
      });
      if (withRegion && regionRow) {
        cityValues.push(null);
        regionValues.push(null);
        var flanders = cities.map(function () { return null; });
        flanders.push(cellValue(regionRow.querySelector('td[data-period="' + period + '"]')));
        colours.push(REGION);
        series.push({
          name: holder.getAttribute("data-region-label") + " " + period,
          type: "bar", stack: "p" + p, data: flanders, itemStyle: { color: REGION },
        });
      }
    });
    holder.setAttribute("data-colours", colours.join(" "));
    holder.classList.add("drawn");
    var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
    var plotHeight = Math.max(24, categories.length * (1 + series.length * 0.6)) * rem;
    holder.style.height = plotHeight + "px";
    var chart = echarts.init(holder, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      aria: { enabled: false },
      grid: { left: 8, right: 24, top: LEGEND_GAP, bottom: 8, containLabel: true },
      legend: { top: 0, icon: "rect" },
      // Drawn in the chart's SVG, not as HTML: the HTML tooltip writes style attributes
      // (the Content-Security-Policy refuses them) and shows what a formatter returns as
      // markup, where a name is text.
      tooltip: {
        trigger: "item",
        renderMode: "richText",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : fmt.format(v); },
      },
      // Short axis numbers (200K, 1 mln.), and a label that would still touch its neighbour
      // left out: a phone is too narrow for "1.000.000" every 200.000.
      xAxis: {
        type: "value",
        axisLabel: { hideOverlap: true, formatter: function (v) { return axisFmt.format(v); } },
      },
      yAxis: { type: "category", data: categories, inverse: true },
      series: series,
    });
    var names = series.map(function (s) { return s.name; });
    fitLegend(chart, holder, names, plotHeight);
    window.addEventListener("resize", function () {
      chart.resize();
      fitLegend(chart, holder, names, plotHeight);
    });
  }

  // The plot begins below the legend, however many rows the legend takes: eight periods'
  // entries wrap to four rows on a phone, and a plot 40 px down was drawn over by them.
  // The legend's height depends on the width only; the chart grows by what it takes.
  function fitLegend(chart, holder, names, plotHeight) {
    chart.getZr().flush(); // a resize is drawn at the next frame: draw it now, then measure
    var top = holder.getBoundingClientRect().top;
    var bottom = 0;
    holder.querySelectorAll("svg text").forEach(function (text) {
      if (names.indexOf(text.textContent) >= 0) {
        bottom = Math.max(bottom, text.getBoundingClientRect().bottom - top);
      }
    });
    var gridTop = Math.max(LEGEND_GAP, Math.ceil(bottom) + 16);
    holder.style.height = plotHeight + gridTop - LEGEND_GAP + "px";
    chart.resize();
    chart.setOption({ grid: { top: gridTop } });
  }

  function swatchColour(figure, key) {
    var swatch = figure.querySelector(".legend .swatch.c" + key);
    return swatch ? getComputedStyle(swatch).backgroundColor : "#cccccc";
  }

  function drawMap(figure) {
    var holder = figure.querySelector("[data-map-canvas]");
    var rows = Array.prototype.slice.call(figure.querySelectorAll("table[data-map-values] tbody tr"));
    var decimals = Number(figure.getAttribute("data-decimals"));
    var fmt = numberFormat(document.documentElement.lang, decimals);
    fetch(figure.getAttribute("data-geometry"), { headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("geometry " + response.status);
        return response.json();
      })
      .then(function (geojson) {
        var features = (geojson.features || []).filter(function (f) { return f.geometry; });
        var codes = {};
        features.forEach(function (f) { codes[f.properties.code] = true; });
        var missing = [];
        var data = [];
        rows.forEach(function (row) {
          var code = row.getAttribute("data-code");
          if (!codes[code]) {
            missing.push(row);
            return;
          }
          var cls = row.getAttribute("data-class");
          data.push({
            name: code,
            value: cellValue(row),
            label: row.getAttribute("data-name"),
            itemStyle: { areaColor: swatchColour(figure, cls === "none" ? "x" : cls) },
          });
        });
        var list = figure.querySelector("[data-no-geometry-list]");
        if (missing.length > 0) {
          // "zonder kaartvlak (1 gebied): Gent …", not a bare "1:" a reader cannot place.
          var count = missing.length === 1
            ? figure.getAttribute("data-no-geometry-one")
            : figure.getAttribute("data-no-geometry-many").replace("{n}", String(missing.length));
          figure.querySelector("[data-no-geometry-count]").textContent = count;
          // Each name in its own language, as in the table (a Dutch name on an English page).
          list.textContent = "";
          missing.slice(0, 12).forEach(function (row, i) {
            var name = document.createElement("span");
            name.textContent = row.getAttribute("data-name");
            if (row.getAttribute("data-name-lang")) name.lang = row.getAttribute("data-name-lang");
            list.append(i ? ", " : "", name, " (" + row.getAttribute("data-code") + ")");
          });
          if (missing.length > 12) list.append(", …");
          list.closest("li").hidden = false;
        }
        var name = "map-" + Math.random().toString(36).slice(2);
        echarts.registerMap(name, { type: "FeatureCollection", features: features });
        var cos = Math.cos((51 * Math.PI) / 180); // Flanders lies around 51° N
        holder.classList.add("drawn");
        holder.setAttribute("data-features", String(features.length));
        var chart = echarts.init(holder, null, { renderer: "svg" });
        chart.setOption({
          animation: false,
          aria: { enabled: false },
          tooltip: {
            trigger: "item",
            renderMode: "richText", // as the chart's, above
            formatter: function (p) {
              var d = p.data || {};
              var value = d.value === null || d.value === undefined ? "—" : fmt.format(d.value);
              return (d.label || p.name) + ": " + value;
            },
          },
          series: [{
            type: "map",
            map: name,
            nameProperty: "code",
            // No zoom or pan by wheel or touch: a map across the page caught the scrolling
            // (a phone's swipe moved the map, a mouse wheel zoomed it) and the page stuck.
            roam: false,
            selectedMode: false,
            projection: {
              project: function (p) { return [p[0] * cos, -p[1]]; },
              unproject: function (p) { return [p[0] / cos, -p[1]]; },
            },
            // An area without a row in the table has no value: the grey of the legend's
            // "no value", not a white nobody explains.
            itemStyle: { areaColor: swatchColour(figure, "x"), borderColor: "#555", borderWidth: 0.4 },
            emphasis: { label: { show: false }, itemStyle: { borderColor: "#000", borderWidth: 1.5 } },
            label: { show: false },
            data: data,
          }],
        });
        window.addEventListener("resize", function () { chart.resize(); });
      })
      .catch(function () {
        holder.hidden = true; // the table and legend stay: the page keeps its numbers
      });
  }

  function start() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(drawComparison);
    document.querySelectorAll("figure[data-map]").forEach(drawMap);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
