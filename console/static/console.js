// ariza operator console: the only script. The pages work without it; it adds "select all".
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    for (const box of document.querySelectorAll("input.select")) box.checked = all.checked;
  });
});
