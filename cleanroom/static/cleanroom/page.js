// Behaviour every page may use, driven by data- attributes: the Content-Security-Policy (script-src 'self') refuses
// inline scripts and on* handlers, so templates declare what they want and this file does it.
(function () {
  // <form data-confirm="Delete this?">: ask before submitting.
  document.addEventListener('submit', (e) => {
    const form = e.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });
  // <select data-autosubmit>: submit its form on change (the tenant switch).
  document.addEventListener('change', (e) => {
    const field = e.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute('data-autosubmit') && field.form) field.form.submit();
  });
  // <... data-reload-after="2000">: reload the page after that many milliseconds (a document still processing).
  const reload = document.querySelector('[data-reload-after]');
  if (reload) setTimeout(() => window.location.reload(), Number(reload.dataset.reloadAfter) || 2000);
})();
