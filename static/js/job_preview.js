// The Next runs cell of a job row follows the row's fields before they are saved: on each
// change the row's values go to the form's data-preview-url, which answers the cell's HTML
// computed by the server with the dispatcher's schedule maths (the cell holds every mode's
// part; a changed Mode refreshes every row's "Not saved yet"). The form fires
// "previewupdated" after each cell it replaced.
(function () {
  document.querySelectorAll("form[data-preview-url]").forEach(function (form) {
    var mode = form.querySelector("#id_mode");
    var pending = new Map();

    function changed(control) {
      if (control.type === "checkbox") return control.checked !== control.defaultChecked;
      return Array.prototype.some.call(control.options || [], function (o) {
        return o.selected !== o.defaultSelected;
      });
    }

    function refresh(row) {
      var params = new URLSearchParams({ job_type: row.dataset.job });
      var draft = mode ? mode.value !== form.dataset.savedMode : false;
      row.querySelectorAll("input[name], select[name]").forEach(function (control) {
        if (control.disabled) return;
        if (changed(control)) draft = true;
        if (control.type === "checkbox") {
          if (control.checked) params.set(control.name, "on");
        } else {
          params.set(control.name, control.value);
        }
      });
      if (draft) params.set("draft", "1");
      // Only the answer to the latest request of a row is shown.
      var ticket = {};
      pending.set(row, ticket);
      fetch(form.dataset.previewUrl + "?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          if (pending.get(row) !== ticket) return;
          row.querySelector("[data-preview]").innerHTML = html;
          form.dispatchEvent(new CustomEvent("previewupdated", { detail: { row: row } }));
        });
    }

    form.addEventListener("change", function (event) {
      if (event.target === mode) {
        form.querySelectorAll("tr[data-job]").forEach(refresh);
        return;
      }
      var row = event.target.closest("tr[data-job]");
      if (row) refresh(row);
    });
  });
})();
