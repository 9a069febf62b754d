// Reload the channel's recent runs every 2 s while one is queued or running.
(function () {
  function refresh() {
    var table = document.getElementById("runs-table");
    if (!table || table.dataset.inProgress !== "true") return;
    fetch(table.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html) table.outerHTML = html;
        setTimeout(refresh, 2000);
      });
  }
  setTimeout(refresh, 2000);
})();
