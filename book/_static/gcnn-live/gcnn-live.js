/* The live demo of the gcnn book: draw a digit, turn it, and watch the shipped models answer.
 *
 * Every <div class="gcnn-live"> on the page becomes a demo. Optional attributes:
 *   data-models="cnn gcnn-c4"   show only these models (default: all in config.json)
 *   data-digit="6"              start with the first shipped test digit of this class
 *
 * The models are ONNX exports of gcnn.pretrained(name) with gcnn.data.rotate inside the graph
 * (python -m gcnn.pretrained onnx), run by onnxruntime-web's wasm backend. Nothing heavy is
 * loaded until a demo scrolls into view or the page asks for window.gcnnLive.ready:
 *   config.json (what the build staged), ort/ort.wasm.min.js (+ its .mjs and .wasm),
 *   models/NAME.onnx, digits.json. The files sit next to this script (_static/gcnn-live/);
 *   scripts/gcnn_live.py puts them there.
 *
 * API (used by tests/test_live.py and benchmarks/live.py):
 *   gcnnLive.ready                    Promise of the model names, once all are loaded
 *   gcnnLive.classify(pixels, angle)  pixels: Float32Array(784) in [0, 1], row-major, upright
 *                                     (as gcnn.data); angle in degrees, clockwise (as
 *                                     gcnn.data.rotate). Promise of {name: Float32Array(10)}
 *                                     (softmax probabilities).
 *   gcnnLive.run(pixels, angle)       the same, as {probs: {...}, rotated: Float32Array(784)}
 *                                     with the turned picture the models saw.
 */
(function () {
  "use strict";
  if (window.gcnnLive) return;

  const SCRIPT = document.currentScript;
  const BASE = new URL(".", SCRIPT && SCRIPT.src ? SCRIPT.src : location.href);
  const SIZE = 28;
  const SERVE = "python -m http.server -d _build/html";

  let loading = null;          // Promise of the model names
  let digitsLoading = null;    // Promise of the shipped test digits
  let queue = Promise.resolve();
  const runtime = { config: null, sessions: {}, names: [] };

  function url(rel) { return new URL(rel, BASE).href; }

  async function fetchJSON(rel) {
    const response = await fetch(url(rel), { cache: "no-cache" });
    if (!response.ok) throw new Error(`${url(rel)}: HTTP ${response.status}`);
    return response.json();
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const el = document.createElement("script");
      el.src = src;
      el.async = true;
      el.onload = resolve;
      el.onerror = () => reject(new Error(`could not load ${src}`));
      document.head.appendChild(el);
    });
  }

  function fromDiskMessage() {
    return "This page was opened from disk (file://), where browsers do not let a page load " +
      "the WebAssembly that runs the models. Serve the book instead: run `" + SERVE + "` in " +
      "the repository and open http://localhost:8000/ (then this chapter).";
  }

  /* Load onnxruntime-web and every model, once. */
  function load() {
    if (loading) return loading;
    loading = (async () => {
      if (location.protocol === "file:") throw new Error(fromDiskMessage());
      const config = await fetchJSON("config.json");
      runtime.config = config;
      if (!config.ort) throw new Error(config.missing || "onnxruntime-web is missing");
      if (!window.ort) await loadScript(url(config.ort.script));
      const ort = window.ort;
      if (!ort || !ort.InferenceSession) throw new Error("onnxruntime-web did not start");
      ort.env.logLevel = "error";
      // Threads need a cross-origin-isolated page, which a static host does not give.
      ort.env.wasm.numThreads = 1;
      ort.env.wasm.wasmPaths = { mjs: url(config.ort.mjs), wasm: url(config.ort.wasm) };
      const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
      for (const model of config.models) {
        runtime.sessions[model.name] =
          await ort.InferenceSession.create(url("models/" + model.file), options);
      }
      runtime.names = config.models.map((m) => m.name);
      return runtime.names.slice();
    })();
    loading.catch(() => {});   // reported by each demo; callers of ready see the rejection
    return loading;
  }

  function loadDigits() {
    if (!digitsLoading) {
      digitsLoading = fetchJSON("digits.json").then((d) => d.pixels.map((b64, i) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        return { index: d.indices[i], label: d.labels[i], bytes: bytes };
      }));
      digitsLoading.catch(() => {});
    }
    return digitsLoading;
  }

  function checkInput(pixels, angle) {
    if (!(pixels instanceof Float32Array) || pixels.length !== SIZE * SIZE) {
      throw new TypeError("gcnnLive: pixels must be a Float32Array of 784 values (28x28, " +
        "row-major), got " + (pixels && pixels.constructor ? pixels.constructor.name : pixels) +
        (pixels && pixels.length !== undefined ? " of length " + pixels.length : ""));
    }
    if (typeof angle !== "number" || !Number.isFinite(angle)) {
      throw new TypeError("gcnnLive: angle must be a finite number of degrees, got " + angle);
    }
  }

  async function runModels(pixels, angle) {
    await load();
    const ort = window.ort;
    const feeds = {
      image: new ort.Tensor("float32", Float32Array.from(pixels), [1, 1, SIZE, SIZE]),
      angle: new ort.Tensor("float64", Float64Array.of(angle), []),
    };
    const probs = {};
    let rotated = null;
    for (const name of runtime.names) {
      const out = await runtime.sessions[name].run(feeds);
      probs[name] = Float32Array.from(out.probs.data);
      if (!rotated) rotated = Float32Array.from(out.rotated.data);
    }
    return { probs: probs, rotated: rotated };
  }

  /* One run at a time (a session is not re-entrant); errors reach the caller only. */
  function enqueue(pixels, angle) {
    try { checkInput(pixels, angle); } catch (err) { return Promise.reject(err); }
    const copy = Float32Array.from(pixels);
    const result = queue.then(() => runModels(copy, angle));
    queue = result.catch(() => {});
    return result;
  }

  window.gcnnLive = {
    get ready() { return load(); },
    classify(pixels, angle) { return enqueue(pixels, angle).then((r) => r.probs); },
    run(pixels, angle) { return enqueue(pixels, angle); },
    get models() { return runtime.config ? runtime.config.models.slice() : null; },
  };

  // -- the demo ------------------------------------------------------------------------------
  let uid = 0;

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children || []) node.appendChild(child);
    return node;
  }

  function percent(x) { return (100 * x).toFixed(x >= 0.995 || x < 0.0005 ? 0 : 1) + " %"; }

  /* The drawing canvas (280x280) as MNIST prepares digits: the strokes scaled to fit a 20x20
   * box and moved so that their centre of mass is the centre, then averaged down to 28x28. */
  function mnistPixels(canvas) {
    const n = canvas.width, scale = n / SIZE;
    const src = canvas.getContext("2d").getImageData(0, 0, n, n).data;
    let x0 = n, y0 = n, x1 = -1, y1 = -1, mass = 0, mx = 0, my = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const v = src[4 * (y * n + x)];
        if (v > 0) {
          x0 = Math.min(x0, x); x1 = Math.max(x1, x);
          y0 = Math.min(y0, y); y1 = Math.max(y1, y);
          mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
        }
      }
    }
    const out = new Float32Array(SIZE * SIZE);
    if (x1 < 0) return out;
    const s = (20 * scale) / Math.max(x1 - x0 + 1, y1 - y0 + 1);
    const work = document.createElement("canvas");
    work.width = work.height = n;
    const ctx = work.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, n, n);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.setTransform(s, 0, 0, s, n / 2 - s * (mx / mass), n / 2 - s * (my / mass));
    ctx.drawImage(canvas, 0, 0);
    const big = ctx.getImageData(0, 0, n, n).data;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        let sum = 0;
        for (let dy = 0; dy < scale; dy++) {
          const row = (y * scale + dy) * n + x * scale;
          for (let dx = 0; dx < scale; dx++) sum += big[4 * (row + dx)];
        }
        out[y * SIZE + x] = Math.min(1, sum / (scale * scale * 255));
      }
    }
    return out;
  }

  function paint(canvas, pixels) {
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(SIZE, SIZE);
    for (let i = 0; i < SIZE * SIZE; i++) {
      const v = Math.round(255 * Math.max(0, Math.min(1, pixels[i])));
      image.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(image, 0, 0);
  }

  function Demo(root) {
    const id = "gcnn-live-" + (++uid);
    const only = (root.dataset.models || "").split(/[\s,]+/).filter(Boolean);
    root.textContent = "";
    root.classList.add("gl-ready");

    const draw = el("canvas", { class: "gl-draw", width: "280", height: "280", role: "img",
      "aria-label": "Drawing area: draw a digit with the mouse, a pen or a finger (white on " +
        "black), or pick a test digit with the button below" });
    const pick = el("button", { type: "button", class: "gl-pick", text: "Pick a test digit" });
    const clear = el("button", { type: "button", class: "gl-clear", text: "Clear" });
    const digitInfo = el("p", { class: "gl-info", "aria-live": "polite" });
    const seen = el("canvas", { class: "gl-seen", width: String(SIZE), height: String(SIZE),
      role: "img", "aria-label": "the turned 28 by 28 picture the models classify" });
    const slider = el("input", { type: "range", min: "0", max: "360", step: "1", value: "0",
      id: id + "-angle", class: "gl-angle" });
    const angleOut = el("output", { for: id + "-angle", class: "gl-angle-value", text: "0°" });
    const play = el("button", { type: "button", class: "gl-play", "aria-pressed": "false",
      text: "Play" });
    const status = el("div", { class: "gl-status", role: "status", "aria-live": "polite" });
    const models = el("div", { class: "gl-models" });

    root.append(
      el("div", { class: "gl-top" }, [
        el("figure", { class: "gl-panel" }, [
          draw, el("figcaption", { text: "Your digit: draw here" }),
          el("div", { class: "gl-buttons" }, [pick, clear]), digitInfo]),
        el("figure", { class: "gl-panel" }, [
          seen, el("figcaption", { class: "gl-seen-caption",
            text: "As the models see it: turned by 0° (28×28)" })]),
        el("div", { class: "gl-controls" }, [
          el("label", { for: id + "-angle", text: "Angle (clockwise)" }),
          el("div", { class: "gl-slider-row" }, [slider, angleOut]), play]),
      ]),
      status, models);

    const ctx = draw.getContext("2d");
    let pixels = new Float32Array(SIZE * SIZE);   // what the models get (upright)
    let fromTest = false;                          // pixels are a shipped digit, not drawn
    let bars = null;                               // name -> {fills, values, top, row}
    let started = false, busy = false, dirty = false, playing = false, failed = false;

    function clearCanvas() {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, draw.width, draw.height);
    }
    clearCanvas();

    function setStatus(text, kind) {
      status.textContent = text;
      status.className = "gl-status" + (kind ? " gl-" + kind : "");
    }
    setStatus("The models load when you reach this demo.", "idle");

    function buildBars(names) {
      bars = {};
      models.textContent = "";
      const info = {};
      for (const m of runtime.config.models) info[m.name] = m;
      for (const name of names) {
        if (only.length && !only.includes(name)) continue;
        const m = info[name];
        const fills = [], values = [];
        const columns = el("div", { class: "gl-bars" });
        for (let d = 0; d < 10; d++) {
          const fill = el("div", { class: "gl-fill" });
          const value = el("span", { class: "gl-value" });
          fills.push(fill); values.push(value);
          columns.appendChild(el("div", { class: "gl-bar" }, [
            value, el("div", { class: "gl-track" }, [fill]),
            el("span", { class: "gl-digit", text: String(d) })]));
        }
        const acc = (m.test_acc != null && m.rotated_test_acc != null)
          ? `test accuracy ${percent(m.test_acc)} upright, ${percent(m.rotated_test_acc)} turned`
          : "";
        const top = el("span", { class: "gl-top-class" });
        const row = el("div", { class: "gl-model", role: "group", "aria-label": name }, [
          el("div", { class: "gl-model-head" }, [
            el("strong", { text: name }), top,
            el("span", { class: "gl-model-info", title: m.description, text: acc })]),
          columns]);
        models.appendChild(row);
        bars[name] = { fills, values, top, row };
      }
    }

    function render(result, angle) {
      paint(seen, result.rotated);
      seen.parentNode.querySelector(".gl-seen-caption").textContent =
        `As the models see it: turned by ${angle}° (28×28)`;
      for (const [name, b] of Object.entries(bars)) {
        const p = result.probs[name];
        let best = 0;
        for (let d = 0; d < 10; d++) if (p[d] > p[best]) best = d;
        for (let d = 0; d < 10; d++) {
          b.fills[d].style.height = (100 * p[d]).toFixed(2) + "%";
          b.fills[d].classList.toggle("gl-best", d === best);
          b.values[d].textContent = p[d] >= 0.005 ? Math.round(100 * p[d]) : "";
        }
        b.top.textContent = `reads ${best} (${percent(p[best])})`;
        b.row.dataset.probs = Array.from(p, (v) => v.toFixed(4)).join(" ");
      }
    }

    async function update() {
      dirty = true;
      if (busy || failed) return;
      busy = true;
      try {
        while (dirty) {
          dirty = false;
          const angle = Number(slider.value);
          const result = await window.gcnnLive.run(pixels, angle);
          if (!bars) buildBars(runtime.names);
          render(result, angle);
        }
      } catch (err) {
        failed = true;
        stopPlaying();
        setStatus("The live demo cannot run: " + (err && err.message ? err.message : err), "error");
      } finally {
        busy = false;
      }
      if (playing) requestAnimationFrame(step);
    }

    function setPixels(p, test) {
      pixels = p;
      fromTest = test;
      start();
      update();
    }

    function showDigit(d) {
      const p = new Float32Array(SIZE * SIZE);
      for (let i = 0; i < p.length; i++) p[i] = d.bytes[i] / 255;
      const small = document.createElement("canvas");
      small.width = small.height = SIZE;
      paint(small, p);
      clearCanvas();
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, draw.width, draw.height);
      digitInfo.textContent = `MNIST test digit #${d.index}, labelled ${d.label}.`;
      setPixels(p, true);
    }

    async function pickDigit(label) {
      if (location.protocol === "file:") {
        digitInfo.textContent = "The test digits cannot load from disk (file://).";
        return;
      }
      try {
        const digits = await loadDigits();
        const pool = label == null ? digits : digits.filter((d) => d.label === label);
        showDigit(pool[label == null ? Math.floor(Math.random() * pool.length) : 0]);
      } catch (err) {
        digitInfo.textContent = "Could not load the test digits: " + err.message;
      }
    }

    function start() {
      if (started) return;
      started = true;
      let settled = false;
      const config = location.protocol === "file:"
        ? Promise.resolve(null) : fetchJSON("config.json");
      config.catch(() => null).then((c) => {
        if (c && c.ort && !settled) {
          const mb = (c.bytes / 1e6).toFixed(1);
          setStatus(`Loading onnxruntime-web ${c.ort.version} and ${c.models.length} models ` +
            `(${mb} MB)…`, "loading");
        }
      });
      if (location.protocol !== "file:") setStatus("Loading the models…", "loading");
      load().then(() => {
        settled = true;
        const c = runtime.config;
        const size = c && c.bytes ? ` (${(c.bytes / 1e6).toFixed(1)} MB)` : "";
        if (!failed) setStatus(`Models loaded${size}: they run in your browser ` +
          `(onnxruntime-web ${c.ort.version}, WebAssembly).`, "ok");
      }, (err) => {
        settled = failed = true;
        setStatus("The live demo cannot run: " + err.message, "error");
      });
      if (!fromTest && !pixels.some((v) => v > 0)) {
        const label = root.dataset.digit !== undefined ? Number(root.dataset.digit) : 0;
        pickDigit(label);
      }
    }

    // drawing with mouse, pen or finger
    let last = null;
    function point(ev) {
      const r = draw.getBoundingClientRect();
      return [(ev.clientX - r.left) * draw.width / r.width,
              (ev.clientY - r.top) * draw.height / r.height];
    }
    function stroke(from, to) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.strokeStyle = "#fff";
      ctx.fillStyle = "#fff";
      ctx.lineWidth = draw.width / 12;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.beginPath();
      ctx.moveTo(from[0], from[1]);
      ctx.lineTo(to[0], to[1]);
      ctx.stroke();
    }
    let pending = false;
    function drawn() {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        digitInfo.textContent = "Your drawing (centred and scaled as MNIST digits are).";
        setPixels(mnistPixels(draw), false);
      });
    }
    draw.addEventListener("pointerdown", (ev) => {
      ev.preventDefault();
      draw.setPointerCapture(ev.pointerId);
      if (fromTest) { clearCanvas(); fromTest = false; }
      last = point(ev);
      stroke(last, last);
      drawn();
    });
    draw.addEventListener("pointermove", (ev) => {
      if (!last) return;
      const p = point(ev);
      stroke(last, p);
      last = p;
      drawn();
    });
    for (const type of ["pointerup", "pointercancel"]) {
      draw.addEventListener(type, () => { last = null; });
    }

    pick.addEventListener("click", () => pickDigit(null));
    clear.addEventListener("click", () => {
      clearCanvas();
      digitInfo.textContent = "Cleared: draw a digit.";
      setPixels(new Float32Array(SIZE * SIZE), false);
    });

    function setAngle(value) {
      slider.value = String(value);
      angleOut.textContent = slider.value + "°";
    }
    slider.addEventListener("input", () => { setAngle(slider.value); start(); update(); });

    function step() {
      if (!playing || busy) return;
      setAngle((Number(slider.value) + 3) % 360);
      update();
    }
    function stopPlaying() {
      playing = false;
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
    }
    play.addEventListener("click", () => {
      if (playing) { stopPlaying(); return; }
      playing = true;
      play.textContent = "Pause";
      play.setAttribute("aria-pressed", "true");
      start();
      step();
    });

    // load when the demo comes near the screen
    if ("IntersectionObserver" in window) {
      const seenBy = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) { seenBy.disconnect(); start(); }
      }, { rootMargin: "200px" });
      seenBy.observe(root);
    } else {
      start();
    }
  }

  function init() {
    document.querySelectorAll("div.gcnn-live:not(.gl-ready)").forEach((root) => Demo(root));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
