// cspkit dashboard: behaviour shared by every page. Works without it (pages are rendered on
// the server); adds sorting of tables by column, announced with aria-sort.
(function () {
  "use strict";

  function sortKey(text) {
    // Published cells: '1,234', '12.5', '<5' (a count under 5 sorts as 0), '' (missing).
    var t = text.trim();
    if (t === "") return null;
    if (/^<\s*\d/.test(t)) return 0;
    var n = Number(t.replace(/,/g, "").replace(/%$/, ""));
    return isNaN(n) ? t.toLowerCase() : n;
  }

  function sortTable(table, index, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = sortKey(a.cells[index].textContent), y = sortKey(b.cells[index].textContent);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
      return (x < y ? -1 : 1) * (descending ? -1 : 1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function makeSortable(table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        sortTable(table, index, descending);
      });
    });
  }

  window.cspkit = window.cspkit || {};
  window.cspkit.makeSortable = makeSortable;
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(makeSortable);
  });
})();
