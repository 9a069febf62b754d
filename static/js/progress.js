// Long work progressing: each [data-progress-url] box polls its JSON every second and
// shows "done of total", what is being done, and the outcome once finished. A box with
// data-progress-form="<form id>" waits hidden until that form is submitted: the work runs
// while the browser waits for the form's answer, and this page shows it meanwhile. With
// data-progress-when="name …" only a submit that changed one of these fields shows it.
(function () {
  var INTERVAL = 1000;
  // A box polled before its work has started is answered 404 for a moment.
  var NOT_STARTED_TRIES = 30;

  function render(box, data) {
    var bar = box.querySelector("progress");
    var status = box.querySelector("[data-progress-status]");
    var text = box.querySelector("[data-progress-text]");
    box.querySelector("[data-progress-label]").textContent = data.label;
    status.textContent = data.status_label;
    status.className = "badge status-" + data.status;
    if (data.total) {
      bar.max = data.total;
      bar.value = data.done;
    } else if (data.finished) {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute("value"); // indeterminate: the total is not known yet
    }
    var parts = [];
    if (data.total) parts.push(data.done + " of " + data.total);
    Object.keys(data.counts || {}).forEach(function (name) {
      parts.push(name.replace(/_/g, " ") + ": " + data.counts[name]);
    });
    if (data.step) parts.push(data.step);
    text.textContent = parts.join(" · ");
    box.dataset.finished = data.finished ? "true" : "false";
    var done = box.querySelector("[data-progress-done]");
    if (done) done.hidden = !data.finished;
  }

  function changed(field) {
    if (!field || !field.options) return field ? field.value !== field.defaultValue : false;
    return Array.prototype.some.call(field.options, function (o) { return o.selected !== o.defaultSelected; });
  }

  function poll(box, misses) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404 && misses < NOT_STARTED_TRIES) {
          setTimeout(function () { poll(box, misses + 1); }, INTERVAL);
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (!data) return;
        render(box, data);
        if (!data.finished) setTimeout(function () { poll(box, 0); }, INTERVAL);
      })
      .catch(function () {
        box.querySelector("[data-progress-text]").textContent = "Progress is not available; reload the page to see the outcome.";
      });
  }

  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var formId = box.dataset.progressForm;
    if (!formId) {
      poll(box, 0);
      return;
    }
    var form = document.getElementById(formId);
    if (!form) return;
    var watched = (box.dataset.progressWhen || "").split(" ").filter(Boolean);
    form.addEventListener("submit", function () {
      if (watched.length && !watched.some(function (name) { return changed(form.elements[name]); })) return;
      box.hidden = false;
      setTimeout(function () { poll(box, 0); }, INTERVAL / 2);
    });
  });
})();
