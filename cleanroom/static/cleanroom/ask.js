// Ask page: with JavaScript, the question goes to the conversation API with "stream": true (server-sent events) and
// the answer's tokens appear as the model writes them (an aria-live region); once the checked answer arrives the page
// shows the conversation as the server renders it (citations, feedback). Without JavaScript the form posts as is.
(function () {
  const form = document.getElementById('ask-form');
  if (!form || !window.fetch || !window.TextDecoder) return;
  const $ = id => document.getElementById(id);
  const csrf = form.elements.csrfmiddlewaretoken.value;
  const headers = {'Content-Type': 'application/json', 'X-CSRFToken': csrf};

  function showError(message) {
    $('ask-error').textContent = message;
    $('ask-error').hidden = false;
  }

  async function failure(res) {
    try { return (await res.json()).error.message; } catch (_) { return 'The question could not be answered (HTTP ' + res.status + ').'; }
  }

  function liveTurn(question) {
    const card = document.createElement('article');
    card.className = 'card answer';
    const asked = document.createElement('p');
    asked.textContent = 'You: ' + question;
    const searched = document.createElement('p');
    searched.className = 'muted standalone';
    const text = document.createElement('p');
    text.className = 'answer-text';
    text.setAttribute('aria-live', 'polite');
    text.textContent = '…';
    card.append(asked, searched, text);
    form.before(card);
    return {searched, text};
  }

  // Enter sends, Shift+Enter makes a new line.
  $('question').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const question = $('question').value.trim();
    if (!question) { showError('Type a question first.'); return; }
    $('ask-error').hidden = true;
    const button = $('ask-button');
    button.disabled = true; button.textContent = 'Thinking…';
    try {
      let id = form.elements.conversation ? form.elements.conversation.value : '';
      if (!id) {
        const created = await fetch(form.dataset.conversationsUrl, {method: 'POST', credentials: 'same-origin', headers, body: '{}'});
        if (!created.ok) { showError(await failure(created)); return; }
        id = (await created.json()).id;
      }
      const body = {content: question, top_k: Number($('top_k').value) || 5, stream: true};
      if ($('model')) body.model = $('model').value;
      const reveal = form.elements.reveal && form.elements.reveal.value === '1';
      if (reveal) body.reveal = true;  // "show names": the streamed tokens come with real values too
      const res = await fetch(form.dataset.conversationsUrl + '/' + id + '/messages', {
        method: 'POST', credentials: 'same-origin', headers, body: JSON.stringify(body),
      });
      if (!res.ok) { showError(await failure(res)); return; }
      const turn = liveTurn(question);
      $('question').value = '';
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '', started = false, done = false;
      while (!done) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, {stream: true});
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let event = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += line.slice(5).trim();
          }
          if (!data) continue;
          const payload = JSON.parse(data);
          if (event === 'question' && payload.rewrite_method !== 'unchanged') {
            turn.searched.textContent = 'Searched as: “' + payload.standalone_question + '”';
          } else if (event === 'token') {
            if (!started) { turn.text.textContent = ''; started = true; }
            turn.text.textContent += payload.text;
          } else if (event === 'answer') {
            done = true;
          } else if (event === 'error') {
            showError(payload.error.message);
            return;
          }
        }
      }
      // The checked answer (it may abstain and replace the streamed text), its citations and the feedback form.
      window.location.assign(form.dataset.askUrl + '?c=' + id + (reveal ? '&reveal=1' : ''));
    } catch (err) {
      showError('The connection was lost before the answer was complete; try again.');
    } finally {
      button.disabled = false; button.textContent = 'Ask';
    }
  });
})();
