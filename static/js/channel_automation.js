// Shows the fields of the chosen Mode only; in Recurring Job By ID mode the emergency
// fields stay visible but disabled, with the reason. A Delay as long as the Main Job
// Period cannot apply and is not offered. The server applies the same rules.
(function () {
  const form = document.getElementById("automation-form");
  if (!form) return;
  const mode = form.querySelector("#id_mode");
  const readOnly = mode.disabled;

  function limitDelays(row) {
    const period = row.querySelector("select[name$='-period']");
    const delay = row.querySelector("select[name$='-delay']");
    if (!period || !delay) return;
    const minutes = parseInt(period.value, 10);
    delay.querySelectorAll("option").forEach((option) => {
      const value = parseInt(option.value, 10);
      option.disabled = !readOnly && !isNaN(value) && !isNaN(minutes) && value >= minutes;
    });
  }

  function update() {
    const value = mode.value;
    form.querySelectorAll("[data-modes]").forEach((node) => {
      node.hidden = !node.dataset.modes.split(" ").includes(value);
    });
    form.querySelectorAll("[data-mode-help]").forEach((node) => {
      node.hidden = node.dataset.modeHelp !== value;
    });
    form.querySelectorAll("[data-emergency]").forEach((select) => {
      select.disabled = readOnly || value === "recurring_by_id";
    });
    form.querySelectorAll("[data-by-id-note]").forEach((note) => {
      note.hidden = value !== "recurring_by_id";
    });
    form.querySelectorAll("tr[data-job]").forEach(limitDelays);
  }
  mode.addEventListener("change", update);
  form.addEventListener("change", (event) => {
    const row = event.target.closest("tr[data-job]");
    if (row) limitDelays(row);
  });
  // A replaced Next runs cell holds mode-specific parts of its own.
  form.addEventListener("previewupdated", update);
  update();
})();
