// Upload a file to the imports API and follow the job until it ends. No build step.
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  // getAttribute, not form.dataset: the form's "dataset" input would shadow that property.
  const uploadUrl = form.getAttribute("data-url");
  const jobUrl = form.getAttribute("data-job-url");
  const box = document.getElementById("job");
  const bar = document.getElementById("job-bar");
  const title = document.getElementById("job-title");
  const badge = document.getElementById("job-status");
  const message = document.getElementById("job-message");
  const errors = document.getElementById("job-errors");
  const button = form.querySelector("button[type=submit]");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const LABELS = {queued: "Queued", running: "Running", uploading: "Uploading",
                  succeeded: "Succeeded", failed: "Failed"};

  function show(status, text, fraction) {
    box.hidden = false;
    badge.textContent = LABELS[status] || status;
    badge.className = "badge " + ({succeeded: "ok", failed: "bad"}[status] || "warn");
    bar.closest(".progress").className = "progress big " + status;
    message.textContent = text;
    bar.setAttribute("width", Math.round(100 * fraction));  // an SVG rect in a 0..100 box
  }

  function showErrors(list) {
    const body = errors.querySelector("tbody");
    body.replaceChildren();
    list.forEach(function (e) {
      const row = body.insertRow();
      row.insertCell().textContent = e.line === null ? "" : e.line;
      row.insertCell().textContent = e.message;  // textContent: never interpreted as HTML
      row.cells[0].className = "num";
    });
    errors.hidden = list.length === 0;
  }

  // Swap in the datasets and history tables of a fresh copy of this page; the result box stays.
  function refreshTables() {
    fetch(window.location.href, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        ["datasets", "history"].forEach(function (id) {
          const old = document.getElementById(id), next = fresh.getElementById(id);
          if (old && next) old.replaceWith(next);
        });
      })
      .catch(function () { /* the tables stay as they were; a reload shows the new state */ });
  }

  function finish() { button.disabled = false; }

  function follow(jobId) {
    fetch(jobUrl.replace("/0/", "/" + jobId + "/"),
          {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject("HTTP " + r.status); })
      .then(function (job) {
        const done = job.status === "succeeded" || job.status === "failed";
        const text = done ? job.message :
          (LABELS[job.status] || job.status) + ": " + Math.round(100 * job.progress) + "% of the file read";
        show(job.status, text, job.status === "failed" ? 1 : job.progress);
        showErrors(job.errors || []);
        if (!done) { setTimeout(function () { follow(jobId); }, 500); return; }
        finish();
        refreshTables();
      })
      .catch(function (why) {
        show("failed", "Lost track of the import (" + why + "); reload the page to see it.", 1);
        finish();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const data = new FormData(form);
    if (!data.get("dataset")) data.delete("dataset");
    title.textContent = data.get("file").name;
    showErrors([]);
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", uploadUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        show("uploading", "Uploading: " + Math.round(100 * e.loaded / e.total) + "%", e.loaded / e.total);
      }
    };
    xhr.onload = function () {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {detail: xhr.statusText}; }
      if (xhr.status === 202) { follow(body.id); return; }
      const reasons = Object.keys(body).map(function (k) { return k + ": " + [].concat(body[k]).join(" "); });
      show("failed", reasons.join("; ") || ("Upload failed (HTTP " + xhr.status + ")"), 1);
      finish();
    };
    xhr.onerror = function () { show("failed", "The upload was interrupted.", 1); finish(); };
    xhr.send(data);
  });
})();
