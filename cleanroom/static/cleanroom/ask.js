// Ask page: stream the answer's tokens from POST /api/v1/query ("stream": true, server-sent events), then show the
// checked answer and its citations. Without JavaScript the form posts and the page renders the whole answer.
(function () {
  const form = document.getElementById('ask-form');
  if (!form || !window.fetch || !window.TextDecoder) return;
  const $ = id => document.getElementById(id);
  const button = $('ask-button');

  function showError(message) {
    $('ask-error').textContent = message;
    $('ask-error').hidden = false;
  }

  function showAnswer(data) {
    $('answer-text').textContent = data.answer;
    $('answer').classList.toggle('abstained', data.abstained);
    $('abstain-note').hidden = !data.abstained;
    $('sources-heading').textContent = data.abstained ? 'Closest passages' : 'Sources';
    const list = $('citations');
    list.replaceChildren();
    for (const c of data.citations) {
      const li = document.createElement('li');
      li.value = c.number;
      const a = document.createElement('a');
      a.href = form.dataset.documentUrl + c.document_id + '/#chunk-' + c.chunk_id;
      a.textContent = c.title || 'Untitled';
      const score = document.createElement('small');
      score.className = 'muted';
      score.textContent = ' score ' + c.score.toFixed(2);
      const quote = document.createElement('blockquote');
      quote.textContent = c.snippet;
      li.append(a, ' ', score, quote);
      list.append(li);
    }
    if (!data.citations.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = "No passages in this tenant's documents.";
      list.append(li);
    }
  }

  function handle(block) {
    let event = 'message', data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (!data) return;
    const payload = JSON.parse(data);
    if (event === 'token') $('answer-text').textContent += payload.text;
    else if (event === 'answer') showAnswer(payload);
    else if (event === 'error') showError(payload.error.message);
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const question = $('question').value.trim();
    if (!question) { showError('Type a question first.'); return; }
    $('ask-error').hidden = true;
    $('answer').hidden = false;
    $('answer').classList.remove('abstained');
    $('abstain-note').hidden = true;
    $('answer-text').textContent = '';
    $('citations').replaceChildren();
    button.disabled = true; button.textContent = 'Thinking…';
    const body = {question, top_k: Number($('top_k').value) || 5, stream: true};
    if ($('model')) body.model = $('model').value;
    try {
      const res = await fetch(form.dataset.streamUrl, {
        method: 'POST',
        credentials: 'same-origin',
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': form.elements.csrfmiddlewaretoken.value},
        body: JSON.stringify(body),
      });
      if (!res.ok) {
        let message = 'The question could not be answered (HTTP ' + res.status + ').';
        try { message = (await res.json()).error.message; } catch (_) { /* not JSON */ }
        $('answer').hidden = true;
        showError(message);
        return;
      }
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, {stream: true});
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      showError('The connection was lost while answering; try again.');
    } finally {
      button.disabled = false; button.textContent = 'Ask';
    }
  });
})();
