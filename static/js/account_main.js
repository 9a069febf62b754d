// Master Product Channel appears only for a channel source, listing channels of that kind.
// The server enforces the same rule; this only keeps the page honest about it.
(function () {
  const source = document.getElementById("id_master_product_source");
  const channel = document.getElementById("id_master_product_channel");
  const row = document.getElementById("row-master_product_channel");
  const kindsNode = document.getElementById("channel-kinds");
  if (!source || !channel || !row || !kindsNode) return;
  const kinds = JSON.parse(kindsNode.textContent);
  // Options of the other kind are removed, not hidden: browsers differ on whether a
  // hidden <option> can still be picked with the keyboard.
  const allOptions = Array.from(channel.options);
  const none = document.createElement("small");
  none.className = "help";
  none.id = "master-channel-none";
  row.appendChild(none);

  function update() {
    const kind = source.value;
    row.hidden = kind === "techoms";
    const selected = channel.value;
    const offered = allOptions.filter((option) => !option.value || kinds[option.value] === kind);
    channel.replaceChildren(...offered);
    channel.value = offered.some((option) => option.value === selected) ? selected : "";
    const count = offered.filter((option) => option.value).length;
    none.hidden = count > 0;
    none.textContent = `This account has no ${source.selectedOptions[0].text} that can import products.`;
  }
  source.addEventListener("change", update);
  update();
})();
