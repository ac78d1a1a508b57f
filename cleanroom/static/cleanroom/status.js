// Live status on the document list: poll while anything is queued or in a processing step.
(function () {
  const table = document.querySelector('table.documents');
  if (!table) return;
  const url = table.dataset.statusUrl;
  const pending = () => [...table.querySelectorAll('tr[data-id]')]
    .filter(r => !['indexed', 'failed', 'held'].includes(r.dataset.status));
  async function poll() {
    const rows = pending();
    if (!rows.length) return;
    try {
      const res = await fetch(url + '?ids=' + rows.map(r => r.dataset.id).join(','), {credentials: 'same-origin'});
      if (res.ok) {
        const data = await res.json();
        for (const d of data.documents) {
          const row = table.querySelector(`tr[data-id="${d.id}"]`);
          if (!row) continue;
          row.dataset.status = d.status;
          const badge = row.querySelector('.badge');
          badge.className = 'badge ' + d.status;
          badge.textContent = d.status_label;
          row.querySelector('.title').textContent = d.title;
          row.querySelector('.chunks').textContent = d.chunk_count;
          row.querySelector('.redacted').textContent = d.status === 'indexed' ? d.redacted : '';
          row.querySelector('.error-text').textContent = d.status === 'failed' ? d.error : '';
        }
      }
    } catch (e) { /* network blip: try again on the next tick */ }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
})();
