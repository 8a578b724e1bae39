// Activity form: show the fields of the chosen kind, and offer the records of the chosen related type.
(() => {
  const kind = document.getElementById("kind");
  const byKind = {
    task: ["due_date", "status", "priority"],
    event: ["event_type", "start_at", "end_at", "location", "attendees"],
  };
  const rowOf = (id) => {
    const el = document.getElementById(id);
    return el ? el.closest(".row") || el.parentElement : null;
  };
  const showKind = () => {
    Object.entries(byKind).forEach(([k, ids]) => ids.forEach((id) => {
      const row = rowOf(id);
      if (row) row.classList.toggle("d-none", kind.value !== k);
    }));
  };
  if (kind) {
    kind.addEventListener("change", showKind);
    showKind();
  }

  const type = document.getElementById("related_type");
  const record = document.getElementById("related_id");
  if (!type || !record || !record.dataset.options) return;
  const options = JSON.parse(record.dataset.options);
  const showRecords = () => {
    const keep = record.value;
    record.replaceChildren();
    (options[type.value] || [[0, "—"]]).forEach(([value, label]) => {
      const option = new Option(label, value);
      option.selected = String(value) === keep;
      record.add(option);
    });
    rowOf("related_id").classList.toggle("d-none", !type.value);
  };
  type.addEventListener("change", () => { record.value = "0"; showRecords(); });
  showRecords();
})();
