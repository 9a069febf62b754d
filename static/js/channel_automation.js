// Shows the fields of the chosen Mode only; in Recurring Job By ID mode the emergency
// fields stay visible but disabled, with the reason. The server applies the same rules.
(function () {
  const form = document.getElementById("automation-form");
  if (!form) return;
  const mode = form.querySelector("#id_mode");
  const readOnly = mode.disabled;

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
  }
  mode.addEventListener("change", update);
  update();
})();
