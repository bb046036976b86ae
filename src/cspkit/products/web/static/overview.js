// The Overview's district and period picker: when another district is chosen, its months of
// police data (from /api/districts) are shown and the period is set to its latest full year.
(function () {
  "use strict";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function monthText(yyyymm) {
    var parts = String(yyyymm).split("-");
    return MONTHS[Number(parts[1]) - 1] + " " + parts[0];
  }

  function start() {
    var area = document.getElementById("scope-area");
    var period = document.getElementById("scope-period");
    var held = document.getElementById("ov-held");
    if (!area || !period || !held || !window.fetch) return;
    var byCode = null;
    fetch("/api/districts", { headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (list) {
        byCode = {};
        list.forEach(function (d) { byCode[d.code] = d; });
      })
      .catch(function () { byCode = null; });
    area.addEventListener("change", function () {
      var d = byCode && byCode[area.value];
      if (!d) return;
      held.textContent = "Police data held for " + d.name + ": " + monthText(d.first_month) +
        " to " + monthText(d.last_month) + " (" + d.months_held + " months)." +
        (d.latest_full_year ? " Period set to " + d.latest_full_year + "." : "");
      if (d.latest_full_year) period.value = String(d.latest_full_year);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
