// Behaviour that pages declare with data- attributes, so that no page needs an inline
// handler (onchange="…"): the Content-Security-Policy refuses inline scripts.
(function () {
  // <button data-confirm="Question?">: the action happens only if the person agrees.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
  // <button data-copy="selector">: copies the text of the element it names and says so
  // beside the button (as a status, so a screen reader hears it too).
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy]");
    const source = button && document.querySelector(button.dataset.copy);
    if (!source) return;
    let said = "Copied.";
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
    } catch (error) {
      // No clipboard here (plain HTTP away from localhost): select it for Ctrl+C instead.
      const range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      said = "Selected: press Ctrl+C to copy.";
    }
    let note = button.nextElementSibling;
    if (!note || !note.classList.contains("copied")) {
      note = document.createElement("span");
      note.className = "copied";
      note.setAttribute("role", "status");
      button.after(note);
    }
    note.textContent = said;
  });
})();
