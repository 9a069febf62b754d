// Master Product Channel appears only for a channel source, listing channels of that kind.
// The server enforces the same rule; this only keeps the page honest about it.
(function () {
  const source = document.getElementById("id_master_product_source");
  const channel = document.getElementById("id_master_product_channel");
  const row = document.getElementById("row-master_product_channel");
  const kindsNode = document.getElementById("channel-kinds");
  if (!source || !channel || !row || !kindsNode) return;
  const kinds = JSON.parse(kindsNode.textContent);

  function update() {
    const kind = source.value;
    const isChannel = kind !== "techoms";
    row.hidden = !isChannel;
    for (const option of channel.options) {
      if (!option.value) continue;
      option.hidden = kinds[option.value] !== kind;
      if (option.hidden && option.selected) channel.value = "";
    }
  }
  source.addEventListener("change", update);
  update();
})();
