// Behaviour that pages declare with data- attributes, so that no page needs an inline
// handler (onchange="…"): the Content-Security-Policy refuses inline scripts.
(function () {
  // <select data-submit-on-change>: choosing an option submits its form.
  document.addEventListener("change", (event) => {
    const field = event.target.closest("[data-submit-on-change]");
    if (field && field.form) field.form.submit();
  });
  // <button data-confirm="Question?">: the action happens only if the person agrees.
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });
})();
