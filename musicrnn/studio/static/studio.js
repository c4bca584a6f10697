// musicrnn studio: the page's behaviour. Cards are built with DOM calls (never innerHTML), so a
// piece's text or name is shown as text, whatever it holds.
"use strict";

const token = document.querySelector('meta[name="musicrnn-token"]').content;
const $ = id => document.getElementById(id);
const COMMON_METERS = ["2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "2/2", "3/2", "5/4", "7/8", "3/8"];
let models = {};
let tempo = 1;
let playingAll = false;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}
function status(message) { $("status").textContent = message; }

async function post(path, body) {
  const answer = await fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-Musicrnn-Token": token},
    body: JSON.stringify(body),
  });
  if (!answer.ok) {
    let message = "the server answered " + answer.status;
    try { message = (await answer.json()).error || message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return answer;
}

// ---- controls

function option(value, label) { return el("option", {value, text: label === undefined ? value : label}); }

function fillControls(info) {
  for (const m of info.models) {
    models[m.name] = m;
    $("model").append(option(m.name, `${m.name} (${m.scheme})`));
  }
  for (const [group, keys] of Object.entries(info.keys)) {
    const g = el("optgroup", {label: group});
    for (const k of keys) g.append(option(k));
    $("key").append(g);
  }
  $("num").max = info.max_num;
  $("model").addEventListener("change", modelChanged);
  modelChanged();
}

function modelChanged() {
  const m = models[$("model").value];
  if (!m) return;
  for (const node of document.querySelectorAll("[data-kinds]")) node.hidden = !node.dataset.kinds.split(" ").includes(m.kind);
  for (const node of document.querySelectorAll("[data-field]")) node.hidden = !m.fields.includes(node.dataset.field);
  for (const group of $("key").querySelectorAll("optgroup")) {
    group.hidden = group.disabled = m.kind !== "abc" && !["major", "minor"].includes(group.label);
  }
  if ($("key").selectedOptions[0] && $("key").selectedOptions[0].parentElement.disabled) $("key").value = "";
  const tuning = $("tuning"), tuned = tuning.value;
  tuning.replaceChildren(...m.tunings.map(t => option(t)));
  if (m.tunings.includes(tuned)) tuning.value = tuned;
  const meter = $("meter"), chosen = meter.value;
  meter.replaceChildren(option("", "any"));
  const known = m.meters.length ? COMMON_METERS.filter(x => m.meters.includes(x)) : COMMON_METERS;
  for (const x of known) meter.append(option(x));
  meter.value = known.includes(chosen) ? chosen : "";
  $("motif").placeholder = m.kind === "tab" ? "tab steps, e.g. 0----- 2----- |" : "the first notes, e.g. A2B c2d";
}

function controls() {
  const value = id => $(id).value.trim();
  return {
    model: $("model").value, meter: value("meter"), key: value("key"), bars: value("bars"),
    temperature: value("temperature"), num: value("num"), motif: $("motif").value,
    tuning: value("tuning"), capo: value("capo"), seed_bars: value("seed-bars"),
  };
}

function fileBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(new Error("the MIDI file could not be read"));
    reader.readAsDataURL(file);
  });
}

// ---- generating: one card a line, as each piece is finished

async function generate(body, title) {
  showError("");
  const button = $("generate");
  button.disabled = true;
  const batch = el("section", {class: "batch"}, el("h2", {text: title}));
  $("cards").prepend(batch);
  let made = 0;
  status("generating...");
  try {
    const answer = await post("/api/generate", body);
    const reader = answer.body.getReader(), decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const {done, value} = await reader.read();
      if (value) buffer += decoder.decode(value, {stream: true});
      let at;
      while ((at = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, at).trim();
        buffer = buffer.slice(at + 1);
        if (!line) continue;
        const message = JSON.parse(line);
        if (message.card) { batch.append(makeCard(message.card)); made += 1; status(`generated ${made}`); }
        if (message.error) showError(message.error);
      }
      if (done) break;
    }
  } catch (e) {
    showError(e.message);
  } finally {
    button.disabled = false;
    status(made ? `generated ${made}` : "");
    if (!batch.querySelector(".card")) batch.remove();
  }
}

$("controls").addEventListener("submit", async event => {
  event.preventDefault();
  const body = controls();
  const m = models[body.model];
  if (m && m.kind === "midi" && $("midi").files.length) {
    try { body.midi = await fileBase64($("midi").files[0]); } catch (e) { return showError(e.message); }
  }
  const what = [body.model, body.meter, body.key].filter(Boolean).join(" ");
  generate(body, `${what}, temperature ${body.temperature}`);
});

// ---- cards

function pieceUrl(card, file) { return `/api/piece/${card.id}/${file}`; }

function facts(card) {
  const parts = [card.model, `${card.bars} bars`, `${card.notes} notes`];
  if (card.seconds) parts.push(`${card.seconds} s`);
  if (card.made !== "new") parts.push(card.made);
  if (card.repairs.length) parts.push(`${card.repairs.length} repaired`);
  return parts.join(" · ");
}

function makeCard(card) {
  const node = el("article", {class: "card" + (card.kept ? " kept" : ""), "data-id": card.id});
  node.append(el("header", {}, el("h3", {text: card.name}), el("span", {class: "facts", text: facts(card)})));
  if (card.staff !== undefined) node.append(el("pre", {class: "staff", text: card.staff}));
  if (card.files.includes("score.svg")) node.append(el("img", {class: "score", alt: "score of " + card.name, src: pieceUrl(card, "score.svg")}));
  const audio = el("audio", {controls: true, preload: "auto", src: pieceUrl(card, "audio.wav")});
  audio.defaultPlaybackRate = audio.playbackRate = tempo;
  node.append(audio);
  node.append(el("img", {class: "roll", alt: "piano roll of " + card.name, src: pieceUrl(card, "roll.png")}));
  node.append(el("details", {}, el("summary", {text: "Text"}), el("pre", {class: "text", text: card.text})));
  node.append(actions(card, node));
  node.append(downloads(card));
  return node;
}

function button(label, cls, onClick) {
  const b = el("button", {type: "button", class: cls, text: label});
  b.addEventListener("click", async () => {
    showError("");
    b.disabled = true;
    try { await onClick(); } catch (e) { showError(e.message); } finally { b.disabled = false; }
  });
  return b;
}

function actions(card, node) {
  const bar = el("input", {type: "number", class: "vary-bar", min: 1, max: Math.max(1, card.bars), value: Math.max(1, Math.ceil(card.bars / 2))});
  bar.setAttribute("aria-label", "bar to vary from");
  const semis = el("select", {class: "semitones"});
  semis.setAttribute("aria-label", "semitones to transpose by");
  for (let s = -12; s <= 12; s++) if (s) semis.append(option(String(s), (s > 0 ? "+" : "") + s));
  semis.value = "2";
  const from = extra => Object.assign(controls(), {from: card.id}, extra);
  const row = el("div", {class: "actions"},
    button("Keep", "keep", async () => {
      const kept = !node.classList.contains("kept");
      await post(kept ? "/api/keep" : "/api/discard", {id: card.id});
      for (const same of document.querySelectorAll(`.card[data-id="${card.id}"]`)) same.classList.toggle("kept", kept);
      countBook();
    }),
    button("Discard", "discard", async () => {
      if (node.classList.contains("kept")) await post("/api/discard", {id: card.id});
      const audio = node.querySelector("audio");
      audio.pause();
      const batch = node.parentElement;
      node.remove();
      if (batch && !batch.querySelector(".card")) batch.remove();
      countBook();
    }),
    button("Continue", "continue", () => generate(from({action: "continue"}), `${card.name} continued`)),
    el("label", {text: "Vary from bar "}, bar),
    button("Vary", "vary", () => generate(from({action: "vary", bar: bar.value}), `${card.name} varied from bar ${bar.value}`)),
  );
  if (card.transposable) {
    row.append(el("label", {text: "Transpose "}, semis), button("Transpose", "transpose", async () => {
      const answer = await (await post("/api/transpose", {id: card.id, semitones: semis.value})).json();
      const batch = el("section", {class: "batch"}, el("h2", {text: `${card.name} transposed by ${semis.value}`}));
      batch.append(makeCard(answer.card));
      $("cards").prepend(batch);
    }));
  }
  return row;
}

function downloads(card) {
  const link = (file, label) => el("a", {href: pieceUrl(card, file) + "?download=1", download: "", class: "download", text: label});
  const row = el("div", {class: "downloads"}, el("span", {text: "Download:"}), link("piece.mid", "MIDI"),
    link("piece.txt", card.suffix.slice(1).toUpperCase()), link("audio.wav", "WAV"));
  if (card.files.includes("piece.gp5")) row.append(link("piece.gp5", "Guitar Pro"));
  return row;
}

function countBook() {
  const ids = new Set(Array.from(document.querySelectorAll(".card.kept")).map(c => c.dataset.id));
  $("book-count").textContent = `tunebook: ${ids.size} kept`;
}

// ---- listening: one player at a time, play all, tempo

document.addEventListener("play", event => {
  for (const audio of document.querySelectorAll("audio")) if (audio !== event.target) audio.pause();
  for (const card of document.querySelectorAll(".card.playing")) card.classList.remove("playing");
  event.target.closest(".card").classList.add("playing");
}, true);

document.addEventListener("ended", event => {
  event.target.closest(".card").classList.remove("playing");
  if (!playingAll) return;
  const all = Array.from(document.querySelectorAll(".card audio"));
  const next = all[all.indexOf(event.target) + 1];
  if (next) next.play(); else playingAll = false;
}, true);

$("play-all").addEventListener("click", () => {
  const first = document.querySelector(".card audio");
  if (!first) return;
  playingAll = true;
  first.currentTime = 0;
  first.play();
});
$("stop").addEventListener("click", () => {
  playingAll = false;
  for (const audio of document.querySelectorAll("audio")) audio.pause();
});
$("tempo").addEventListener("input", () => {
  tempo = Number($("tempo").value) / 100;
  $("tempo-value").textContent = $("tempo").value + "%";
  for (const audio of document.querySelectorAll("audio")) audio.defaultPlaybackRate = audio.playbackRate = tempo;
});

// ---- start: the models, then the tunebook's cards

async function start() {
  try {
    fillControls(await (await fetch("/api/models")).json());
    const book = await (await fetch("/api/tunebook")).json();
    if (book.cards.length) {
      const batch = el("section", {class: "batch", id: "tunebook"}, el("h2", {text: "Tunebook"}));
      for (const card of book.cards) batch.append(makeCard(card));
      $("cards").append(batch);
    }
    countBook();
    document.body.dataset.ready = "1";
  } catch (e) {
    showError("the studio could not start: " + e.message);
  }
}
start();
