/* Sorting and filtering of long tables, offline (no library, no network). Tables marked
   data-sortable sort on a click (or Enter) on a column title: numbers as numbers ("1,234", "12.5%",
   "≥ 85"), text in Chinese collation, empty cells ("—") last. Tables marked data-filter get a box
   that keeps the rows containing the typed text. */
(function () {
  "use strict";
  var EMPTY = { "": 1, "—": 1, "-": 1, "–": 1, "n/a": 1 };
  function text(cell) { return (cell ? cell.textContent : "").replace(/\s+/g, " ").trim(); }
  function num(t) {
    var s = t.replace(/[,\s¥$€￥]/g, "").replace(/\u2212/g, "-");
    var m = s.match(/^[<>≥≤±~≈]?([+\-]?(\d+\.?\d*|\.\d+)(e[+\-]?\d+)?)/i);
    return m ? parseFloat(m[1]) : NaN;
  }
  function sortBy(table, col, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var values = rows.map(function (r) { return text(r.cells[col]); });
    var filled = values.filter(function (v) { return !EMPTY[v]; });
    var numeric = filled.length > 0 && filled.filter(function (v) { return !isNaN(num(v)); }).length >= 0.8 * filled.length;
    var keyed = rows.map(function (r, i) { return { r: r, v: values[i], i: i }; });
    keyed.sort(function (a, b) {
      var ea = !!EMPTY[a.v], eb = !!EMPTY[b.v];
      if (ea || eb) { return ea === eb ? a.i - b.i : (ea ? 1 : -1); }
      var c = numeric ? num(a.v) - num(b.v) : a.v.localeCompare(b.v, "zh-CN");
      if (isNaN(c)) { c = 0; }
      return c !== 0 ? dir * c : a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.r); });
    Array.prototype.forEach.call(th.parentNode.cells, function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }
  function sortable(table) {
    var head = table.tHead, body = table.tBodies[0];
    if (!head || !body || body.querySelector("[rowspan]")) { return; }
    var row = head.rows[head.rows.length - 1];
    if (row.querySelector("[colspan]")) { return; }
    Array.prototype.forEach.call(row.cells, function (th, col) {
      if (!text(th)) { return; }
      th.classList.add("sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("aria-sort", "none");
      th.title = (th.title ? th.title + " · " : "") + "点击排序 Click to sort";
      th.addEventListener("click", function () { sortBy(table, col, th); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); sortBy(table, col, th); } });
    });
  }
  function filterable(table) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var box = table.closest(".table-scroll") || table;
    var label = document.createElement("label");
    label.className = "table-filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "筛选 Filter";
    input.setAttribute("aria-label", "筛选表格 Filter the table");
    var count = document.createElement("span");
    count.className = "muted";
    label.appendChild(input);
    label.appendChild(count);
    box.parentNode.insertBefore(label, box);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase(), shown = 0;
      Array.prototype.forEach.call(body.rows, function (r) {
        var hit = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
        r.hidden = !hit;
        shown += hit ? 1 : 0;
      });
      count.textContent = q ? " " + shown + " / " + body.rows.length + " 行 rows" : "";
    });
  }
  document.querySelectorAll("table[data-sortable]").forEach(sortable);
  document.querySelectorAll("table[data-filter]").forEach(filterable);
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.print-open").forEach(function (d) { d.open = true; });
  });
})();
