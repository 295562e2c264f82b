// The annotator's page: take a task from the queue, label it with the keyboard, submit, skip or
// undo, and follow today's progress. No build step. Task data is whatever a client imported, so
// it is only ever put into the page as text or as DOM properties, never parsed as HTML.
(function () {
  "use strict";
  const root = document.getElementById("annotate");
  if (!root) return;

  const urls = {
    next: root.dataset.nextUrl,
    annotate: root.dataset.annotateUrl,
    skip: root.dataset.skipUrl,
    undo: root.dataset.undoUrl,
    stats: root.dataset.statsUrl,
  };
  const multilabel = root.dataset.taskType === "multilabel";
  const csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  const $ = function (id) { return document.getElementById(id); };
  const taskCard = $("task"), taskBody = $("task-body"), taskRef = $("task-ref");
  const leaseBadge = $("lease"), prelabelBox = $("prelabel");
  const submitButton = $("submit"), skipButton = $("skip"), undoButton = $("undo");
  const cards = {task: taskCard, loading: $("loading"), done: $("done"), failed: $("failed")};
  const labelButtons = Array.prototype.slice.call(root.querySelectorAll("[data-testid=label-button]"));
  const todayCount = root.querySelector("[data-testid=today-count]");
  const goldAccuracy = root.querySelector("[data-testid=gold-accuracy]");
  const toastBox = $("toast");

  // Grayscale pictures bigger than this are listed in the table instead of drawn.
  const MAX_PIXELS_SIDE = 1024;
  const PIXELS_DRAWN_SIDE = 320;  // the longer side of a drawn picture, in CSS pixels
  const MAX_DURATION_MS = 86400000;  // what the API accepts
  // What the page's Content-Security-Policy lets load (img-src, media-src): https and data:.
  const MEDIA_URL = {
    image: /^(https:\/\/|data:image\/)/i,
    audio: /^(https:\/\/|data:audio\/)/i,
    video: /^(https:\/\/|data:video\/)/i,
  };

  let mode = "loading";     // loading | task | done | failed
  let busy = false;         // a request about the current task is on its way
  let task = null;          // {item, data, prelabel, expiresAt (server clock, ms), shownAt}
  let selected = [];        // chosen labels, in label-set order
  let last = null;          // the last submission while it may be undone: {annotation, item, until}
  let skewMs = 0;           // server clock minus this machine's clock
  let statsSeq = 0;
  let sending = null;       // the submission not answered yet: {item, label, key, body}
  let resendTimer = null;
  const RESEND_MAX_SECONDS = 30;

  // --- talking to the API -------------------------------------------------------------------

  function call(method, url, body, extraHeaders) {
    const headers = Object.assign({Accept: "application/json", "X-CSRFToken": csrf}, extraHeaders || {});
    const init = {method: method, headers: headers, credentials: "same-origin"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      const date = Date.parse(r.headers.get("Date") || "");
      // The header has whole seconds: take the middle of that second.
      if (!isNaN(date)) skewMs = date + 500 - Date.now();
      return r.text().then(function (text) {
        let data = null;
        if (text) {
          try { data = JSON.parse(text); } catch (err) { data = {detail: "HTTP " + r.status}; }
        }
        return {status: r.status, data: data, retryAfter: Number(r.headers.get("Retry-After")) || 0};
      });
    });
  }

  function withId(template, id) { return template.replace("/0/", "/" + encodeURIComponent(id) + "/"); }

  function reason(res) {
    const body = res.data;
    if (body && typeof body === "object") {
      if (body.detail) return String(body.detail);
      const parts = Object.keys(body).map(function (k) { return [].concat(body[k]).join(" "); });
      if (parts.length) return parts.join(" ");
    }
    return "The server answered HTTP " + res.status + ".";
  }

  const OFFLINE = "Could not reach the server. Check your connection and try again.";

  // One Idempotency-Key per submission: a fresh key for each label, the same key (and body)
  // when the same submission is sent again because its answer did not arrive, so that the
  // retry gets the first answer instead of labeling twice.
  function newKey() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  // --- page state ---------------------------------------------------------------------------

  function serverNow() { return Date.now() + skewMs; }

  function undoPossible() { return last !== null && last.until > serverNow(); }

  function show(which) {
    mode = which;
    Object.keys(cards).forEach(function (k) { cards[k].hidden = k !== which; });
    sync();
  }

  function sync() {
    const working = mode === "task" && !busy;
    labelButtons.forEach(function (b) {
      b.disabled = !working;
      const on = selected.indexOf(b.dataset.label) !== -1;
      b.setAttribute("aria-pressed", on ? "true" : "false");
      b.classList.toggle("selected", on);
    });
    submitButton.disabled = !working || selected.length === 0;
    skipButton.disabled = !working;
    undoButton.disabled = busy || !undoPossible();
    $("undo-done").hidden = !undoPossible();
    $("undo-done").disabled = busy;
    $("check-again").disabled = busy;
    $("retry").disabled = busy;
    taskCard.classList.toggle("busy", busy);
    taskCard.setAttribute("aria-busy", busy ? "true" : "false");
  }

  let toastTimer = null;
  function toast(message, kind) {
    toastBox.textContent = message;
    toastBox.className = "toast" + (kind ? " " + kind : "");
    toastBox.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastBox.hidden = true; }, 5000);
  }

  // --- rendering a task ---------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeUrl(kind, value) {
    if (typeof value !== "string") return null;
    const url = value.trim();
    if (!MEDIA_URL[kind].test(url)) return null;
    if (/^data:/i.test(url)) return url;
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  function asText(value) {
    if (typeof value === "string") return value;
    if (value === undefined) return "";
    return JSON.stringify(value, null, 2);
  }

  function figure(name, node, caption) {
    const box = el("figure", "media media-" + name);
    box.appendChild(node);
    box.appendChild(el("figcaption", null, caption || name));
    return box;
  }

  function mediaNode(kind, url) {
    const node = document.createElement(kind === "image" ? "img" : kind);
    if (kind === "image") {
      node.alt = "The item's image";
      node.decoding = "async";
    } else {
      node.controls = true;
      node.preload = "metadata";
    }
    node.src = url;  // a property, checked above: https or a data: URL of this kind
    node.dataset.testid = "task-" + kind;
    return node;
  }

  // A 2-D list of grayscale numbers, drawn with its own range (the largest value is white).
  function pixelsNode(rows) {
    if (!Array.isArray(rows) || rows.length === 0 || !rows.every(Array.isArray)) return null;
    const height = rows.length;
    let width = 0, max = 0;
    rows.forEach(function (row) {
      width = Math.max(width, row.length);
      row.forEach(function (v) { if (typeof v === "number" && isFinite(v) && v > max) max = v; });
    });
    if (width === 0 || width > MAX_PIXELS_SIDE || height > MAX_PIXELS_SIDE) return null;
    const small = document.createElement("canvas");
    small.width = width;
    small.height = height;
    const image = small.getContext("2d").createImageData(width, height);
    rows.forEach(function (row, y) {
      for (let x = 0; x < width; x++) {
        const v = row[x];
        const gray = typeof v === "number" && isFinite(v) && max > 0 ?
          Math.round(255 * Math.min(Math.max(v, 0), max) / max) : 0;
        const at = 4 * (y * width + x);
        image.data[at] = image.data[at + 1] = image.data[at + 2] = gray;
        image.data[at + 3] = 255;
      }
    });
    small.getContext("2d").putImageData(image, 0, 0);
    const scale = Math.max(1, Math.floor(PIXELS_DRAWN_SIDE / Math.max(width, height)));
    const canvas = document.createElement("canvas");
    canvas.width = width * scale;
    canvas.height = height * scale;
    const context = canvas.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(small, 0, 0, canvas.width, canvas.height);
    canvas.dataset.testid = "task-pixels";
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", width + " by " + height + " grayscale picture");
    return figure("pixels", canvas, "pixels · " + width + "×" + height);
  }

  function renderData(data) {
    const blocks = [];
    const rows = [];  // [field, value, note]
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      rows.push(["data", data, null]);
      data = {};
    }
    const known = {};
    if (typeof data.text === "string") {
      const text = el("div", "task-text", data.text);
      text.dataset.testid = "task-text";
      blocks.push(text);
      known.text = true;
    }
    ["image", "pixels", "audio", "video"].forEach(function (kind) {
      if (!Object.prototype.hasOwnProperty.call(data, kind)) return;
      if (kind === "pixels") {
        const node = pixelsNode(data.pixels);
        if (node) { blocks.push(node); known.pixels = true; return; }
        rows.push(["pixels", data.pixels, "not drawn: expected a 2-D list of numbers, at most " +
                   MAX_PIXELS_SIDE + "×" + MAX_PIXELS_SIDE]);
        known.pixels = true;
        return;
      }
      const url = safeUrl(kind, data[kind]);
      if (url) blocks.push(figure(kind, mediaNode(kind, url)));
      else rows.push([kind, data[kind], "not shown: only https and data:" + kind + "/ URLs are displayed"]);
      known[kind] = true;
    });
    Object.keys(data).forEach(function (key) {
      if (!known[key]) rows.push([key, data[key], null]);
    });
    if (rows.length) {
      const table = el("table", "fields");
      table.dataset.testid = "task-fields";
      const body = table.createTBody();
      rows.forEach(function (r) {
        const row = body.insertRow();
        const name = el("th", null, r[0]);
        name.scope = "row";
        row.appendChild(name);
        const cell = row.insertCell();
        const structured = r[1] !== null && typeof r[1] === "object";
        cell.appendChild(el(structured ? "pre" : "div", structured ? "json" : "value", asText(r[1])));
        if (r[2]) cell.appendChild(el("div", "note", r[2]));
      });
      blocks.push(table);
    }
    if (!blocks.length) blocks.push(el("p", "empty", "This item has no data."));
    taskBody.replaceChildren.apply(taskBody, blocks);
  }

  function renderPrelabel(prelabel) {
    if (!prelabel || prelabel.label === null || prelabel.label === undefined) {
      prelabelBox.hidden = true;
      prelabelBox.textContent = "";
      return;
    }
    const label = Array.isArray(prelabel.label) ? prelabel.label.join(", ") : String(prelabel.label);
    const confidence = typeof prelabel.confidence === "number" ?
      " (" + Math.round(100 * prelabel.confidence) + "%)" : "";
    prelabelBox.textContent = "AI suggests: " + label + confidence;
    prelabelBox.hidden = false;
  }

  function present(body) {
    task = {
      item: body.item,
      data: body.data,
      expiresAt: Date.parse(body.lease_expires),
      shownAt: performance.now(),
    };
    selected = [];
    taskRef.textContent = "#" + body.item;
    renderPrelabel(body.prelabel);
    renderData(body.data);
    taskCard.dataset.item = String(body.item);
    busy = false;
    show("task");
    tick();
  }

  function tick() {
    if (task && mode === "task") {
      const left = task.expiresAt - serverNow();
      if (isNaN(left)) {
        leaseBadge.hidden = true;
      } else if (left > 0) {
        const s = Math.round(left / 1000);
        leaseBadge.textContent = "Held for you · " + Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
        leaseBadge.className = "badge " + (s <= 60 ? "warn" : "ok");
        leaseBadge.hidden = false;
      } else {
        leaseBadge.textContent = "Hold expired: others may take it";
        leaseBadge.className = "badge bad";
        leaseBadge.hidden = false;
      }
    }
    if (last !== null && !undoPossible()) { last = null; sync(); }
  }

  // --- actions ------------------------------------------------------------------------------

  function next(announceNothingNew) {
    busy = true;
    sync();
    call("POST", urls.next).then(function (res) {
      if (res.status === 200 && res.data) { present(res.data); return; }
      if (res.status === 204) { nothingLeft(announceNothingNew); return; }
      busy = false;
      task = null;
      taskCard.dataset.item = "";
      $("failed-message").textContent = reason(res);
      show("failed");
    }, function () {
      busy = false;
      $("failed-message").textContent = OFFLINE;
      show("failed");
    });
  }

  function nothingLeft(announce) {
    busy = false;
    task = null;
    taskCard.dataset.item = "";
    show("done");
    if (announce) toast("Still nothing for you. Try again in a little while.");
  }

  // The task that came back with a submission: null when nothing is left (or, with an
  // error, when it could not be fetched: then ask for it as usual).
  function arrive(body, error) {
    if (body) { present(body); return; }
    if (error) { next(false); return; }
    nothingLeft(false);
  }

  function pick(index) {
    if (mode !== "task" || busy || index >= labelButtons.length) return;
    const label = labelButtons[index].dataset.label;
    if (multilabel) {
      const on = selected.indexOf(label) !== -1;
      const wanted = on ? selected.filter(function (l) { return l !== label; }) : selected.concat([label]);
      selected = labelButtons.map(function (b) { return b.dataset.label; })
        .filter(function (l) { return wanted.indexOf(l) !== -1; });
    } else {
      selected = [label];
    }
    sync();
  }

  function submit() {
    if (mode !== "task" || busy || selected.length === 0) return;
    clearTimeout(resendTimer);
    const current = task;
    busy = true;
    sync();
    const label = multilabel ? selected.slice() : selected[0];
    if (!sending || sending.item !== current.item || sending.label !== JSON.stringify(label)) {
      const duration = Math.min(MAX_DURATION_MS, Math.max(0, Math.round(performance.now() - current.shownAt)));
      // The combined call: the label and the next task in one request.
      sending = {item: current.item, label: JSON.stringify(label), key: newKey(),
                 body: {label: label, duration_ms: duration, next: true}};
    }
    const attempt = sending;
    call("POST", withId(urls.annotate, current.item), attempt.body, {"Idempotency-Key": attempt.key}).then(function (res) {
      if (res.status === 503) {
        resendLater(res);
        return;
      }
      sending = null;
      if (res.status === 201 && res.data) {
        last = {annotation: res.data.annotation.id, item: current.item, until: current.expiresAt};
        refreshStats();
        arrive(res.data.next, res.data.next_error);
        return;
      }
      if (res.status === 400) {
        busy = false;
        sync();
        toast(reason(res), "bad");
        return;
      }
      // 409 (labeled already), 403/404 (no longer yours): this task is over, take the next.
      toast(reason(res), "bad");
      next(false);
    }, function () {
      resendLater({status: 0, data: {detail: "Could not reach the server."}, retryAfter: 3});
    });
  }

  // No answer, or the server is briefly unavailable: send the same label again (same key,
  // so it counts once) when the server says, unless the annotator presses Enter first.
  function resendLater(res) {
    busy = false;
    sync();
    const seconds = Math.min(RESEND_MAX_SECONDS, Math.max(1, res.retryAfter || (res.data && res.data.retry_after) || 5));
    toast(reason(res) + " Your label is sent again in " + seconds + " s (Enter: now); it counts once.", "bad");
    resendTimer = setTimeout(submit, seconds * 1000);
  }

  function skip() {
    if (mode !== "task" || busy) return;
    busy = true;
    sync();
    call("POST", withId(urls.skip, task.item)).then(function (res) {
      if (res.status !== 204) toast(reason(res), "bad");
      next(false);
    }, function () {
      busy = false;
      sync();
      toast(OFFLINE, "bad");
    });
  }

  function undo() {
    if (busy) return;
    if (!undoPossible()) {
      toast(last === null ? "Nothing to undo." : "Too late to undo: the task is no longer held for you.");
      last = null;
      sync();
      return;
    }
    const taken = last;
    busy = true;
    sync();
    call("POST", withId(urls.undo, taken.annotation)).then(function (res) {
      last = null;
      if (res.status === 200 && res.data) {
        present(res.data);
        refreshStats();
        toast("Your label is taken back: label the item again.");
        return;
      }
      busy = false;
      sync();
      toast(res.status === 409 ? reason(res) : "Could not undo: " + reason(res), "bad");
    }, function () {
      busy = false;
      sync();
      toast(OFFLINE, "bad");
    });
  }

  function refreshStats() {
    const seq = ++statsSeq;
    call("GET", urls.stats).then(function (res) {
      if (seq !== statsSeq || res.status !== 200 || !res.data) return;
      todayCount.textContent = String(res.data.today);
      const accuracy = res.data.gold_accuracy;
      if (accuracy === null || accuracy === undefined) {
        goldAccuracy.textContent = "—";
        goldAccuracy.title = "No gold answer scored yet";
      } else {
        goldAccuracy.textContent = Math.round(100 * accuracy) + "%";
        goldAccuracy.append(" ", el("span", "of", "(of " + res.data.gold_answered + ")"));
        goldAccuracy.title = "Share of your gold answers that were right";
      }
    }, function () { /* the figures stay as they were; the next submit refreshes them */ });
  }

  // --- wiring -------------------------------------------------------------------------------

  labelButtons.forEach(function (button, index) {
    button.addEventListener("click", function () { pick(index); });
  });
  submitButton.addEventListener("click", submit);
  skipButton.addEventListener("click", skip);
  undoButton.addEventListener("click", undo);
  $("undo-done").addEventListener("click", undo);
  $("check-again").addEventListener("click", function () { next(true); });
  $("retry").addEventListener("click", function () { next(false); });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.repeat || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const key = event.key;
    if (/^[1-9]$/.test(key)) {
      if (mode !== "task") return;
      event.preventDefault();
      pick(Number(key) - 1);
    } else if (key === "Enter") {
      // Enter keeps its own meaning on links, the instructions toggle and the state buttons;
      // on a focused label button it submits instead of pressing (toggling) it again.
      if (mode !== "task" || (target.closest && target.closest("a, summary, .state-card"))) return;
      event.preventDefault();
      submit();
    } else if (key === "s" || key === "S") {
      if (mode !== "task") return;
      event.preventDefault();
      skip();
    } else if (key === "u" || key === "U") {
      event.preventDefault();
      undo();
    }
  });

  // The instructions stay folded (or not) per project, across visits.
  const instructions = $("instructions");
  const foldKey = "labelqa.instructions-folded." + root.dataset.project;
  try {
    if (window.localStorage.getItem(foldKey) === "1") instructions.open = false;
  } catch (err) { /* storage may be disabled: they start open */ }
  instructions.addEventListener("toggle", function () {
    try { window.localStorage.setItem(foldKey, instructions.open ? "0" : "1"); } catch (err) { /* */ }
  });

  setInterval(tick, 1000);
  refreshStats();
  next(false);
})();
