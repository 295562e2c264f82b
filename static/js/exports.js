// Follow running exports on the exports page: poll each one's API until it ends, then reload
// (the finished row shows its download buttons). No build step.
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr[data-export]");
  var running = Array.prototype.filter.call(rows, function (row) {
    var status = row.getAttribute("data-status");
    return status === "queued" || status === "running";
  });
  if (!running.length) return;
  function poll() {
    Promise.all(running.map(function (row) {
      return fetch(row.getAttribute("data-url"), {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (job) {
          row.querySelector(".progress rect").setAttribute("width", Math.round(100 * job.progress));
          row.querySelector("[data-testid=export-rows]").textContent = job.rows;
          return job.status === "succeeded" || job.status === "failed";
        });
    })).then(function (finished) {
      if (finished.some(Boolean)) { location.reload(); return; }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
